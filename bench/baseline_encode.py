#!/usr/bin/python3
"""The baseline's JPEG path, timed: cv2.imencode(".jpg", frame, [IMWRITE_JPEG_QUALITY, 80]) on
packed 3-byte-per-pixel frames (what bench/baseline_server.py, the reconstruction of the server
mjpegd replaces, does once per frame). Frames per CPU-second of this process
(time.process_time, all threads) over --seconds, after a warm-up.

    /usr/bin/python3 bench/baseline_encode.py --rgb FILE --size 640x480 [--seconds 3]

Prints one JSON object. Needs Debian's python3-opencv and python3-numpy.
"""
import argparse
import json
import time

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rgb", required=True)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--quality", type=int, default=80)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    raw = np.fromfile(a.rgb, dtype=np.uint8)
    n = raw.size // (w * h * 3)
    frames = [raw[i * w * h * 3:(i + 1) * w * h * 3].reshape(h, w, 3) for i in range(n)]
    params = [int(cv2.IMWRITE_JPEG_QUALITY), a.quality]
    for i in range(10):
        cv2.imencode(".jpg", frames[i % n], params)
    count = 0
    size = 0
    c0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        ok, buf = cv2.imencode(".jpg", frames[count % n], params)
        size += len(buf)
        count += 1
    cpu, wall = time.process_time() - c0, time.monotonic() - t0
    print(json.dumps({
        "encoder": "OpenCV %s cv2.imencode (packed RGB/BGR → 4:2:0)" % cv2.__version__,
        "format": "rgb24", "width": w, "height": h, "quality": a.quality, "frames": count,
        "wall_s": wall, "process_cpu_s": cpu, "fps_per_cpu_s": count / cpu,
        "fps_wall": count / wall, "mean_jpeg_bytes": size / count,
        "opencv_threads": cv2.getNumThreads()}))


if __name__ == "__main__":
    main()
