"""Integration tests, area http (make test-integration T=http): HTTP/1.1 itself: every error
status, header timeouts, pipelining and keep-alive, --max-clients and its refusals."""
import json
import re
import signal
import socket
import time

from harness import (SLOW, Conn, Context, Daemon, TestFailure, assert_serving, check, open_stream,
                     read_parts, request, request_bytes)
from common import test


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
def test_request_target_forms():
    """RFC 9112 section 3.2: the absolute form a client sends when it takes mjpegd for a proxy
    (curl -x, a browser's proxy setting) is served as its path; OPTIONS * and OPTIONS on a path
    say what the server and that path take, and agree with a 405's Allow; OPTIONS on a path not
    served is 404, as its GET is."""
    d = Daemon("--source", "testpattern", "--size", "160x120")
    port = d.port
    r = request(port, "GET", f"http://127.0.0.1:{port}/status")
    check(r.status == 200 and json.loads(r.body).get("frames") is not None,
          f"absolute-form /status: {r.status} {r.body[:80]!r}")
    r = request(port, "GET", "HTTP://camera.local")  # no path: "/", the page
    check(r.status == 200 and b"<html" in r.body.lower(), f"absolute-form, no path: {r.status}")
    c = Conn(port)
    c.send(request_bytes("GET", f"http://127.0.0.1:{port}/stream.mjpg?fps=5"))
    r = c.read_response()
    check(r.status == 200 and r.header("content-type").startswith("multipart/x-mixed-replace"),
          f"absolute-form stream: {r.status} {r.header('content-type')}")
    c.close()
    for target, want in (("ftp://h/status", 400), ("http://user:pw@h/status", 400),
                         ("*", 400)):
        r = request(port, "GET", target)
        check(r.status == want, f"GET {target}: {r.status}, wanted {want}")
    def options(target):  # a 204 has no body and no Content-Length
        c = Conn(port)
        c.send(request_bytes("OPTIONS", target, {"Connection": "close"}))
        r = c.read_response(head_only=True)
        c.close()
        return r

    post = "GET, HEAD, POST, OPTIONS"  # /controls, and the server as a whole
    for target, want, allow in (("*", 204, post),
                                ("/controls", 204, post),
                                ("/status", 204, "GET, HEAD, OPTIONS"),
                                (f"http://127.0.0.1:{port}/snapshot.jpg", 204,
                                 "GET, HEAD, OPTIONS"),
                                ("/nope", 404, None)):
        r = options(target)
        check(r.status == want and r.header("allow") == allow,
              f"OPTIONS {target}: {r.status} Allow {r.header('allow')!r}")
        if target != "*" and allow:
            r = request(port, "PUT", target)
            check(r.status == 405 and r.header("allow") == allow,
                  f"PUT {target}: {r.status} Allow {r.header('allow')!r}")
    assert_serving(d.port)
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
