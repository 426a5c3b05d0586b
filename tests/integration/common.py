"""Shared by the test_<area>.py files: the test registry (@test), and the fixtures more than one
area uses (credentials files, a systemd notify socket, Chromium screenshots). The daemon
launcher, the HTTP helpers and the PASS/FAIL/SKIP runner are in harness.py, the stream
client pool in pool.py."""
import os
import signal
import socket
import subprocess
import time

from harness import SLOW, Context, TestFailure, check, need_tool, read_png
import harness


def MJPEGD_PATH():
    return harness.MJPEGD


TESTS = []


def test(fn):
    """Registers a test_NAME function as test NAME (its area: the module it is in)."""
    TESTS.append((fn.__name__[len("test_"):], fn))
    return fn


def timing_test(fn):
    """A test whose assertions include a bound on time (a gap, a wait, a page load) that a
    machine loaded by other work can miss: registered as @test, and run a second time when the
    first attempt fails (the runner prints both; two failures fail it)."""
    fn.timing = True
    return test(fn)


def serial_test(fn):
    """A test that must not share the machine with other tests of the run (it measures the
    daemon's CPU time, starts heavy clients, or binds a port it chose in advance): registered as
    @test, and run after the parallel phase, one at a time (docs/testing.md)."""
    fn.serial = True
    return test(fn)


def jpeg_ok(body, what):
    check(body[:2] == b"\xff\xd8", f"{what}: does not start with FFD8: {body[:16]!r}")
    check(body[-2:] == b"\xff\xd9", f"{what}: does not end with FFD9")


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


def stop_activated(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=5 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        raise TestFailure("socket-activated mjpegd did not exit on SIGTERM")
    check(rc == 0, f"socket-activated mjpegd exited with {rc}")


def chromium_screenshot(url, out, size="800,600"):
    exe = need_tool("chromium")
    profile = os.path.join(Context.current.tmpdir, f"profile-{os.path.basename(out)}")
    os.makedirs(profile)
    # The multipart <img> never finishes loading; --timeout stops the navigation after 2.5 s
    # so the screenshot is taken of whatever has been painted by then.
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}",
            f"--screenshot={out}", f"--window-size={size}", "--timeout=2500", url]
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
