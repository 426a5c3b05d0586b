"""Integration tests, area unix_socket (make test-integration T=unix_socket): --listen on a unix
socket: beside TCP, stale and in-use files, socket activation."""
import json
import os
import socket
import subprocess
import time

from harness import (SLOW, Conn, Context, Daemon, MultipartParser, check, djpeg_size, need_tool,
                     request, request_bytes, run_cli)
from common import MJPEGD_PATH, test, stop_activated


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
