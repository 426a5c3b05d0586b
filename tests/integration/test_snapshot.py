"""Integration tests, area snapshot (make test-integration T=snapshot): /snapshot.jpg and its
aliases: a JPEG of the asked size, HEAD."""
import json
import re
import time

from harness import SLOW, Conn, Daemon, check, djpeg_size, request, request_bytes
from common import test, jpeg_ok


def snapshot_size_check(w, h):
    d = Daemon("--source", "testpattern", "--size", f"{w}x{h}", "--fps", "15")
    r = d.wait_frame()
    check(r.header("content-type") == "image/jpeg", f"Content-Type {r.header('content-type')!r}")
    check(int(r.header("content-length")) == len(r.body), "Content-Length != body length")
    check(re.fullmatch(r"\d+\.\d{6}", r.header("x-timestamp") or ""),
          f"X-Timestamp {r.header('x-timestamp')!r}")
    ts = float(r.header("x-timestamp"))
    check(abs(time.time() - ts) < 2.0 * SLOW, f"snapshot X-Timestamp {ts:.6f} is "
          f"{time.time() - ts:+.3f} s from now")
    jpeg_ok(r.body, "/snapshot.jpg")
    got = djpeg_size(r.body, "snapshot")
    check(got == (w, h), f"snapshot decodes as {got[0]}x{got[1]}, wanted {w}x{h}")
    return d


@test
def test_snapshot_320x240():
    d = snapshot_size_check(320, 240)
    for alias in ("/snapshot", "/?action=snapshot", "/snapshot.jpg?x=1"):
        r = request(d.port, "GET", alias)
        check(r.status == 200 and r.header("content-type") == "image/jpeg",
              f"GET {alias}: {r.status} {r.header('content-type')}")
        check(djpeg_size(r.body, alias) == (320, 240), f"GET {alias}: wrong size")
    d.stop()


@test
def test_snapshot_1280x720():
    snapshot_size_check(1280, 720).stop()


@test
def test_snapshot_head():
    d = Daemon("--source", "testpattern", "--size", "320x240")
    d.wait_frame()
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/snapshot.jpg"))
    r = c.read_response(head_only=True)
    check(r.status == 200, f"HEAD /snapshot.jpg: {r.status}")
    check(r.header("content-type") == "image/jpeg", f"Content-Type {r.header('content-type')}")
    n = r.header("content-length")
    check(n is not None and int(n) > 100, f"HEAD /snapshot.jpg: Content-Length {n!r}")
    extra = c.read_some(0.3)
    check(extra == b"", f"HEAD /snapshot.jpg sent a body: {len(extra)} bytes {extra[:20]!r}")
    # The connection is still usable, with nothing stray before the next response.
    c.send(request_bytes("GET", "/status"))
    r = c.read_response()
    check(r.status == 200 and json.loads(r.body)["width"] == 320, "GET /status after HEAD")
    c.close()
    d.stop()
