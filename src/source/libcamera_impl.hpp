// What the libcamera shim's C++ files share, and no one else: libcamera's headers, every
// difference between libcamera releases (the block of MJPEGD_LIBCAMERA_* definitions below, each
// naming the release that changed the API: the one place that knows about versions), and the
// shim's state. The files:
//   libcamera.cpp           the camera: choosing, configuring, buffers, requests, close, list
//   libcamera_controls.cpp  camera controls between libcamera's ControlInfo and control.h
//   libcamera_manager.cpp   the one CameraManager per process and libcamera's log route
// The C API they implement is libcamera_shim.h.
#ifndef MJPEGD_SRC_SOURCE_LIBCAMERA_IMPL_HPP
#define MJPEGD_SRC_SOURCE_LIBCAMERA_IMPL_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <linux/videodev2.h>
#include <pthread.h>
#include <signal.h>

#include <libcamera/camera.h>
#include <libcamera/camera_manager.h>
#include <libcamera/color_space.h>
#include <libcamera/control_ids.h>
#include <libcamera/controls.h>
#include <libcamera/formats.h>
#include <libcamera/framebuffer.h>
#include <libcamera/framebuffer_allocator.h>
#include <libcamera/logging.h>
#include <libcamera/property_ids.h>
#include <libcamera/request.h>
#include <libcamera/stream.h>
#include <libcamera/transform.h>
#include <libcamera/version.h>

#define MJPEGD_LIBCAMERA_AT_LEAST(major, minor, patch)                                             \
	(LIBCAMERA_VERSION_MAJOR > (major) ||                                                      \
	 (LIBCAMERA_VERSION_MAJOR == (major) &&                                                    \
	  (LIBCAMERA_VERSION_MINOR > (minor) ||                                                    \
	   (LIBCAMERA_VERSION_MINOR == (minor) && LIBCAMERA_VERSION_PATCH >= (patch)))))

// ---- Every libcamera version difference, in one place ---------------------------------------
// 0.0.3 (Debian 12, Pi OS Bookworm's first release): autofocus controls (controls::AfMode & co.)
// first shipped; before it they do not exist and autofocus is skipped. At run time AfMode is only
// set when the camera lists it (Camera Module 3 / imx708 and other lenses with a VCM).
#if MJPEGD_LIBCAMERA_AT_LEAST(0, 0, 3)
#define MJPEGD_LIBCAMERA_HAS_AF 1
#endif
// 0.1.0: generateConfiguration() takes Span<const StreamRole> instead of StreamRoles (a
// std::vector); a std::vector argument converts to both, so configure() needs no guard.
// 0.2.0: CameraConfiguration::transform (Transform) was replaced by ::orientation (Orientation,
// built as Orientation::Rotate0 * transform).
#if MJPEGD_LIBCAMERA_AT_LEAST(0, 2, 0)
#include <libcamera/orientation.h>
#define MJPEGD_LIBCAMERA_HAS_ORIENTATION 1
#endif
// 0.6.0: string controls and properties (properties::Model) are Control<std::string_view>
// instead of Control<std::string> (libcamera commit "Expose string controls as
// std::string_view"); the view points into the camera's property list, so it is copied at once.
#if MJPEGD_LIBCAMERA_AT_LEAST(0, 6, 0)
using ControlString = std::string_view;
#else
using ControlString = std::string;
#endif
// 0.4.0 (Debian 13): ControlId::enumerators() names the values of enum controls (AfMode:
// "AfModeManual"...); 0.0.3 has no such list, and their entries are shown as numbers. (Present
// in 0.4.0 and 0.7, absent in 0.0.3: the releases this file is built against.)
#if MJPEGD_LIBCAMERA_AT_LEAST(0, 4, 0)
#define MJPEGD_LIBCAMERA_HAS_ENUMERATORS 1
#endif
// 0.4.0 (Debian 13): ControlId::isArray() says whether a control takes an array. Before it only
// the control's C++ declaration said so (Control<Span<const float, 2>> ColourGains), and pipeline
// handlers describe array controls with scalar limits (the Pi's IPA: ColourGains
// ControlInfo(0.0f, 32.0f), FrameDurationLimits two int64s), so a scalar must never be set for
// one: 0.0.3's array controls are listed by hand (control_is_array()). (Present in 0.4.0 and
// 0.7, absent in 0.0.3: the releases this file is built against.)
#if MJPEGD_LIBCAMERA_AT_LEAST(0, 4, 0)
#define MJPEGD_LIBCAMERA_HAS_CONTROL_IS_ARRAY 1
#endif
// ---------------------------------------------------------------------------------------------

extern "C" {
#include "mjpegd/source/libcamera_log.h"
#include "mjpegd/log.h"
}
#include "libcamera_shim.h"

// The shim's own files only: libcamera's names are the vocabulary of all of them.
using namespace libcamera;

// Runs f() with every signal blocked in this thread, so that the threads it starts (which
// inherit the mask) never take a process signal: main() reads them from a signalfd on the loop
// thread, which only works while every thread blocks them. The mask is restored on return and
// on an exception.
template <typename F> auto with_signals_blocked(F &&f) -> decltype(f())
{
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	struct Restore {
		sigset_t mask;
		~Restore() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
	} restore{ saved };
	return f();
}

inline void copy_string(char *dst, size_t len, const std::string &src)
{
	snprintf(dst, len, "%s", src.c_str());
}

// libcamera_manager.cpp. The CameraManager, started, or nothing (-EBUSY when another one
// exists). hold: --source auto's probe, whose libcamera log lines wait for
// manager_log_release().
int manager_start(std::unique_ptr<CameraManager> *out, bool hold);
void manager_stop(std::unique_ptr<CameraManager> &cm);
// The probe's held libcamera lines: logged as they came when its camera is used, else at debug.
void manager_log_release(bool used);

// libcamera_controls.cpp. The floats an array control takes (ColourGains: 2), 0 for others.
unsigned control_floats_count(const ControlId *id);

struct lcshim {
	std::unique_ptr<CameraManager> manager;
	std::shared_ptr<Camera> camera;
	bool acquired = false;
	std::unique_ptr<CameraConfiguration> config;
	Stream *stream = nullptr;
	// --snapshot-size: the full-size stream (nullptr: one stream), its buffers, and those of its
	// buffers neither in a request nor lent to the caller: each request queued takes one when
	// there is one (libcamera takes requests with a subset of the configured streams), so a
	// held full-size buffer never holds the stream back. free_full: loop thread only.
	Stream *full_stream = nullptr;
	std::vector<FrameBuffer *> stream_fbs, full_fbs;
	std::vector<unsigned> free_full;
	std::unique_ptr<FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<Request>> requests;
	// Two streams: a second request per buffer, and lcshim_requeue() alternates between the two,
	// so a completed request is refilled one completion of its buffer later, not at once.
	// Refilling (reuse() without ReuseBuffers) frees its map of buffers, and libcamera 0.7.1's
	// virtual handler (VirtualCameraData::processRequest, unchanged upstream since) still steps
	// its iterator over that map after emitting the last buffer's completion, on its own thread:
	// a request completed, requeued and reused in between made it read freed memory (segfault in
	// _Rb_tree_increment on the test bed, guest test 71c). It handles requests one after the
	// other on that thread, so when a buffer's next request has completed, the walk over the one
	// before has ended. One stream reuses with ReuseBuffers, which keeps the map: no spare.
	std::vector<std::unique_ptr<Request>> spare_requests;
	// --fps on a camera that does not pace its frames (libcamera_pace_note(): the virtual
	// handler): once pacing is on, lcshim_requeue() hands requests not yet due to the pacer
	// thread, which queues each at its slot. pace: under pace_lock (libcamera's thread notes,
	// the loop's asks); held and pacer_quit: under pacer_lock.
	std::mutex pace_lock;
	libcamera_pace pace{};
	std::mutex pacer_lock;
	std::condition_variable pacer_wake;
	std::deque<std::pair<uint64_t, Request *>> held; // due (steady_clock ns), request; in order
	bool pacer_quit = false;
	std::thread pacer;
	ControlList start_controls{ controls::controls };
	// Camera controls set by lcshim_set_controls(), added to the next request queued; the values
	// last applied, shown as current until the camera reports its own.
	ControlList pending_controls{ controls::controls };
	std::map<unsigned, ControlValue> applied_controls;
	// What the camera reported in completed requests' metadata for controls it offers (the
	// exposure, gain, lens position its algorithms chose), shown as current. A control just set
	// is not taken from metadata until the requests queued before it have completed (hold).
	// Written on libcamera's thread, read on the loop's: under reported_lock.
	std::mutex reported_lock;
	std::map<unsigned, ControlValue> reported;
	std::map<unsigned, uint64_t> reported_hold;
	uint64_t completed = 0;
	bool started = false;
	// Set before Camera::stop(): the requests it cancels are not reported.
	std::atomic<bool> stopping{ false };
	lcshim_callbacks cb{};
	char log_prefix[LOG_PREFIX_MAX] = "libcamera"; // "libcamera: ID" once the camera is chosen

	void request_completed(Request *request);
	void pacer_run();
	int queue_paced(Request *request);
	void pacer_stop();
	void note_metadata(const ControlList &metadata);
	void camera_disconnected();
	int select_camera(const lcshim_params *p);
	int configure(const lcshim_params *p, lcshim_stream *info);
	int configure_streams(const lcshim_params *p, lcshim_stream *info, bool two);
	void attach_full(Request *request);
	void set_start_controls(const lcshim_params *p, lcshim_stream *info);
	void set_padded_crop(const lcshim_params *p, lcshim_stream *info);
	int allocate(lcshim_stream *info);
};

#endif
