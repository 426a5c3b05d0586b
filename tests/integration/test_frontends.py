"""Integration tests, area frontends (make test-integration T=frontends): the 3D-printer and Home
Assistant front ends, tested the way they read us (issue 19, 4): Mainsail's mjpegstreamer worker
in headless Chromium from another origin, with and without --allow-origin; snapshot polling with
bypassCache= and cacheBust=; Moonraker's 1 s snapshot check from the first second after start;
Home Assistant's MJPEG camera (401 with Basic, then credentials, the first JPEG out of the
stream). docs/integrations.md names these tests beside the settings they cover."""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import SLOW, Conn, Context, Daemon, TestFailure, check, djpeg_size, request_bytes
from common import serial_test, timing_test, test, jpeg_ok, chromium_screenshot, basic, auth_users_file

# The page plays Mainsail's mjpegstreamer worker (fetch in CORS mode, a ReadableStream, parts split
# by each part's Content-Length, &timestamp= appended through URL.searchParams) and
# mjpegstreamer-adaptive's snapshot fetches (bypassCache=), then reports to its own origin (the
# test's server) and paints the page green (all read) or red (refused).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>running</title></head>
<body style="margin:0;background:#808080">
<img src="/hold" width="1" height="1" alt="">
<script>
const BASE = "%(base)s";
function concat(a, b) { const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; }
function headEnd(buf) {
  for (let i = 0; i + 3 < buf.length; i++)
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  return -1;
}
async function stream(path, want) {
  const url = new URL(BASE + path);
  url.searchParams.set("timestamp", Date.now());
  const res = await fetch(url.toString(), {mode: "cors"});
  if (!res.ok) throw new Error("HTTP " + res.status);
  const reader = res.body.getReader();
  let buf = new Uint8Array(0), jpegs = 0, bad = 0, noLength = 0;
  while (jpegs < want) {
    const {done, value} = await reader.read();
    if (done) break;
    buf = concat(buf, value);
    for (;;) {
      const end = headEnd(buf);
      if (end < 0) break;
      const head = new TextDecoder().decode(buf.subarray(0, end));
      const m = /content-length:\\s*(\\d+)/i.exec(head);
      if (!m) { noLength++; buf = buf.slice(end + 4); continue; }
      const len = parseInt(m[1], 10);
      if (buf.length < end + 4 + len) break;
      const j = buf.subarray(end + 4, end + 4 + len);
      if (j[0] === 0xff && j[1] === 0xd8 && j[len - 2] === 0xff && j[len - 1] === 0xd9) jpegs++;
      else bad++;
      buf = buf.slice(end + 4 + len);
    }
  }
  await reader.cancel();
  return {path: path, url: url.pathname + url.search, jpegs: jpegs, bad: bad, noLength: noLength};
}
async function snapshot(path, n) {
  const sizes = [];
  for (let i = 0; i < n; i++) {
    const url = new URL(BASE + path);
    url.searchParams.set("bypassCache", Date.now() + "-" + i);
    const res = await fetch(url.toString(), {mode: "cors"});
    const b = new Uint8Array(await res.arrayBuffer());
    if (!res.ok || b[0] !== 0xff || b[1] !== 0xd8) throw new Error("snapshot " + res.status);
    sizes.push(b.length);
    await new Promise(r => setTimeout(r, 150));
  }
  return {path: path, snapshots: sizes.length};
}
async function report(o) {
  document.body.style.background = o.ok ? "#00ff00" : "#ff0000";
  document.title = JSON.stringify(o);
  await fetch("/report", {method: "POST", body: JSON.stringify(o)});
}
(async () => {
  const results = [];
  try {
    results.push(await stream("/stream.mjpg", 5));
    results.push(await stream("/?action=stream", 5));
    results.push(await snapshot("/snapshot.jpg", 3));
    results.push(await snapshot("/?action=snapshot", 2));
    await report({ok: true, results: results});
  } catch (e) {
    await report({ok: false, error: e.name + ": " + e.message, results: results});
  }
})();
</script></body></html>
"""


class OtherOrigin:
    """The front end's own origin: a python http.server on another loopback port serving PAGE
    (pointed at mjpegd_port, set once mjpegd runs), taking the page's report, and holding an
    <img> so that the page's load event, and with it chromium_screenshot's screenshot, waits for
    the report (at most 8 s; the helper's --timeout stops the page at 2.5 s in any case)."""

    def __init__(self):
        self.report = None
        self.mjpegd_port = None
        self.done = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/":
                    page = PAGE % {"base": f"http://127.0.0.1:{outer.mjpegd_port}"}
                    self.send(200, "text/html; charset=utf-8", page.encode())
                elif self.path == "/hold":
                    outer.done.wait(8)
                    self.send(404, "text/plain", b"done")
                else:
                    self.send(404, "text/plain", b"no")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    outer.report = json.loads(self.rfile.read(n))
                except ValueError as e:
                    outer.report = {"ok": False, "error": f"bad report: {e}"}
                self.send(204, "text/plain", b"")
                outer.done.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def load(self, name):
        """Loads the page in headless Chromium; returns (report, the screenshot's centre pixel)."""
        w, h, ch, rows = chromium_screenshot(f"{self.origin}/",
                                             os.path.join(Context.current.tmpdir, f"{name}.png"))
        pixel = tuple(rows[h // 2][(w // 2) * ch:(w // 2) * ch + 3])
        check(self.done.is_set() and self.report is not None,
              f"{name}: the page reported nothing (screenshot centre {pixel})")
        Context.current.note(f"{name}: the page reported {self.report}")
        return self.report, pixel

    def close(self):
        self.done.set()
        self.server.shutdown()
        self.server.server_close()


@timing_test
def test_frontends_mainsail_fetch_stream():
    """Mainsail's mjpegstreamer (and mjpegstreamer-adaptive's snapshots) from another origin:
    with --allow-origin naming that origin the frames flow (5 JPEGs per stream URL, each part's
    Content-Length exact); without it the browser refuses the fetch (a CORS error: mjpegd sends
    no Access-Control-Allow-Origin), which docs/integrations.md says to fix with --allow-origin."""
    for case in ("refused", "allowed"):
        other = OtherOrigin()
        try:
            args = ["--allow-origin", other.origin] if case == "allowed" else []
            d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", *args)
            d.wait_frame()
            other.mjpegd_port = d.port
            rep, pixel = other.load(case)
        finally:
            other.close()
        if case == "refused":
            check(rep["ok"] is False and "TypeError" in rep.get("error", "") and
                  not rep["results"],
                  f"without --allow-origin the cross-origin fetch was not refused: {rep}")
            check(pixel == (255, 0, 0), f"refused: the page is not red: {pixel}")
        else:
            check(rep["ok"] is True, f"with --allow-origin {other.origin} the page could not "
                  f"read: {rep}")
            streams = [r for r in rep["results"] if "jpegs" in r]
            for r in streams:
                check(r["jpegs"] >= 5 and r["bad"] == 0 and r["noLength"] == 0,
                      f"{r['path']}: {r['jpegs']} JPEGs, {r['bad']} bad, {r['noLength']} parts "
                      f"without Content-Length")
                check("timestamp=" in r["url"], f"{r['path']}: no timestamp= in {r['url']}")
            check(len(streams) == 2 and sum(r.get("snapshots", 0) for r in rep["results"]) == 5,
                  f"not every read ran: {rep['results']}")
            check(pixel == (0, 255, 0), f"allowed: the page is not green: {pixel}")
        d.stop()


@timing_test
def test_frontends_snapshot_polling_fresh():
    """mjpegstreamer-adaptive (?bypassCache=N) and Fluidd's <img> (?cacheBust=N) poll the
    snapshot URL on one keep-alive connection: each of 10 answers is a new JPEG (other bytes, a
    later X-Timestamp) with Cache-Control: no-store, on /snapshot.jpg and /?action=snapshot."""
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10")
    d.wait_frame()
    c = Conn(d.port, 5 * SLOW)
    prev_body, prev_ts = None, 0.0
    for i in range(10):
        param = "bypassCache" if i % 2 == 0 else "cacheBust"
        path = ("/snapshot.jpg?" if i < 5 else "/?action=snapshot&") + \
            f"{param}={int(time.time() * 1000)}"
        c.send(request_bytes("GET", path))
        r = c.read_response()
        check(r.status == 200 and r.header("content-type") == "image/jpeg",
              f"{path}: {r.status} {r.header('content-type')}")
        jpeg_ok(r.body, path)
        cc = r.header("cache-control") or ""
        check("no-store" in [v.strip() for v in cc.split(",")], f"{path}: Cache-Control {cc!r}")
        ts = float(r.header("x-timestamp") or 0)
        check(r.body != prev_body and ts > prev_ts,
              f"{path}: the same picture as the request before (X-Timestamp {ts})")
        prev_body, prev_ts = r.body, ts
        time.sleep(0.15)  # a frame is 0.1 s at --fps 10
    c.close()
    d.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def moonraker_get(port, path):
    """Moonraker's webcam check: GET with a 1 s timeout (connect and answer). Returns
    (status, headers, body) or raises OSError/TestFailure when nothing came within 1 s."""
    c = Conn(port, 1.0)
    try:
        c.send(request_bytes("GET", path, {"Connection": "close"}))
        r = c.read_response(timeout=1.0)
        return r
    finally:
        c.close()


@serial_test
def test_frontends_moonraker_snapshot_from_start():
    """Moonraker tests a webcam by fetching its snapshot_url with a 1 s timeout. From the moment
    mjpegd's port accepts (polled every 10 ms from the exec), the first snapshot request is
    answered with a JPEG within 1 s of the start (three starts), and later checks are too."""
    worst = 0.0
    for run in range(3):
        port = free_port()
        t0 = time.monotonic()
        d = Daemon("--source", "testpattern", "--size", "640x480", "--fps", "30",
                   "--listen", f"127.0.0.1:{port}", listen=False)
        while True:
            check(time.monotonic() - t0 < 5 * SLOW and d.alive(),
                  f"run {run}: port {port} did not accept within {5 * SLOW:.0f} s")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.01)
        t_accept = time.monotonic() - t0
        try:
            r = moonraker_get(port, "/snapshot.jpg")
        except (OSError, TestFailure) as e:
            raise TestFailure(f"run {run}: no answer within Moonraker's 1 s (port accepting "
                              f"after {t_accept:.3f} s): {e}")
        t_answer = time.monotonic() - t0
        check(r.status == 200, f"run {run}: first snapshot {r.status} {r.headers} after "
              f"{t_answer:.3f} s")
        jpeg_ok(r.body, "first snapshot")
        check(djpeg_size(r.body) == (640, 480), "first snapshot size")
        check(t_answer <= 1.0 * SLOW, f"run {run}: first snapshot {t_answer:.3f} s after start "
              f"(accepting after {t_accept:.3f} s)")
        worst = max(worst, t_answer)
        Context.current.note(f"run {run}: accepting after {t_accept * 1000:.0f} ms, "
                             f"first JPEG after {t_answer * 1000:.0f} ms")
        d.port = port
        for _ in range(3):
            time.sleep(0.3)
            t1 = time.monotonic()
            r = moonraker_get(port, "/?action=snapshot")
            check(r.status == 200 and time.monotonic() - t1 < 1.0,
                  f"run {run}: a later check: {r.status}")
        d.stop()
    Context.current.note(f"worst first answer {worst * 1000:.0f} ms")


def extract_image_from_mjpeg(stream):
    """Home Assistant's (homeassistant/components/mjpeg/camera.py): the bytes from the first
    FFD8 to the first FFD9 after it, read in chunks."""
    data = b""
    for chunk in stream:
        data += chunk
        jpg_end = data.find(b"\xff\xd9")
        if jpg_end == -1:
            continue
        jpg_start = data.find(b"\xff\xd8")
        if jpg_start == -1:
            continue
        return data[jpg_start:jpg_end + 2]
    return None


@test
def test_frontends_home_assistant_mjpeg_camera():
    """Home Assistant's MJPEG camera against --auth-file: its config flow's first try without
    credentials gets 401 with WWW-Authenticate: Basic realm=...; with `authentication: basic`
    the credentials go up front and, without still_image_url, the first JPEG is pulled out of
    /stream.mjpg as HA does; with still_image_url the snapshot is the picture."""
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "15",
               "--auth-file", users)
    base = f"http://127.0.0.1:{d.port}"
    for path in ("/stream.mjpg", "/snapshot.jpg"):
        try:
            urllib.request.urlopen(base + path, timeout=10 * SLOW).close()
            raise TestFailure(f"{path} without credentials: 200")
        except urllib.error.HTTPError as e:
            wa = e.headers.get("WWW-Authenticate") or ""
            check(e.code == 401 and wa.startswith("Basic realm="),
                  f"{path} without credentials: {e.code} WWW-Authenticate {wa!r}")
            check("digest" not in wa.lower(), f"{path}: a Digest challenge: {wa!r}")
    auth = {"Authorization": basic("carol", "c4rol pw")}
    with urllib.request.urlopen(urllib.request.Request(base + "/stream.mjpg", headers=auth),
                                timeout=10 * SLOW) as r:
        check(r.status == 200 and r.headers.get("Content-Type", "").startswith(
            "multipart/x-mixed-replace"), f"stream with credentials: {r.status} "
            f"{r.headers.get('Content-Type')}")
        t0 = time.monotonic()
        img = extract_image_from_mjpeg(iter(lambda: r.read1(4096), b""))
        dt = time.monotonic() - t0
    check(img is not None, "no JPEG in the stream")
    jpeg_ok(img, "first JPEG of the stream")
    check(djpeg_size(img) == (320, 240), "first JPEG of the stream: size")
    check(dt < 2.0 * SLOW, f"the first JPEG took {dt:.2f} s")
    with urllib.request.urlopen(urllib.request.Request(base + "/snapshot.jpg", headers=auth),
                                timeout=10 * SLOW) as r:
        check(r.status == 200, f"still_image_url: {r.status}")
        jpeg_ok(r.read(), "still_image_url")
    d.stop()
