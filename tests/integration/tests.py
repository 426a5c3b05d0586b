#!/usr/bin/python3
"""mjpegd integration tests: the real binary over real sockets, checked with djpeg, ffmpeg,
ffprobe and headless Chromium. Run through tests/integration/run.sh (or this file directly;
arguments select tests by substring)."""
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (SANITIZED, SLOW, STREAM_CONTENT_TYPE, Conn, Context, Daemon,  # noqa: E402
                     MultipartParser,
                     TestFailure, assert_serving, check, djpeg_size, get_json, need_tool,
                     open_stream, project_version, read_parts, read_png, request,
                     request_bytes, run_cli, run_tests)
from pool import StreamPool  # noqa: E402
import harness  # noqa: E402


def MJPEGD_PATH():
    return harness.MJPEGD

TESTS = []


def test(fn):
    TESTS.append((fn.__name__[len("test_"):], fn))
    return fn


def jpeg_ok(body, what):
    check(body[:2] == b"\xff\xd8", f"{what}: does not start with FFD8: {body[:16]!r}")
    check(body[-2:] == b"\xff\xd9", f"{what}: does not end with FFD9")


# ------------------------------------------------------------------------------------- snapshots

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


# ---------------------------------------------------------------------------------------- stream

@test
def test_stream_ffmpeg_ffprobe():
    need_tool("ffmpeg")
    need_tool("ffprobe")
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30")
    url = f"http://127.0.0.1:{d.port}/stream.mjpg"
    out = os.path.join(Context.current.tmpdir, "copy.mjpg")
    tmo = 30 * SLOW

    # ffmpeg's own multipart demuxer (picked from the Content-Type) copies 30 JPEGs.
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", url,
                        "-frames:v", "30", "-c", "copy", "-f", "mjpeg", "-y", out],
                       capture_output=True, text=True, timeout=tmo)
    Context.current.note(f"ffmpeg (mpjpeg demuxer): rc={p.returncode} {p.stderr}")
    check(p.returncode == 0, f"ffmpeg -i {url} failed: {p.stderr}")
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames", "-of", "json", out],
                       capture_output=True, text=True, timeout=tmo)
    check(p.returncode == 0, f"ffprobe {out}: {p.stderr}")
    st = json.loads(p.stdout)["streams"][0]
    check(st["codec_name"] == "mjpeg" and (st["width"], st["height"]) == (320, 240),
          f"ffprobe of the copied stream: {st}")
    check(int(st["nb_read_frames"]) >= 30, f"ffprobe counted {st['nb_read_frames']} frames")

    # The raw JPEG demuxer decoding 30 frames (the boundaries in between must not break it).
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "mjpeg",
                        "-i", url, "-frames:v", "30", "-f", "null", "-progress", "pipe:1", "-"],
                       capture_output=True, text=True, timeout=tmo)
    Context.current.note(f"ffmpeg -f mjpeg: rc={p.returncode} {p.stderr}")
    check(p.returncode == 0, f"ffmpeg -f mjpeg -i {url} failed: {p.stderr}")
    frames = [int(x) for x in re.findall(r"^frame=(\d+)$", p.stdout, re.M)]
    check(frames and frames[-1] >= 30, f"ffmpeg -f mjpeg decoded {frames[-1:]} frames")
    check(p.stderr.strip() == "", f"ffmpeg -f mjpeg complained: {p.stderr}")

    # ffprobe straight on the live URL.
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_name,width,height", "-of", "json", url],
                       capture_output=True, text=True, timeout=tmo)
    check(p.returncode == 0, f"ffprobe {url}: {p.stderr}")
    st = json.loads(p.stdout)["streams"][0]
    check(st["codec_name"] == "mjpeg" and (st["width"], st["height"]) == (320, 240),
          f"ffprobe {url}: {st}")
    d.stop()


@test
def test_stream_aliases_and_head():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30")
    for path in ("/stream.mjpg", "/stream", "/?action=stream", "/?action=stream&fps=30"):
        c, parser = open_stream(d.port, path)
        parts = read_parts(c, parser, 3)
        check(djpeg_size(parts[-1].jpeg, path) == (320, 240), f"{path}: wrong size")
        c.close()
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/stream.mjpg"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and r.header("content-type") == STREAM_CONTENT_TYPE,
          f"HEAD /stream.mjpg: {r.status} {r.header('content-type')}")
    rest = c.read_some(0.5)
    check(rest == b"", f"HEAD /stream.mjpg sent a body: {rest[:40]!r}")
    c.close()
    assert_serving(d.port)
    d.stop()


@test
def test_stream_fps_param_invalid():
    d = Daemon("--source", "testpattern", "--size", "320x240")
    # +5, %205 (" 5"), %095 ("\t5"), %0A5 ("\n5"): strtol() took them (issue 13, 5)
    for q in ("fps=0", "fps=abc", "fps=121", "fps=", "fps=-5", "fps=5x", "fps=1e1", "fps=+5",
              "fps=%2B5", "fps=%205", "fps=%095", "fps=%0A5", "fps=5%20", "fps=0x10"):
        for path in ("/stream.mjpg", "/?action=stream&"):
            target = (path + "?" + q) if "?" not in path else path + q
            r = request(d.port, "GET", target)
            check(r.status == 400, f"GET {target}: {r.status}, wanted 400")
            check(len(r.body) < 200, f"GET {target}: long error body")
            assert_serving(d.port)
    for q in ("fps=1", "fps=120"):
        c, parser = open_stream(d.port, "/stream.mjpg?" + q)
        read_parts(c, parser, 1)
        c.close()
    d.stop()


@test
def test_stream_fps_cap():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30")
    pool = StreamPool(d.port, 3, paths=["/stream.mjpg?fps=5", "/stream.mjpg",
                                        "/stream.mjpg?fps=30"])
    capped, free, same = pool.clients
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 2, timeout=5)
    t0 = time.monotonic()
    pool.run(seconds=3.0)
    t1 = time.monotonic()
    fps_capped, fps_free, fps_same = (c.frames_between(t0, t1) / (t1 - t0)
                                      for c in pool.clients)
    Context.current.note(f"?fps=5 client: {fps_capped:.2f} fps; uncapped: {fps_free:.2f} fps; "
                         f"?fps=30: {fps_same:.2f} fps")
    check(3.5 <= fps_capped <= 6.0, f"?fps=5 client got {fps_capped:.2f} fps over 3 s")
    check(fps_free >= 24, f"uncapped client next to it got only {fps_free:.2f} fps")
    check(fps_same >= 24, f"a ?fps=30 client of a 30 fps source got only {fps_same:.2f} fps")
    st = get_json(d.port)
    entry = [e for e in st["clients"]["list"] if e["addr"] == capped.addr()]
    check(len(entry) == 1, f"capped client {capped.addr()} not in /status list")
    check(3 <= entry[0]["fps"] <= 7, f"/status shows the ?fps=5 client at {entry[0]['fps']} fps")
    pool.check_open()
    pool.close()
    d.stop()


@test
def test_multipart_framing():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "5")
    c = Conn(d.port)
    c.send(request_bytes("GET", "/stream.mjpg"))
    r = c.read_response()
    check(r.status == 200, f"GET /stream.mjpg: {r.status}")
    check(r.header("content-type") == STREAM_CONTENT_TYPE,
          f"Content-Type {r.header('content-type')!r}, wanted {STREAM_CONTENT_TYPE!r}")
    check(r.header("content-length") is None, "a stream with Content-Length")
    check("no-cache" in (r.header("cache-control") or ""), "stream without Cache-Control")
    parser = MultipartParser()
    parts, stamps = [], []
    deadline = time.monotonic() + 10 * SLOW
    while len(parts) < 8:
        check(time.monotonic() < deadline, f"only {len(parts)} parts in {10 * SLOW:.0f} s")
        data = c.read_some(1.0 * SLOW) if not c.buf else bytes(c.buf)
        c.buf.clear()
        now = time.monotonic()
        wall = time.time()
        for p in parser.feed(data, now):
            parts.append(p)
            stamps.append((float(p.headers["x-timestamp"]), wall))
    for i, p in enumerate(parts):
        check(int(p.headers["content-length"]) == len(p.jpeg), f"part {i}: length mismatch")
        # The closing boundary is sent with the frame, not with the next one 200 ms later.
        lag = p.t_done - p.t_jpeg
        check(lag < 0.1, f"part {i}: closing boundary came {lag * 1000:.0f} ms after the JPEG")
    for i, (ts, wall) in enumerate(stamps):
        check(ts <= wall + 0.05 and wall - ts < 2.0 * SLOW,
              f"part {i}: X-Timestamp {ts:.6f} is {wall - ts:+.3f} s from now")
        if i:
            check(ts > stamps[i - 1][0], f"part {i}: X-Timestamp not increasing")
    span = stamps[-1][0] - stamps[0][0]
    check(0.8 * 7 / 5 <= span <= 1.3 * 7 / 5 + 0.2,
          f"8 parts at 5 fps span {span:.2f} s of X-Timestamp")
    check(djpeg_size(parts[-1].jpeg, "stream part") == (320, 240), "stream part: wrong size")
    c.close()
    d.stop()


@test
def test_100_stream_clients():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "15",
               "--max-clients", "150")
    d.wait_frame()
    pool = StreamPool(d.port, 100)
    need = 20
    try:
        pool.run(until=lambda: min(c.frames for c in pool.clients) >= need, timeout=10)
    except TestFailure:
        counts = sorted(c.frames for c in pool.clients)
        raise TestFailure(f"not every one of 100 clients got {need} frames within "
                          f"{10 * SLOW:.0f} s: fewest {counts[:5]}, most {counts[-3:]}")
    pool.check_open()
    st = get_json(d.port)
    cl = st["clients"]
    check(cl["streams"] == 100, f"/status clients.streams = {cl['streams']}, wanted 100")
    check(cl["count"] == 101, f"/status clients.count = {cl['count']}, wanted 101 (100 streams "
          f"+ this request)")
    check(cl["max"] == 150 and cl["rejected"] == 0, f"/status clients: max {cl['max']}, "
          f"rejected {cl['rejected']}")
    check(len(cl["list"]) == 101, f"/status clients.list has {len(cl['list'])} entries")
    pool.close()
    deadline = time.monotonic() + 5 * SLOW
    while get_json(d.port)["clients"]["streams"] != 0:
        check(time.monotonic() < deadline, "streams not released after the clients closed")
        time.sleep(0.1)
    d.stop()


@test
def test_stream_client_uploading_is_closed():
    # Issue 13 (3): a viewer sending data was drained 64 bytes per io_uring completion (50-100 %
    # of a core for one uploader), for as long as it liked. Now what it sends is discarded in
    # bulk, and past 64 KiB (a viewer sends nothing) the connection is closed.
    d = Daemon("--source", "testpattern", "--size", "160x120", "--fps", "2")
    c, p = open_stream(d.port)
    read_parts(c, p, 1)
    c.send(b"x" * 1000)  # a little is tolerated
    read_parts(c, p, 1)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_s():
        with open(f"/proc/{d.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    cpu0 = cpu_s()
    sent = 0
    chunk = b"y" * 65536
    deadline = time.monotonic() + 5 * SLOW
    try:
        while sent < 8 * 1024 * 1024 and time.monotonic() < deadline:
            c.sock.settimeout(max(0.1, deadline - time.monotonic()))
            c.sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    check(c.wait_closed(timeout=3), f"a stream client that uploaded {sent} bytes is still "
          f"connected")
    used = cpu_s() - cpu0
    check(used < 1.0 * SLOW, f"the daemon used {used:.2f} s of CPU on one uploading client")
    c.close()
    assert_serving(d.port)
    d.stop()


@test
def test_stalled_client():
    fps = 25
    # Under ASan, freed memory sits in a quarantine (256 MiB by default) and RSS grows with any
    # malloc/free traffic; a small quarantine keeps use-after-free detection for recent frees
    # and makes RSS measure what the daemon keeps.
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"} \
        if SANITIZED else None
    d = Daemon("--source", "testpattern", "--size", "640x480", "--fps", str(fps), env=env)
    d.wait_frame()
    pool = StreamPool(d.port, 5)
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 3, timeout=5)

    def fps_over(seconds, on_tick=None):
        t0 = time.monotonic()
        pool.run(seconds=seconds, on_tick=on_tick)
        t1 = time.monotonic()
        return [c.frames_between(t0, t1) / (t1 - t0) for c in pool.clients]

    base = fps_over(3.0)
    Context.current.note(f"5 clients alone: {[round(x, 1) for x in base]} fps")
    check(min(base) >= 0.8 * fps, f"without a stalled client: {[round(x, 1) for x in base]} "
          f"fps (source {fps})")

    # A viewer that asks for the stream, keeps the connection and never reads.
    stalled = Conn(d.port, rcvbuf=4096)
    stalled.send(request_bytes("GET", "/stream.mjpg"))
    pool.run(seconds=1.5)  # its socket buffers fill
    rss = []
    pool.run(seconds=1.0)
    rss0 = d.rss_kib()
    with_stall = fps_over(10.0, on_tick=lambda now: rss.append(d.rss_kib()))
    Context.current.note(f"5 clients + stalled one: {[round(x, 1) for x in with_stall]} fps; "
                         f"RSS {rss0} kB → max {max(rss)} kB, last {rss[-1]} kB")
    check(min(with_stall) >= 0.8 * fps,
          f"with a stalled client: {[round(x, 1) for x in with_stall]} fps (source {fps})")
    grow = max(rss) - rss0
    limit = 4096
    check(grow <= limit, f"RSS grew by {grow} KiB in 10 s with a stalled client "
          f"({rss0} → {max(rss)} KiB)")
    pool.check_open()

    st = get_json(d.port)
    entries = {e["addr"]: e for e in st["clients"]["list"]}
    me = entries.get(stalled.local_addr())
    check(me is not None, "the stalled client was disconnected (within the idle timeout)")
    others = [entries[c.addr()]["frames_sent"] for c in pool.clients if c.addr() in entries]
    check(others and me["frames_sent"] < min(others) / 2,
          f"stalled client has frames_sent {me['frames_sent']} vs {others}: is it stalled?")
    stalled.close()
    pool.close()
    d.stop()


# ------------------------------------------------------------------------------------------ HTTP

def raw_exchange(port, data, head_only=False, timeout=5):
    c = Conn(port, timeout)
    c.send(data)
    r = c.read_response(head_only=head_only)
    return c, r


@test
def test_http_errors():
    d = Daemon("--source", "testpattern", "--size", "320x240")
    long_target = "/" + "a" * 3000
    fits = "/" + "b" * (2048 - len("GET  HTTP/1.1") - 1)  # request line exactly 2048 bytes
    many = "".join(f"X-H{i}: v\r\n" for i in range(32))  # + Host = 33 headers
    ok_many = "".join(f"X-H{i}: v\r\n" for i in range(31))  # + Host = 32 headers
    cases = [
        # name, raw request, expected status, connection kept open afterwards
        ("garbage line", b"garbage\r\n\r\n", 400, False),
        ("binary (TLS hello)", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),
         400, False),
        ("no version", b"GET /\r\n\r\n", 400, False),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, False),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n", 400, False),
        ("bare CR", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400, False),
        ("two Content-Lengths", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
         b"Content-Length: 2\r\n\r\nab", 400, False),
        ("POST without body", b"POST /status HTTP/1.1\r\nHost: x\r\n\r\n", 405, True),
        ("PUT Content-Length 0", b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
         405, True),
        ("DELETE", b"DELETE /snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\n", 405, True),
        ("lower-case get", b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 405, True),
        ("POST with body", b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
         405, True),
        ("POST body > 4096", b"POST /controls HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n",
         413, False),
        ("chunked body", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\n", 501, False),
        ("GET with body", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 501,
         False),
        ("request line > 2048", f"GET {long_target} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414,
         False),
        ("request line = 2048 (404)", f"GET {fits} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 404,
         True),
        ("request line 2049", f"GET {fits}c HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414, False),
        ("head > 8192", ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "v" * 8200 +
                         "\r\n\r\n").encode(), 431, False),
        ("head > 8192 in many lines", ("GET / HTTP/1.1\r\nHost: x\r\n" +
                                       "".join(f"X-{i}: {'w' * 400}\r\n" for i in range(25)) +
                                       "\r\n").encode(), 431, False),
        ("33 headers", f"GET /status HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode(), 431, False),
        ("32 headers (200)", f"GET /status HTTP/1.1\r\nHost: x\r\n{ok_many}\r\n".encode(), 200,
         True),
        ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, False),
        ("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, False),
        ("HTTP/3.0", b"GET /status HTTP/3.0\r\nHost: x\r\n\r\n", 505, False),
        ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None, False),
        # RFC 9112 section 3.2 (issue 13, 8)
        ("HTTP/1.1 without Host", b"GET /status HTTP/1.1\r\n\r\n", 400, False),
        ("two Host fields", b"GET /status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
         False),
        ("HTTP/1.0 without Host (200)", b"GET /status HTTP/1.0\r\n\r\n", 200, False),
        ("404", b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, True),
        ("404 deep", b"GET /stream.mjpg/x HTTP/1.1\r\nHost: x\r\n\r\n", 404, True),
    ]
    for name, raw, want, kept in cases:
        try:
            c, r = raw_exchange(d.port, raw)
        except TestFailure as e:
            raise TestFailure(f"{name}: {e}")
        if want is None:
            check(400 <= r.status < 600, f"{name}: got {r.status}, wanted an error")
        else:
            check(r.status == want, f"{name}: got {r.status} {r.reason}, wanted {want}")
        if r.status >= 400:
            check((r.header("content-type") or "").startswith("text/plain"),
                  f"{name}: error Content-Type {r.header('content-type')}")
            check(0 < len(r.body) < 200 and str(r.status).encode() in r.body,
                  f"{name}: error body {r.body!r}")
        if r.status == 405:
            check(r.header("allow") == "GET, HEAD, OPTIONS", f"{name}: Allow {r.header('allow')!r}")
        if kept:
            c.send(request_bytes("GET", "/status"))
            r2 = c.read_response()
            check(r2.status == 200, f"{name}: the next request on the connection got "
                  f"{r2.status}")
        else:
            check(r.header("connection") == "close",
                  f"{name}: {r.status} without Connection: close")
            check(c.wait_closed(), f"{name}: connection not closed after {r.status}")
        c.close()
        check(d.alive(), f"mjpegd died after {name}")
        assert_serving(d.port)
    # HEAD of an error has no body.
    c, r = raw_exchange(d.port, request_bytes("HEAD", "/nope"), head_only=True)
    check(r.status == 404, f"HEAD /nope: {r.status}")
    check(c.read_some(0.3) == b"", "HEAD /nope sent a body")
    c.close()
    d.stop()


@test
def test_header_timeout_408():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--header-timeout-ms", "500")
    late = 2.0 * SLOW

    def expect_408(c, t0, what):
        r = c.read_response(timeout=5)
        dt = time.monotonic() - t0
        check(r.status == 408, f"{what}: got {r.status}, wanted 408")
        check(0.4 <= dt <= 0.5 + late, f"{what}: 408 after {dt:.2f} s (--header-timeout-ms 500)")
        check(c.wait_closed(), f"{what}: connection not closed after 408")
        c.close()
        assert_serving(d.port)

    # incomplete head
    c = Conn(d.port)
    t0 = time.monotonic()
    c.send(b"GET /status HTTP/1.1\r\nHost: x\r\n")
    expect_408(c, t0, "incomplete head")

    # slowloris: a byte every 100 ms never completes in time
    c = Conn(d.port)
    t0 = time.monotonic()
    req = b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n\r\n"
    got = b""
    for i, b in enumerate(req):
        if time.monotonic() - t0 > 0.5 + late:
            break
        try:
            c.sock.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        got = c.read_some(0.1)
        if got:
            break
    c.buf[:0] = got
    expect_408(c, t0, "slowloris")

    # connected and silent
    c = Conn(d.port)
    t0 = time.monotonic()
    expect_408(c, t0, "silent connection")

    # A whole request sent in pieces within the time is fine.
    c = Conn(d.port)
    c.send(b"GET /status HT")
    time.sleep(0.2)
    c.send(b"TP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response()
    check(r.status == 200, f"request in two pieces: {r.status}")
    c.close()
    d.stop()


@test
def test_header_timeout_after_keepalive_response():
    # Issue 13 (1): the first byte of a second request, sent with the first, is held while the
    # first is answered; the header deadline must run for it (it used to be cleared, never set
    # again, so such a connection held its slot for ever).
    d = Daemon("--source", "testpattern", "--size", "320x240", "--header-timeout-ms", "500",
               "--idle-timeout-ms", "60000")
    for tail in (b"G", b"GET /status HTTP/1.1\r\nHost: x\r\n"):
        c = Conn(d.port)
        c.send(request_bytes("GET", "/status") + tail)
        r = c.read_response()
        check(r.status == 200, f"first request: {r.status}")
        t0 = time.monotonic()
        r = c.read_response(timeout=3)
        dt = time.monotonic() - t0
        check(r.status == 408, f"partial second request {tail[:8]!r}: {r.status}, wanted 408")
        check(dt <= 0.5 + 2.0 * SLOW, f"408 after {dt:.2f} s (--header-timeout-ms 500)")
        check(c.wait_closed(), "connection not closed after 408")
        c.close()
    # A byte sent after the response (the connection idle in between) gets the same deadline.
    c = Conn(d.port)
    c.send(request_bytes("GET", "/status"))
    check(c.read_response().status == 200, "keep-alive request")
    time.sleep(0.2)
    c.send(b"G")
    t0 = time.monotonic()
    r = c.read_response(timeout=3)
    check(r.status == 408 and time.monotonic() - t0 <= 0.5 + 2.0 * SLOW,
          f"byte after an idle pause: {r.status}")
    c.close()
    assert_serving(d.port)
    d.stop()


@test
def test_pipelining_and_keepalive():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--idle-timeout-ms", "800")
    d.wait_frame()
    # Two requests in one write: two responses, in order.
    c = Conn(d.port)
    c.send(request_bytes("GET", "/status") * 2)
    for i in range(2):
        r = c.read_response()
        check(r.status == 200, f"pipelined /status #{i + 1}: {r.status}")
        json.loads(r.body)
    # Mixed pipeline: 200, 404, HEAD 200, 200 image.
    c.send(request_bytes("GET", "/metrics") + request_bytes("GET", "/nope") +
           request_bytes("HEAD", "/status") + request_bytes("GET", "/snapshot.jpg"))
    r = c.read_response()
    check(r.status == 200 and b"mjpegd_frames_sent_total" in r.body, "pipelined /metrics")
    r = c.read_response()
    check(r.status == 404, f"pipelined /nope: {r.status}")
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 0, "pipelined HEAD /status")
    r = c.read_response()
    check(r.status == 200 and r.body[:2] == b"\xff\xd8", "pipelined /snapshot.jpg")
    # Keep-alive: requests one after the other on the same connection.
    for i in range(3):
        c.send(request_bytes("GET", "/status"))
        r = c.read_response()
        check(r.status == 200, f"keep-alive request {i + 1}: {r.status}")
        check((r.header("connection") or "").lower() == "keep-alive",
              f"keep-alive request {i + 1}: Connection {r.header('connection')!r}")
    # Idle keep-alive connections are closed after --idle-timeout-ms.
    t0 = time.monotonic()
    check(c.wait_closed(timeout=4), "idle keep-alive connection not closed")
    dt = time.monotonic() - t0
    check(0.6 <= dt <= 0.8 + 1.0 * SLOW, f"idle connection closed after {dt:.2f} s "
          f"(--idle-timeout-ms 800)")
    c.close()
    # Connection: close is honoured.
    c = Conn(d.port)
    c.send(request_bytes("GET", "/status", {"Connection": "close"}))
    r = c.read_response()
    check(r.status == 200 and (r.header("connection") or "").lower() == "close",
          f"Connection: close → {r.status} {r.header('connection')}")
    check(c.wait_closed(), "connection not closed after Connection: close")
    c.close()
    # HTTP/1.0 closes by default and keeps alive on request.
    c = Conn(d.port)
    c.send(request_bytes("GET", "/status", version="HTTP/1.0"))
    r = c.read_response()
    check(r.status == 200 and (r.header("connection") or "").lower() == "close",
          f"HTTP/1.0 → {r.status} Connection {r.header('connection')!r}")
    check(c.wait_closed(), "HTTP/1.0 connection not closed")
    c.close()
    c = Conn(d.port)
    for i in range(2):
        c.send(request_bytes("GET", "/status", {"Connection": "keep-alive"}, version="HTTP/1.0"))
        r = c.read_response()
        check(r.status == 200, f"HTTP/1.0 keep-alive #{i + 1}: {r.status}")
    c.close()
    d.stop()


@test
def test_max_clients_503():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30",
               "--max-clients", "3")
    d.wait_frame()
    streams = []
    for i in range(3):
        c, p = open_stream(d.port)
        read_parts(c, p, 1)
        streams.append((c, p))
    c = Conn(d.port)
    c.send(request_bytes("GET", "/stream.mjpg"))
    r = c.read_response()
    check(r.status == 503, f"4th stream client got {r.status}, wanted 503")
    check(r.header("retry-after") is not None, "503 without Retry-After")
    check(c.wait_closed(), "connection not closed after 503")
    c.close()
    r = request(d.port, "GET", "/status")
    check(r.status == 503, f"/status with 3 of 3 connections in use: {r.status}, wanted 503")
    for c, p in streams:  # the three are still served
        read_parts(c, p, 2)
    streams[0][0].close()
    deadline = time.monotonic() + 5 * SLOW
    while True:  # a freed slot is usable again
        c = Conn(d.port)
        c.send(request_bytes("GET", "/stream.mjpg"))
        r = c.read_response()
        if r.status == 200:
            break
        c.close()
        check(time.monotonic() < deadline, "slot not reusable 5 s after a stream client left")
        time.sleep(0.1)
    c.close()
    for c, p in streams[1:]:
        c.close()
    deadline = time.monotonic() + 5 * SLOW
    while True:
        r = request(d.port, "GET", "/status")
        if r.status == 200:
            break
        check(time.monotonic() < deadline, f"/status still {r.status} after all streams left")
        time.sleep(0.1)
    st = json.loads(r.body)
    check(st["clients"]["rejected"] >= 1 and st["clients"]["max"] == 3,
          f"/status clients after a rejection: {st['clients']}")
    d.stop()


def refused_burst(d, n):
    """Connects n clients at once (the daemon stopped meanwhile, so all wait in the backlog and
    are accepted in one go), each sends a request; returns the status each got (None: closed
    without an answer)."""
    port = d.port
    socks = []
    d.signal(signal.SIGSTOP)
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5 * SLOW)
        Context.current.sockets.append(s)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        try:
            s.sendall(request_bytes("GET", "/status"))
        except OSError:
            pass
    d.signal(signal.SIGCONT)
    got = []
    for s in socks:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        got.append(int(m.group(1)) if m else None)
        if m:
            check(b"\r\nRetry-After: 5\r\n" in data and b"\r\nConnection: close\r\n" in data,
                  f"refusal head: {data!r}")
        s.close()
    return got


@test
def test_max_clients_burst_all_503():
    # Issue 13 (6): above --max-clients only the first 32 of a burst got the 503, the rest were
    # closed unanswered.
    d = Daemon("--source", "testpattern", "--size", "160x120", "--fps", "5", "--max-clients", "2")
    d.wait_frame()
    streams = [open_stream(d.port) for _ in range(2)]
    for c, p in streams:
        read_parts(c, p, 1)
    got = refused_burst(d, 150)
    bad = [g for g in got if g != 503]
    check(not bad, f"{len(bad)} of 150 refused connections got {sorted(set(map(str, bad)))} "
          f"instead of 503")
    for c, p in streams:  # still served
        read_parts(c, p, 1)
        c.close()
    deadline = time.monotonic() + 5 * SLOW
    while True:
        r = request(d.port, "GET", "/status")
        if r.status == 200:
            break
        check(time.monotonic() < deadline, f"/status still {r.status} after the streams left")
        time.sleep(0.1)
    st = json.loads(r.body)
    check(st["clients"]["rejected"] >= 150, f"rejected count {st['clients']['rejected']}")
    d.stop()


@test
def test_refusals_logged_in_summary():
    # Issue 13 (2): one warning per refused connection, each naming another address:port (so
    # the repeat filter never matched): a flood of refusals flooded the journal.
    d = Daemon("--source", "testpattern", "--size", "160x120", "--fps", "5", "--max-clients", "1")
    c, p = open_stream(d.port)
    read_parts(c, p, 1)
    for i in range(60):
        r = request(d.port, "GET", "/status")
        check(r.status == 503, f"refused connection {i + 1}: {r.status}")
    d.stop()
    lines = [ln for ln in d.log().splitlines() if "refused" in ln]
    check(len(lines) <= 3, f"{len(lines)} log lines for 60 refusals: {lines[:5]}")
    check(re.search(r"^<4>client 127\.0\.0\.1:\d+ refused: 1 clients connected", d.log(), re.M),
          f"first refusal not logged with its address: {lines}")
    counted = sum(int(m.group(1)) for ln in lines
                  for m in [re.search(r"(\d+) more clients? refused in the last \d+ s", ln)] if m)
    check(counted == 59, f"the summary counts {counted} more refusals (60 made): {lines}")


# ---------------------------------------------------------------------------- status / metrics

@test
def test_status_json():
    fps = 20
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", str(fps))
    d.wait_frame()
    pool = StreamPool(d.port, 2)
    pool.run(seconds=2.5)
    st = get_json(d.port)
    Context.current.note("status: " + json.dumps(st)[:1500])
    expect = {
        "version": str, "uptime_ms": int, "source": str, "encoder": str, "width": int,
        "height": int, "fps_target": int, "fps_measured": (int, float), "frames": dict,
        "bytes_copied": int, "bytes_copied_per_frame": (int, float), "bytes_sent": int,
        "frame_pool": dict, "loop": dict, "clients": dict,
    }
    for k, t in expect.items():
        check(k in st and isinstance(st[k], t), f"/status: key {k!r} missing or not {t}")
    sub = {"frames": ["captured", "encoded", "sent", "dropped", "encode_errors"],
           "frame_pool": ["capacity", "in_use", "bytes"],
           "loop": ["io_uring_enters", "completions"],
           "clients": ["count", "streams", "max", "rejected", "list"]}
    for k, keys in sub.items():
        for kk in keys:
            check(kk in st[k], f"/status: {k}.{kk} missing")
            if kk != "list":
                check(isinstance(st[k][kk], int) and st[k][kk] >= 0,
                      f"/status: {k}.{kk} = {st[k][kk]!r}")
    check(st["version"] == project_version(), f"version {st['version']!r} vs Makefile "
          f"{project_version()!r}")
    check(2000 <= st["uptime_ms"] <= 60000, f"uptime_ms {st['uptime_ms']}")
    check("testpattern" in st["source"], f"source {st['source']!r}")
    check((st["width"], st["height"], st["fps_target"]) == (320, 240, fps),
          f"size/fps {st['width']}x{st['height']}@{st['fps_target']}")
    check(abs(st["fps_measured"] - fps) <= 0.15 * fps,
          f"fps_measured {st['fps_measured']} for --fps {fps}")
    f = st["frames"]
    check(f["captured"] >= 2 * fps and f["encoded"] >= 2 * fps, f"frames {f}")
    check(f["encoded"] <= f["captured"] and f["encode_errors"] == 0, f"frames {f}")
    check(f["sent"] >= 2 * 2 * fps * 0.8, f"frames.sent {f['sent']} with 2 viewers for 2.5 s")
    check(st["bytes_sent"] > f["sent"] * 1000, f"bytes_sent {st['bytes_sent']}")
    fp = st["frame_pool"]
    check(1 <= fp["in_use"] <= fp["capacity"] and fp["bytes"] > 0, f"frame_pool {fp}")
    check(st["loop"]["io_uring_enters"] > 0 and st["loop"]["completions"] > 0, f"loop {st['loop']}")
    cl = st["clients"]
    check(cl["count"] == 3 and cl["streams"] == 2 and cl["max"] == 100 and cl["rejected"] == 0,
          f"clients {dict((k, v) for k, v in cl.items() if k != 'list')}, wanted count 3 "
          f"(2 streams + this request), streams 2, max 100, rejected 0")
    kinds = sorted(e["kind"] for e in cl["list"])
    check(kinds == ["http", "stream", "stream"], f"clients.list kinds {kinds}")
    addrs = {c.addr() for c in pool.clients}
    for e in cl["list"]:
        for k in ("id", "addr", "kind", "fps", "frames_sent", "frames_skipped", "connected_ms"):
            check(k in e, f"clients.list entry without {k!r}: {e}")
        if e["kind"] == "stream":
            check(e["addr"] in addrs, f"stream entry addr {e['addr']} not one of {addrs}")
            check(abs(e["fps"] - fps) <= 0.25 * fps, f"stream client fps {e['fps']}")
            check(e["frames_sent"] >= 2 * fps * 0.8, f"stream client frames_sent "
                  f"{e['frames_sent']}")
            check(2000 <= e["connected_ms"] <= 60000, f"connected_ms {e['connected_ms']}")
    st2 = get_json(d.port)
    check(st2["uptime_ms"] >= st["uptime_ms"] and
          st2["frames"]["sent"] >= st["frames"]["sent"], "counters went backwards")

    # HEAD /status: same head, no body.
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/status"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 100, f"HEAD /status {r}")
    check(c.read_some(0.3) == b"", "HEAD /status sent a body")
    c.close()

    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/metrics"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 100, f"HEAD /metrics {r}")
    check(c.read_some(0.3) == b"", "HEAD /metrics sent a body")
    c.close()

    # /metrics: Prometheus text format.
    r = request(d.port, "GET", "/metrics")
    check(r.status == 200 and (r.header("content-type") or "").startswith("text/plain"),
          f"/metrics: {r.status} {r.header('content-type')}")
    text = r.body.decode()
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.]+(?:e[+-]?\d+)?)",
                         line)
        check(m, f"/metrics: bad line {line!r}")
        check(m.group(1) in typed, f"/metrics: {m.group(1)} has no # TYPE")
        values[m.group(1)] = float(m.group(3))
    check("mjpegd_frames_sent_total" in values, "/metrics has no mjpegd_frames_sent_total")
    check(values["mjpegd_frames_sent_total"] >= st2["frames"]["sent"],
          f"mjpegd_frames_sent_total {values['mjpegd_frames_sent_total']} < /status "
          f"{st2['frames']['sent']}")
    pool.close()
    d.stop()


@test
def test_index_page():
    d = Daemon("--source", "testpattern", "--size", "320x240")
    for path in ("/", "/index.html"):
        r = request(d.port, "GET", path)
        check(r.status == 200 and (r.header("content-type") or "").startswith("text/html"),
              f"GET {path}: {r.status} {r.header('content-type')}")
        check(re.search(rb'<img[^>]*src="/stream\.mjpg"', r.body), f"GET {path}: no <img> of "
              f"/stream.mjpg")
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 0, f"HEAD /: {r}")
    check(c.read_some(0.3) == b"", "HEAD / sent a body")
    c.close()
    d.stop()


# ---------------------------------------------------------------------------------- file source

def make_jpegs(tmp, n=4, size="320x240", sub="jpegs"):
    need_tool("ffmpeg")
    src = os.path.join(tmp, sub)
    os.makedirs(src)
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "lavfi",
                        "-i", f"testsrc=size={size}:rate=5", "-frames:v", str(n), "-q:v", "5",
                        os.path.join(src, "frame%03d.jpg")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"ffmpeg could not make test JPEGs: {p.stderr}")
    files = []
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            files.append(f.read())
    check(len(files) == n and len(set(files)) == n, "ffmpeg made fewer/identical JPEGs")
    return src, files


@test
def test_file_source_directory():
    tmp = Context.current.tmpdir
    src, files = make_jpegs(tmp)
    # Things the directory scan must skip: other files, a directory named like a JPEG, a JPEG
    # of another size (sorted last, so the first file sets the size).
    with open(os.path.join(src, "README.txt"), "w") as f:
        f.write("not an image\n")
    os.makedirs(os.path.join(src, "sub.jpg"))
    small_dir, small = make_jpegs(tmp, n=1, size="160x120", sub="small")
    with open(os.path.join(src, "zzz-small.JPG"), "wb") as f:
        f.write(small[0])
    for enc in ("passthrough", "auto"):
        d = Daemon("--source", f"file:{src}", "--encoder", enc, "--fps", "10")
        r = d.wait_frame()
        check(r.body in files, f"--encoder {enc}: snapshot is not byte-equal to any input file "
              f"({len(r.body)} bytes; inputs {[len(x) for x in files]})")
        c, parser = open_stream(d.port)
        parts = read_parts(c, parser, 10)
        c.close()
        for i, p in enumerate(parts):
            check(p.jpeg in files, f"--encoder {enc}: stream part {i} differs from every input")
        seen = {files.index(p.jpeg) for p in parts}
        check(len(seen) >= 3, f"--encoder {enc}: 10 parts at 10 fps showed only files {seen}")
        st = get_json(d.port)
        check("passthrough" in st["encoder"], f"encoder {st['encoder']!r}")
        check((st["width"], st["height"]) == (320, 240), f"size {st['width']}x{st['height']}")
        check(st["bytes_copied"] == 0 and st["bytes_copied_per_frame"] == 0,
              f"passthrough copied {st['bytes_copied']} bytes "
              f"({st['bytes_copied_per_frame']}/frame)")
        Context.current.note("daemon log: " + d.log())
        d.stop()


@test
def test_file_source_mjpeg_file():
    tmp = Context.current.tmpdir
    _, files = make_jpegs(tmp)
    _, thumb = make_jpegs(tmp, n=1, size="32x32", sub="thumb")
    # One frame carries an EXIF-style APP1 segment holding a complete small JPEG (its FFD8 and
    # FFD9 must not split the frame).
    app1 = b"Exif\0\0" + thumb[0]
    files[1] = files[1][:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + \
        files[1][2:]
    check(djpeg_size(files[1], "JPEG with APP1 thumbnail") == (320, 240), "test JPEG broken")
    mjpeg = os.path.join(tmp, "clip.mjpeg")
    with open(mjpeg, "wb") as f:
        # Junk between frames and a truncated frame at the end are skipped.
        f.write(b"leading junk" + files[0] + b"\r\n--junk\r\n" + b"".join(files[1:]) +
                b"\xff\x00 junk" + files[0][:len(files[0]) // 2])
    d = Daemon("--source", f"file:{mjpeg}", "--fps", "10")
    r = d.wait_frame()
    check(r.body in files, "snapshot differs from every JPEG of the MJPEG file")
    c, parser = open_stream(d.port)
    parts = read_parts(c, parser, 12)
    c.close()
    for i, p in enumerate(parts):
        check(p.jpeg in files, f"stream part {i} differs from every JPEG of the MJPEG file")
    seen = {files.index(p.jpeg) for p in parts}
    check(seen == set(range(len(files))), f"12 parts showed only JPEGs {sorted(seen)} of "
          f"{len(files)}")
    Context.current.note("daemon log: " + d.log())
    d.stop()


@test
def test_file_source_refusals():
    tmp = Context.current.tmpdir
    src, _ = make_jpegs(tmp, n=2)
    p = run_cli(["--source", f"file:{src}", "--encoder", "software",
                 "--listen", "127.0.0.1:0"], timeout=10)
    check(p.returncode != 0, "--source file:DIR --encoder software started")
    check("--encoder" in p.stderr, f"no mention of --encoder in: {p.stderr}")
    missing = os.path.join(tmp, "does-not-exist")
    p = run_cli(["--source", f"file:{missing}", "--listen", "127.0.0.1:0"], timeout=10)
    check(p.returncode != 0, "a missing --source file started")
    check(missing in p.stderr, f"the missing path is not named in: {p.stderr}")


# ----------------------------------------------------------------------------------------- flags

@test
def test_cli_bad_flags():
    tmp = Context.current.tmpdir
    cfg_dir = os.path.join(tmp, "a-directory")
    os.makedirs(cfg_dir)
    bad_cfg = os.path.join(tmp, "bad.conf")
    with open(bad_cfg, "w") as f:
        f.write("# comment\nsize = 320x240\nfps = 0\n")
    cases = [
        (["--fps", "0"], "--fps"),
        (["--fps", "121"], "--fps"),
        (["--fps=abc"], "--fps"),
        (["--size", "7x7"], "--size"),
        (["--size", "641x480"], "--size"),
        (["--size", "640"], "--size"),
        (["--quality", "101"], "--quality"),
        (["--quality", "0"], "--quality"),
        (["--source", "nope"], "--source"),
        (["--source", "file:"], "--source"),
        (["--encoder", "nope"], "--encoder"),
        (["--listen", "1.2.3.4.5:x"], "--listen"),
        (["--listen", "127.0.0.1:70000"], "--listen"),
        (["--max-clients", "0"], "--max-clients"),
        (["--log-level", "loud"], "--log-level"),
        (["--header-timeout-ms", "-1"], "--header-timeout-ms"),
        (["--config", os.path.join(tmp, "missing.conf")], "--config"),
        (["--config", cfg_dir], "config"),
        (["--config", bad_cfg], "fps"),
        (["--no-such-flag"], "--no-such-flag"),
        (["--fps"], "--fps"),
        (["stray"], "stray"),
    ]
    for args, name in cases:
        # Should a bad value be accepted, the daemon must not take port 8000 meanwhile.
        p = run_cli(["--listen", "127.0.0.1:0"] + args, timeout=5)
        check(p.returncode == 2, f"mjpegd {' '.join(args)}: exit {p.returncode}, wanted 2 "
              f"(stderr {p.stderr!r})")
        check(name in p.stderr, f"mjpegd {' '.join(args)}: message does not name {name!r}: "
              f"{p.stderr!r}")
        check("serving" not in p.stderr, f"mjpegd {' '.join(args)} started serving")
    p = run_cli(["--config", bad_cfg])
    check(bad_cfg in p.stderr and ":3:" in p.stderr, f"config error without file:line: "
          f"{p.stderr!r}")


@test
def test_cli_help_version():
    p = run_cli(["--help"])
    check(p.returncode == 0, f"--help: exit {p.returncode}")
    for flag in ("--source", "--encoder", "--size", "--fps", "--quality", "--listen",
                 "--max-clients", "--log-level", "--header-timeout-ms", "--idle-timeout-ms",
                 "--config", "--version"):
        check(flag in p.stdout, f"--help does not mention {flag}")
    p = run_cli(["-h"])
    check(p.returncode == 0 and "Usage" in p.stdout, "-h")
    p = run_cli(["--version"])
    check(p.returncode == 0, f"--version: exit {p.returncode}")
    check(p.stdout.strip() == f"mjpegd {project_version()}",
          f"--version printed {p.stdout!r}, Makefile says {project_version()}")


@test
def test_config_file():
    tmp = Context.current.tmpdir
    cfg = os.path.join(tmp, "mjpegd.conf")
    with open(cfg, "w") as f:
        f.write("# test config\nsource = testpattern\nsize = 320x240\n  fps = 12  \n"
                "max-clients = 7\nlisten = 127.0.0.1:0\n")
    d = Daemon("--config", cfg, "--size", "160x120", listen=True)
    st = get_json(d.port)
    check((st["width"], st["height"]) == (160, 120), "a flag did not win over the config file")
    check(st["fps_target"] == 12 and st["clients"]["max"] == 7,
          f"config file values not applied: fps_target {st['fps_target']}, max "
          f"{st['clients']['max']}")
    d.stop()


def nofile_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        m = re.search(r"^Max open files\s+(\d+)\s+(\d+)", f.read(), re.M)
    check(m, "no 'Max open files' in /proc/PID/limits")
    return int(m.group(1)), int(m.group(2))


@test
def test_open_file_limit_for_max_clients():
    # Issue 13 (8): nothing raised or even mentioned an open-file limit below what --max-clients
    # needs (accept then failed with EMFILE under load). Now the soft limit is raised up to the
    # hard one, and a hard limit too low is reported with the number of clients it allows.
    tmp = Context.current.tmpdir
    import resource
    hard_now = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cases = [(100, 200)] + ([(100, min(hard_now, 4096))] if hard_now >= 1024 else [])
    for soft, hard in cases:
        wrapper = os.path.join(tmp, f"nofile-{hard}.sh")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nulimit -Sn {soft} && ulimit -Hn {hard} && exec {MJPEGD_PATH()} "
                    f"\"$@\"\n")
        os.chmod(wrapper, 0o755)
        d = Daemon("--source", "testpattern", "--size", "160x120", "--max-clients", "500",
                   binary=wrapper)
        got_soft, got_hard = nofile_limits(d.pid)
        check(got_hard == hard, f"hard limit {got_hard}, set {hard}")
        if hard >= 600:
            check(got_soft >= 564, f"soft open-file limit {got_soft} with --max-clients 500 "
                  f"(hard {hard})")
            check(re.search(r"^<6>raised the open-file limit from 100 to \d+", d.log(), re.M),
                  "raising the limit not logged")
        else:
            check(got_soft == hard, f"soft limit {got_soft}: not raised to the hard {hard}")
            check(re.search(r"^<4>open-file limit 200 .*allows about \d+ clients, "
                            r"--max-clients is 500", d.log(), re.M),
                  f"a too low hard limit was not reported: {d.log()[-600:]}")
        assert_serving(d.port)
        d.stop()


@test
def test_port_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    Context.current.sockets.append(s)
    port = s.getsockname()[1]
    p = run_cli(["--source", "testpattern", "--listen", f"127.0.0.1:{port}"], timeout=10)
    check(p.returncode != 0, f"started on a port in use (exit {p.returncode})")
    check("address already in use" in p.stderr.lower(), f"message: {p.stderr!r}")
    s.close()


@test
def test_format_flag():
    """--format: a format the encoder does not take stops the start with a reason; a source
    with one format of its own says --format is ignored, and serves."""
    p = run_cli(["--source", "testpattern", "--encoder", "passthrough", "--format", "YUYV",
                 "--listen", "127.0.0.1:0"], timeout=10)
    check(p.returncode != 0, f"--encoder passthrough --format YUYV started (exit {p.returncode})")
    check("<3>--format YUYV: the passthrough encoder does not take it (it takes MJPG JPEG)"
          in p.stderr, f"message: {p.stderr!r}")
    check("serving" not in p.stderr, "it served")
    d = Daemon("--source", "testpattern", "--format", "YUYV", "--size", "320x240", listen=True)
    st = get_json(d.port)
    check(st["encoder"].startswith("software"), f"encoder {st['encoder']!r}")
    d.stop()
    check("<4>--format YUYV: testpattern 320x240@30 gives only YU12; --format is ignored"
          in d.log(), f"no warning in {d.log()!r}")


# --------------------------------------------------------------------------------------- signals

def signal_with_clients(sig):
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30")
    d.wait_frame()
    pool = StreamPool(d.port, 5)
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 2, timeout=5)
    idle = Conn(d.port)  # a keep-alive connection between requests
    idle.send(request_bytes("GET", "/status"))
    idle.read_response()
    half = Conn(d.port)  # one in the middle of its head
    half.send(b"GET /status HTTP/1.1\r\n")
    stalled = Conn(d.port, rcvbuf=4096)
    stalled.send(request_bytes("GET", "/stream.mjpg"))
    pool.run(seconds=0.5)
    d.signal(sig)
    rc, dt = d.wait_exit(3.0 * SLOW)
    d.stopped = True
    if rc is None:
        d.kill()
        raise TestFailure(f"mjpegd still running {3.0 * SLOW:.0f} s after {sig.name}")
    d.check_log()
    check(rc == 0, f"exit code {rc} after {sig.name}")
    Context.current.note(f"exit {rc} {dt:.3f} s after {sig.name}")
    limit = 1.0 if not SANITIZED else 1.5
    check(dt <= limit, f"exit took {dt:.2f} s after {sig.name} (limit {limit} s)")
    pool.run(seconds=0.3)
    check(all(c.closed for c in pool.clients), "stream clients not disconnected")
    check(idle.wait_closed(1) and half.wait_closed(1), "HTTP clients not disconnected")
    pool.close()


@test
def test_sigterm_with_clients():
    signal_with_clients(signal.SIGTERM)


@test
def test_sigint_with_clients():
    signal_with_clients(signal.SIGINT)


# -------------------------------------------------------------------------------------- chromium

def chromium_screenshot(url, out):
    exe = need_tool("chromium")
    profile = os.path.join(Context.current.tmpdir, f"profile-{os.path.basename(out)}")
    os.makedirs(profile)
    # The multipart <img> never finishes loading; --timeout stops the navigation after 2.5 s
    # so the screenshot is taken of whatever has been painted by then.
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}",
            f"--screenshot={out}", "--window-size=800,600", "--timeout=2500", url]
    env = dict(os.environ, HOME=profile)
    try:
        p = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=60,
                           stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("chromium did not finish within 60 s")
    noise = [ln for ln in p.stderr.splitlines() if "dbus" not in ln]
    Context.current.note(f"chromium rc={p.returncode}: " + "\n".join(noise[-10:]))
    check(p.returncode == 0 and os.path.exists(out),
          f"chromium --screenshot failed (rc {p.returncode}): {' '.join(noise[-5:])}")
    return read_png(out)


@test
def test_chromium_page():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10")
    d.wait_frame()
    url = f"http://127.0.0.1:{d.port}/"
    tmp = Context.current.tmpdir
    shots = []
    for i in range(2):
        if i:
            time.sleep(1.0)
        shots.append(chromium_screenshot(url, os.path.join(tmp, f"shot{i}.png")))
    (w, h, ch, rows0), (_, _, _, rows1) = shots
    check((w, h) == (800, 600), f"screenshot is {w}x{h}")
    # The page centres the 320x240 <img> at the top (body margin 0, img margin 0 auto).
    x0, x1, y1 = (w - 320) // 2, (w + 320) // 2, 240

    def region(rows):
        return [bytes(r[x0 * ch:x1 * ch]) for r in rows[:y1]]

    r0, r1 = region(rows0), region(rows1)
    colours = set()
    for row in r0[::4]:
        for x in range(0, len(row), ch * 4):
            colours.add(row[x:x + 3])
    check(len(colours) >= 8, f"the stream area of the screenshot has only {len(colours)} "
          f"colours: the image was not drawn")
    bg = bytes([0x11, 0x11, 0x11])
    check(rows0[300][0:3] == bg or rows0[599][0:3] == bg,
          f"page background is not #111 (layout changed?): {rows0[599][0:3]!r}")
    changed = sum(1 for a, b in zip(r0, r1) if a != b)
    check(changed >= 5, f"the stream area is the same in two screenshots 1 s apart "
          f"({changed} rows differ)")
    outside = sum(1 for a, b in zip(rows0[y1 + 60:], rows1[y1 + 60:]) if a != b)
    Context.current.note(f"rows changed: stream area {changed}, below the figures {outside}")
    d.stop()


# --------------------------------------------------------------------------------------- systemd

class NotifySocket:
    """Plays systemd's side of sd_notify: a datagram socket whose path goes in NOTIFY_SOCKET."""

    def __init__(self):
        self.path = os.path.join(Context.current.tmpdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, text)

    def collect(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def count(self, text, since=0.0):
        return sum(1 for t, m in self.messages if t >= since and text in m.split("\n"))


@test
def test_sd_notify_ready_status_watchdog():
    ns = NotifySocket()
    d = Daemon("--source", "testpattern", "--fps", "10",
               env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
    ns.collect(1.5 * SLOW)
    check(ns.count("READY=1") == 1, f"READY=1 sent {ns.count('READY=1')} times: {ns.messages}")
    check(any(m.startswith("STATUS=") or "\nSTATUS=" in m for _, m in ns.messages),
          f"no STATUS= message: {ns.messages}")
    pings = ns.count("WATCHDOG=1")
    # every 200 ms (half of WatchdogSec) from the loop's 250 ms tick: ~3-6 in 1.5 s
    check(pings >= 3, f"only {pings} WATCHDOG=1 pings in 1.5 s with WATCHDOG_USEC=400000")
    # A stopped process (the loop frozen) sends nothing; the pings come back after SIGCONT.
    d.signal(signal.SIGSTOP)
    t_stop = time.monotonic()
    ns.collect(1.0)
    check(ns.count("WATCHDOG=1", since=t_stop + 0.05) == 0, "pings continued while stopped")
    d.signal(signal.SIGCONT)
    t_cont = time.monotonic()
    ns.collect(1.0 * SLOW)
    check(ns.count("WATCHDOG=1", since=t_cont) >= 2, "pings did not resume after SIGCONT")
    d.stop()
    ns.collect(0.3)
    check(ns.count("STOPPING=1") == 1, f"no STOPPING=1 at shutdown: {ns.messages[-3:]}")


@test
def test_socket_activation():
    tool = need_tool("systemd-socket-activate")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = os.path.join(Context.current.tmpdir, "activated.log")
    with open(log_path, "wb") as log:
        p = subprocess.Popen([tool, "-l", f"127.0.0.1:{port}", MJPEGD_PATH(), "--source",
                              "testpattern", "--listen", "127.0.0.1:1"],
                             stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10 * SLOW
        r = None
        while time.monotonic() < deadline:
            try:
                r = request(port, "GET", "/status")
                break
            except OSError:
                time.sleep(0.05)
        check(r is not None and r.status == 200, "no answer on the socket-activated port")
        st = json.loads(r.body)
        check(st["width"] == 640, f"unexpected /status: {st}")
        with open(log_path, errors="replace") as f:
            text = f.read()
        check("socket-activated" in text, f"log does not mention socket activation: {text}")
    finally:
        stop_activated(p)


def activated_first_request(path):
    """Starts mjpegd through systemd-socket-activate with `path` as the very request that starts
    it; returns (Conn, Response) for that request."""
    tool = need_tool("systemd-socket-activate")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = os.path.join(Context.current.tmpdir, "activated.log")
    log = open(log_path, "wb")
    p = subprocess.Popen([tool, "-l", f"127.0.0.1:{port}", MJPEGD_PATH(), "--source",
                          "testpattern", "--size", "320x240", "--listen", "127.0.0.1:1"],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + 10 * SLOW
    while True:
        try:
            c = Conn(port)
            break
        except OSError:
            check(time.monotonic() < deadline, "systemd-socket-activate did not listen")
            time.sleep(0.05)
    try:
        c.send(request_bytes("GET", path))
        r = c.read_response(timeout=10)
        return p, c, r
    except Exception:
        p.kill()
        p.wait()
        raise


def stop_activated(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=5 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        raise TestFailure("socket-activated mjpegd did not exit on SIGTERM")
    check(rc == 0, f"socket-activated mjpegd exited with {rc}")


@test
def test_socket_activation_first_snapshot():
    # Issue 13 (7): the request that starts the service got "503 no frame yet" for a snapshot;
    # it now waits for the first frame (bounded by --source-timeout-ms). A stream gets frames.
    for path in ("/snapshot.jpg", "/stream.mjpg"):
        p, c, r = activated_first_request(path)
        try:
            check(r.status == 200, f"first request {path} after activation: {r.status} {r.body!r}")
            if path == "/snapshot.jpg":
                jpeg_ok(r.body, path)
                check(djpeg_size(r.body) == (320, 240), "snapshot size")
            else:
                mp = MultipartParser()
                read_parts(c, mp, 2)
            c.close()
        finally:
            stop_activated(p)


@test
def test_snapshot_waits_then_503():
    # No frame within --source-timeout-ms (every camera read fails): the waiting snapshot gets
    # 503 with Retry-After. The "starting" placeholder (published after 0.5 s of outage) is no
    # snapshot: asked for once it is there, a snapshot still waits and gets the 503.
    d = Daemon("--source", "testpattern", "--size", "160x120", "--source-timeout-ms", "100",
               "--inject-fault", "source:fail-every=1", binary=harness.MJPEGD_FAULTS)
    for attempt in ("at once", "after the placeholder"):
        if attempt != "at once":
            time.sleep(1.0)
        c = Conn(d.port)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/snapshot.jpg"))
        r = c.read_response(timeout=3)
        dt = time.monotonic() - t0
        check(r.status == 503 and r.header("retry-after") == "1",
              f"/snapshot.jpg {attempt}, no camera frame yet: {r.status} {r.headers}")
        check(dt <= 0.1 + 1.0 * SLOW, f"{attempt}: answered after {dt:.2f} s "
              "(--source-timeout-ms 100)")
        c.close()
    check("clients are shown the placeholder" in d.log(), "no placeholder was published")
    d.stop()


@test
def test_systemd_units_verify():
    tool = need_tool("systemd-analyze")
    tmp = Context.current.tmpdir
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(repo, "systemd", "mjpegd.service.in")) as f:
        unit = f.read()
    unit = unit.replace("@BINDIR@", os.path.dirname(MJPEGD_PATH())).replace("@SYSCONFDIR@", "/etc")
    with open(os.path.join(tmp, "mjpegd.service"), "w") as f:
        f.write(unit)
    with open(os.path.join(repo, "systemd", "mjpegd.socket")) as src, \
            open(os.path.join(tmp, "mjpegd.socket"), "w") as dst:
        dst.write(src.read())
    p = subprocess.run([tool, "verify", "--man=no", os.path.join(tmp, "mjpegd.service"),
                        os.path.join(tmp, "mjpegd.socket")], capture_output=True, text=True,
                       timeout=60)
    out = (p.stdout + p.stderr).strip()
    check(p.returncode == 0 and not out, f"systemd-analyze verify: rc={p.returncode} {out}")


# ----------------------------------------------------------------------------------- supervision

def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def watch_outage(d, seconds, n_clients=3):
    """Keeps n stream clients reading and polls /snapshot.jpg for `seconds`. Returns
    (per-client list of (time, jpeg) parts, list of (time, Retry-After?, body) snapshots)."""
    conns = [open_stream(d.port) for _ in range(n_clients)]
    parts = [[] for _ in conns]
    snaps = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, (conn, parser) in enumerate(conns):
            for p in read_parts(conn, parser, 1, timeout=4):
                parts[i].append((time.monotonic(), p.jpeg))
        r = request(d.port, "GET", "/snapshot.jpg")
        check(r.status == 200, f"/snapshot.jpg during recovery: {r.status}")
        snaps.append((time.monotonic(), r.header("retry-after"), r.body))
    for conn, _ in conns:
        conn.close()
    return parts, snaps


def check_outage_seen(parts, snaps, what):
    held = [body for _, ra, body in snaps if ra == "1"]
    check(held, f"{what}: no /snapshot.jpg answered with the placeholder and Retry-After: 1")
    placeholder = held[0]
    jpeg_ok(placeholder, "placeholder")
    for i, client in enumerate(parts):
        seq = [jpeg == placeholder for _, jpeg in client]
        check(any(seq), f"{what}: client {i} was never sent the placeholder "
              f"({len(client)} parts)")
        first = seq.index(True)
        check(not all(seq[first:]), f"{what}: client {i} got no live frame after the "
              f"placeholder")
        gaps = [b[0] - a[0] for a, b in zip(client, client[1:])]
        check(max(gaps) < 2.5 * SLOW, f"{what}: client {i} waited {max(gaps):.1f} s for a "
              f"part: the placeholder must come at 1 fps")


@test
def test_source_failure_keeps_clients():
    d = Daemon("--source", "testpattern", "--fps", "20", "--source-timeout-ms", "500",
               "--inject-fault", "source:stall-after=10", binary=harness.MJPEGD_FAULTS)
    d.wait_frame()
    time.sleep(1.5 * SLOW)  # one failure and reopen: the long-lived fds are all open now
    fds0, rss0 = fd_count(d.pid), d.rss_kib()
    parts, snaps = watch_outage(d, 6 * SLOW)
    check_outage_seen(parts, snaps, "source stall")
    st = get_json(d.port)
    src, enc = st["devices"]["source"], st["devices"]["encoder"]
    check(src["restarts"] >= 2, f"source restarts {src['restarts']}: {src}")
    check("no frame for 500 ms" in src["last_error"], f"source last_error: {src}")
    check(enc["restarts"] == 0 and enc["failures"] == 0,
          f"the encoder was disturbed by a source failure: {enc}")
    check(st["frames"]["encoded"] > 0, "nothing encoded")
    fds1, rss1 = fd_count(d.pid), d.rss_kib()
    check(fds1 <= fds0, f"fds grew from {fds0} to {fds1} over {src['restarts']} restarts")
    check(rss1 - rss0 < 4096 * (3 if SANITIZED else 1),
          f"RSS grew {rss1 - rss0} KiB over {src['restarts']} source restarts")
    log = d.log()
    check("source: running → failed: no frame for 500 ms" in log, "no transition logged")
    check("clients are shown the placeholder: camera not responding - retrying" in log,
          "placeholder reason not logged")
    d.stop()


@test
def test_encoder_timeout_restarts_encoder_only():
    d = Daemon("--source", "testpattern", "--fps", "20", "--encoder", "software",
               "--encoder-timeout-ms", "500", "--inject-fault", "encoder:stall-after=15",
               binary=harness.MJPEGD_FAULTS)
    d.wait_frame()
    parts, snaps = watch_outage(d, 5 * SLOW)
    check_outage_seen(parts, snaps, "encoder stall")
    st = get_json(d.port)
    src, enc = st["devices"]["source"], st["devices"]["encoder"]
    check(enc["restarts"] >= 1, f"encoder not restarted: {enc}")
    check("a frame not back after 500 ms" in enc["last_error"], f"encoder last_error: {enc}")
    check(src["restarts"] == 0 and src["failures"] == 0 and src["state"] == "running",
          f"the source was disturbed by an encoder failure: {src}")
    m = request(d.port, "GET", "/metrics").body.decode()
    check('mjpegd_device_restarts_total{device="encoder"}' in m and
          'mjpegd_device_state{device="source",state="running"} 1' in m,
          "device figures missing from /metrics")
    d.stop()


@test
def test_inject_fault_only_in_test_binary():
    p = run_cli(["--inject-fault", "source:fail-every=3"])
    check(p.returncode == 2 and "unknown option '--inject-fault'" in p.stderr,
          f"the production binary accepts --inject-fault: rc={p.returncode} {p.stderr!r}")
    p = subprocess.run([harness.MJPEGD_FAULTS, "--inject-fault", "source:explode=3"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "--inject-fault" in p.stderr and "source:explode" in p.stderr,
          f"bad fault spec: rc={p.returncode} {p.stderr!r}")


@test
def test_watchdog_stops_when_loop_wedged():
    ns = NotifySocket()
    d = Daemon("--source", "testpattern", "--fps", "10", "--inject-fault", "loop:wedge=1500",
               env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"},
               binary=harness.MJPEGD_FAULTS)
    ns.collect(4.0 * SLOW)
    pings = [t for t, m in ns.messages if "WATCHDOG=1" in m.split("\n")]
    check(len(pings) >= 4, f"only {len(pings)} pings")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    check(max(gaps) >= 1.3, f"pings went on while the loop was wedged (largest gap "
          f"{max(gaps):.2f} s)")
    check(pings[-1] > pings[0] + max(gaps) + 0.3, "pings did not resume after the wedge")
    check("wedging the event loop for 1500 ms" in d.log(), "wedge not logged")
    d.stop()



@test
def test_sighup_reload():
    tmp = Context.current.tmpdir
    conf = os.path.join(tmp, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nquality = 90\nmax-clients = 50\n")
    d = Daemon("--config", conf, "--fps", "15")
    big = len(d.wait_frame().body)
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nquality = 20\nmax-clients = 7\n"
                "fps = 5\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.8 * SLOW)
    st = get_json(d.port)
    check(st["clients"]["max"] == 7, f"max-clients not applied live: {st['clients']['max']}")
    check(st["fps_target"] == 15, f"the --fps flag must still win over the file: {st['fps_target']}")
    small = len(d.wait_frame().body)
    check(small < big * 0.8, f"quality 90 → 20 did not shrink the JPEG ({big} → {small} bytes)")
    check(st["devices"]["source"]["restarts"] == 0 and st["devices"]["source"]["failures"] == 0,
          f"a quality change disturbed the camera: {st['devices']['source']}")
    # a camera setting reopens the source
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 160x120\nquality = 20\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while True:
        got = djpeg_size(d.wait_frame().body, "snapshot after reload")
        if got == (160, 120):
            break
        check(time.monotonic() < deadline, f"size change not applied: still {got}")
        time.sleep(0.1)
    # a broken file keeps the running configuration
    with open(conf, "w") as f:
        f.write("fps = 0\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.5 * SLOW)
    check(djpeg_size(d.wait_frame().body, "snapshot") == (160, 120), "bad reload changed the size")
    log = d.log()
    check("SIGHUP: keeping the running configuration" in log and ":1: fps" in log,
          "a bad config file on SIGHUP was not reported with file:line")
    assert_serving(d.port)
    d.stop()



@test
def test_config_not_regular_file():
    # Issue 13 (4): a FIFO as the config file blocked start-up, and on SIGHUP the event loop,
    # until a writer came. Refused: fatal at start, the running configuration kept on SIGHUP.
    tmp = Context.current.tmpdir
    fifo = os.path.join(tmp, "fifo.conf")
    os.mkfifo(fifo)
    p = run_cli(["--config", fifo, "--source", "testpattern", "--listen", "127.0.0.1:0"],
                timeout=5)
    check(p.returncode == 2, f"started with a FIFO as --config (exit {p.returncode})")
    check(f"'{fifo}' is not a regular file (a FIFO)" in p.stderr, f"message: {p.stderr!r}")
    conf = os.path.join(tmp, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\n")
    d = Daemon("--config", conf)
    d.wait_frame()
    os.unlink(conf)
    os.mkfifo(conf)
    d.signal(signal.SIGHUP)
    time.sleep(0.3)
    r = request(d.port, "GET", "/status", timeout=3)  # the loop still turns
    check(r.status == 200, f"/status after SIGHUP with a FIFO: {r.status}")
    deadline = time.monotonic() + 3 * SLOW
    while "not a regular file (a FIFO)" not in d.log():
        check(time.monotonic() < deadline, "SIGHUP with a FIFO as config file not logged")
        time.sleep(0.05)
    check("SIGHUP: keeping the running configuration" in d.log(), "no 'keeping' in the log")
    check(djpeg_size(d.wait_frame().body, "snapshot") == (320, 240), "configuration changed")
    d.stop()


@test
def test_slow_viewer_gets_recent_frames():
    """A viewer on a slow link is sent the newest frame whenever its socket drains, not a
    backlog of old ones (TCP_NOTSENT_LOWAT on stream sockets)."""
    d = Daemon("--source", "testpattern", "--size", "1280x720", "--fps", "30", "--quality", "90")
    d.wait_frame()
    conn, parser = open_stream(d.port)
    sock = conn.sock
    sock.setblocking(True)
    sock.settimeout(5 * SLOW)
    ages = []
    end = time.monotonic() + 8
    pending = bytes(conn.buf)
    conn.buf.clear()
    while time.monotonic() < end:
        # about 300 kB/s: a fraction of what 720p at 30 fps needs
        data = pending or sock.recv(16384)
        pending = b""
        check(data, "the stream closed")
        for p in parser.feed(data):
            ts = float(p.headers["x-timestamp"])
            ages.append((time.monotonic(), time.time() - ts))
        time.sleep(0.05)
    conn.close()
    late = [age for t, age in ages if t > end - 3]
    check(len(late) >= 2, f"only {len(late)} parts in the last 3 s")
    check(max(late) < 1.5 * SLOW, f"a slow viewer sees frames {max(late):.1f} s old: it is sent "
          f"a backlog instead of the newest frame")
    d.stop()



@test
def test_make_install_keeps_edited_config():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dest = os.path.join(Context.current.tmpdir, "root")
    build = os.path.relpath(os.path.dirname(MJPEGD_PATH()), repo)

    def make(*targets):
        # the same SAN setting as the binary under test, so make never relinks it differently
        san = ["SAN=1"] if SANITIZED else []
        p = subprocess.run(["make", "-C", repo, "--no-print-directory", f"BUILD={build}", *san,
                            f"DESTDIR={dest}", "PREFIX=/usr", *targets],
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"make {' '.join(targets)}: {p.stdout[-500:]} {p.stderr[-500:]}")
        return p.stdout
    make("install")
    files = ["usr/bin/mjpegd", "lib/systemd/system/mjpegd.service",
             "lib/systemd/system/mjpegd.socket", "usr/share/man/man8/mjpegd.8",
             "etc/mjpegd/mjpegd.conf"]
    for f in files:
        check(os.path.exists(os.path.join(dest, f)), f"make install did not install /{f}")
    with open(os.path.join(dest, "lib/systemd/system/mjpegd.service")) as f:
        unit = f.read()
    check("ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/mjpegd.conf" in unit,
          "the installed unit does not run /usr/bin/mjpegd with /etc/mjpegd/mjpegd.conf")
    conf = os.path.join(dest, "etc/mjpegd/mjpegd.conf")
    with open(conf, "a") as f:
        f.write("quality = 55\n")
    out = make("install")
    check("keeping" in out, f"a second make install did not say it kept the edited config: {out}")
    with open(conf) as f:
        check("quality = 55" in f.read(), "make install overwrote an edited config")
    make("uninstall")
    for f in files[:-1]:
        check(not os.path.exists(os.path.join(dest, f)), f"make uninstall left /{f}")
    check(os.path.exists(conf), "make uninstall removed an edited config")


@test
def test_deps_knows_each_release():
    """scripts/deps.sh reads /etc/os-release: Debian 12, 13, testing, Raspberry Pi OS Bookworm and
    Trixie (32-bit ID=raspbian; 64-bit ID=debian with /etc/rpi-issue), and says so for others."""
    repo = harness.REPO
    tmp = Context.current.tmpdir
    releases = {
        "debian12": ('ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n', None,
                     "Debian 12 (bookworm); kernel source linux-source-6.1; chromium package "
                     "chromium"),
        "debian13": ('ID=debian\nVERSION_ID="13"\nVERSION_CODENAME=trixie\n', None,
                     "Debian 13 (trixie); kernel source linux-source-6.12; chromium package "
                     "chromium"),
        "testing": ('PRETTY_NAME="Debian GNU/Linux forky/sid"\nID=debian\nVERSION_CODENAME=forky\n',
                    None, "Debian testing/unstable; kernel source linux-source;"),
        "sid": ('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n', None,
                "Debian testing/unstable;"),
        "raspbian12": ('ID=raspbian\nID_LIKE=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
                       None, "Raspberry Pi OS on Debian 12 (bookworm); kernel source "
                       "linux-source-6.1; chromium package chromium-browser"),
        "pios64-13": ('ID=debian\nVERSION_ID="13"\nVERSION_CODENAME=trixie\n', "rpi-issue",
                      "Raspberry Pi OS on Debian 13 (trixie); kernel source linux-source-6.12; "
                      "chromium package chromium"),
        "bullseye": ('PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n'
                     'VERSION_CODENAME=bullseye\n', None, "Debian GNU/Linux 11 (bullseye);"),
    }
    for name, (text, issue, want) in releases.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, MJPEGD_OS_RELEASE=path, MJPEGD_NO_APT="1",
                   MJPEGD_RPI_ISSUE=os.path.join(tmp, issue or "no-such-file"))
        if issue:
            open(os.path.join(tmp, issue), "w").close()
        p = subprocess.run([os.path.join(repo, "scripts/deps.sh"), "release"], env=env,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"{name}: deps.sh release exited {p.returncode}: {p.stderr}")
        check(p.stdout.startswith(want), f"{name}: deps.sh takes it for {p.stdout!r}, want {want!r}")
        if name == "bullseye":
            check("not a release mjpegd is made for" in p.stderr,
                  f"bullseye: no word that it is unsupported: {p.stderr!r}")
        else:
            check(p.stderr == "", f"{name}: unexpected output on stderr: {p.stderr!r}")

    # On Raspberry Pi OS, Debian's libcamera (this machine's) is refused: a Pi camera needs Raspberry
    # Pi's "+rpt" build. Only checkable when every build package is already installed here.
    env = dict(os.environ, MJPEGD_OS_RELEASE=os.path.join(tmp, "raspbian12"), MJPEGD_NO_APT="1",
               MJPEGD_RPI_ISSUE=os.path.join(tmp, "no-such-file"))
    debian_env = dict(env, MJPEGD_OS_RELEASE=os.path.join(tmp, "debian12"))
    p = subprocess.run([os.path.join(repo, "scripts/deps.sh"), "build"], env=debian_env,
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        Context.current.note(f"build packages missing here, Pi OS check not run: {p.stderr}")
        return
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libcamera-dev"],
                               capture_output=True, text=True).stdout
    if "rpt" in installed:  # a real Raspberry Pi OS: its own libcamera, rightly accepted
        Context.current.note(f"libcamera-dev {installed} is Raspberry Pi's: refusal not checked")
        return
    p = subprocess.run([os.path.join(repo, "scripts/deps.sh"), "build"], env=env,
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "not Raspberry Pi's libcamera" in p.stderr,
          f"Raspberry Pi OS with Debian's libcamera-dev: exit {p.returncode}, {p.stderr!r}")


@test
def test_platforms_unreachable_row_is_skipped():
    """make test-platforms: a row whose archive does not answer is reported as skipped, with the
    reason, and never counted as passed (the archive here: a closed port on loopback)."""
    import shutil
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        Context.current.note("needs root and debootstrap (scripts/deps.sh platforms): not run")
        return
    env = dict(os.environ, MJPEGD_PLATFORM_CACHE=os.path.join(Context.current.tmpdir, "cache"),
               MJPEGD_DEBIAN_MIRROR="http://127.0.0.1:9/debian")
    p = subprocess.run([os.path.join(harness.REPO, "tests/platforms/run.sh"), "trixie"], env=env,
                       capture_output=True, text=True, timeout=120)
    Context.current.note(p.stdout[-800:])
    lines = p.stdout.strip().splitlines()
    check(p.returncode == 0, f"exit status {p.returncode}: {p.stderr[-300:]}")
    check(any(l.startswith("SKIP  trixie: archive not reachable") and "127.0.0.1:9" in l
              for l in lines), "no SKIP line naming the archive")
    check(any(re.match(r"trixie +- +- +SKIPPED", l) for l in lines), "the matrix does not say SKIPPED")
    check(lines[-1] == "platforms: 0 passed, 0 failed, 1 skipped", f"last line: {lines[-1]!r}")


# -------------------------------------------------------------------------- authentication

def crypt_hash(password, prefix="$y$", cost=0):
    """A crypt(5) hash made by libcrypt itself (as mkpasswd does), through ctypes: Python's own
    crypt module is gone from Python 3.13 (Debian 13)."""
    import ctypes
    lc = ctypes.CDLL("libcrypt.so.1")
    lc.crypt_gensalt.restype = ctypes.c_char_p
    lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lc.crypt.restype = ctypes.c_char_p
    lc.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lc.crypt_gensalt(prefix.encode(), cost, None, 0)
    check(setting, f"crypt_gensalt({prefix}, {cost}) failed")
    h = lc.crypt(password.encode(), setting)
    check(h and h.startswith(prefix.encode()), f"crypt({prefix}) failed: {h!r}")
    return h.decode()


def basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def write_users(path, users, mode=0o600):
    """users: {name: hash}. Written as the file mode says (0600 unless asked otherwise)."""
    with open(path, "w") as f:
        f.write("# mjpegd users\n")
        for name, h in users.items():
            f.write(f"{name}:{h}\n")
    os.chmod(path, mode)
    return path


def auth_users_file(extra=None):
    """alice (yescrypt, mkpasswd's default), carol (bcrypt from htpasswd -B), dave (sha512-crypt)."""
    tmp = Context.current.tmpdir
    path = os.path.join(tmp, "users")
    users = {"alice": crypt_hash("wonderland", "$y$"), "dave": crypt_hash("s3cret", "$6$")}
    users.update(extra or {})
    write_users(path, users)
    htpasswd = need_tool("htpasswd")
    p = subprocess.run([htpasswd, "-B", "-C", "5", "-b", path, "carol", "c4rol pw"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"htpasswd -B: {p.stderr}")
    with open(path) as f:
        check("carol:$2y$" in f.read(), "htpasswd -B did not write a $2y$ hash")
    return path


def timed_request(port, path, headers=None, source="127.0.0.1"):
    """One request from the given loopback source address; returns (Response, seconds)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(30 * SLOW)
    sock.bind((source, 0))
    t0 = time.monotonic()
    sock.connect(("127.0.0.1", port))
    c = Conn.__new__(Conn)
    c.timeout, c.sock, c.buf, c.eof = 30 * SLOW, sock, bytearray(), False
    Context.current.sockets.append(sock)
    hd = {"Connection": "close"}
    hd.update(headers or {})
    c.send(request_bytes("GET", path, hd))
    r = c.read_response()
    dt = time.monotonic() - t0
    c.close()
    return r, dt


@test
def test_auth_every_url_needs_credentials():
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--auth-file", users,
               "--auth-exempt", "/metrics")
    check("3 user(s) loaded" in d.log(), "the number of users is not logged at start")
    paths = ["/", "/index.html", "/stream.mjpg", "/stream", "/?action=stream", "/snapshot.jpg",
             "/?action=snapshot", "/status", "/nonexistent"]
    for path in paths:
        for method in ("GET", "HEAD"):
            r = request(d.port, method, path)
            check(r.status == 401, f"{method} {path} without credentials: {r.status}")
            check(r.header("www-authenticate") == 'Basic realm="mjpegd", charset="UTF-8"',
                  f"{method} {path}: WWW-Authenticate {r.header('www-authenticate')!r}")
    # wrong password, unknown user, other schemes, malformed values: 401
    # (each from its own address: the slow-down of repeated failures is another test's)
    for i, value in enumerate((basic("alice", "wrong"), basic("mallory", "wonderland"),
                               basic("", ""), "Bearer abc", "Basic !!!!", "Basic " + "QUFB" * 200,
                               basic("alice", ""))):
        r, _ = timed_request(d.port, "/snapshot.jpg", {"Authorization": value},
                             source=f"127.0.1.{i + 1}")
        check(r.status == 401, f"Authorization {value[:40]!r}: {r.status}")
    # right credentials, each scheme
    for user, pw in (("alice", "wonderland"), ("carol", "c4rol pw"), ("dave", "s3cret")):
        r = request(d.port, "GET", "/snapshot.jpg", {"Authorization": basic(user, pw)})
        check(r.status == 200 and r.body[:2] == b"\xff\xd8", f"{user}: snapshot {r.status}")
    # the exempt path, and only it
    r = request(d.port, "GET", "/metrics")
    check(r.status == 200 and b"mjpegd_" in r.body, f"/metrics (exempt): {r.status}")
    r = request(d.port, "GET", "/metrics?x=1")
    check(r.status == 200, f"/metrics?x=1 (exempt, a query): {r.status}")
    r = request(d.port, "GET", "/metrics/")
    check(r.status == 401, f"/metrics/ is not /metrics: {r.status}")
    # a browser's way: 401, then the same connection again with credentials
    c = Conn(d.port)
    c.send(request_bytes("GET", "/status"))
    r = c.read_response()
    check(r.status == 401 and r.header("connection") == "keep-alive",
          f"first try: {r.status} Connection {r.header('connection')}")
    c.send(request_bytes("GET", "/status", {"Authorization": basic("alice", "wonderland")}))
    r = c.read_response()
    check(r.status == 200 and json.loads(r.body)["width"] == 320, f"second try: {r.status}")
    # pipelined: the second request is checked on its own
    c.send(request_bytes("GET", "/status", {"Authorization": basic("alice", "wonderland")}) +
           request_bytes("GET", "/status"))
    r1, r2 = c.read_response(), c.read_response()
    check((r1.status, r2.status) == (200, 401), f"pipelined: {r1.status}, {r2.status}")
    c.close()
    # curl -u, as users type it
    curl = need_tool("curl")
    url = f"http://127.0.0.1:{d.port}/snapshot.jpg"
    for args, want in ((["-u", "carol:c4rol pw"], "200"), (["-u", "carol:nope"], "401"),
                       ([], "401")):
        p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}"] + args + [url],
                           capture_output=True, text=True, timeout=30)
        check(p.stdout == want, f"curl {args}: {p.stdout} (want {want})")
    p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        f"http://alice:wonderland@127.0.0.1:{d.port}/status"],
                       capture_output=True, text=True, timeout=30)
    check(p.stdout == "200", f"curl with credentials in the URL: {p.stdout}")
    log = d.log()
    check("wrong password for user 'alice'" in log, "a wrong password is not logged")
    check("wonderland" not in log and "c4rol" not in log, "a password reached the log")
    d.stop()


@test
def test_auth_ffmpeg_reads_stream_with_credentials():
    need_tool("ffmpeg")
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30",
               "--auth-file", users)
    out = os.path.join(Context.current.tmpdir, "copy.mjpg")
    base = f"127.0.0.1:{d.port}/stream.mjpg"
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i",
                        f"http://alice:wonderland@{base}", "-frames:v", "10", "-c", "copy",
                        "-f", "mjpeg", "-y", out], capture_output=True, text=True,
                       timeout=30 * SLOW)
    check(p.returncode == 0, f"ffmpeg with user:password in the URL: {p.stderr}")
    with open(out, "rb") as f:
        n = f.read().count(b"\xff\xd9")
    check(n >= 10, f"ffmpeg copied {n} JPEGs")
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i",
                        f"http://alice:nope@{base}", "-frames:v", "1", "-f", "null", "-"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    check(p.returncode != 0 and "401" in p.stderr,
          f"ffmpeg with a wrong password: rc {p.returncode}, {p.stderr[-200:]!r}")
    d.stop()


def chromium_dump_dom(url):
    """(DOM, stderr) of the page as headless Chromium loads it (--dump-dom)."""
    exe = need_tool("chromium")
    profile = os.path.join(Context.current.tmpdir, f"profile-dom-{time.monotonic_ns()}")
    os.makedirs(profile)
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--timeout=2500",
            "--dump-dom", url]
    try:
        p = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=60,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=profile),
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("chromium --dump-dom did not finish within 60 s")
    check(p.returncode == 0, f"chromium --dump-dom failed (rc {p.returncode}): "
          f"{p.stderr[-300:]}")
    return p.stdout, p.stderr


def stream_area_colours(png, w_img=320, h_img=240):
    """Distinct colours in the area where the page draws the 320x240 stream (chromium_page)."""
    w, h, ch, rows = png
    x0, x1 = (w - w_img) // 2, (w + w_img) // 2
    colours = set()
    for row in rows[:h_img:4]:
        for x in range(x0 * ch, x1 * ch, ch * 4):
            colours.add(row[x:x + 3])
    return len(colours)


@test
def test_auth_chromium_credentials_in_url():
    """Issue 13's client list: headless Chromium loading http://user:pass@host:port/ shows the
    stream (the page, then its <img> sent with the credentials the browser keeps for the realm).
    Without credentials, or with a wrong password, the 401 challenge cannot be answered: headless
    Chromium has no prompt, so the load ends with net::ERR_INVALID_AUTH_CREDENTIALS (a desktop
    Chromium would ask) and no page is built (no screenshot is taken of a failed load)."""
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10",
               "--auth-file", users)
    tmp = Context.current.tmpdir
    good = f"http://alice:wonderland@127.0.0.1:{d.port}/"
    dom, _ = chromium_dump_dom(good)
    check('<img' in dom and 'stream.mjpg' in dom, f"with credentials: not the page: {dom[:300]!r}")
    shot = chromium_screenshot(good, os.path.join(tmp, "with.png"))
    n = stream_area_colours(shot)
    Context.current.note(f"colours in the stream area with credentials: {n}")
    check(n >= 8, f"with credentials in the URL the stream area has {n} colours: the picture "
          f"was not drawn")
    log = d.log()
    check("wrong password" not in log and "unknown user" not in log,
          f"Chromium's credentials were refused: {log[-400:]!r}")
    for url, what in ((f"http://127.0.0.1:{d.port}/", "without credentials"),
                      (f"http://alice:nope@127.0.0.1:{d.port}/", "with a wrong password")):
        dom, err = chromium_dump_dom(url)
        check("ERR_INVALID_AUTH_CREDENTIALS" in err and "<img" not in dom,
              f"{what}: Chromium was not refused: {dom[:200]!r} {err[-300:]!r}")
    check("wrong password for user 'alice'" in d.log(), "the wrong password was not checked")
    d.stop()


def urllib_stream_parts(resp, n, timeout=10):
    """Reads n multipart parts from an http.client response (urllib), checking the framing."""
    check(resp.headers.get("Content-Type") == STREAM_CONTENT_TYPE,
          f"stream Content-Type {resp.headers.get('Content-Type')!r}")
    parser = MultipartParser()
    parts = []
    deadline = time.monotonic() + timeout * SLOW
    while len(parts) < n:
        check(time.monotonic() < deadline, f"{len(parts)} of {n} parts in {timeout * SLOW:.0f} s")
        data = resp.read1(65536)
        check(data, f"stream closed after {len(parts)} parts")
        parts += parser.feed(data)
    for p in parts:
        jpeg_ok(p.jpeg, "stream part")
    return parts


@test
def test_auth_home_assistant_and_octoprint_clients():
    """Issue 13's client list, emulated with the standard library (both are Python clients):
    Home Assistant's MJPEG camera with `authentication: basic` (an opener whose
    HTTPBasicAuthHandler answers the 401 challenge with the realm's credentials, for the still
    image and the stream), and OctoPrint's webcam snapshot/stream URL with credentials in it
    (requests takes user:pass from the URL and sends them at once). A wrong password fails both."""
    import urllib.error
    import urllib.parse
    import urllib.request
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "15",
               "--auth-file", users)
    base = f"http://127.0.0.1:{d.port}"

    def ha_opener(user, password):
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, base, user, password)
        return urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(mgr))

    # Home Assistant: still_image_url, then mjpeg_url
    op = ha_opener("carol", "c4rol pw")
    with op.open(f"{base}/snapshot.jpg", timeout=30 * SLOW) as r:
        check(r.status == 200 and r.headers.get("Content-Type") == "image/jpeg",
              f"HA snapshot: {r.status} {r.headers.get('Content-Type')}")
        jpeg_ok(r.read(), "HA snapshot")
    with op.open(f"{base}/stream.mjpg", timeout=30 * SLOW) as r:
        urllib_stream_parts(r, 5)
    # the challenge was answered: the first try of each went without credentials
    try:
        urllib.request.urlopen(f"{base}/snapshot.jpg", timeout=30 * SLOW)
        raise TestFailure("HA without credentials: 200")
    except urllib.error.HTTPError as e:
        check(e.code == 401 and "Basic realm=" in (e.headers.get("WWW-Authenticate") or ""),
              f"HA without credentials: {e.code} {e.headers.get('WWW-Authenticate')!r}")

    # OctoPrint: http://user:pass@host:port/?action=snapshot (and ?action=stream)
    def octoprint_get(url):
        u = urllib.parse.urlsplit(url)
        plain = urllib.parse.urlunsplit((u.scheme, f"{u.hostname}:{u.port}", u.path, u.query, ""))
        headers = {}
        if u.username is not None:
            headers["Authorization"] = basic(urllib.parse.unquote(u.username),
                                             urllib.parse.unquote(u.password or ""))
        return urllib.request.urlopen(urllib.request.Request(plain, headers=headers),
                                      timeout=30 * SLOW)

    snap = f"http://dave:s3cret@127.0.0.1:{d.port}/?action=snapshot"
    with octoprint_get(snap) as r:
        check(r.status == 200, f"OctoPrint snapshot: {r.status}")
        jpeg_ok(r.read(), "OctoPrint snapshot")
    with octoprint_get(f"http://alice:wonderland@127.0.0.1:{d.port}/?action=stream") as r:
        urllib_stream_parts(r, 3)

    # a wrong password fails both (each from its own address would be nicer; two failures stay
    # under the three free ones of the slow-down)
    for what, fn in (("HA", lambda: ha_opener("carol", "wrong").open(f"{base}/snapshot.jpg",
                                                                     timeout=30 * SLOW)),
                     ("OctoPrint", lambda: octoprint_get(
                         f"http://dave:wrong@127.0.0.1:{d.port}/?action=snapshot"))):
        try:
            fn().close()
            raise TestFailure(f"{what} with a wrong password: 200")
        except urllib.error.HTTPError as e:
            check(e.code == 401, f"{what} with a wrong password: {e.code}")
    d.stop()


@test
def test_auth_failures_slow_down_that_address():
    """Repeated failures from one address wait longer each time (measured: the answer's time);
    another address is not slowed; the table is fixed-size (unit test test_auth)."""
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--auth-file", users)
    bad = {"Authorization": basic("alice", "guess")}
    times = []
    for i in range(7):
        r, dt = timed_request(d.port, "/status", bad)
        check(r.status == 401, f"failure {i + 1}: {r.status}")
        times.append(dt)
    Context.current.note("failed logins from 127.0.0.1, s: " + " ".join(f"{t:.2f}" for t in times))
    # 3 free failures, then 0.25, 0.5, 1, 2 s (+ the hash, + up to one 250 ms tick)
    check(times[6] >= 1.9, f"the 7th failure was answered in {times[6]:.2f} s (want >= 2 s): "
          f"{times}")
    check(times[5] >= 0.9, f"the 6th failure was answered in {times[5]:.2f} s: {times}")
    check(times[0] < 1.0 * SLOW, f"the first failure already took {times[0]:.2f} s")
    # another address is not slowed
    r, dt = timed_request(d.port, "/status", {"Authorization": basic("alice", "wonderland")},
                          source="127.0.0.2")
    check(r.status == 200 and dt < 0.9 * SLOW, f"from 127.0.0.2: {r.status} in {dt:.2f} s")
    # the slowed address still gets in with the right password, after its wait
    r, dt = timed_request(d.port, "/status", {"Authorization": basic("alice", "wonderland")})
    check(r.status == 200 and dt >= 3.5, f"right password from the slowed address: {r.status} "
          f"in {dt:.2f} s (the wait applies before the check)")
    d.stop()


@test
def test_auth_slow_hash_does_not_stall_streams():
    """A yescrypt hash of cost 8 (~1 s, 128 MiB) is checked on the worker thread: a stream of
    another user keeps its frame rate meanwhile."""
    slow = crypt_hash("patience", "$y$", 8)
    users = auth_users_file({"slow": slow})
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30",
               "--auth-file", users)
    c = Conn(d.port)
    c.send(request_bytes("GET", "/stream.mjpg", {"Authorization": basic("carol", "c4rol pw")}))
    r = c.read_response()
    check(r.status == 200, f"stream with carol's credentials: {r.status}")
    parser = MultipartParser(keep=False)
    read_parts(c, parser, 5)
    import threading
    result = {}

    def slow_login():
        result["r"], result["dt"] = timed_request(d.port, "/status",
                                                  {"Authorization": basic("slow", "patience")})
    t = threading.Thread(target=slow_login)
    t.start()
    gaps, last = [], time.monotonic()
    while t.is_alive():
        parts = read_parts(c, parser, 1)
        now = parts[-1].t_done
        gaps.append(now - last)
        last = now
    t.join()
    check(result["r"].status == 200, f"the slow user: {result['r'].status}")
    Context.current.note(f"slow hash answered in {result['dt']:.2f} s; {len(gaps)} frames "
                         f"meanwhile, largest gap {max(gaps) * 1000:.0f} ms")
    # Hashed on the loop, the stream would stall for the whole hash: the largest gap must stay
    # well below the hash's time (the hash runs unsanitized libxcrypt: it is no slower under ASan).
    check(result["dt"] >= 0.3, f"the slow hash took only {result['dt']:.2f} s: not slow enough "
          f"to prove anything")
    check(max(gaps) + 0.2 <= result["dt"], f"the stream stalled {max(gaps) * 1000:.0f} ms of a "
          f"{result['dt']:.2f} s hash")
    check(max(gaps) < 0.25 * SLOW, f"the stream stalled {max(gaps) * 1000:.0f} ms during a "
          f"{result['dt']:.2f} s hash")
    check(len(gaps) >= 10 * result["dt"], f"{len(gaps)} frames in {result['dt']:.2f} s at 30 fps")
    c.close()
    d.stop()


@test
def test_auth_file_refused_at_start():
    tmp = Context.current.tmpdir
    cases = {
        "plain": ("alice:" + crypt_hash("x") + "\nbob:hunter2\n",
                  ":2: user 'bob': not a yescrypt ($y$), bcrypt ($2b$, $2y$) or sha512-crypt"),
        "md5": ("bob:" + crypt_hash("x", "$1$") + "\n", ":1: user 'bob': not a yescrypt"),
        "truncated": ("bob:" + crypt_hash("x")[:-5] + "\n", ":1: user 'bob': a malformed hash"),
        "empty": ("# nobody\n", "no 'user:hash' line"),
    }
    for name, (text, want) in cases.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        p = run_cli(["--source", "testpattern", "--listen", "127.0.0.1:0", "--auth-file", path])
        check(p.returncode != 0 and want in p.stderr and path in p.stderr,
              f"{name}: exit {p.returncode}, stderr {p.stderr[-300:]!r}")
    p = run_cli(["--source", "testpattern", "--listen", "127.0.0.1:0", "--auth-file", tmp])
    check(p.returncode != 0 and "is not a regular file" in p.stderr, f"a directory: {p.stderr!r}")
    p = run_cli(["--auth-exempt", "metrics"])
    check(p.returncode == 2 and "--auth-exempt: 'metrics' is not a list of paths" in p.stderr,
          f"--auth-exempt metrics: {p.stderr!r}")
    # readable by everyone: served, with a warning
    path = write_users(os.path.join(tmp, "open"), {"a": crypt_hash("x")}, mode=0o644)
    d = Daemon("--source", "testpattern", "--auth-file", path)
    check("is readable by every user" in d.log(), "no warning for a world-readable --auth-file")
    d.stop()


@test
def test_auth_sighup_reload():
    tmp = Context.current.tmpdir
    users = write_users(os.path.join(tmp, "users"), {"alice": crypt_hash("one")})
    conf = os.path.join(tmp, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write(f"source = testpattern\nsize = 160x120\nauth-file = {users}\n")
    d = Daemon("--config", conf)
    ok = lambda pw: request(d.port, "GET", "/status",  # noqa: E731
                            {"Authorization": basic("alice", pw)}).status
    check(ok("one") == 200 and ok("two") == 401, "before the reload")
    write_users(users, {"alice": crypt_hash("two"), "bob": crypt_hash("b")})
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while ok("two") != 200:
        check(time.monotonic() < deadline, "the new password is not taken after SIGHUP")
        time.sleep(0.1)
    check(ok("one") == 401, "the old password still works after SIGHUP")
    check("SIGHUP: 2 user(s) loaded" in d.log(), "the reload is not logged")
    # a broken file: the users loaded before stay
    with open(users, "a") as f:
        f.write("mallory:plaintext\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while "SIGHUP: keeping the users loaded before" not in d.log():
        check(time.monotonic() < deadline, "a bad --auth-file on SIGHUP is not reported")
        time.sleep(0.1)
    check(":4: user 'mallory'" in d.log(), "the bad line is not named")
    check(ok("two") == 200, "a bad --auth-file on SIGHUP dropped the users")
    d.stop()


# ---------------------------------------------------------------------------------------- CORS

def raw_response(port, data, timeout=5):
    c = Conn(port, timeout)
    try:
        c.send(data)
        head = c.read_until(b"\r\n\r\n").decode("latin-1")
        rest = c.read_some(0.2)
    finally:
        c.close()
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return int(lines[0].split()[1]), headers, rest


def conn_is_open_and_quiet(c):
    """True while mjpegd has neither answered c nor closed it (a held slot); a refused
    connection has a 503 waiting, or is closed."""
    readable, _, _ = select.select([c.sock], [], [], 0)
    return not readable


@test
def test_cors_allow_origin_on_every_response():
    """--allow-origin: none (the default) sends no CORS header anywhere, '*' and an origin are
    sent on every response: stream, snapshot, JSON, errors, 401, the 503 above --max-clients,
    and the OPTIONS preflight (204, no body, no Content-Length)."""
    users = auth_users_file()
    cases = (
        ("none", None, []),
        ("*", "*", ["--allow-origin", "*"]),
        ("origin", "https://dash.example:8443", ["--allow-origin", "https://dash.example:8443",
                                                 "--auth-file", users]),
    )
    for name, want, args in cases:
        d = Daemon("--source", "testpattern", "--size", "160x120", "--max-clients", "3", *args)
        auth = {"Authorization": basic("alice", "wonderland")} if "--auth-file" in args else {}
        reqs = {
            "stream": request_bytes("GET", "/stream.mjpg", auth),
            "stream HEAD": request_bytes("HEAD", "/stream.mjpg", auth),
            "snapshot": request_bytes("GET", "/snapshot.jpg", auth),
            "status": request_bytes("GET", "/status", auth),
            "index": request_bytes("GET", "/", auth),
            "404": request_bytes("GET", "/nope", auth),
            "405": request_bytes("DELETE", "/status", auth),
            "400": b"GET /stream.mjpg?fps=0 HTTP/1.1\r\nHost: x\r\n\r\n" if not auth else
                   request_bytes("GET", "/stream.mjpg?fps=0", auth),
            "505": b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
            "preflight": request_bytes("OPTIONS", "/status", {
                "Origin": "https://dash.example:8443", "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization"}),
        }
        if auth:
            reqs["401"] = request_bytes("GET", "/status")
        d.wait_frame() if not auth else None
        for what, data in reqs.items():
            status, headers, rest = raw_response(d.port, data)
            got = headers.get("access-control-allow-origin")
            check(got == ([want] if want else None),
                  f"{name}: {what} ({status}): Access-Control-Allow-Origin {got!r}, want {want!r}")
            creds = headers.get("access-control-allow-credentials")
            check(creds == (["true"] if name == "origin" else None),
                  f"{name}: {what}: Access-Control-Allow-Credentials {creds!r}")
            if what == "preflight":
                check(status == 204 and "content-length" not in headers and rest == b"",
                      f"{name}: preflight: {status} {headers} {rest!r}")
                check(headers.get("allow") == ["GET, HEAD, POST, OPTIONS"], f"{name}: Allow {headers}")
                methods = headers.get("access-control-allow-methods")
                allow_h = headers.get("access-control-allow-headers")
                if want:
                    check(methods == ["GET, HEAD, POST, OPTIONS"] and
                          allow_h == ["Authorization, Content-Type"],
                          f"{name}: preflight headers {headers}")
                else:
                    check(methods is None and allow_h is None, f"{name}: preflight {headers}")
            elif what == "401":
                check(status == 401, f"{name}: 401 request got {status}")
            elif what in ("404", "405", "400", "505"):
                check(status == int(what), f"{name}: {what} request got {status}")
            else:
                check(status == 200, f"{name}: {what}: {status}")
        # above --max-clients: the 503 sent without a client slot carries it too. Three
        # connections hold every slot; one that a connection the test closed just before still
        # counted against was refused (a 503, then closed): it is replaced until three are held.
        hold = []
        deadline = time.monotonic() + 10 * SLOW
        while True:
            hold = [c for c in hold if conn_is_open_and_quiet(c)]
            if len(hold) == 3:
                break
            check(time.monotonic() < deadline, f"{name}: 3 connections not held within "
                  f"{10 * SLOW:.0f} s")
            hold += [Conn(d.port) for _ in range(3 - len(hold))]
            time.sleep(0.3 * SLOW)
        status, headers, _ = raw_response(d.port, request_bytes("GET", "/status"))
        check(status == 503 and headers.get("access-control-allow-origin") == (
            [want] if want else None), f"{name}: 503: {status} {headers}")
        for c in hold:
            c.close()
        d.stop()
    for bad in ("ftp://x", "https://", "https://a/b", "https://a:0", "https://a b", "x",
                "https://a\r\nSet-Cookie:1", "http://[::1"):
        p = run_cli(["--allow-origin", bad])
        check(p.returncode == 2 and "--allow-origin" in p.stderr, f"--allow-origin {bad!r}: "
              f"exit {p.returncode} {p.stderr!r}")
    p = run_cli(["--help"])
    check("--allow-origin ORIGIN" in p.stdout and "Default: none." in p.stdout.split(
        "--allow-origin")[1][:400], "--help does not show --allow-origin with default none")


@test
def test_cors_sighup_changes_origin():
    tmp = Context.current.tmpdir
    conf = os.path.join(tmp, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 160x120\n")
    d = Daemon("--config", conf)
    d.wait_frame()
    check(request(d.port, "GET", "/status").header("access-control-allow-origin") is None,
          "CORS header without --allow-origin")
    with open(conf, "a") as f:
        f.write("allow-origin = http://octopi.local\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while request(d.port, "GET", "/status").header("access-control-allow-origin") != \
            "http://octopi.local":
        check(time.monotonic() < deadline, "--allow-origin not applied on SIGHUP")
        time.sleep(0.1)
    d.stop()


# --------------------------------------------------------------------------------- unix sockets

def unix_request(path, method, target, headers=None, timeout=5):
    """One request over a unix socket; returns the Response."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout * SLOW)
    sock.connect(path)
    Context.current.sockets.append(sock)
    c = Conn.__new__(Conn)
    c.timeout, c.sock, c.buf, c.eof = timeout * SLOW, sock, bytearray(), False
    hd = {"Connection": "close"}
    hd.update(headers or {})
    c.send(request_bytes(method, target, hd))
    try:
        return c.read_response(head_only=(method == "HEAD"))
    finally:
        c.close()


@test
def test_unix_socket_listen_with_tcp():
    """--listen twice: TCP and a unix socket at once; curl --unix-socket reads the snapshot and
    the stream; the socket file has the mode and group asked for and is removed at exit."""
    import grp
    import stat
    curl = need_tool("curl")
    tmp = Context.current.tmpdir
    path = os.path.join(tmp, "mjpegd.sock")
    group = grp.getgrgid(os.getgid()).gr_name
    d = Daemon("--source", "testpattern", "--size", "320x240", "--listen", "127.0.0.1:0",
               "--listen", f"unix:{path},mode=0660,group={group}")
    check(f"and unix:{path},mode=0660,group={group}" in d.log(),
          "the start line does not name the unix socket")
    st = os.lstat(path)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
          f"socket file mode {oct(st.st_mode)}")
    check(st.st_gid == os.getgid(), f"socket file group {st.st_gid}")
    d.wait_frame()
    snap = os.path.join(tmp, "snap.jpg")
    p = subprocess.run([curl, "-s", "-f", "--unix-socket", path, "-o", snap,
                        "http://localhost/snapshot.jpg"], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0, f"curl --unix-socket snapshot: {p.returncode} {p.stderr}")
    check(djpeg_size(open(snap, "rb").read(), "unix snapshot") == (320, 240), "snapshot size")
    out = os.path.join(tmp, "stream.bin")
    p = subprocess.run([curl, "-s", "--unix-socket", path, "--max-time", str(2 * SLOW), "-o", out,
                        "http://localhost/?action=stream"], capture_output=True, text=True,
                       timeout=30)
    data = open(out, "rb").read()
    parts = MultipartParser(keep=True).feed(data)
    check(p.returncode == 28 and len(parts) >= 10,
          f"curl --unix-socket stream: rc {p.returncode}, {len(parts)} parts in 2 s")
    r = unix_request(path, "GET", "/status")
    check(r.status == 200, f"/status over the unix socket: {r.status}")
    addrs = [c["addr"] for c in json.loads(r.body)["clients"]["list"]]
    check("unix" in addrs, f"a unix client is not listed as 'unix': {addrs}")
    check(request(d.port, "GET", "/status").status == 200, "TCP beside the unix socket")
    d.stop()
    check(not os.path.exists(path), "the socket file is left after exit")


@test
def test_unix_socket_stale_and_in_use():
    tmp = Context.current.tmpdir
    path = os.path.join(tmp, "m.sock")
    # a socket file left by a dead process: removed, then served on
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    d = Daemon("--source", "testpattern", "--listen", "127.0.0.1:0", "--listen", f"unix:{path}")
    check("removed a stale socket" in d.log(), "a stale socket is not reported")
    check(unix_request(path, "GET", "/status").status == 200, "not serving after the stale one")
    # a running server on it: refused, its socket left alone
    p = run_cli(["--source", "testpattern", "--listen", "127.0.0.1:0", "--listen",
                 f"unix:{path}"])
    check(p.returncode == 1 and "another process is serving on it" in p.stderr,
          f"second daemon on a live socket: {p.returncode} {p.stderr[-300:]!r}")
    check(unix_request(path, "GET", "/status").status == 200, "the first daemon lost its socket")
    d.stop()
    # a regular file of that name: never removed
    with open(path, "w") as f:
        f.write("precious\n")
    p = run_cli(["--source", "testpattern", "--listen", f"unix:{path}"])
    check(p.returncode == 1 and "exists and is not a socket" in p.stderr, f"{p.stderr!r}")
    check(open(path).read() == "precious\n", "a regular file was touched")
    p = run_cli(["--source", "testpattern", "--listen", f"unix:{tmp}/x.sock,group=no-such-grp"])
    check(p.returncode == 1 and "no group 'no-such-grp'" in p.stderr, f"{p.stderr!r}")
    p = run_cli(["--listen", "unix:relative.sock"])
    check(p.returncode == 2 and "needs an absolute socket path" in p.stderr, f"{p.stderr!r}")


@test
def test_unix_socket_activation():
    """systemd socket activation of a unix socket (ListenStream=/run/mjpegd/mjpegd.sock)."""
    tool = need_tool("systemd-socket-activate")
    path = os.path.join(Context.current.tmpdir, "act.sock")
    log_path = os.path.join(Context.current.tmpdir, "activated.log")
    with open(log_path, "wb") as log:
        p = subprocess.Popen([tool, "-l", path, MJPEGD_PATH(), "--source", "testpattern",
                              "--size", "160x120"], stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10 * SLOW
        r = None
        while time.monotonic() < deadline:
            try:
                r = unix_request(path, "GET", "/snapshot.jpg")
                break
            except OSError:
                time.sleep(0.05)
        check(r is not None and r.status == 200 and r.body[:2] == b"\xff\xd8",
              f"no snapshot on the activated unix socket: {r}")
        check("socket-activated unix socket" in open(log_path, errors="replace").read(),
              "the log does not say socket-activated")
    finally:
        stop_activated(p)


# -------------------------------------------------------------------------------- reverse proxy

def doc_block(lang):
    """The ```lang block of docs/reverse-proxy.md: the test runs what users copy."""
    with open(os.path.join(harness.REPO, "docs", "reverse-proxy.md")) as f:
        m = re.search(r"```" + lang + r"\n(.*?)```", f.read(), re.S)
    check(m, f"docs/reverse-proxy.md has no {lang} block")
    return m.group(1)


def replace_once(text, old, new, what):
    check(text.count(old) == 1, f"{what}: '{old}' not found once in docs/reverse-proxy.md")
    return text.replace(old, new)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10):
    deadline = time.monotonic() + timeout * SLOW
    while True:
        check(proc.poll() is None, f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            check(time.monotonic() < deadline, f"{what} does not listen on {port}")
            time.sleep(0.05)


def proxy_tools():
    """nginx, haproxy, openssl, installed by scripts/deps.sh test; if they are not there, try
    that once; a test that still lacks them is skipped with the reason."""
    import shutil
    want = {"nginx": "/usr/sbin/nginx", "haproxy": "/usr/sbin/haproxy", "openssl": None}
    found = {t: shutil.which(t) or (p if p and os.access(p, os.X_OK) else None)
             for t, p in want.items()}
    if all(found.values()):
        return found
    p = subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "test"],
                       capture_output=True, text=True, timeout=600)
    found = {t: shutil.which(t) or (p2 if p2 and os.access(p2, os.X_OK) else None)
             for t, p2 in want.items()}
    if not all(found.values()):
        missing = [t for t, v in found.items() if not v]
        raise harness.TestSkipped(f"{', '.join(missing)} not installed and scripts/deps.sh test "
                                  f"could not install them: {p.stderr.strip()[-200:]}")
    return found


def start_nginx(tools, tmp, port, upstream, cert, key, n):
    conf = doc_block("nginx")
    if upstream.startswith("/"):
        conf = replace_once(conf, "/run/mjpegd/mjpegd.sock", upstream, "nginx upstream")
    else:
        conf = replace_once(conf, "unix:/run/mjpegd/mjpegd.sock", upstream, "nginx upstream")
    conf = replace_once(conf, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", "nginx listen")
    conf = replace_once(conf, "/etc/ssl/certs/camera.pem", cert, "nginx certificate")
    conf = replace_once(conf, "/etc/ssl/private/camera.key", key, "nginx key")
    d = os.path.join(tmp, f"nginx{n}")
    os.makedirs(d)
    temps = "".join(f"    {k}_temp_path {d}/{k};\n" for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    full = (("user root root;\n" if os.geteuid() == 0 else "") +
            f"worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n"
            f"error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {d}/access.log;\n{temps}{conf}}}\n")
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(full)
    log = open(os.path.join(d, "stderr.log"), "wb")
    proc = subprocess.Popen([tools["nginx"], "-p", d, "-e", f"{d}/error.log", "-c", path],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            preexec_fn=harness._die_with_parent)
    return proc, os.path.join(d, "error.log")


def start_haproxy(tools, tmp, port, upstream, pem, n):
    conf = doc_block("haproxy")
    conf = replace_once(conf, "/run/mjpegd/mjpegd.sock", upstream, "haproxy upstream")
    conf = replace_once(conf, "bind :443 ssl crt /etc/haproxy/camera.pem",
                        f"bind 127.0.0.1:{port} ssl crt {pem}", "haproxy bind")
    d = os.path.join(tmp, f"haproxy{n}")
    os.makedirs(d)
    path = os.path.join(d, "haproxy.cfg")
    with open(path, "w") as f:
        f.write("global\n    maxconn 200\n\n" + conf)
    p = subprocess.run([tools["haproxy"], "-c", "-f", path], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0, f"haproxy -c on the documented configuration: {p.stdout}{p.stderr}")
    log_path = os.path.join(d, "stderr.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([tools["haproxy"], "-db", "-f", path], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, preexec_fn=harness._die_with_parent)
    return proc, log_path


def tls_stream_from(port, source, headers):
    """Reads /webcam/?action=stream through the TLS proxy from a chosen loopback address, as
    HTTP/1.0 (no chunked coding in between). Returns (ssl socket, parser, first parts)."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.socket()
    raw.settimeout(10 * SLOW)
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    Context.current.sockets.append(s)
    s.sendall(request_bytes("GET", "/webcam/?action=stream", dict({"Host": "localhost"},
                                                                   **headers), "HTTP/1.0"))
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        check(data, f"proxy closed the stream before its head: {buf[:200]!r}")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0],
          f"stream through the proxy: {head[:200]!r}")
    parser = MultipartParser(keep=False)
    parts = parser.feed(rest)
    deadline = time.monotonic() + 10 * SLOW
    while len(parts) < 5:
        check(time.monotonic() < deadline, f"{len(parts)} parts through the proxy in 10 s")
        data = s.recv(65536)
        check(data, "proxy closed the stream")
        parts += parser.feed(data)
    return s, parser, parts


@test
def test_reverse_proxy_nginx_haproxy_tls():
    """docs/reverse-proxy.md's nginx and HAProxy configurations, run for real: TLS with a test
    certificate, the /webcam/ prefix, over TCP and over the unix socket; ffmpeg and curl through
    them with credentials; X-Forwarded-For believed from the trusted proxy only."""
    tools = proxy_tools()
    curl = need_tool("curl")
    need_tool("ffmpeg")
    tmp = Context.current.tmpdir
    cert, key, pem = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem", "combined.pem"))
    p = subprocess.run([tools["openssl"], "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"openssl req: {p.stderr}")
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    users = auth_users_file()
    sock = os.path.join(tmp, "mjpegd.sock")
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30", "--auth-file",
               users, "--listen", "127.0.0.1:0", "--listen", f"unix:{sock},mode=0666",
               "--trusted-proxy", "127.0.0.1,unix")
    creds = {"Authorization": basic("alice", "wonderland")}
    figures = []
    n = 0
    for proxy in ("nginx", "haproxy"):
        for via in ("tcp", "unix"):
            n += 1
            what = f"{proxy} over {via}"
            port = free_port()
            upstream = sock if via == "unix" else f"127.0.0.1:{d.port}"
            if proxy == "nginx":
                proc, plog = start_nginx(tools, tmp, port, upstream, cert, key, n)
            else:
                proc, plog = start_haproxy(tools, tmp, port, upstream, pem, n)
            try:
                wait_port(port, proc, what)
                base = f"https://127.0.0.1:{port}/webcam/"
                snap = os.path.join(tmp, f"snap{n}.jpg")
                r = subprocess.run([curl, "-k", "-s", "-u", "carol:c4rol pw", "-o", snap, "-w",
                                    "%{http_code}", base + "?action=snapshot"],
                                   capture_output=True, text=True, timeout=30)
                check(r.stdout == "200", f"{what}: curl snapshot {r.stdout} {r.stderr}")
                check(djpeg_size(open(snap, "rb").read(), what) == (320, 240),
                      f"{what}: snapshot size")
                r = subprocess.run([curl, "-k", "-s", "-o", "/dev/null", "-D", "-",
                                    base + "?action=snapshot"], capture_output=True, text=True,
                                   timeout=30)
                check(" 401" in r.stdout.split("\n")[0] and 'realm="mjpegd"' in r.stdout,
                      f"{what}: without credentials: {r.stdout[:300]!r}")
                out = os.path.join(tmp, f"copy{n}.mjpg")
                t0 = time.monotonic()
                # the test's certificate is self-signed: newer ffmpeg (Debian testing's)
                # verifies by default, as curl does without -k
                r = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
                                    "-tls_verify", "0", "-i",
                                    f"https://alice:wonderland@127.0.0.1:{port}/webcam/"
                                    "?action=stream", "-frames:v", "10", "-c", "copy", "-f",
                                    "mjpeg", "-y", out], capture_output=True, text=True,
                                   timeout=60 * SLOW)
                check(r.returncode == 0, f"{what}: ffmpeg: {r.stderr[-300:]}")
                frames = open(out, "rb").read().count(b"\xff\xd9")
                check(frames >= 10, f"{what}: ffmpeg copied {frames} frames")
                ff_s = time.monotonic() - t0
                # the real client's address, not the forged one, and live frames
                s, parser, parts = tls_stream_from(port, "127.0.0.2", dict(
                    creds, **{"X-Forwarded-For": "198.51.100.7"}))
                ages = [time.time() - float(pt.headers["x-timestamp"]) for pt in parts[-3:]]
                st = get_json_auth(d.port, creds)
                addrs = [c["addr"] for c in st["clients"]["list"]]
                check(any(a.startswith("127.0.0.2 (via ") for a in addrs),
                      f"{what}: /status does not show the client 127.0.0.2: {addrs}")
                check(not any("198.51.100.7" in a for a in addrs),
                      f"{what}: the forged X-Forwarded-For was believed: {addrs}")
                check(max(ages) < 1.0 * SLOW, f"{what}: frames arrive {max(ages):.2f} s old "
                      f"(buffered?)")
                figures.append(f"{what}: ffmpeg 10 frames in {ff_s:.2f} s; frame age "
                               f"{max(ages) * 1000:.0f} ms")
                s.close()
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                if os.path.exists(plog):
                    Context.current.note(f"{what} log: " + open(plog, errors="replace")
                                         .read()[-600:])
    Context.current.note("\n".join(figures))
    # the same proxies without --trusted-proxy: the proxy is the client
    d.stop()


def get_json_auth(port, headers):
    r = request(port, "GET", "/status", headers)
    check(r.status == 200, f"/status: {r.status}")
    return json.loads(r.body)


@test
def test_trusted_proxy_only():
    """X-Forwarded-For from an untrusted peer is ignored; from a trusted one its last hop is the
    client in /status and in the failed-login slow-down."""
    d = Daemon("--source", "testpattern", "--size", "160x120", "--trusted-proxy", "127.0.0.1")
    c = Conn(d.port)
    c.send(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": "1.2.3.4, 203.0.113.9"}))
    check(c.read_response().status == 200, "stream")
    sock = socket.socket()
    sock.bind(("127.0.0.3", 0))
    sock.connect(("127.0.0.1", d.port))
    Context.current.sockets.append(sock)
    sock.sendall(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": "203.0.113.77"}))
    time.sleep(0.3 * SLOW)
    addrs = [x["addr"] for x in get_json(d.port)["clients"]["list"]]
    check(any(a.startswith("203.0.113.9 (via 127.0.0.1:") for a in addrs),
          f"trusted peer: {addrs}")
    check(not any("1.2.3.4" in a for a in addrs), f"a hop before the last was taken: {addrs}")
    check(not any("203.0.113.77" in a for a in addrs) and
          any(a.startswith("127.0.0.3:") for a in addrs), f"untrusted peer believed: {addrs}")
    p = run_cli(["--trusted-proxy", "localhost"])
    check(p.returncode == 2 and "is not a list of IP addresses" in p.stderr, p.stderr)
    d.stop()


@test
def test_trusted_proxy_network():
    """--trusted-proxy ADDR/BITS trusts every peer in the network and no other; a network with
    host bits set, or /0, is refused at start."""
    d = Daemon("--source", "testpattern", "--size", "160x120", "--trusted-proxy", "127.0.0.0/30")
    socks = []
    for peer, hop in (("127.0.0.2", "198.51.100.2"), ("127.0.0.3", "198.51.100.3"),
                      ("127.0.0.5", "198.51.100.5")):
        sock = socket.socket()
        sock.bind((peer, 0))
        sock.connect(("127.0.0.1", d.port))
        Context.current.sockets.append(sock)
        sock.sendall(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": hop}))
        socks.append(sock)
    time.sleep(0.3 * SLOW)
    addrs = [x["addr"] for x in get_json(d.port)["clients"]["list"]]
    for hop, peer in (("198.51.100.2", "127.0.0.2"), ("198.51.100.3", "127.0.0.3")):
        check(any(a.startswith(f"{hop} (via {peer}:") for a in addrs),
              f"peer {peer} in 127.0.0.0/30 not believed: {addrs}")
    check(not any("198.51.100.5" in a for a in addrs) and
          any(a.startswith("127.0.0.5:") for a in addrs),
          f"peer 127.0.0.5 outside 127.0.0.0/30 believed: {addrs}")
    d.stop()
    for bad in ("127.0.0.1/8", "0.0.0.0/0", "10.0.0.0/33"):
        p = run_cli(["--trusted-proxy", bad])
        check(p.returncode == 2 and "is not a list of IP addresses" in p.stderr,
              f"{bad}: {p.returncode} {p.stderr}")


# ------------------------------------------------------------------------------------------ VLC

def vlc_frames(url, name, want=8, seconds=20):
    """Plays url in VLC (cvlc, no window, no audio) with its scene filter writing every decoded
    picture as a PNG. VLC refuses to run as root: then as nobody. Returns the distinct pictures
    (PNG contents) it decoded, and its log."""
    exe = need_tool("cvlc")
    ctx = Context.current
    os.chmod(ctx.tmpdir, 0o711)
    out, home = (os.path.join(ctx.tmpdir, f"vlc-{name}-out"),
                 os.path.join(ctx.tmpdir, f"vlc-{name}-home"))
    for d in (out, home):
        os.makedirs(d)
        os.chmod(d, 0o777)
    args = [exe, "-I", "dummy", "--no-audio", "--vout", "dummy", "--no-video-title-show",
            "--video-filter=scene", f"--scene-path={out}", "--scene-format=png",
            "--scene-ratio=1", "--scene-prefix=f", url]
    if os.geteuid() == 0:
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + args
    log = os.path.join(ctx.tmpdir, f"vlc-{name}.log")
    with open(log, "wb") as f:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                             env=dict(os.environ, HOME=home), start_new_session=True)
    distinct = {}
    deadline = time.monotonic() + seconds * SLOW
    try:
        while time.monotonic() < deadline and len(distinct) < want and p.poll() is None:
            time.sleep(0.2)
            for name in sorted(os.listdir(out)):
                path = os.path.join(out, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if data.endswith(b"IEND\xaeB`\x82"):  # written whole
                    distinct.setdefault(hashlib.sha256(data).digest(), path)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    with open(log, errors="replace") as f:
        text = f.read()
    ctx.note("vlc: " + "\n".join(text.splitlines()[-8:]))
    return list(distinct.values()), text


@test
def test_vlc_plays_stream():
    """The brief's clients: VLC (its http module asks with Range: bytes=0-) plays the stream,
    picture after picture, of the right size; also with credentials in the URL against
    --auth-file, which it sends after the 401 challenge."""
    users = auth_users_file()
    for extra, cred in (((), ""), (("--auth-file", users), "alice:wonderland@")):
        d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", *extra)
        pics, text = vlc_frames(f"http://{cred}127.0.0.1:{d.port}/stream.mjpg",
                                "auth" if cred else "open")
        what = "with credentials" if cred else "without credentials"
        check(len(pics) >= 8, f"{what}: VLC decoded {len(pics)} distinct pictures in "
              f"{20 * SLOW:.0f} s: {text[-600:]!r}")
        # VLC's scene filter writes the decoder's buffer, whose height is rounded up (320x256
        # for a 320x240 JPEG); the picture is the top 240 rows.
        w, h, ch, rows = read_png(pics[-1])
        check(w == 320 and 240 <= h <= 256, f"{what}: VLC's picture is {w}x{h}")
        bars = {bytes(rows[100][x * ch:x * ch + 3]) for x in range(0, w, 8)}
        check(len(bars) >= 6, f"{what}: VLC's picture has {len(bars)} colours across the test "
              f"pattern's colour bars")
        if cred:
            check("wrong password" not in d.log() and "unknown user" not in d.log(),
                  f"VLC's credentials were refused: {d.log()[-300:]!r}")
        d.stop()


# --------------------------------------------------------------------------- camera controls

def luma_mean(jpeg):
    """Mean of the decoded picture's luma (djpeg -grayscale)."""
    need_tool("djpeg")
    p = subprocess.run(["djpeg", "-grayscale", "-pnm"], input=jpeg, capture_output=True,
                       timeout=20)
    check(p.returncode == 0, f"djpeg failed: {p.stderr!r}")
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    check(m, "djpeg -grayscale did not give a PGM")
    pixels = p.stdout[m.end():]
    return sum(pixels) / len(pixels)


def post(port, path, body, content_type="application/json", headers=None):
    c = Conn(port)
    try:
        h = {"Connection": "close", "Content-Type": content_type,
             "Content-Length": str(len(body))}
        h.update(headers or {})
        c.send(request_bytes("POST", path, h, body=body.encode()))
        return c.read_response()
    finally:
        c.close()


def controls_by_name(port):
    doc = get_json(port, "/controls")
    return doc, {c["name"]: c for c in doc["controls"]}


def fresh_snapshot(d, after):
    """A snapshot taken from a frame made after time.monotonic() `after` (+ a frame's slack)."""
    time.sleep(max(0.0, after + 0.3 - time.monotonic()))
    r = request(d.port, "GET", "/snapshot.jpg")
    check(r.status == 200, f"snapshot: {r.status}")
    return r.body


@test
def test_controls_get_post():
    """The test pattern's controls: listed with their ranges, set all together by JSON or form,
    refused whole (nothing half-applied) with the control and its range named, while 2 stream
    clients keep getting frames; the picture follows (mean luma)."""
    from pool import StreamPool
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "20")
    doc, ctl = controls_by_name(d.port)
    check(doc["writable"] is True, f"writable {doc['writable']!r}")
    check(set(ctl) == {"brightness", "saturation", "overlay", "colour_gains"},
          f"controls {sorted(ctl)}")
    b = ctl["brightness"]
    check((b["type"], b["min"], b["max"], b["step"], b["default"], b["value"]) ==
          ("integer", -100, 100, 1, 0, 0), f"brightness {b}")
    check(ctl["overlay"]["type"] == "boolean" and ctl["overlay"]["value"] is True,
          f"overlay {ctl['overlay']}")
    pool = StreamPool(d.port, 2)
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 2, timeout=5)
    base = luma_mean(fresh_snapshot(d, time.monotonic()))

    r = post(d.port, "/controls", '{"brightness": 80, "overlay": false}')
    check(r.status == 200, f"POST JSON: {r.status} {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 80 and ctl["overlay"]["value"] is False,
          f"after POST: {ctl['brightness']} {ctl['overlay']}")
    bright = luma_mean(fresh_snapshot(d, time.monotonic()))
    Context.current.note(f"mean luma: {base:.1f} at brightness 0, {bright:.1f} at 80")
    check(bright > base + 40, f"brightness 80 did not brighten the picture: {base:.1f} → {bright:.1f}")

    # one bad control: none applied
    r = post(d.port, "/controls", '{"brightness": -50, "saturation": 500}')
    check(r.status == 400, f"out of range: {r.status}")
    check(b"saturation: '500' is out of range (it takes 0..200)" in r.body, f"body {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 80, f"half-applied: {ctl['brightness']}")
    for body, ctype, want in (("brightness=-20&saturation=0", "application/x-www-form-urlencoded", 200),
                              ("brightness=abc", "application/x-www-form-urlencoded", 400),
                              ('{"nope": 1}', "application/json", 400),
                              ('{"brightness": 1', "application/json", 400),
                              ("brightness=1", "text/plain", 415),
                              ("", "application/json", 400)):
        r = post(d.port, "/controls", body, content_type=ctype)
        check(r.status == want, f"POST {body!r} as {ctype}: {r.status} {r.body!r}, want {want}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == -20 and ctl["saturation"]["value"] == 0,
          f"form: {ctl['brightness']} {ctl['saturation']}")
    # mjpg-streamer's form, as a POST; GET never changes anything
    r = post(d.port, "/?action=command&id=brightness&value=5", "")
    check(r.status == 200, f"POST ?action=command: {r.status} {r.body!r}")
    r = request(d.port, "GET", "/?action=command&id=brightness&value=90")
    check(r.status == 405, f"GET ?action=command: {r.status}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 5, f"after the command form: {ctl['brightness']}")
    before = [c.frames for c in pool.clients]
    pool.run(seconds=1.0)
    check(all(c.frames > b + 5 for c, b in zip(pool.clients, before)),
          "the stream did not keep flowing")
    pool.check_open()
    pool.close()
    d.stop()


def chroma_spread(jpeg):
    """Mean |Cb| and |Cr| (BT.601, around 0) of the decoded picture (djpeg -pnm)."""
    need_tool("djpeg")
    p = subprocess.run(["djpeg", "-pnm"], input=jpeg, capture_output=True, timeout=20)
    check(p.returncode == 0, f"djpeg failed: {p.stderr!r}")
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    check(m, "djpeg did not give a PPM")
    px = p.stdout[m.end():]
    n = len(px) // 3
    cb = cr = 0.0
    for i in range(0, n * 3, 3):
        r, g, b = px[i], px[i + 1], px[i + 2]
        cb += abs(-0.168736 * r - 0.331264 * g + 0.5 * b)
        cr += abs(0.5 * r - 0.418688 * g - 0.081312 * b)
    return cb / n, cr / n


@test
def test_controls_colour_gains():
    """A control of two numbers (libcamera's ColourGains: red, blue), on the test pattern's
    colour_gains: listed with its count and range, set from JSON and a form, refused whole when
    it is not two numbers in range, kept in the state file; the picture follows (blue-difference
    chroma gone at a blue gain of 0, red-difference at a red gain of 0)."""
    state = os.path.join(Context.current.tmpdir, "state")
    os.makedirs(state)
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "20", "--state-dir", state)
    _, ctl = controls_by_name(d.port)
    g = ctl.get("colour_gains")
    check(g is not None and (g["type"], g["count"], g["min"], g["max"], g["default"], g["value"])
          == ("floats", 2, 0, 4, [1, 1], [1, 1]), f"colour_gains {g}")
    cb0, cr0 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    r = post(d.port, "/controls", '{"colour_gains": [1, 0]}')
    check(r.status == 200, f"POST [1, 0]: {r.status} {r.body!r}")
    cb1, cr1 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    r = post(d.port, "/controls", "colour_gains=0%2C1", "application/x-www-form-urlencoded")
    check(r.status == 200, f"POST form 0,1: {r.status} {r.body!r}")
    cb2, cr2 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    Context.current.note(f"mean |Cb|, |Cr|: gains 1,1 {cb0:.1f}, {cr0:.1f}; 1,0 {cb1:.1f}, "
                         f"{cr1:.1f}; 0,1 {cb2:.1f}, {cr2:.1f}")
    check(cb0 > 10 and cr0 > 10, f"the test pattern has no colour: {cb0:.1f} {cr0:.1f}")
    check(cb1 < 3 and cr1 > cr0 * 0.7, f"blue gain 0: |Cb| {cb0:.1f} → {cb1:.1f}, "
          f"|Cr| {cr0:.1f} → {cr1:.1f}")
    check(cr2 < 3 and cb2 > cb0 * 0.7, f"red gain 0: |Cr| {cr0:.1f} → {cr2:.1f}, "
          f"|Cb| {cb0:.1f} → {cb2:.1f}")
    for body, ctype, want in (('{"colour_gains": [5, 1]}', "application/json",
                               b"colour_gains: '5,1' is out of range (it takes 2 numbers, each 0..4)"),
                              ('{"colour_gains": 2}', "application/json", b"not that many numbers"),
                              ('{"colour_gains": [1, 1, 1]}', "application/json", b"not that many"),
                              ("colour_gains=2", "application/x-www-form-urlencoded", b"not that many"),
                              ('{"brightness": 10, "colour_gains": [1]}', "application/json",
                               b"colour_gains")):
        r = post(d.port, "/controls", body, content_type=ctype)
        check(r.status == 400 and want in r.body, f"POST {body!r}: {r.status} {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["colour_gains"]["value"] == [0, 1] and ctl["brightness"]["value"] == 0,
          f"refused requests changed something: {ctl['colour_gains']} {ctl['brightness']}")
    with open(os.path.join(state, "controls.conf")) as f:
        saved = f.read()
    check("colour_gains=0,1" in saved, f"state file: {saved!r}")
    d.stop()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--state-dir", state)
    _, ctl = controls_by_name(d.port)
    check(ctl["colour_gains"]["value"] == [0, 1], f"after a restart: {ctl['colour_gains']}")
    d.stop()


@test
def test_controls_cross_site_refused():
    """A page of another site must not change the camera: Origin or Sec-Fetch-Site from
    elsewhere → 403, nothing applied; the page's own origin and curl (neither header) may."""
    d = Daemon("--source", "testpattern", "--size", "160x120")
    own = f"http://127.0.0.1:{d.port}"
    for headers, want in (({"Origin": "http://evil.example"}, 403),
                          ({"Origin": "null"}, 403),
                          ({"Sec-Fetch-Site": "cross-site"}, 403),
                          ({"Sec-Fetch-Site": "same-site"}, 403),
                          ({"Origin": own, "Host": f"127.0.0.1:{d.port}",
                            "Sec-Fetch-Site": "same-origin"}, 200),
                          ({}, 200)):
        r = post(d.port, "/controls", '{"brightness": 30}', headers=headers)
        check(r.status == want, f"POST with {headers}: {r.status} {r.body!r}, want {want}")
        if want == 403:
            _, ctl = controls_by_name(d.port)
            check(ctl["brightness"]["value"] != 30 or headers == {},
                  f"applied despite {headers}")
    r = post(d.port, "/controls", "brightness=1", "application/x-www-form-urlencoded",
             headers={"Origin": "http://evil.example"})
    check(r.status == 403, f"cross-site form: {r.status}")
    # a CORS preflight says POST and Content-Type may come (from the allowed origin only)
    d.stop()


@test
def test_controls_read_only_and_state():
    """--controls off: listed, not settable (403). --state-dir: what is set is written
    atomically and comes back after a restart, over --control's value (the newest word wins);
    a corrupt state file is reported and ignored."""
    tmp = Context.current.tmpdir
    d = Daemon("--source", "testpattern", "--size", "160x120", "--controls", "off")
    doc, _ = controls_by_name(d.port)
    check(doc["writable"] is False, f"writable {doc['writable']!r}")
    r = post(d.port, "/controls", '{"brightness": 30}')
    check(r.status == 403 and b"--controls off" in r.body, f"read-only: {r.status} {r.body!r}")
    d.stop()

    state = os.path.join(tmp, "state")
    os.makedirs(state)
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state,
               "--control", "brightness=10", "--control", "saturation=50")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 10 and ctl["saturation"]["value"] == 50,
          f"--control at start: {ctl['brightness']} {ctl['saturation']}")
    r = post(d.port, "/controls", '{"brightness": 70}')
    check(r.status == 200, f"POST: {r.status}")
    with open(os.path.join(state, "controls.conf")) as f:
        text = f.read()
    check("brightness=70\n" in text, f"state file: {text!r}")
    check([n for n in os.listdir(state)] == ["controls.conf"], f"left over: {os.listdir(state)}")
    d.stop()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state,
               "--control", "brightness=10", "--control", "saturation=50")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 70 and ctl["saturation"]["value"] == 50,
          f"after a restart: {ctl['brightness']} {ctl['saturation']}")
    d.stop()
    for corrupt in ("brightness=70\ngarbage without equals\n", "brightness=70\n\x00x=1\n"):
        with open(os.path.join(state, "controls.conf"), "w") as f:
            f.write(corrupt)
        d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state)
        _, ctl = controls_by_name(d.port)
        check(ctl["brightness"]["value"] == 0, f"corrupt state {corrupt!r} applied: {ctl['brightness']}")
        d.stop()
        check("<4>controls: ignoring " in d.log(), f"no warning for {corrupt!r}: {d.log()[-400:]!r}")
    # an unwritable state directory: applied, and said once why it is not kept
    ro = os.path.join(tmp, "missing-dir")
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", ro)
    r = post(d.port, "/controls", '{"brightness": 40}')
    check(r.status == 200, f"POST with no state dir: {r.status}")
    d.stop()
    check("not kept across restarts" in d.log(), "no warning for the missing state directory")


class WebDriver:
    """Just enough of the W3C WebDriver protocol (chromedriver, JSON over HTTP, standard library)
    to load a page in headless Chromium, run a script, press keys and take screenshots."""

    def __init__(self):
        import urllib.request
        self.urllib = urllib.request
        exe = need_tool("chromedriver")
        browser = need_tool("chromium")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        home = os.path.join(Context.current.tmpdir, "wd-home")
        os.makedirs(home, exist_ok=True)
        self.log = os.path.join(Context.current.tmpdir, "chromedriver.log")
        self.proc = subprocess.Popen([exe, f"--port={self.port}", f"--log-path={self.log}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env=dict(os.environ, HOME=home))
        deadline = time.monotonic() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise TestFailure("chromedriver did not answer within 20 s")
                time.sleep(0.1)
        profile = os.path.join(Context.current.tmpdir, "wd-profile")
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=800,1100", "--force-device-scale-factor=1",
                     "--hide-scrollbars", f"--user-data-dir={profile}"]}}}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except self.urllib.HTTPError as e:
            body = e.read().decode(errors="replace")
            self.proc.kill()
            try:
                message = json.loads(body)["value"]["message"].splitlines()[-1]
            except (ValueError, KeyError, IndexError, TypeError):
                message = body[:200]
            # Seen in the platform roots (chroot + unshare, tests/platforms): Chromium starts
            # but chromedriver cannot reach its renderer. An environment that cannot run the
            # browser under the driver is a skip with the reason, never a pass.
            raise harness.TestSkipped(f"chromedriver could not start Chromium here: {message}")

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = self.urllib.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                  headers={"Content-Type": "application/json"})
        with self.urllib.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def script(self, js, *args):
        return self.cmd("POST", "/execute/sync", {"script": js, "args": list(args)})

    def screenshot(self, path):
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        return read_png(path)

    def close(self):
        try:
            self.cmd("DELETE", "")
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@test
def test_chromium_controls_panel():
    """The page's controls panel in headless Chromium: built from /controls (a slider per
    integer, a switch per boolean), and pressing End on the brightness slider (as a user would
    on a phone's keyboard or a desktop) sets it, and the picture brightens (two screenshots)."""
    import urllib.error
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10")
    d.wait_frame()
    try:
        wd = WebDriver()
    except (OSError, urllib.error.URLError) as e:
        raise TestFailure(f"chromedriver: {e}")
    try:
        wd.cmd("POST", "/url", {"url": f"http://127.0.0.1:{d.port}/"})
        deadline = time.monotonic() + 15
        while wd.script("return document.querySelectorAll('#clist .ctl').length;") < 4:
            check(time.monotonic() < deadline, "the controls panel was not built within 15 s")
            time.sleep(0.2)
        kinds = wd.script("return [...document.querySelectorAll('#clist .ctl')].map(d => "
                          "d.querySelector('label').textContent + ':' + "
                          "(d.querySelector('input,select,button').type || ''));")
        check(kinds == ["brightness:range", "saturation:range", "overlay:checkbox",
                        "colour_gains:range"], f"panel rows {kinds}")
        gains = wd.script("return document.querySelectorAll("
                          "'#clist .ctl:nth-child(4) input[type=range]').length;")
        check(gains == 2, f"colour_gains (two numbers) has {gains} sliders, not 2")
        check(wd.script("return document.getElementById('controls').hidden;") is False,
              "the panel is hidden")
        time.sleep(1.0)
        tmp = Context.current.tmpdir

        def image_mean(png):
            w, h, ch, rows = png
            x0, x1 = (w - 320) // 2, (w + 320) // 2
            total = n = 0
            for row in rows[0:240:4]:
                for x in range(x0 * ch, x1 * ch, ch * 4):
                    total += row[x] + row[x + 1] + row[x + 2]
                    n += 3
            return total / n

        before = image_mean(wd.screenshot(os.path.join(tmp, "before.png")))
        slider = wd.cmd("POST", "/element", {"using": "css selector",
                                            "value": "#clist .ctl:first-child input"})
        eid = next(iter(slider.values()))
        wd.cmd("POST", f"/element/{eid}/click", {})
        wd.cmd("POST", f"/element/{eid}/value", {"text": "\ue010"})  # End: the maximum
        deadline = time.monotonic() + 10
        while True:
            _, ctl = controls_by_name(d.port)
            if ctl["brightness"]["value"] == 100:
                break
            check(time.monotonic() < deadline,
                  f"the slider did not set brightness: {ctl['brightness']}")
            time.sleep(0.2)
        time.sleep(1.5)  # a few frames drawn into the <img>
        after = image_mean(wd.screenshot(os.path.join(tmp, "after.png")))
        Context.current.note(f"stream area mean: {before:.1f} before, {after:.1f} after")
        check(after > before + 30, f"the picture did not brighten: {before:.1f} → {after:.1f}")
        check(wd.script("return document.getElementById('cmsg').textContent;") == "",
              "the panel shows an error")
    finally:
        wd.close()
        d.stop()


@test
def test_controls_need_credentials():
    """With --auth-file, changing a control needs credentials like every URL: 401 without, and
    nothing applied; 200 with them."""
    import base64
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--auth-file", users)
    auth = {"Authorization": "Basic " + base64.b64encode(b"dave:s3cret").decode()}
    r = post(d.port, "/controls", '{"brightness": 33}')
    check(r.status == 401 and r.header("www-authenticate"), f"without credentials: {r.status}")
    r = post(d.port, "/controls", '{"brightness": 33}',
             headers={"Authorization": "Basic " + base64.b64encode(b"dave:wrong").decode()})
    check(r.status == 401, f"a wrong password: {r.status}")
    r = request(d.port, "GET", "/controls", headers=auth)
    check(r.status == 200 and b'"value": 0' in r.body, f"GET with credentials: {r.status} {r.body[:200]!r}")
    r = post(d.port, "/controls", '{"brightness": 33}', headers=auth)
    check(r.status == 200 and b'"value": 33' in r.body, f"with credentials: {r.status} {r.body[:200]!r}")
    d.stop()


# ------------------------------------------------------------------- answers from the head alone

def head_exchange(port, head, wait=1.0):
    """Sends a request head whose body is still to come; returns the connection, what came back
    within `wait` seconds (b"" when nothing did) and the seconds it took."""
    c = Conn(port)
    t0 = time.monotonic()
    c.send(head)
    got = c.read_some(wait * SLOW)
    return c, got, time.monotonic() - t0


def parse_head(raw):
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, rest


@test
def test_expect_100_continue():
    """RFC 9110 section 10.1.1: a request with Expect: 100-continue gets 100 Continue before its
    body is read, or its final status at once when the head alone decides it (401 without
    credentials, 413, 405, 403): no client waits for a 100 that never comes."""
    body = b"brightness=40"
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)), "Expect": "100-continue"}
    d = Daemon("--source", "testpattern", "--size", "160x120")
    c, got, took = head_exchange(d.port, request_bytes("POST", "/controls", form))
    check(got == b"HTTP/1.1 100 Continue\r\n\r\n", f"POST /controls with Expect: {got[:200]!r}")
    c.send(body)
    r = c.read_response()
    check(r.status == 200 and b'"value": 40' in r.body, f"after the body: {r.status} "
          f"{r.body[:200]!r}")
    # keep-alive goes on: the next request on the connection is answered
    c.send(request_bytes("GET", "/status"))
    check(c.read_response().status == 200, "the request after the 100-continue one")
    # no second 100 for a request whose body is already there
    c.send(request_bytes("POST", "/controls", form, body=b"brightness=41"))
    r = c.read_response()
    check(r.status == 200 and b'"value": 41' in r.body, f"Expect with the body: {r.status}")
    c.close()
    # HTTP/1.0: the expectation is ignored (RFC 9110 section 10.1.1)
    c, got, _ = head_exchange(d.port, request_bytes("POST", "/controls", form,
                                                    version="HTTP/1.0"), wait=0.5)
    check(got == b"", f"HTTP/1.0 request answered before its body: {got[:100]!r}")
    c.close()
    # the head decides: a final status at once, no 100, and the connection closed
    for name, path, headers, want in (
            ("405", "/status", form, 405),
            ("413", "/controls", dict(form, **{"Content-Length": "5000"}), 413),
            ("403 cross-site", "/controls", dict(form, **{"Sec-Fetch-Site": "cross-site"}), 403),
            ("415", "/controls", dict(form, **{"Content-Type": "text/plain"}), 415)):
        c, got, took = head_exchange(d.port, request_bytes("POST", path, headers))
        line, h, _ = parse_head(got)
        check(line.startswith(f"HTTP/1.1 {want} "), f"{name}: {line!r} after {took:.2f} s")
        check(h.get("connection") == "close", f"{name}: Connection {h.get('connection')!r}")
        check(c.wait_closed(), f"{name}: connection not closed")
        c.close()
    curl = need_tool("curl")
    t0 = time.monotonic()
    p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                        "Expect: 100-continue", "-d", "brightness=42",
                        f"http://127.0.0.1:{d.port}/controls"],
                       capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    check(p.stdout == "200", f"curl -H 'Expect: 100-continue': {p.stdout}")
    check(took < 0.8 * SLOW, f"curl waited {took:.2f} s for the 100")
    d.stop()
    # --auth-file: no credentials → 401 at once; with them → 100, then the body is checked
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--auth-file", users)
    c, got, took = head_exchange(d.port, request_bytes("POST", "/controls", form))
    line, h, _ = parse_head(got)
    check(line.startswith("HTTP/1.1 401 ") and h.get("www-authenticate"),
          f"without credentials: {line!r} after {took:.2f} s")
    check(h.get("connection") == "close" and c.wait_closed(), "401: the connection stays open")
    c.close()
    auth = dict(form, Authorization=basic("dave", "s3cret"))
    c, got, _ = head_exchange(d.port, request_bytes("POST", "/controls", auth))
    check(got == b"HTTP/1.1 100 Continue\r\n\r\n", f"with credentials: {got[:200]!r}")
    c.send(body)
    r = c.read_response()
    check(r.status == 200 and b'"value": 40' in r.body, f"with credentials: {r.status}")
    c.close()
    d.stop()


@test
def test_method_not_allowed_at_once():
    """A request whose method the path does not take is answered 405 with Allow from its head,
    without waiting for the body it announces, and the connection is closed (the body is never
    read). A complete one on keep-alive stays as it was: 405, the connection kept."""
    d = Daemon("--source", "testpattern", "--size", "160x120")
    for method, path in (("POST", "/"), ("POST", "/status"), ("POST", "/stream.mjpg"),
                         ("PUT", "/stream.mjpg"), ("DELETE", "/snapshot.jpg")):
        c, got, took = head_exchange(d.port, request_bytes(method, path,
                                                           {"Content-Length": "10"}))
        line, h, rest = parse_head(got)
        check(line.startswith("HTTP/1.1 405 "), f"{method} {path}: {line!r} after {took:.2f} s")
        check(h.get("allow") == "GET, HEAD, OPTIONS", f"{method} {path}: Allow {h.get('allow')!r}")
        check(h.get("connection") == "close", f"{method} {path}: Connection {h.get('connection')!r}")
        check(c.wait_closed(), f"{method} {path}: connection not closed")
        c.close()
    # GET ?action=command: the path takes only POST
    c, got, _ = head_exchange(d.port, request_bytes("PUT", "/?action=command&id=x&value=1",
                                                    {"Content-Length": "3"}))
    line, h, _ = parse_head(got)
    check(line.startswith("HTTP/1.1 405 ") and h.get("connection") == "close",
          f"PUT ?action=command: {line!r} {h}")
    c.close()
    check(d.alive(), "mjpegd died")
    assert_serving(d.port)
    d.stop()


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, names=sys.argv[1:]))
