/* mjpegd --list-devices: every /dev/video* node, what it is and whether it can be the source or
 * the M2M encoder producing m2m_fourcc (and why not), each camera's names that survive reboots
 * and replugging (/dev/v4l/by-id, by-path), and the libcamera cameras. Printed to stdout; returns
 * the process's exit status (1 when /dev/video* cannot be listed, said on stderr). */
#ifndef MJPEGD_LIST_DEVICES_H
#define MJPEGD_LIST_DEVICES_H

#include <stdint.h>

int list_devices(uint32_t m2m_fourcc);

#endif
