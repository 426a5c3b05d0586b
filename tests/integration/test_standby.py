"""Integration tests, area standby (make test-integration T=standby): --standby-after SECONDS.
With no HTTP connection for that long the camera and the encoder are closed (0 frames captured,
the test pattern's timer closed, about one wake-up a second); the next snapshot or stream opens
them again and gets a fresh frame; systemd's watchdog and STATUS= carry on in standby; bad
values are refused at start; SIGHUP applies a new value."""
import glob
import os
import signal
import threading
import time

from harness import SLOW, Context, Daemon, check, get_json, open_stream, read_parts, request, \
    run_cli
from common import test, timing_test, jpeg_ok, NotifySocket


def wait_standby(d, after_s, timeout=6):
    """Sleeps (no request: a /status request counts as one) until /status says standby."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        time.sleep(after_s + 0.4 * SLOW)
        st = get_json(d.port)
        if st["standby"]["state"] == "standby":
            return st
        check(time.monotonic() < deadline, f"no standby within {timeout * SLOW:.0f} s: "
              f"{st['standby']}")


def voluntary_switches(pid):
    """Voluntary context switches of every thread: each is a wake-up after a wait."""
    n = 0
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        n += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return n


def fd_targets(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return out


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


@test
def test_standby_closes_everything():
    d = Daemon("--source", "testpattern", "--encoder", "software", "--size", "320x240",
               "--fps", "30", "--standby-after", "1")
    d.wait_frame()
    st = get_json(d.port)
    check(st["standby"]["state"] == "active" and st["standby"]["after_s"] == 1,
          f"before standby: {st['standby']}")
    check(any("timerfd" in t for t in fd_targets(d.pid)), "the test pattern's timerfd is not open "
          f"while active: {fd_targets(d.pid)}")
    st1 = wait_standby(d, 1)
    check(st1["standby"]["entered"] == 1, f"standby {st1['standby']}")
    dev = st1["devices"]
    check(dev["source"]["state"] == "standby" and dev["encoder"]["state"] == "standby",
          f"devices in standby: {dev}")
    targets = fd_targets(d.pid)
    check(not any("timerfd" in t or t.startswith("/dev/video") or t.startswith("/dev/media")
                  for t in targets), f"a device or timer still open in standby: {targets}")
    # no request for 10 s: count the wake-ups
    v1 = voluntary_switches(d.pid)
    time.sleep(10)
    v2 = voluntary_switches(d.pid)
    st2 = get_json(d.port)
    wakeups = (v2 - v1) / 10.0
    Context.current.note(f"standby: {v2 - v1} voluntary context switches in 10 s "
                         f"({wakeups:.1f}/s)")
    print(f"      standby: {wakeups:.1f} wake-ups/s over 10 s (voluntary_ctxt_switches of all "
          f"threads)", flush=True)
    check(wakeups <= 1.2, f"{wakeups:.1f} wake-ups a second in standby")
    check(st2["frames"]["captured"] == st1["frames"]["captured"],
          f"frames captured in standby: {st1['frames']['captured']} → "
          f"{st2['frames']['captured']}")
    check(not st2["placeholder"], "the no-signal picture in standby")
    m = request(d.port, "GET", "/metrics").body.decode()
    for line in ("mjpegd_standby 1", "mjpegd_standby_entered_total 1"):
        check(line in m, f"/metrics without {line!r}")
    d.stop()


@test
def test_standby_snapshot_wakes():
    """Ten wake-ups by a snapshot: each a fresh JPEG; request-to-JPEG p50/p95 printed."""
    d = Daemon("--source", "testpattern", "--encoder", "software", "--size", "640x480",
               "--fps", "30", "--standby-after", "1")
    d.wait_frame()
    took = []
    last_ts = 0.0
    for i in range(10):
        st = wait_standby(d, 1)
        check(st["standby"]["entered"] == i + 1, f"wake-up {i}: {st['standby']}")
        captured = st["frames"]["captured"]
        t0 = time.monotonic()
        r = request(d.port, "GET", "/snapshot.jpg")
        took.append((time.monotonic() - t0) * 1000.0)
        check(r.status == 200, f"snapshot {i} in standby: {r.status}")
        jpeg_ok(r.body, f"snapshot {i}")
        ts = float(r.header("x-timestamp"))
        check(ts > last_ts, f"snapshot {i}: not a fresh frame (timestamp {ts} after {last_ts})")
        last_ts = ts
        st = get_json(d.port)
        check(st["standby"]["state"] == "active" and st["standby"]["last_wake_ms"] is not None,
              f"after the snapshot {i}: {st['standby']}")
        check(st["frames"]["captured"] > captured, f"snapshot {i}: the camera did not run")
        check(st["devices"]["source"]["restarts"] == 0, f"a wake-up counted as a restart: "
              f"{st['devices']['source']}")
    p50, p95 = percentile(took, 50), percentile(took, 95)
    Context.current.note(f"standby wake-up by /snapshot.jpg, request to JPEG: {took}")
    print(f"      standby wake-up by /snapshot.jpg (test pattern, software, 640x480): request to "
          f"JPEG p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(took)}", flush=True)
    d.stop()


@test
def test_standby_stream_wakes():
    d = Daemon("--source", "testpattern", "--encoder", "software", "--size", "320x240",
               "--fps", "30", "--standby-after", "1")
    d.wait_frame()
    wait_standby(d, 1)
    c, parser = open_stream(d.port)
    parts = read_parts(c, parser, 5)
    for i, p in enumerate(parts):
        jpeg_ok(p.jpeg, f"part {i} after standby")
    time.sleep(2.0)  # longer than --standby-after: a stream client keeps it awake
    st = get_json(d.port)
    check(st["standby"]["state"] == "active" and st["standby"]["entered"] == 1,
          f"with a stream client: {st['standby']}")
    read_parts(c, parser, 3)
    c.close()
    wait_standby(d, 1)
    d.stop()


@timing_test
def test_standby_watchdog_and_status():
    ns = NotifySocket()
    d = Daemon("--source", "testpattern", "--encoder", "software", "--fps", "10",
               "--standby-after", "1", env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
    # collected all along: a full notify socket would block sd_notify (and the loop)
    collector = threading.Thread(target=ns.collect, args=(8.0 * SLOW,))
    collector.start()
    d.wait_frame()
    wait_standby(d, 1)
    t = time.monotonic()
    time.sleep(2.0 * SLOW)
    collector.join()
    pings = ns.count("WATCHDOG=1", since=t)
    check(pings >= 8, f"only {pings} WATCHDOG=1 pings in 2 s in standby (WatchdogSec 0.4 s)")
    times = [at for at, m in ns.messages if "WATCHDOG=1" in m and at >= t]
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(max(gaps) < 0.4, f"watchdog pings {max(gaps):.3f} s apart in standby (WatchdogSec 0.4)")
    status = [m for _, m in ns.messages if "STATUS=" in m]
    check(status and "standby" in status[-1], f"STATUS= does not say standby: {status[-1:]}")
    d.stop()


@test
def test_standby_bad_values():
    for bad in ("-1", "abc", "86401", ""):
        p = run_cli(["--source", "testpattern", "--standby-after", bad])
        check(p.returncode != 0, f"--standby-after {bad!r} accepted")
        check("--standby-after" in p.stderr and "0..86400" in p.stderr,
              f"--standby-after {bad!r}: {p.stderr!r}")


@test
def test_standby_sighup():
    """A value changed and reloaded applies without dropping a viewer; with the viewer gone,
    standby comes after the new value."""
    conf = os.path.join(Context.current.tmpdir, "mjpegd.conf")
    base = "source = testpattern\nencoder = software\nsize = 320x240\n"
    with open(conf, "w") as f:
        f.write(base + "standby-after = 0\n")
    d = Daemon("--config", conf)
    d.wait_frame()
    c, parser = open_stream(d.port)
    read_parts(c, parser, 2)
    with open(conf, "w") as f:
        f.write(base + "standby-after = 1\n")
    d.signal(signal.SIGHUP)
    time.sleep(2.0)
    read_parts(c, parser, 5)  # the viewer was not dropped
    st = get_json(d.port)
    check(st["standby"]["after_s"] == 1 and st["standby"]["state"] == "active",
          f"with a viewer after SIGHUP: {st['standby']}")
    c.close()
    wait_standby(d, 1)
    r = request(d.port, "GET", "/snapshot.jpg")
    check(r.status == 200, f"snapshot after standby: {r.status}")
    jpeg_ok(r.body, "snapshot after standby")
    d.stop()
