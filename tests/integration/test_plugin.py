"""Integration tests, area plugin (make test-integration T=plugin): the libcamera plugin
(mjpegd-libcamera.so, docs/architecture.md "The libcamera plugin", docs/security.md): the daemon
links neither libcamera nor libstdc++; a plugin that is missing, refused (writable by others, a
symlink, owned by someone else), that cannot be loaded (a library it needs is gone, as when
libcamera's soname changes) or that is not ours (a symbol missing, another ABI version) leaves
`--source auto` serving the next source and `--source libcamera` serving the placeholder, with
the reason logged once and in /status. The fakes are tiny .so files compiled here. The daemon is
mjpegd-faults, whose loader alone takes MJPEGD_TEST_PLUGIN_DIR (the release binary loads only
from the directory it was built for); the real plugin is $MJPEGD_PLUGIN (make test-integration
passes build/mjpegd-libcamera.so). plugin_from_other_release runs in make test-platforms only:
tests/platforms/run.sh hands a plugin built in another release's root to this one's daemon."""
import os
import re
import shutil
import subprocess
import time

from harness import (SLOW, Context, Daemon, TestSkipped, check, get_json, need_tool, open_stream,
                     read_parts)
import harness
from common import test, jpeg_ok

PLUGIN_FILE = "mjpegd-libcamera.so"
# the plugin built with the daemon under test (make test-integration names it; beside it otherwise)
REAL_PLUGIN = os.environ.get("MJPEGD_PLUGIN") or os.path.join(os.path.dirname(harness.MJPEGD),
                                                              PLUGIN_FILE)


def plugin_dir(name="plugins", mode=0o755):
    d = os.path.join(Context.current.tmpdir, name)
    os.mkdir(d)
    os.chmod(d, mode)
    return d


def compile_so(directory, name, source, extra=()):
    """Compiles C source into directory/name as a shared object; returns its path."""
    cc = need_tool("cc")
    src = os.path.join(Context.current.tmpdir, name + ".c")
    with open(src, "w") as f:
        f.write(source)
    out = os.path.join(directory, name)
    p = subprocess.run([cc, "-shared", "-fPIC", "-o", out, src, *extra], capture_output=True,
                       text=True)
    check(p.returncode == 0, f"cc {name}: {p.stderr}")
    os.chmod(out, 0o644)
    return out


def run_faults(args, plugin_dir_path, timeout=10):
    p = subprocess.run([harness.MJPEGD_FAULTS, *args], capture_output=True, text=True,
                       errors="replace", timeout=timeout * SLOW, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, MJPEGD_TEST_PLUGIN_DIR=plugin_dir_path))
    Context.current.note(f"$ MJPEGD_TEST_PLUGIN_DIR={plugin_dir_path} mjpegd-faults "
                         f"{' '.join(args)}\n-> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def list_devices_reason(directory):
    """--list-devices against the plugin in directory: (stdout, stderr)."""
    p = run_faults(["--list-devices"], directory)
    return p.stdout, p.stderr


def plugin_lines(log):
    return [line for line in log.splitlines() if "libcamera plugin:" in line]


def daemon_with(directory, *args):
    return Daemon(*args, binary=harness.MJPEGD_FAULTS,
                  env={"MJPEGD_TEST_PLUGIN_DIR": directory})


def status_plugin(d):
    st = get_json(d.port)
    check("libcamera_plugin" in st, f"/status has no libcamera_plugin: {sorted(st)}")
    return st, st["libcamera_plugin"]


def check_placeholder_served(d, what):
    """The stream sends the placeholder (a JPEG) although there is no source at all."""
    conn, parser = open_stream(d.port)
    parts = read_parts(conn, parser, 2, timeout=5)
    conn.close()
    check(len(parts) == 2, f"{what}: {len(parts)} parts on the stream, the placeholder expected")
    for p in parts:
        jpeg_ok(p.jpeg, f"{what}: placeholder")
    return parts


def need_real_plugin():
    if not REAL_PLUGIN or not os.path.exists(REAL_PLUGIN):
        raise TestSkipped("no libcamera plugin was built (libcamera-dev missing: "
                          "scripts/deps.sh build installs it)")
    return REAL_PLUGIN


@test
def test_daemon_links_no_libcamera():
    readelf = need_tool("readelf")
    for binary in (harness.MJPEGD, harness.MJPEGD_FAULTS):
        out = subprocess.run([readelf, "-d", binary], capture_output=True, text=True).stdout
        needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
        check(needed, f"readelf -d {binary}: no NEEDED entries:\n{out}")
        bad = [n for n in needed if n.startswith(("libcamera", "libstdc++"))]
        check(not bad, f"{binary} links {bad}: libcamera belongs in the plugin")
    if REAL_PLUGIN and os.path.exists(REAL_PLUGIN):
        out = subprocess.run([readelf, "-d", "--dyn-syms", REAL_PLUGIN], capture_output=True,
                             text=True).stdout
        check(re.search(r"\(NEEDED\).*\[libcamera\.so\.", out),
              f"the plugin does not link libcamera:\n{out}")
        exported = set(re.findall(r"GLOBAL\s+DEFAULT\s+\d+\s+(\S+)", out))
        check(exported == {"mjpegd_lcplugin_abi", "mjpegd_lcplugin_init"},
              f"the plugin exports {sorted(exported)}, not just its two entry points")


@test
def test_plugin_loads_from_build_dir():
    """The development build (build/mjpegd, no test seam) loads the plugin from its build
    directory, by absolute path, whatever the current directory and LD_LIBRARY_PATH say."""
    plugin = need_real_plugin()
    cwd = Context.current.tmpdir
    # a decoy in the current directory and on LD_LIBRARY_PATH: neither is looked at
    shutil.copy(plugin, os.path.join(cwd, PLUGIN_FILE + ".decoy"))
    p = subprocess.run([harness.MJPEGD, "--list-devices"], capture_output=True, text=True,
                       cwd=cwd, env=dict(os.environ, LD_LIBRARY_PATH=cwd), timeout=20 * SLOW)
    want = os.path.join(os.path.dirname(os.path.abspath(plugin)), PLUGIN_FILE)
    check(f"libcamera plugin {want} loaded" in p.stderr,
          f"build/mjpegd did not load {want}:\n{p.stderr}")
    check("libcamera cameras" in p.stdout, f"--list-devices: {p.stdout}")


@test
def test_plugin_missing_auto_serves_next_source():
    d = daemon_with(plugin_dir(), "--source", "auto")
    d.wait_frame()
    st, lp = status_plugin(d)
    check(lp["state"] == "missing", f"libcamera_plugin: {lp}")
    check(lp["path"].endswith("/plugins/" + PLUGIN_FILE) and "not installed" in lp["error"],
          f"libcamera_plugin: {lp}")
    check(lp["hint"] and lp["built_against"] is not None, f"libcamera_plugin: {lp}")
    check(st["source"].startswith(("testpattern", "v4l2")), f"/status source: {st['source']}")
    check(st["devices"]["source"]["state"] == "running", f"devices.source: {st['devices']}")
    lines = plugin_lines(d.log())
    check(len(lines) == 1 and lines[0].startswith("<4>"),
          f"expected one warning about the plugin, got {lines}")


@test
def test_plugin_missing_libcamera_serves_placeholder():
    d = daemon_with(plugin_dir(), "--source", "libcamera", "--source-timeout-ms", "500")
    check_placeholder_served(d, "--source libcamera without its plugin")
    time.sleep(2.5 * SLOW)  # several placeholder periods: the reason is still logged once
    check(d.alive(), "mjpegd exited")
    st, lp = status_plugin(d)
    check(lp["state"] == "missing" and "not installed" in lp["error"], f"libcamera_plugin: {lp}")
    src = st["devices"]["source"]
    check(src["state"] == "failed" and "libcamera plugin" in src["last_error"],
          f"devices.source: {src}")
    check(st["placeholder"] is True, "/status placeholder is not true")
    lines = plugin_lines(d.log())
    check(len(lines) == 1 and lines[0].startswith("<3>") and "not installed" in lines[0],
          f"expected the reason logged once as an error, got {lines}")
    check("not retried" in d.log(), "the source is retried although the plugin cannot come back")


def check_refused(directory, reason, what):
    out, err = list_devices_reason(directory)
    check("not usable" in out and reason in out, f"{what}: --list-devices says:\n{out}")
    lines = plugin_lines(err)
    check(len(lines) == 1 and "refused" in lines[0] and reason in lines[0],
          f"{what}: expected one line with '{reason}', got {lines}")


@test
def test_plugin_permissions_refused():
    plugin = need_real_plugin()
    # group-writable file (a group other than root's), world-writable file
    d = plugin_dir("group-file")
    f = os.path.join(d, PLUGIN_FILE)
    shutil.copy(plugin, f)
    if os.geteuid() == 0:
        os.chown(f, 0, 100)  # a group other than root's
    os.chmod(f, 0o664)
    check_refused(d, f"is writable by group {os.stat(f).st_gid} (mode 0664)",
                  "group-writable plugin")
    d = plugin_dir("world-file")
    f = os.path.join(d, PLUGIN_FILE)
    shutil.copy(plugin, f)
    os.chmod(f, 0o646)
    check_refused(d, "is writable by everyone (mode 0646)", "world-writable plugin")
    # world-writable directory, even with the sticky bit
    d = plugin_dir("world-dir", 0o1777)
    os.chmod(d, 0o1777)
    shutil.copy(plugin, os.path.join(d, PLUGIN_FILE))
    check_refused(d, "the directory " + d + " is writable by everyone", "world-writable dir")
    # a symlink to a good plugin is not followed
    d = plugin_dir("symlink")
    os.symlink(os.path.abspath(plugin), os.path.join(d, PLUGIN_FILE))
    check_refused(d, "is a symlink, which is not followed", "symlinked plugin")
    # owned by someone else than root or the daemon's user
    if os.geteuid() == 0:
        d = plugin_dir("other-owner")
        f = os.path.join(d, PLUGIN_FILE)
        shutil.copy(plugin, f)
        os.chown(f, 65534, 65534)
        check_refused(d, "is owned by uid 65534", "plugin owned by nobody")
    # /status and the placeholder for one of them
    d = plugin_dir("status-dir", 0o777)
    os.chmod(d, 0o777)
    shutil.copy(plugin, os.path.join(d, PLUGIN_FILE))
    dm = daemon_with(d, "--source", "libcamera")
    check_placeholder_served(dm, "refused plugin")
    _, lp = status_plugin(dm)
    check(lp["state"] == "refused" and "writable by everyone" in lp["error"] and
          "chmod go-w" in lp["hint"], f"libcamera_plugin: {lp}")


@test
def test_plugin_good_copy_loads():
    """The same file in a directory that passes the checks loads: the refusals above are the
    checks', not the copy's."""
    plugin = need_real_plugin()
    d = plugin_dir()
    shutil.copy(plugin, os.path.join(d, PLUGIN_FILE))
    os.chmod(os.path.join(d, PLUGIN_FILE), 0o644)
    out, err = list_devices_reason(d)
    check(f"libcamera plugin {d}/{PLUGIN_FILE} loaded" in err, f"not loaded:\n{err}")
    check("not usable" not in out, f"--list-devices: {out}")


FAKE_HEADER = "#include <stdint.h>\n"
# the daemon's LCSHIM_ABI_VERSION, read from the header it was built with
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "source",
                       "libcamera_shim.h")) as _h:
    ABI = int(re.search(r"#define LCSHIM_ABI_VERSION (\d+)u", _h.read()).group(1))


@test
def test_plugin_not_ours_refused():
    cases = [
        ("no symbols", "int unrelated(void) { return 1; }\n",
         "has no symbol mjpegd_lcplugin_abi"),
        ("no init", FAKE_HEADER + f"const uint32_t mjpegd_lcplugin_abi = {ABI};\n",
         "has no symbol mjpegd_lcplugin_init"),
        ("other ABI", FAKE_HEADER + "const uint32_t mjpegd_lcplugin_abi = 99;\n"
         "const void *mjpegd_lcplugin_init(const void *h) { (void)h; return 0; }\n",
         f"speaks plugin ABI version 99, this mjpegd version {ABI}"),
        ("init refuses", FAKE_HEADER + f"const uint32_t mjpegd_lcplugin_abi = {ABI};\n"
         "const void *mjpegd_lcplugin_init(const void *h) { (void)h; return 0; }\n",
         "its table does not match"),
    ]
    for i, (what, source, reason) in enumerate(cases):
        d = plugin_dir(f"fake{i}")
        compile_so(d, PLUGIN_FILE, source)
        out, err = list_devices_reason(d)
        lines = plugin_lines(err)
        check(len(lines) == 1 and reason in lines[0] and "reinstall this mjpegd" in lines[0],
              f"{what}: expected one line with '{reason}', got {lines}\n{err}")
        check(reason in out, f"{what}: --list-devices: {out}")
    # and the daemon: auto goes on, /status says incompatible
    dm = daemon_with(os.path.join(Context.current.tmpdir, "fake2"), "--source", "auto")
    dm.wait_frame()
    _, lp = status_plugin(dm)
    check(lp["state"] == "incompatible" and "ABI version 99" in lp["error"],
          f"libcamera_plugin: {lp}")


@test
def test_plugin_library_gone():
    """What a libcamera upgrade does: the plugin needs libcamera.so.0.99 (a stub made here, then
    removed, as an upgrade removes the old soname): dlopen fails, the reason names the library,
    what it was built against, what is installed and what to do."""
    tmp = Context.current.tmpdir
    libdir = os.path.join(tmp, "oldlib")
    os.mkdir(libdir)
    compile_so(libdir, "libcamera.so.0.99", "int libcamera_stub(void) { return 0; }\n",
               ["-Wl,-soname,libcamera.so.0.99"])
    d = plugin_dir()
    compile_so(d, PLUGIN_FILE, FAKE_HEADER + "int libcamera_stub(void);\n"
               f"const uint32_t mjpegd_lcplugin_abi = {ABI};\n"
               "int use(void) { return libcamera_stub(); }\n",
               [os.path.join(libdir, "libcamera.so.0.99")])
    shutil.rmtree(libdir)
    dm = daemon_with(d, "--source", "libcamera")
    check_placeholder_served(dm, "plugin whose libcamera is gone")
    _, lp = status_plugin(dm)
    check(lp["state"] == "load-failed", f"libcamera_plugin: {lp}")
    check("libcamera.so.0.99: cannot open shared object file" in lp["error"],
          f"the reason does not name the missing library: {lp['error']}")
    check(f"{d}/{PLUGIN_FILE} cannot be loaded" in lp["error"] and "/proc/self/fd" not in
          lp["error"], f"the reason does not name the plugin: {lp['error']}")
    check("built against libcamera" in lp["error"] and "installed:" in lp["error"],
          f"built against / installed missing: {lp['error']}")
    check("rebuild mjpegd" in lp["hint"] and "package" in lp["hint"], f"hint: {lp['hint']}")
    lines = plugin_lines(dm.log())
    check(len(lines) == 1 and "cannot open shared object file" in lines[0],
          f"expected the reason logged once, got {lines}")


@test
def test_plugin_from_other_release():
    """make test-platforms (tests/platforms/run.sh): the plugin MJPEGD_FOREIGN_PLUGIN was built in
    the root of another release (MJPEGD_FOREIGN_FROM), against its libcamera (0.0.3 against this
    root's 0.7, and back): --source libcamera serves the placeholder and says why, what it was
    built against and what is installed; auto and the test pattern serve frames; V4L2 is looked
    for (and, with no camera in the root, passed over)."""
    foreign = os.environ.get("MJPEGD_FOREIGN_PLUGIN")
    if not foreign:
        raise TestSkipped("only in make test-platforms (MJPEGD_FOREIGN_PLUGIN: a plugin built in "
                          "another release's root)")
    origin = os.environ.get("MJPEGD_FOREIGN_FROM", "another release")
    d = plugin_dir()
    shutil.copy(foreign, os.path.join(d, PLUGIN_FILE))
    os.chmod(os.path.join(d, PLUGIN_FILE), 0o644)
    dm = daemon_with(d, "--source", "libcamera")
    check_placeholder_served(dm, f"the plugin from {origin}")
    st, lp = status_plugin(dm)
    Context.current.note(f"libcamera_plugin with the plugin from {origin}: {lp}")
    check(lp["state"] == "load-failed", f"the plugin from {origin}: {lp}")
    check("cannot be loaded" in lp["error"] and "installed: /usr/lib/" in lp["error"] and
          "libcamera.so." in lp["error"], f"the reason: {lp['error']}")
    check("rebuild mjpegd" in lp["hint"], f"hint: {lp['hint']}")
    check(st["devices"]["source"]["state"] == "failed", f"devices.source: {st['devices']}")
    lines = plugin_lines(dm.log())
    check(len(lines) == 1 and lines[0].startswith("<3>"), f"logged: {lines}")
    print(f"plugin from {origin}: {lp['error']}")
    dm.stop()
    da = daemon_with(d, "--source", "auto")
    da.wait_frame()
    st, lp = status_plugin(da)
    check(lp["state"] == "load-failed", f"auto: {lp}")
    check(st["source"].startswith(("testpattern", "v4l2")), f"auto serves {st['source']}")
    check("no camera found" in da.log() or st["source"].startswith("v4l2"),
          "auto did not go on to V4L2 cameras and the test pattern")
    da.stop()
    dt = daemon_with(d, "--source", "testpattern")
    dt.wait_frame()
    check(status_plugin(dt)[1]["state"] == "not-tried", "the test pattern loaded the plugin")
