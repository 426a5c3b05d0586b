"""Helpers for the mjpegd integration tests: the daemon under test, raw HTTP, a strict multipart
parser, JPEG/PNG checks and the test runner. Standard library only; run with /usr/bin/python3.

Every wait here is bounded: sockets carry timeouts, processes are waited for with timeouts and
killed afterwards, and the runner puts an alarm on every test.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import traceback
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_bin = os.environ.get("MJPEGD", "build/mjpegd")
# A relative MJPEGD is taken from the current directory, else from the repository root.
MJPEGD = os.path.abspath(_bin if os.path.exists(_bin) else os.path.join(REPO, _bin))
BOUNDARY = b"mjpegdframe"
STREAM_CONTENT_TYPE = "multipart/x-mixed-replace;boundary=mjpegdframe"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: UndefinedBehaviorSanitizer", "ERROR: ThreadSanitizer")


class TestFailure(AssertionError):
    pass


class TestSkipped(Exception):
    """Raised by a test that cannot run here (a tool that could not be installed): reported as
    SKIP with the reason and counted apart, never as passed."""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def _is_sanitized(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read() or False
    except OSError:
        return False


SANITIZED = _is_sanitized(MJPEGD)
# The test binary with --inject-fault (make builds it beside the daemon).
MJPEGD_FAULTS = os.path.abspath(os.environ.get("MJPEGD_FAULTS",
                                               os.path.join(os.path.dirname(MJPEGD), "mjpegd-faults")))
# Timeouts (not throughput thresholds) stretch under ASan, which is several times slower.
SLOW = 3.0 if SANITIZED else 1.0


def project_version():
    with open(os.path.join(REPO, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M)
    return m.group(1) if m else None


def need_tool(name):
    path = shutil.which(name)
    check(path is not None, f"required tool '{name}' is not installed (scripts/deps.sh test "
          f"installs it)")
    return path


def sanitizer_errors(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def _die_with_parent():
    # The daemon is killed by the kernel if the runner dies without cleaning up.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def run_cli(args, timeout=10, **kw):
    """Runs the binary to completion (flag checks). Returns CompletedProcess with text output."""
    ctx = Context.current
    try:
        p = subprocess.run([MJPEGD] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout * SLOW,
                           preexec_fn=_die_with_parent, **kw)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"mjpegd {' '.join(args)} did not exit within {timeout * SLOW:.0f} s "
                          f"(stderr: {e.stderr!r})")
    if ctx:
        ctx.note(f"$ mjpegd {' '.join(args)}\n-> exit {p.returncode}\nstdout: {p.stdout}\n"
                 f"stderr: {p.stderr}")
    errs = sanitizer_errors(p.stderr)
    check(not errs, f"sanitizer report from mjpegd {' '.join(args)}: {errs}\n{p.stderr}")
    return p


# ------------------------------------------------------------------------------------ the daemon

class Daemon:
    """One mjpegd process on a kernel-chosen loopback port, stderr in a log file."""

    def __init__(self, *args, listen=True, ready_timeout=10, env=None, binary=None):
        ctx = Context.current
        self.ctx = ctx
        self.args = list(args)
        if listen and not any(a.startswith("--listen") for a in self.args):
            self.args += ["--listen", "127.0.0.1:0"]
        n = len(ctx.daemons) + 1
        self.log_path = os.path.join(ctx.tmpdir, f"mjpegd-{n}.log")
        self.port = None
        self.stopped = False
        self.reported = False  # a failure about this daemon was raised already
        self.returncode = None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([binary or MJPEGD] + self.args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, preexec_fn=_die_with_parent,
                                         env=dict(os.environ, **(env or {})))
        ctx.daemons.append(self)
        if listen:
            self._wait_ready(ready_timeout * SLOW)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"^<5>.*serving http://[^\s]*:(\d+)/stream\.mjpg", self.log(), re.M)
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                self.reported = True
                raise TestFailure(f"mjpegd {' '.join(self.args)} exited with "
                                  f"{self.proc.returncode} before serving")
            time.sleep(0.02)
        raise TestFailure(f"mjpegd did not log its port within {timeout:.0f} s")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            m = re.search(r"^VmRSS:\s+(\d+)\s+kB", f.read(), re.M)
        check(m, "no VmRSS in /proc/PID/status")
        return int(m.group(1))

    def wait_frame(self, timeout=5):
        """Waits until /snapshot.jpg has a frame; returns that response."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            r = request(self.port, "GET", "/snapshot.jpg")
            if r.status == 200:
                return r
            check(time.monotonic() < deadline, f"no frame within {timeout * SLOW:.0f} s "
                  f"(/snapshot.jpg: {r.status})")
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits up to timeout s; returns (returncode, seconds) or (None, timeout)."""
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        self.returncode = rc
        return rc, time.monotonic() - t0

    def stop(self, timeout=5):
        """SIGTERM; exit 0 expected (a crash or sanitizer report fails the test)."""
        if self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is not None:
            self.reported = True
            raise TestFailure(f"mjpegd died during the test with exit code "
                              f"{self.proc.returncode}")
        self.proc.send_signal(signal.SIGTERM)
        rc, _ = self.wait_exit(timeout * SLOW)
        if rc is None:
            self.kill()
            raise TestFailure(f"mjpegd did not exit within {timeout * SLOW:.0f} s of SIGTERM")
        self.check_log()
        check(rc == 0, f"mjpegd exited with {rc} after SIGTERM")

    def check_log(self):
        errs = sanitizer_errors(self.log())
        if errs:
            self.reported = True
            raise TestFailure(f"sanitizer report in the daemon log: {errs}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stopped = True


# ------------------------------------------------------------------------------------------ HTTP

class Response:
    def __init__(self, status, reason, headers, body, head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body
        self.head = head

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Response {self.status} {self.reason} {self.headers} body={self.body[:80]!r}>"


class Conn:
    """A blocking client connection with its own read buffer."""

    def __init__(self, port, timeout=5, rcvbuf=None):
        self.timeout = timeout * SLOW
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(self.timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = bytearray()
        self.eof = False
        Context.current.sockets.append(self.sock)

    def send(self, data):
        self.sock.sendall(data)

    def local_addr(self):
        h, p = self.sock.getsockname()[:2]
        return f"{h}:{p}"

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out waiting for data from mjpegd")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TestFailure("timed out waiting for data from mjpegd")
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until(self, marker, timeout=None):
        deadline = time.monotonic() + (timeout * SLOW if timeout else self.timeout)
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if not self._fill(deadline):
                raise TestFailure(f"connection closed before {marker!r}; got "
                                  f"{bytes(self.buf[:200])!r}")

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout * SLOW if timeout else self.timeout)
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise TestFailure(f"connection closed after {len(self.buf)} of {n} bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_some(self, timeout):
        """Whatever arrives within timeout (b"" on EOF or nothing)."""
        if self.buf:
            out = bytes(self.buf)
            self.buf.clear()
            return out
        try:
            if self._fill(time.monotonic() + timeout):
                return self.read_some(0)
        except TestFailure:
            pass
        return b""

    def wait_closed(self, timeout=3):
        """True when the server closes the connection within timeout (data before is dropped)."""
        deadline = time.monotonic() + timeout * SLOW
        try:
            while self._fill(deadline):
                pass
            return True
        except TestFailure:
            return False

    def read_response(self, head_only=False, timeout=None):
        head = self.read_until(b"\r\n\r\n", timeout).decode("latin-1")
        lines = head.split("\r\n")
        m = re.match(r"^HTTP/1\.1 (\d{3}) (.*)$", lines[0])
        check(m, f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            check(":" in line, f"bad header line {line!r}")
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        status = int(m.group(1))
        body = b""
        ctype = headers.get("content-type", "")
        if not head_only and not ctype.startswith("multipart/"):
            if "content-length" in headers:
                body = self.read_exact(int(headers["content-length"]), timeout)
            else:
                raise TestFailure(f"response without Content-Length: {head!r}")
        return Response(status, m.group(2), headers, body, head)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request_bytes(method, path, headers=None, version="HTTP/1.1", body=b""):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    out = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return out.encode("latin-1") + b"\r\n" + body


def request(port, method, path, headers=None, timeout=5):
    """One request on a new connection (Connection: close); returns the Response."""
    c = Conn(port, timeout)
    try:
        hd = {"Connection": "close"}
        hd.update(headers or {})
        c.send(request_bytes(method, path, hd))
        return c.read_response(head_only=(method == "HEAD"))
    finally:
        c.close()


def get_json(port, path="/status"):
    import json
    r = request(port, "GET", path)
    check(r.status == 200, f"GET {path}: {r.status}")
    check(r.header("content-type") == "application/json",
          f"GET {path}: Content-Type {r.header('content-type')!r}")
    try:
        return json.loads(r.body)
    except ValueError as e:
        raise TestFailure(f"GET {path}: not JSON ({e}): {r.body[:300]!r}")


def assert_serving(port):
    """The daemon still answers /status after whatever the test did."""
    r = request(port, "GET", "/status")
    check(r.status == 200, f"/status after the previous request: {r.status}")


# ------------------------------------------------------------------------------------- multipart

class Part:
    __slots__ = ("headers", "jpeg", "t_jpeg", "t_done")

    def __init__(self, headers, jpeg, t_jpeg, t_done):
        self.headers = headers
        self.jpeg = jpeg
        self.t_jpeg = t_jpeg  # when the JPEG's last byte arrived (monotonic)
        self.t_done = t_done  # when the closing boundary's last byte arrived


class MultipartParser:
    """Strict incremental parser of mjpegd's multipart/x-mixed-replace body.

    Expects: "--mjpegdframe\\r\\n", then per part: header lines, "\\r\\n", exactly
    Content-Length JPEG bytes, and at once "\\r\\n--mjpegdframe\\r\\n". Anything else raises
    TestFailure. keep=False drops the JPEG bytes (counting only)."""

    FIRST = b"--" + BOUNDARY + b"\r\n"
    TRAILER = b"\r\n--" + BOUNDARY + b"\r\n"

    def __init__(self, keep=True, verify=True):
        self.buf = bytearray()
        self.state = "first"
        self.keep = keep
        self.verify = verify
        self.headers = None
        self.length = 0
        self.t_jpeg = None
        self.count = 0

    def feed(self, data, now=None):
        now = time.monotonic() if now is None else now
        self.buf += data
        parts = []
        pos = 0
        buf = self.buf
        while True:
            if self.state == "first":
                if len(buf) - pos < len(self.FIRST):
                    break
                check(buf[pos:pos + len(self.FIRST)] == self.FIRST,
                      f"stream body does not start with the boundary: {bytes(buf[:60])!r}")
                pos += len(self.FIRST)
                self.state = "headers"
            elif self.state == "headers":
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    check(len(buf) - pos < 4096, "part headers longer than 4 KiB")
                    break
                self.headers = self._parse_headers(bytes(buf[pos:end]))
                self.length = int(self.headers["content-length"])
                pos = end + 4
                self.state = "jpeg"
            elif self.state == "jpeg":
                if len(buf) - pos < self.length:
                    break
                self.jpeg = bytes(buf[pos:pos + self.length]) if (self.keep or self.verify) \
                    else None
                if self.verify:
                    check(self.jpeg[:2] == b"\xff\xd8",
                          f"part {self.count}: JPEG does not start with FFD8")
                    check(self.jpeg[-2:] == b"\xff\xd9",
                          f"part {self.count}: JPEG does not end with FFD9 (Content-Length "
                          f"{self.length} wrong?)")
                pos += self.length
                self.t_jpeg = now
                self.state = "trailer"
            elif self.state == "trailer":
                if len(buf) - pos < len(self.TRAILER):
                    got = bytes(buf[pos:pos + len(self.TRAILER)])
                    check(self.TRAILER.startswith(got),
                          f"part {self.count}: after Content-Length bytes came {got!r}, not "
                          f"the boundary")
                    break
                got = bytes(buf[pos:pos + len(self.TRAILER)])
                check(got == self.TRAILER, f"part {self.count}: after Content-Length bytes "
                      f"came {got!r}, not the boundary")
                pos += len(self.TRAILER)
                parts.append(Part(self.headers, self.jpeg if self.keep else None, self.t_jpeg,
                                  now))
                self.count += 1
                self.state = "headers"
        del buf[:pos]
        return parts

    def _parse_headers(self, raw):
        h = {}
        for line in raw.decode("latin-1").split("\r\n"):
            check(":" in line, f"part {self.count}: bad part header line {line!r}")
            k, v = line.split(":", 1)
            h[k.strip().lower()] = v.strip()
        check(h.get("content-type") == "image/jpeg",
              f"part {self.count}: Content-Type {h.get('content-type')!r}")
        check(re.fullmatch(r"\d+", h.get("content-length", "")),
              f"part {self.count}: Content-Length {h.get('content-length')!r}")
        check(re.fullmatch(r"\d+\.\d{6}", h.get("x-timestamp", "")),
              f"part {self.count}: X-Timestamp {h.get('x-timestamp')!r}")
        return h


def open_stream(port, path="/stream.mjpg", timeout=5, rcvbuf=None):
    """Connects, requests path, checks the 200 multipart head. Returns (Conn, parser)."""
    c = Conn(port, timeout, rcvbuf=rcvbuf)
    c.send(request_bytes("GET", path))
    r = c.read_response()
    check(r.status == 200, f"GET {path}: {r.status} {r.body!r}")
    check(r.header("content-type") == STREAM_CONTENT_TYPE,
          f"GET {path}: Content-Type {r.header('content-type')!r}")
    check(r.header("content-length") is None, f"GET {path}: stream has a Content-Length")
    return c, MultipartParser()


def read_parts(conn, parser, n, timeout=5):
    """Reads until n parts arrived; returns them."""
    deadline = time.monotonic() + timeout * SLOW
    parts = parser.feed(bytes(conn.buf))
    conn.buf.clear()
    while len(parts) < n:
        if not conn._fill(deadline):
            raise TestFailure(f"stream closed after {len(parts)} of {n} parts")
        parts += parser.feed(bytes(conn.buf))
        conn.buf.clear()
    return parts


# ------------------------------------------------------------------------------------ JPEG / PNG

def djpeg_size(jpeg, ctx_name="JPEG"):
    """Decodes with djpeg; returns (width, height). Fails on any decoder complaint."""
    need_tool("djpeg")
    p = subprocess.run(["djpeg", "-pnm"], input=jpeg, capture_output=True, timeout=20)
    check(p.returncode == 0 and not p.stderr,
          f"djpeg could not decode the {ctx_name} cleanly: rc={p.returncode} "
          f"{p.stderr.decode(errors='replace')}")
    m = re.match(rb"P[56]\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    check(m, f"djpeg output is not PNM: {p.stdout[:20]!r}")
    return int(m.group(1)), int(m.group(2))


def read_png(path):
    """Minimal PNG decoder: 8-bit, non-interlaced greyscale/RGB/RGBA/grey+alpha.
    Returns (width, height, channels, rows) with rows a list of bytes."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        check(zlib.crc32(ctype + chunk) & 0xffffffff == crc, f"{path}: bad CRC in {ctype!r}")
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"IDAT":
            idat.append(chunk)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    check(ihdr, f"{path}: no IHDR")
    w, h, depth, color, _comp, _filt, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    check(depth == 8 and channels and interlace == 0,
          f"{path}: unsupported PNG (depth {depth}, colour type {color}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    check(len(raw) == h * (stride + 1), f"{path}: decompressed size {len(raw)} != "
          f"{h} * {stride + 1}")
    rows, prev = [], bytearray(stride)
    bpp = channels
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xff
        elif ft == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xff
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xff
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        else:
            check(ft == 0, f"{path}: bad filter type {ft} in row {y}")
        rows.append(bytes(line))
        prev = line
    return w, h, channels, rows


# ---------------------------------------------------------------------------------------- runner

class Context:
    """Per-test resources: a temp dir, daemons and sockets, all cleaned up by the runner."""
    current = None

    def __init__(self, name):
        self.name = name
        self.tmpdir = tempfile.mkdtemp(prefix=f"mjpegd-it-{name}-")
        self.daemons = []
        self.sockets = []
        self.notes = []

    def note(self, text):
        self.notes.append(text)

    def cleanup(self):
        errors = []
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        for d in self.daemons:
            was_reported = d.reported
            if not d.stopped:
                try:
                    d.stop()
                except Exception as e:  # noqa: BLE001 - reported as the test's failure
                    if not was_reported:
                        errors.append(str(e))
                finally:
                    d.kill()
            else:
                d.kill()
            # A sanitizer report counts even when the test itself ended the daemon.
            errs = sanitizer_errors(d.log())
            if errs and not d.reported:
                errors.append(f"sanitizer report in {d.log_path}: {errs}")
        return errors

    def report(self, tail=40):
        out = []
        for n in self.notes[-6:]:
            out.append(n.rstrip())
        for d in self.daemons:
            lines = d.log().splitlines()
            out.append(f"--- {d.log_path} (mjpegd {' '.join(d.args)}), last {tail} of "
                       f"{len(lines)} lines:")
            out.extend(lines[-tail:])
        return "\n".join(out)


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Alarm()


def _on_term(signum, frame):
    raise KeyboardInterrupt()


_SUMMARY = re.compile(r"^integration: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?"
                      r"(?: \((\d+) timing tests passed on a second attempt\))?")


class _MachineLock:
    """MJPEGD_IT_LOCK, when set, names a file that runs sharing one machine lock with flock(2)
    (make test-platforms' rows side by side: tests/platforms/run.sh): the tests that may share
    the machine run holding it shared, as a row's build, unit and deb steps do; the timing and
    serial tests run holding it exclusively, so no other row compiles or runs tests beside them.
    Unset: no lock. A waiting runner holds nothing (the shared lock is dropped before the
    exclusive one is asked for), so two runners cannot wait for each other."""

    def __init__(self, use=True):
        self.path = os.environ.get("MJPEGD_IT_LOCK", "") if use else ""
        self.fd = None
        self.mode = None
        if self.path:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)

    def take(self, exclusive, what):
        import fcntl
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if self.fd is None or self.mode == mode:
            return
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        t0 = time.monotonic()
        fcntl.flock(self.fd, mode)
        self.mode = mode
        waited = time.monotonic() - t0
        if waited >= 1:
            print(f"integration: waited {waited:.0f} s for MJPEGD_IT_LOCK ({self.path}, "
                  f"{'exclusive' if exclusive else 'shared'}) before {what}", flush=True)

    def release(self):
        if self.fd is not None:
            import fcntl
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.mode = None


def _runs_alone(fn):
    """Timing tests (@timing_test) and @serial_test ones run after the parallel phase, one at a
    time, on a machine no other test of this run loads."""
    return getattr(fn, "timing", False) or getattr(fn, "serial", False)


def _run_parallel(selected, jobs, per_test_timeout, runner):
    """Runs each test as its own `runner --exact NAME` process, `jobs` at a time, printing each
    one's lines whole when it ends (in the order they end). Returns (passed, failed, skipped,
    retried)."""
    totals = [0, 0, 0, 0]
    queue = list(selected)
    running = {}  # pid -> (name, Popen, output file, deadline)
    limit = per_test_timeout * (SLOW if SANITIZED else 1) + 60

    def finish(name, proc, out, timed_out):
        out.seek(0)
        text = out.read().decode(errors="replace")
        out.close()
        counted = False
        for line in text.splitlines():
            m = _SUMMARY.match(line)
            if m:
                counted = True
                for i in range(4):
                    totals[i] += int(m.group(i + 1) or 0)
            elif not line.startswith("mjpegd integration tests: binary "):
                print(line, flush=True)
        if timed_out or not counted:
            why = (f"its process did not end within {limit:.0f} s" if timed_out
                   else f"its process exited with {proc.returncode} without a summary line")
            print(f"FAIL  {name}  (runner): {why}", flush=True)
            totals[1] += 1

    try:
        while queue or running:
            while queue and len(running) < jobs:
                name, _ = queue.pop(0)
                out = tempfile.TemporaryFile()
                proc = subprocess.Popen(runner + ["--exact", name], stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent)
                running[proc.pid] = (name, proc, out, time.monotonic() + limit)
            time.sleep(0.05)
            for pid, (name, proc, out, deadline) in list(running.items()):
                timed_out = proc.poll() is None and time.monotonic() > deadline
                if timed_out:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                if proc.poll() is not None:
                    del running[pid]
                    finish(name, proc, out, timed_out)
    finally:
        for name, proc, out, _ in running.values():
            proc.terminate()  # its handler stops the daemons it started
        for name, proc, out, _ in running.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return tuple(totals)


def run_tests(tests, names=None, per_test_timeout=90, exact=False, jobs=1, runner=None):
    """tests: list of (name, function). Prints one PASS/FAIL line per test, the details of
    failures, and the summary line. Returns the process exit status.
    jobs > 1 (with runner, the command that runs one test: tests.py): the tests that may share
    the machine run `jobs` at a time, each in its own process; then the timing and serial tests
    run one by one in this process."""
    signal.signal(signal.SIGALRM, _on_alarm)
    # A runner killed by SIGTERM/SIGINT still stops its daemons (finally blocks run).
    signal.signal(signal.SIGTERM, _on_term)
    if exact:
        selected = [(n, f) for n, f in tests if n in names]
    else:
        selected = [(n, f) for n, f in tests if not names or any(x in n for x in names)]
    if names and not selected:
        print(f"no test matches {names}", flush=True)
        print("integration: 0 passed, 1 failed", flush=True)
        return 1
    if not exact:
        print(f"mjpegd integration tests: binary {MJPEGD}"
              f"{' (sanitizers: timeouts x%g)' % SLOW if SANITIZED else ''}"
              f"{f', {jobs} at a time, timing tests alone' if jobs > 1 else ''}", flush=True)
    if not os.access(MJPEGD, os.X_OK):
        print(f"FAIL  (setup): {MJPEGD} is not an executable file (build it: make all)")
        print(f"integration: 0 passed, {len(selected)} failed", flush=True)
        return 1
    # The children of the parallel phase (exact) run under their runner's lock.
    try:
        lock = _MachineLock(use=not exact)
    except OSError as e:
        print(f"FAIL  (setup): MJPEGD_IT_LOCK={os.environ.get('MJPEGD_IT_LOCK')}: cannot open "
              f"it: {e.strerror}", flush=True)
        print(f"integration: 0 passed, {len(selected)} failed", flush=True)
        return 1
    try:
        return _run_selected(selected, jobs, per_test_timeout, runner, lock)
    finally:
        lock.release()


def _run_selected(selected, jobs, per_test_timeout, runner, lock):
    passed = failed = skipped = retried = 0
    phases = ""
    if jobs > 1 and runner:
        shared = [(n, f) for n, f in selected if not _runs_alone(f)]
        selected = [(n, f) for n, f in selected if _runs_alone(f)]
        if shared:
            lock.take(False, "the tests that share the machine")
        t_shared = time.monotonic()
        try:
            passed, failed, skipped, retried = _run_parallel(shared, jobs, per_test_timeout,
                                                             runner)
        except KeyboardInterrupt:
            print("FAIL  (interrupted; remaining tests not run)", flush=True)
            print(f"integration: {passed} passed, {failed + 1} failed", flush=True)
            return 1
        t_shared = time.monotonic() - t_shared
        if selected:
            try:
                lock.take(True, "the tests that run alone")
            except KeyboardInterrupt:
                print("FAIL  (interrupted; remaining tests not run)", flush=True)
                print(f"integration: {passed} passed, {failed + 1} failed", flush=True)
                return 1
        t_alone = time.monotonic()
        phases = (f"{len(shared)} tests {jobs} at a time in {t_shared:.0f} s, "
                  f"{len(selected)} alone in {{:.0f}} s")
    for name, fn in selected:
        if not phases:  # one at a time: each test under the lock its kind needs
            try:
                lock.take(_runs_alone(fn), "the tests that run alone" if _runs_alone(fn)
                          else "the tests that share the machine")
            except KeyboardInterrupt:
                print(f"FAIL  {name}  (interrupted; remaining tests not run)", flush=True)
                print(f"integration: {passed} passed, {failed + 1} failed", flush=True)
                return 1
        # A test marked @timing_test (a bound on time that a loaded machine can miss) runs a
        # second time when its first attempt fails; both attempts are printed.
        attempts = 2 if getattr(fn, "timing", False) else 1
        for attempt in range(1, attempts + 1):
            ctx = Context(name)
            Context.current = ctx
            t0 = time.monotonic()
            error = None
            skip_reason = None
            try:
                signal.alarm(int(per_test_timeout * (SLOW if SANITIZED else 1)))
                try:
                    fn()
                finally:
                    signal.alarm(0)
            except _Alarm:
                error = f"test did not finish within {per_test_timeout * SLOW:.0f} s"
            except KeyboardInterrupt:
                signal.alarm(0)
                ctx.cleanup()
                print(f"FAIL  {name}  (interrupted; remaining tests not run)", flush=True)
                print(f"integration: {passed} passed, {failed + 1} failed", flush=True)
                return 1
            except TestSkipped as e:
                skip_reason = str(e)
            except TestFailure as e:
                error = str(e) or "assertion failed"
                tb = traceback.extract_tb(e.__traceback__)
                where = [f for f in tb if os.path.basename(f.filename).startswith("test_")
                         or os.path.basename(f.filename) == "common.py"]
                if where:
                    error += f"  [{os.path.basename(where[-1].filename)}:{where[-1].lineno}]"
            except Exception:  # noqa: BLE001 - any error in a test is that test's failure
                error = traceback.format_exc().rstrip()
            try:
                errors = ctx.cleanup()
            except Exception:  # noqa: BLE001
                errors = [traceback.format_exc()]
            if errors and not error:
                error = "; ".join(errors)
            elif errors:
                error += "\n(cleanup: " + "; ".join(errors) + ")"
            dt = time.monotonic() - t0
            Context.current = None
            if skip_reason is not None and not error:
                skipped += 1
                shutil.rmtree(ctx.tmpdir, ignore_errors=True)
                print(f"SKIP  {name}  ({dt:.1f} s): {skip_reason}", flush=True)
            elif error and attempt < attempts:
                print(f"RETRY {name}  ({dt:.1f} s): a timing test's first attempt failed: "
                      + error.replace("\n", "\n      "), flush=True)
                continue
            elif error:
                failed += 1
                print(f"FAIL  {name}  ({dt:.1f} s)", flush=True)
                print("      " + error.replace("\n", "\n      "), flush=True)
                rep = ctx.report()
                if rep:
                    print("      " + rep.replace("\n", "\n      "), flush=True)
            else:
                passed += 1
                retried += attempt > 1
                shutil.rmtree(ctx.tmpdir, ignore_errors=True)
                print(f"PASS  {name}  ({dt:.1f} s{', second attempt' if attempt > 1 else ''})",
                      flush=True)
                if os.environ.get("MJPEGD_IT_VERBOSE"):
                    for n in ctx.notes:
                        lines = n.rstrip().splitlines()[:8]
                        print("      " + "\n      ".join(lines), flush=True)
            break
    if phases:
        print(f"integration: {phases.format(time.monotonic() - t_alone)}", flush=True)
    print(f"integration: {passed} passed, {failed} failed"
          f"{f', {skipped} skipped' if skipped else ''}"
          f"{f' ({retried} timing tests passed on a second attempt)' if retried else ''}",
          flush=True)
    return 1 if failed else 0
