"""Integration tests, area supervision (make test-integration T=supervision): The supervisor
(mjpegd-faults): a failed source or encoder reopened, the watchdog; SIGHUP reload; a FIFO as
config; a slow viewer; and the tooling tests filed here (make install, scripts/deps.sh,
tests/platforms/run.sh)."""
import os
import re
import signal
import subprocess
import time

from harness import (SANITIZED, SLOW, Context, Daemon, assert_serving, check, djpeg_size, get_json,
                     open_stream, read_parts, request, run_cli)
import harness
from common import timing_test, MJPEGD_PATH, test, jpeg_ok, NotifySocket


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_count_settled(pid, limit, seconds=3):
    """The daemon's fd count once it is at most limit, or the lowest seen within seconds: a
    connection the test just closed (the last /status request) is closed by the daemon when its
    completion comes round, a moment later under a sanitizer. A leak stays above limit."""
    lowest = fd_count(pid)
    deadline = time.monotonic() + seconds * SLOW
    while lowest > limit and time.monotonic() < deadline:
        time.sleep(0.05)
        lowest = min(lowest, fd_count(pid))
    return lowest


def fd_list(pid):
    out = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            out.append(f"{fd}->{os.readlink(f'/proc/{pid}/fd/{fd}')}")
        except OSError:
            pass
    return ", ".join(out)


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


@timing_test
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
    fds1, rss1 = fd_count_settled(d.pid, fds0), d.rss_kib()
    check(fds1 <= fds0, f"fds grew from {fds0} to {fds1} over {src['restarts']} restarts: "
          f"{fd_list(d.pid)}")
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


@timing_test
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
             "lib/systemd/system/mjpegd.socket", "lib/systemd/system/mjpegd@.service",
             "lib/systemd/system/mjpegd@.socket", "usr/share/man/man8/mjpegd.8",
             "etc/mjpegd/mjpegd.conf"]
    plugin = os.path.join(os.path.dirname(MJPEGD_PATH()), "mjpegd-libcamera.so")
    if os.path.exists(plugin):
        # where the installed daemon (not build/mjpegd, which looks in its build directory) loads
        # the libcamera plugin from: LIBDIR/mjpegd, LIBDIR defaulting to PREFIX/lib
        files.insert(0, "usr/lib/mjpegd/mjpegd-libcamera.so")
    for f in files:
        check(os.path.exists(os.path.join(dest, f)), f"make install did not install /{f}")
    if os.path.exists(plugin):
        with open(os.path.join(dest, "usr/bin/mjpegd"), "rb") as f:
            binary = f.read()
        check(b"/usr/lib/mjpegd\0" in binary, "the installed mjpegd does not look for its plugin "
              "in /usr/lib/mjpegd")
        check(os.path.abspath(os.path.dirname(MJPEGD_PATH())).encode() + b"\0" not in binary,
              "the installed mjpegd still looks for its plugin in the build directory")
    with open(os.path.join(dest, "lib/systemd/system/mjpegd.service")) as f:
        unit = f.read()
    check("ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/mjpegd.conf" in unit,
          "the installed unit does not run /usr/bin/mjpegd with /etc/mjpegd/mjpegd.conf")
    with open(os.path.join(dest, "lib/systemd/system/mjpegd@.service")) as f:
        check("ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/%i.conf" in f.read(),
              "the installed template does not run /usr/bin/mjpegd with /etc/mjpegd/%i.conf")
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
    reason, and never counted as passed (the archive here: a closed port on loopback). Two rows,
    side by side (MJPEGD_PLATFORM_JOBS=2): each row's lines come whole, the matrix keeps the
    order given."""
    import shutil
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        Context.current.note("needs root and debootstrap (scripts/deps.sh platforms): not run")
        return
    env = dict(os.environ, MJPEGD_PLATFORM_CACHE=os.path.join(Context.current.tmpdir, "cache"),
               MJPEGD_DEBIAN_MIRROR="http://127.0.0.1:9/debian", MJPEGD_PLATFORM_JOBS="2",
               MJPEGD_PLATFORM_PREPARE="0")
    p = subprocess.run([os.path.join(harness.REPO, "tests/platforms/run.sh"), "trixie",
                        "bookworm"], env=env, capture_output=True, text=True, timeout=120)
    Context.current.note(p.stdout[-1500:])
    lines = p.stdout.strip().splitlines()
    check(p.returncode == 0, f"exit status {p.returncode}: {p.stderr[-300:]}")
    check("=== platforms: rows 2 at a time: trixie bookworm (each row's lines when it ends)"
          in lines, "no line saying the rows run 2 at a time")
    matrix = []
    for row in ("trixie", "bookworm"):
        check(lines.count(f"=== platforms: {row}") == 1, f"not one '=== platforms: {row}' line")
        i = lines.index(f"=== platforms: {row}")
        check(i + 1 < len(lines) and lines[i + 1].startswith(f"SKIP  {row}: archive not reachable")
              and "127.0.0.1:9" in lines[i + 1],
              f"{row}'s block is not its header and its SKIP line naming the archive: "
              f"{lines[i:i + 2]}")
        m = [j for j, l in enumerate(lines) if re.match(rf"{row} +- +- +SKIPPED", l)]
        check(len(m) == 1, f"the matrix does not say {row} SKIPPED once")
        matrix.append(m[0])
    check(matrix[0] < matrix[1], "the matrix does not keep the order given (trixie, bookworm)")
    check(lines[-1] == "platforms: 0 passed, 0 failed, 2 skipped", f"last line: {lines[-1]!r}")


@test
def test_platforms_jobs_refused():
    """make test-platforms: MJPEGD_PLATFORM_JOBS that is not a number of rows (1 to 999) is
    refused with one line naming it, before anything is made (no root needed)."""
    for bad in ("0", "two", "-1", "1.5", "01", "1000", " 2"):
        env = dict(os.environ, MJPEGD_PLATFORM_JOBS=bad,
                   MJPEGD_PLATFORM_CACHE=os.path.join(Context.current.tmpdir, "cache"))
        p = subprocess.run([os.path.join(harness.REPO, "tests/platforms/run.sh"), "bookworm"],
                           env=env, capture_output=True, text=True, timeout=30)
        lines = p.stdout.strip().splitlines()
        check(p.returncode == 1 and lines == [
            f"FAIL  platforms: MJPEGD_PLATFORM_JOBS='{bad}' is not a number of rows at a time "
            "(1 to 999)", "platforms: 0 passed, 1 failed, 0 skipped"] and not p.stderr,
            f"MJPEGD_PLATFORM_JOBS={bad!r}: exit {p.returncode}, {p.stdout!r}, {p.stderr!r}")
        check(not os.path.exists(os.path.join(Context.current.tmpdir, "cache")),
              f"MJPEGD_PLATFORM_JOBS={bad!r}: the cache was made")


@timing_test
def test_it_lock_keeps_timing_tests_alone():
    """tests/integration's runner with MJPEGD_IT_LOCK (make test-platforms' rows side by side):
    one test at a time, a test that may share the machine waits while another holds the lock
    exclusively; with --jobs 2, the parallel phase runs beside a shared holder and the timing
    test waits until that holder lets go. (A timing test itself: status_json runs nested.)"""
    tmp = Context.current.tmpdir
    lock = os.path.join(tmp, "rows.lock")
    open(lock, "w").close()
    runner = [os.path.join(harness.REPO, "tests/integration/run.sh")]
    env = dict(os.environ, MJPEGD_IT_LOCK=lock, MJPEGD=harness.MJPEGD,
               MJPEGD_FAULTS=harness.MJPEGD_FAULTS)
    env.pop("MJPEGD_IT_VERBOSE", None)
    for mode, args, after, test_line, want in (
            ("-x", ["--jobs", "1", "snapshot_320x240"], "mjpegd integration tests: binary ",
             "PASS  snapshot_320x240", "shared"),
            ("-s", ["--jobs", "2", "snapshot_320x240", "status_json"], "PASS  snapshot_320x240",
             "PASS  status_json", "exclusive")):
        # -o: flock itself holds the lock; its group (flock, sleep) is killed to let go
        holder = subprocess.Popen(["flock", "-o", mode, lock, "sleep", "60"],
                                  start_new_session=True, stdout=subprocess.DEVNULL)
        # the holder has the lock once a non-blocking conflicting attempt fails
        deadline = time.monotonic() + 5
        while subprocess.run(["flock", "-n", "-x" if mode == "-s" else "-s", lock, "true"]
                             ).returncode == 0:
            check(time.monotonic() < deadline, f"flock {mode} {lock} did not take the lock")
            time.sleep(0.02)
        # The holder lets go 2.5 s after the runner printed the line that comes just before it
        # asks for the lock (its header; the parallel phase's test), so the runner waits.
        out = []
        try:
            r = subprocess.Popen(runner + args, env=env, stdout=subprocess.PIPE, text=True)
            for line in r.stdout:
                out.append(line)
                if line.startswith(after):
                    break
            time.sleep(2.5)
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
            out.extend(r.stdout)
            rc = r.wait(timeout=60 * SLOW)
        finally:
            if holder.returncode is None:
                os.killpg(holder.pid, signal.SIGKILL)
                holder.wait()
        p = subprocess.CompletedProcess(args, rc, "".join(out))
        Context.current.note(p.stdout)
        lines = p.stdout.splitlines()
        waited = [i for i, l in enumerate(lines) if re.match(
            rf"integration: waited [0-9]+ s for MJPEGD_IT_LOCK \({re.escape(lock)}, {want}\)", l)]
        check(p.returncode == 0 and len(waited) == 1,
              f"{' '.join(args)} beside flock {mode}: exit {p.returncode}, no single line saying "
              f"it waited for the lock ({want}): {p.stdout[-800:]}")
        check(test_line in p.stdout and waited[0] < min(
            i for i, l in enumerate(lines) if l.startswith(test_line)),
            f"{test_line} not after the wait for the lock")
        if want == "exclusive":
            check(waited[0] > lines.index(next(l for l in lines
                                               if l.startswith("PASS  snapshot_320x240"))),
                  "the parallel phase waited for a shared holder")
