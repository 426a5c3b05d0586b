"""Integration tests, area systemd (make test-integration T=systemd): sd_notify (READY, STATUS,
watchdog), socket activation (and the first request's snapshot), the units."""
import json
import os
import signal
import socket
import subprocess
import time

from harness import (SLOW, Conn, Context, Daemon, MultipartParser, check, djpeg_size, need_tool,
                     read_parts, request, request_bytes)
import harness
from common import MJPEGD_PATH, test, jpeg_ok, NotifySocket, stop_activated


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


def unit_settings(text, section):
    """(key, value) pairs of one [section] of a unit file, in order (comments left out)."""
    out, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            cur = line.strip("[]")
        elif cur == section:
            k, _, v = line.partition("=")
            out.append((k, v))
    return out


@test
def test_systemd_template_verify():
    # Issue 20: mjpegd@NAME.service (one camera per instance) and mjpegd@NAME.socket load cleanly
    # for an instance; the instance reads /etc/mjpegd/NAME.conf and keeps its state and runtime
    # files apart from the other instances'; every other [Service] setting (the hardening, the
    # watchdog, the memory cap) is mjpegd.service's own.
    tool = need_tool("systemd-analyze")
    tmp = Context.current.tmpdir
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    texts = {}
    for name in ("mjpegd.service.in", "mjpegd@.service.in", "mjpegd@.socket"):
        with open(os.path.join(repo, "systemd", name)) as f:
            texts[name] = f.read().replace("@BINDIR@", os.path.dirname(MJPEGD_PATH())) \
                .replace("@SYSCONFDIR@", "/etc")
    for name in ("mjpegd@.service.in", "mjpegd@.socket"):
        with open(os.path.join(tmp, name.replace(".in", "")), "w") as f:
            f.write(texts[name])
    p = subprocess.run([tool, "verify", "--man=no", os.path.join(tmp, "mjpegd@nozzle.service"),
                        os.path.join(tmp, "mjpegd@nozzle.socket")], capture_output=True,
                       text=True, timeout=60)
    out = (p.stdout + p.stderr).strip()
    check(p.returncode == 0 and not out, f"systemd-analyze verify mjpegd@nozzle: rc={p.returncode} {out}")

    tpl = dict(unit_settings(texts["mjpegd@.service.in"], "Service"))
    check(tpl.get("ExecStart", "").startswith(
        f"{os.path.dirname(MJPEGD_PATH())}/mjpegd --config /etc/mjpegd/%i.conf"),
          f"the instance does not read /etc/mjpegd/NAME.conf: ExecStart={tpl.get('ExecStart')}")
    check(tpl.get("StateDirectory") == "mjpegd/%i", f"StateDirectory={tpl.get('StateDirectory')}")
    check(tpl.get("RuntimeDirectory") == "mjpegd/%i",
          f"RuntimeDirectory={tpl.get('RuntimeDirectory')}: instances would remove each other's")
    own = {"ExecStart", "EnvironmentFile", "StateDirectory", "RuntimeDirectory", "User"}
    single = [kv for kv in unit_settings(texts["mjpegd.service.in"], "Service") if kv[0] not in own]
    inst = [kv for kv in unit_settings(texts["mjpegd@.service.in"], "Service") if kv[0] not in own]
    check(sorted(single) == sorted(inst),
          f"settings differ from mjpegd.service: only there {sorted(set(single) - set(inst))}, "
          f"only in the template {sorted(set(inst) - set(single))}")
    sock = unit_settings(texts["mjpegd@.socket"], "Socket")
    check(("ListenStream", "/run/mjpegd/%i.sock") in sock, f"mjpegd@.socket: {sock}")
