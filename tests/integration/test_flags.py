"""Integration tests, area flags (make test-integration T=flags): The command line and the config
file: bad flags, --help/--version, the file, RLIMIT_NOFILE, a port in use, --format."""
import os
import re
import socket

from harness import Context, Daemon, assert_serving, check, get_json, project_version, run_cli
from common import MJPEGD_PATH, test


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
