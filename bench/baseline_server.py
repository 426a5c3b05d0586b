#!/usr/bin/python3
"""A RECONSTRUCTION of the kind of camera server mjpegd replaces — not its original code.

Built the way the usual Raspberry Pi "web streaming" examples are (and the seed server was):
Python's http.server.ThreadingHTTPServer (one thread per client), a capture thread that encodes
every frame once with OpenCV's cv2.imencode (JPEG quality 80, from a packed 3-byte-per-pixel
image) and publishes it through a threading.Condition, and a handler that loops
`condition.wait()` → write the part to its socket (unbuffered wfile: one send() per write).
Only two things were added for the benchmark: each part carries Content-Length (the original
examples do too) and an X-Timestamp with the capture time, so bench/loadclient measures the
same frame-to-last-byte latency as for mjpegd.

The "camera" is synthetic: raw RGB frames read from --rgb FILE (bench/run.py writes the same
testsrc2+noise images the mjpegd benches use) or, without it, a moving gradient with noise.

    /usr/bin/python3 bench/baseline_server.py --port 8000 [--size 640x480] [--fps 30] [--rgb FILE]

Needs Debian's python3-opencv and python3-numpy. Prints "baseline: port P" once listening.
"""
import argparse
import logging
import socketserver
import sys
import threading
import time
from http import server

import cv2
import numpy as np


class StreamingOutput:
    def __init__(self):
        self.frame = None
        self.timestamp = 0.0
        self.condition = threading.Condition()


def load_frames(path, w, h):
    if path:
        raw = np.fromfile(path, dtype=np.uint8)
        n = raw.size // (w * h * 3)
        return [raw[i * w * h * 3:(i + 1) * w * h * 3].reshape(h, w, 3) for i in range(n)]
    rng = np.random.default_rng(1)
    x = np.arange(w, dtype=np.uint16)[None, :]
    y = np.arange(h, dtype=np.uint16)[:, None]
    frames = []
    for i in range(30):
        base = ((x + y + 8 * i) % 256).astype(np.uint8)
        img = np.stack([base, np.roll(base, 40, axis=1), np.roll(base, 80, axis=0)], axis=2)
        noise = rng.integers(0, 24, size=img.shape, dtype=np.uint8)
        frames.append(cv2.add(img, noise))
    return frames


def capture_loop(output, frames, fps, quality):
    period = 1.0 / fps
    deadline = time.monotonic()
    i = 0
    params = [int(cv2.IMWRITE_JPEG_QUALITY), quality]
    while True:
        deadline += period
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            deadline = time.monotonic()  # fell behind: do not try to catch up
        ts = time.time()  # "capture" time
        ok, buf = cv2.imencode(".jpg", frames[i % len(frames)], params)
        i += 1
        if not ok:
            continue
        with output.condition:
            output.frame = buf.tobytes()
            output.timestamp = ts
            output.condition.notify_all()


def make_handler(output):
    class StreamingHandler(server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            if self.path != "/stream.mjpg":
                self.send_error(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Age", 0)
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Pragma", "no-cache")
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=FRAME")
            self.end_headers()
            try:
                while True:
                    with output.condition:
                        output.condition.wait()
                        frame = output.frame
                        ts = output.timestamp
                    self.wfile.write(b"--FRAME\r\n")
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", len(frame))
                    self.send_header("X-Timestamp", "%.6f" % ts)
                    self.end_headers()
                    self.wfile.write(frame)
                    self.wfile.write(b"\r\n")
            except Exception as e:  # the client went away
                logging.debug("removed streaming client %s: %s", self.client_address, e)

    return StreamingHandler


class StreamingServer(socketserver.ThreadingMixIn, server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--quality", type=int, default=80)
    ap.add_argument("--rgb", help="raw RGB24 frames back to back (the synthetic camera)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    output = StreamingOutput()
    frames = load_frames(a.rgb, w, h)
    threading.Thread(target=capture_loop, args=(output, frames, a.fps, a.quality),
                     daemon=True).start()
    srv = StreamingServer((a.host, a.port), make_handler(output))
    print("baseline: port %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
