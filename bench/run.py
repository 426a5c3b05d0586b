#!/usr/bin/python3
"""mjpegd benchmarks: `make bench` runs this (Debian's /usr/bin/python3, standard library only).

    /usr/bin/python3 bench/run.py [--quick] [--only SECTION,...] [--skip SECTION,...] [--vm]

Sections (docs/performance.md explains every figure):
  frames    real JPEGs made once: ffmpeg testsrc2 + sensor-like noise → cjpeg -quality 80, 30
            frames at 640x480 and 1280x720, plus raw I420 / YUYV / RGB24 frames for `encode`
  fanout    mjpegd (--source file:DIR --encoder passthrough) vs bench/writeloop (the floor: one
            blocking sendmsg per client per frame) at N clients, the same JPEGs, alternating
            order, repeated; bench/loadclient measures CPU/frame·client, RSS, latency, skips
  syscalls  the same runs under `strace -c -f -p PID` (counts only: strace slows the server) and
            one `perf trace -s` cross-check
  baseline  bench/baseline_server.py (a RECONSTRUCTION of the Python server mjpegd replaces:
            ThreadingHTTPServer + cv2.imencode) vs mjpegd --source testpattern --encoder software
  encode    software JPEG frames per CPU-second: bench/encode_bench (mjpegd's encoder API) from
            I420 and YUYV (→ 4:2:0) vs bench/baseline_encode.py (cv2.imencode from RGB), quality
            80, side by side in each repetition with YUYV's other paths (encode_bench --direct
            --yuyv 420|422|old-422: vectorised 4:2:0, vectorised 4:2:2, the old scalar 4:2:2)
  callgrind instructions per delivered frame·client (valgrind --tool=callgrind, N=10, file
            source): the deterministic figure for CI trends
  profile   perf record of mjpegd and writeloop at N=100: where the CPU goes
  slow      two viewers reading 500 kB/s (half the stream): how late their frames arrive, for
            mjpegd and for writeloop --nonblock with and without TCP_NOTSENT_LOWAT
  libs      RSS and threads at N=100 of this build and of one without libcamera
            (make BUILD=bench/results/tmp/build-nolibcamera HAVE_LIBCAMERA=0)
  peers     bench/vm/run.sh (QEMU guest, vivid): mjpegd vs Debian's ustreamer (only with --vm)
  m2m       bench/vm/run.sh m2m (QEMU guest): the Pi's path on the emulated bcm2835-codec image
            encoder (tests/vm/drivers/bcm2835-emu): mjpegd (vivid multi-planar dma-contig → DMABUF import)
            vs bench/m2m_floor (the ioctl sequence + one sendmsg per client) vs Debian's ustreamer
            (4.9: no M2M encoder, single-planar capture only → vivid instance 0, --encoder CPU),
            N = 1, 3, 10, rotating order, 5 repetitions; then, in the same boot, m2m-lc1080
            (only with --vm)
  m2m-lc1080  the Pi's own path at 1920x1080: mjpegd --source libcamera (libcamera 0.0.3's vimc,
            contiguous buffers, 1092 rows imported and cropped to 1080) vs bench/m2m_floor on
            vimc's capture node at the format and rows libcamera configured, same encoder,
            N = 1, 10, alternating order, 3 repetitions, CPU per frame; bytes copied from
            /status. Part of m2m; named alone (--only m2m-lc1080) it boots only this part and
            replaces the "lc1080" entry of bench/results/m2m.json
Writes bench/results/*.json, docs/img/*.png (bench/report.py) and the generated tables in
docs/performance.md (between <!-- bench:NAME --> markers). No figure here is asserted.
"""
import argparse
import glob
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
TMP = os.path.join(RESULTS, "tmp")
LOGS = os.path.join(TMP, "logs")
SIZES_FULL = ["640x480", "1280x720"]

# one_reps: the fan-out's repetitions at N = 1 (issue 21's one-viewer target, ≤ 1.1× the write
# loop): a viewer's frame costs ~170 µs, and on this shared 2-core machine the write loop's own
# repetitions spread by ±12%, so 3 repetitions put the median anywhere in that spread
FULL = dict(sizes=SIZES_FULL, clients=[1, 10, 100, 500], reps=3, one_reps=9, warmup=0.8,
            window=3.0,
            sys_clients=[1, 10, 100, 500], sys_window=3.0,
            base_clients=[1, 10, 100, 500], base_reps=2, base_window=2.5,
            enc_reps=9, enc_seconds=2.0, cg_frames=(30, 90), cg_reps=2, prof_window=4.0,
            slow_window=10.0)
QUICK = dict(sizes=["640x480"], clients=[10, 100], reps=1, one_reps=1, warmup=0.5, window=2.0,
             sys_clients=[100], sys_window=2.0,
             base_clients=[10, 100], base_reps=1, base_window=2.0,
             enc_reps=1, enc_seconds=1.0, cg_frames=(20, 50), cg_reps=1, prof_window=2.0,
             slow_window=5.0)

FPS = 30


def log(msg):
    print("bench: " + msg, flush=True)


def rel(path):
    return os.path.relpath(path, ROOT)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ------------------------------------------------------------------------------ processes

class Server:
    """A server process under test on a kernel-chosen loopback port; output in a log file."""

    def __init__(self, name, argv, port_regex, env=None, ready_timeout=20):
        os.makedirs(LOGS, exist_ok=True)
        self.name = name
        self.log_path = os.path.join(LOGS, "%s-%d.log" % (name, int(time.time() * 1000)))
        self.argv = argv
        with open(self.log_path, "wb") as f:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                         env=dict(os.environ, **(env or {})),
                                         start_new_session=True)
        self.pid = self.proc.pid
        self.port = None
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            m = re.search(port_regex, self.read_log())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = self.read_log()[-2000:]
        self.stop()
        raise RuntimeError("%s did not start (%s):\n%s" % (name, " ".join(argv), tail))

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


MJPEGD_PORT_RE = r"serving http://[^\s]*:(\d+)/stream\.mjpg"


def mjpegd_server(args, source_args, clients, name="mjpegd", wrapper=None, env=None,
                  ready_timeout=20):
    argv = (wrapper or []) + [args.mjpegd] + source_args + [
        "--listen", "127.0.0.1:0", "--max-clients", str(clients + 4), "--log-level", "notice"]
    return Server(name, argv, MJPEGD_PORT_RE, env=env, ready_timeout=ready_timeout)


def writeloop_server(args, frames_dir, extra=()):
    return Server("writeloop", [os.path.join(args.bindir, "writeloop"), "--dir", frames_dir,
                                "--port", "0", "--fps", str(FPS)] + list(extra),
                  r"writeloop: port (\d+)")


def baseline_server(args, size, rgb):
    return Server("baseline", ["/usr/bin/python3", os.path.join(ROOT, "bench", "baseline_server.py"),
                               "--port", "0", "--size", size, "--fps", str(FPS), "--rgb", rgb],
                  r"baseline: port (\d+)", ready_timeout=60)


def loadclient(args, srv, clients, warmup, window, path="/stream.mjpg", during=None, frames=None,
               label="", rate=None):
    argv = [os.path.join(args.bindir, "loadclient"), "--port", str(srv.port), "--path", path,
            "-n", str(clients), "--fps", str(FPS), "--warmup", str(warmup),
            "--duration", str(window), "--pid", str(srv.pid), "--label", label or srv.name]
    if during:
        argv += ["--during", during]
    if frames:
        argv += ["--frames", str(frames)]
    if rate:
        argv += ["--rate", str(rate)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120 + window * 20)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError("loadclient failed (%d): %s" % (p.returncode, p.stderr.strip()))
    d = json.loads(p.stdout)
    if p.stderr.strip():
        d["loadclient_stderr"] = p.stderr.strip()
    s = d["server"]
    # CPU: schedstat (ns, every thread) when the kernel has it, else utime+stime ticks
    s["cpu_us"] = s["cpu_us_per_frame_client"] if s.get("cpu_us_per_frame_client") is not None \
        else s.get("cpu_us_per_frame_client_ticks")
    return d


# ------------------------------------------------------------------------------ helpers

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def save(name, obj):
    path = os.path.join(RESULTS, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(path + ".tmp", path)
    log("wrote " + rel(path))


def load(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def machine_info(args):
    info = {"date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "kernel": platform.release(), "arch": platform.machine(),
            "cpus": os.cpu_count(), "quick": args.quick}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            info["cpu_model"] = m.group(1) if m else "?"
        with open("/proc/meminfo") as f:
            info["mem_mib"] = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) // 1024
        info["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    try:
        info["virtualized"] = subprocess.run(["systemd-detect-virt"], capture_output=True,
                                             text=True).stdout.strip() or "none"
    except OSError:
        info["virtualized"] = "?"
    ver = {}
    for pkg in ("liburing2", "libturbojpeg0", "libjpeg62-turbo", "ustreamer", "python3-opencv",
                "linux-perf", "valgrind", "strace"):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                           text=True)
        ver[pkg] = p.stdout.strip() or None
    p = subprocess.run([args.mjpegd, "--version"], capture_output=True, text=True)
    ver["mjpegd"] = p.stdout.strip()
    p = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    ver["git_head"] = p.stdout.strip() + (" (+ uncommitted changes)" if subprocess.run(
        ["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "src", "include"]).returncode else "")
    info["versions"] = ver
    return info


# ------------------------------------------------------------------------------ frames

def frames_dir(size):
    return os.path.join(TMP, "frames-" + size)


def raw_path(size, fmt):
    return os.path.join(TMP, "raw-%s.%s" % (size, fmt))


SOURCE_FILTER = "testsrc2=size={size}:rate=30,noise=alls=12:allf=t+u"


def make_frames(args, cfg):
    """30 JPEGs per size (libjpeg-turbo's cjpeg, quality 80, 4:2:0) and 8 raw frames per format."""
    for size in SIZES_FULL:
        d = frames_dir(size)
        if len(glob.glob(os.path.join(d, "*.jpg"))) != 30:
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                 SOURCE_FILTER.format(size=size), "-frames:v", "30",
                 os.path.join(d, "f%03d.ppm")])
            for ppm in sorted(glob.glob(os.path.join(d, "*.ppm"))):
                run(["cjpeg", "-quality", "80", "-outfile", ppm[:-4] + ".jpg", ppm])
                os.unlink(ppm)
        # One picture for every encoder: the RGB frames (the baseline's), and the I420 and YUYV
        # frames converted from them, full range (JFIF's YCbCr, what OpenCV's own conversion
        # makes). Made apart, each from the source filter, the noise landed differently in each
        # format (the YUYV frames' JPEGs were 18% larger than OpenCV's at 1280x720). The stamp
        # says which recipe made the files there.
        stamp = raw_path(size, "made")
        recipe = "rgb24 from %s; i420, yuyv from it, out_range=full" % SOURCE_FILTER
        fresh = os.path.exists(stamp) and open(stamp).read() == recipe
        rgb = raw_path(size, "rgb")
        if not fresh or not os.path.exists(rgb):
            run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                 SOURCE_FILTER.format(size=size), "-frames:v", "8", "-pix_fmt", "rgb24",
                 "-f", "rawvideo", rgb])
        for fmt, pix in (("i420", "yuv420p"), ("yuyv", "yuyv422")):
            p = raw_path(size, fmt)
            if not fresh or not os.path.exists(p):
                run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                     "-s", size, "-i", rgb, "-vf", "scale=out_range=full", "-pix_fmt", pix,
                     "-f", "rawvideo", p])
        with open(stamp, "w") as f:
            f.write(recipe)
    out = {}
    for size in SIZES_FULL:
        files = sorted(glob.glob(os.path.join(frames_dir(size), "*.jpg")))
        sizes = [os.path.getsize(f) for f in files]
        out[size] = {"count": len(files), "bytes_total": sum(sizes),
                     "bytes_mean": sum(sizes) / len(sizes), "bytes_min": min(sizes),
                     "bytes_max": max(sizes)}
    return out


# ------------------------------------------------------------------------------ fan-out

def fanout_reps(cfg, n):
    return cfg["one_reps"] if n == 1 else cfg["reps"]


def fanout(args, cfg, info):
    runs = []
    for rep in range(max(fanout_reps(cfg, n) for n in cfg["clients"])):
        for size in cfg["sizes"]:
            for i, n in enumerate(cfg["clients"]):
                if rep >= fanout_reps(cfg, n):
                    continue
                order = ["mjpegd", "writeloop"]
                if (rep + i) % 2:
                    order.reverse()
                for name in order:
                    if name == "mjpegd":
                        srv = mjpegd_server(args, ["--source", "file:" + frames_dir(size),
                                                   "--encoder", "passthrough"], n)
                    else:
                        srv = writeloop_server(args, frames_dir(size))
                    with srv:
                        d = loadclient(args, srv, n, cfg["warmup"], cfg["window"])
                    d.update(server_name=name, size=size, rep=rep)
                    runs.append(d)
                    log("fanout %-9s %-8s N=%-3d rep %d: %6.2f us/frame·client, p50 %.2f ms, "
                        "p99 %.2f ms, %.1f fps/client, RSS %d KiB" % (
                            name, size, n, rep, d["server"]["cpu_us"] or -1,
                            d["latency_p50_ms"] or -1, d["latency_p99_ms"] or -1,
                            d["client_fps_mean"] or -1, d["server"]["rss_kib"]))
    summary = []
    for size in cfg["sizes"]:
        for n in cfg["clients"]:
            row = {"size": size, "clients": n}
            for name in ("mjpegd", "writeloop"):
                rs = [r for r in runs if r["size"] == size and r["clients"] == n and
                      r["server_name"] == name]
                row[name] = {
                    "cpu_us_per_frame_client": spread([r["server"]["cpu_us"] for r in rs]),
                    "latency_p50_ms": spread([r["latency_p50_ms"] for r in rs]),
                    "latency_p99_ms": spread([r["latency_p99_ms"] for r in rs]),
                    "latency_max_ms": spread([r["latency_max_ms"] for r in rs]),
                    "client_fps_mean": spread([r["client_fps_mean"] for r in rs]),
                    "client_fps_min": spread([r["client_fps_min"] for r in rs]),
                    "skipped_per_client": spread([r["skipped_per_client"] for r in rs]),
                    "missing_fraction": spread([r["frames_missing_fraction"] for r in rs]),
                    "rss_kib": spread([r["server"]["rss_kib"] for r in rs]),
                    "rss_anon_kib": spread([r["server"]["rss_anon_kib"] for r in rs]),
                    "rss_file_kib": spread([r["server"]["rss_file_kib"] for r in rs]),
                    "clients_failed": max(r["clients_failed"] for r in rs),
                    "time_to_all_streaming_s": spread([r["time_to_all_streaming_s"] for r in rs]),
                    "mean_part_bytes": med([r["mean_part_bytes"] for r in rs]),
                }
            ratios = []
            for rep in range(fanout_reps(cfg, n)):
                a = [r for r in runs if r["size"] == size and r["clients"] == n and
                     r["rep"] == rep]
                m = [r["server"]["cpu_us"] for r in a if r["server_name"] == "mjpegd"]
                w = [r["server"]["cpu_us"] for r in a if r["server_name"] == "writeloop"]
                if m and w and m[0] and w[0]:
                    ratios.append(m[0] / w[0])
            row["ratio_mjpegd_over_writeloop"] = spread(ratios)
            summary.append(row)
    frame_bytes = info["frames"]
    save("fanout.json", {"what": "fan-out: mjpegd (file source, passthrough) vs writeloop",
                         "params": {k: cfg[k] for k in ("sizes", "clients", "reps", "one_reps",
                                                        "warmup", "window")},
                         "fps": FPS, "frames": frame_bytes, "machine": info,
                         "summary": summary, "runs": runs})


# ------------------------------------------------------------------------------ syscalls

def parse_strace(path):
    calls, rows = None, {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and re.match(r"^[\d.]+$", p[0]) and p[-1] != "total":
                # % time, seconds, usecs/call, calls, [errors], syscall
                rows[p[-1]] = int(p[3])
            if p and p[-1] == "total":
                calls = int(p[3])
    return calls, rows


def parse_perf_trace(path):
    total, rows = 0, {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+[\d.]+", line)
            if m:
                rows[m.group(1)] = rows.get(m.group(1), 0) + int(m.group(2))
                total += int(m.group(2))
    return total, rows


def syscalls(args, cfg, info):
    runs = []
    size = "640x480"
    strace = shutil.which("strace")
    for n in cfg["sys_clients"]:
        for name in ("mjpegd", "writeloop"):
            out = os.path.join(TMP, "strace-%s-%d.txt" % (name, n))
            if os.path.exists(out):
                os.unlink(out)
            srv = (mjpegd_server(args, ["--source", "file:" + frames_dir(size), "--encoder",
                                        "passthrough"], n) if name == "mjpegd"
                   else writeloop_server(args, frames_dir(size)))
            with srv:
                d = loadclient(args, srv, n, cfg["warmup"], cfg["sys_window"],
                               during="%s -c -f -q -o %s -p %d" % (strace, out, srv.pid))
            total, rows = parse_strace(out)
            fr = d["frames_during_cmd"]
            r = {"server_name": name, "size": size, "clients": n, "tool": "strace -c -f",
                 "syscalls": total, "by_syscall": rows, "frames": fr,
                 "syscalls_per_frame_client": total / fr if fr and total is not None else None,
                 "client_fps_mean_under_strace": d["client_fps_mean"]}
            runs.append(r)
            log("syscalls %-9s N=%-3d: %s syscalls / %d frame·clients = %.4f  %s" % (
                name, n, total, fr, r["syscalls_per_frame_client"] or -1, rows))
    # cross-check with perf trace (tracepoints, no ptrace) for mjpegd at the largest N <= 100
    n = max([c for c in cfg["sys_clients"] if c <= 100] or [10])
    out = os.path.join(TMP, "perftrace-mjpegd-%d.txt" % n)
    try:
        with mjpegd_server(args, ["--source", "file:" + frames_dir(size), "--encoder",
                                  "passthrough"], n) as srv:
            d = loadclient(args, srv, n, cfg["warmup"], cfg["sys_window"],
                           during="perf trace -s -o %s -p %d" % (out, srv.pid))
        total, rows = parse_perf_trace(out)
        fr = d["frames_during_cmd"]
        runs.append({"server_name": "mjpegd", "size": size, "clients": n,
                     "tool": "perf trace -s", "syscalls": total, "by_syscall": rows,
                     "frames": fr, "syscalls_per_frame_client": total / fr if fr else None})
        log("syscalls (perf trace) mjpegd N=%d: %.4f per frame·client" % (n, total / fr))
    except Exception as e:  # perf trace is only the cross-check
        log("perf trace cross-check failed: %s" % e)
    save("syscalls.json", {"what": "system calls per delivered frame·client (separate runs "
                                   "under strace -c -f: counts only)",
                           "window_s": cfg["sys_window"], "machine": info, "runs": runs})


# ------------------------------------------------------------------------------ baseline

def baseline(args, cfg, info):
    runs = []
    size = "640x480"
    for rep in range(cfg["base_reps"]):
        for i, n in enumerate(cfg["base_clients"]):
            order = ["baseline", "mjpegd-software"]
            if (rep + i) % 2:
                order.reverse()
            for name in order:
                if name == "baseline":
                    srv = baseline_server(args, size, raw_path(size, "rgb"))
                else:
                    srv = mjpegd_server(args, ["--source", "testpattern", "--size", size,
                                               "--encoder", "software", "--quality", "80"], n,
                                        name="mjpegd-software")
                with srv:
                    d = loadclient(args, srv, n, cfg["warmup"] + 0.5, cfg["base_window"])
                d.update(server_name=name, size=size, rep=rep)
                runs.append(d)
                log("baseline %-15s N=%-3d rep %d: %7.2f us/frame·client, p50 %.2f ms, p99 %.2f "
                    "ms, %.1f fps/client, RSS %d KiB" % (
                        name, n, rep, d["server"]["cpu_us"] or -1, d["latency_p50_ms"] or -1,
                        d["latency_p99_ms"] or -1, d["client_fps_mean"] or -1,
                        d["server"]["rss_kib"]))
    summary = []
    for n in cfg["base_clients"]:
        row = {"clients": n}
        for name in ("baseline", "mjpegd-software"):
            rs = [r for r in runs if r["clients"] == n and r["server_name"] == name]
            row[name] = {"cpu_us_per_frame_client": spread([r["server"]["cpu_us"] for r in rs]),
                         "latency_p50_ms": spread([r["latency_p50_ms"] for r in rs]),
                         "latency_p99_ms": spread([r["latency_p99_ms"] for r in rs]),
                         "client_fps_mean": spread([r["client_fps_mean"] for r in rs]),
                         "rss_kib": spread([r["server"]["rss_kib"] for r in rs]),
                         "threads": max(r["server"]["threads"] for r in rs),
                         "mean_part_bytes": med([r["mean_part_bytes"] for r in rs])}
        ratios = []
        for rep in range(cfg["base_reps"]):
            a = {r["server_name"]: r["server"]["cpu_us"] for r in runs
                 if r["clients"] == n and r["rep"] == rep}
            if a.get("baseline") and a.get("mjpegd-software"):
                ratios.append(a["mjpegd-software"] / a["baseline"])
        row["ratio_mjpegd_over_baseline"] = spread(ratios)
        summary.append(row)
    save("baseline.json", {"what": "fan-out incl. encoding: baseline_server.py (reconstruction: "
                                   "ThreadingHTTPServer + cv2.imencode, synthetic RGB frames) vs "
                                   "mjpegd --source testpattern --encoder software",
                           "size": size, "machine": info, "summary": summary, "runs": runs})


# ------------------------------------------------------------------------------ encode

# kind → how it is run; "yuyv" is the daemon's path, the --direct ones price the alternatives
ENCODE_KINDS = ("i420", "yuyv", "opencv", "yuyv_chunked", "yuyv420", "yuyv422", "yuyv_old")
ENCODE_DIRECT = {"yuyv_chunked": "chunked", "yuyv420": "420", "yuyv422": "422",
                 "yuyv_old": "old-422"}


def encode(args, cfg, info):
    runs = []
    for rep in range(cfg["enc_reps"]):
        for size in SIZES_FULL:
            # every kind once per repetition and size, the order reversed every other repetition,
            # so ratios compare runs seconds apart under the same load
            kinds = ENCODE_KINDS if rep % 2 == 0 else tuple(reversed(ENCODE_KINDS))
            for kind in kinds:
                if kind in ENCODE_DIRECT:
                    argv = [os.path.join(args.bindir, "encode_bench"), "--direct", "--yuyv",
                            ENCODE_DIRECT[kind], "--input", raw_path(size, "yuyv"), "--format",
                            "yuyv", "--size", size, "--quality", "80",
                            "--seconds", str(cfg["enc_seconds"])]
                elif kind == "opencv":
                    argv = ["/usr/bin/python3", os.path.join(ROOT, "bench", "baseline_encode.py"),
                            "--rgb", raw_path(size, "rgb"), "--size", size,
                            "--seconds", str(cfg["enc_seconds"])]
                else:
                    argv = [os.path.join(args.bindir, "encode_bench"), "--input",
                            raw_path(size, kind), "--format", "yuv420" if kind == "i420" else kind,
                            "--size", size, "--quality", "80", "--seconds", str(cfg["enc_seconds"])]
                p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
                if p.returncode:
                    raise RuntimeError("%s failed: %s" % (argv[0], p.stderr))
                d = json.loads(p.stdout)
                d.update(kind=kind, size=size, rep=rep)
                runs.append(d)
                log("encode %-8s %-8s rep %d: %7.1f frames per CPU-second (%.0f bytes/frame)" % (
                    kind, size, rep, d["fps_per_cpu_s"], d["mean_jpeg_bytes"]))
    summary = []
    for size in SIZES_FULL:
        row = {"size": size}
        for kind in ENCODE_KINDS:
            rs = [r for r in runs if r["size"] == size and r["kind"] == kind]
            row[kind] = {"fps_per_cpu_s": spread([r["fps_per_cpu_s"] for r in rs]),
                         "mean_jpeg_bytes": med([r["mean_jpeg_bytes"] for r in rs]),
                         "encoder": rs[0]["encoder"]}
            if "description" in rs[0]:
                row[kind]["description"] = rs[0]["description"]
            if "deinterleave_cpu_s" in rs[0]:
                row[kind]["deinterleave_ms"] = spread([1e3 * r["deinterleave_cpu_s"] / r["frames"]
                                                       for r in rs])
        per_rep = [{r["kind"]: r["fps_per_cpu_s"] for r in runs
                    if r["size"] == size and r["rep"] == rep} for rep in range(cfg["enc_reps"])]
        for kind in ENCODE_KINDS:
            if kind != "opencv":
                row["ratio_%s_over_opencv" % kind] = spread([a[kind] / a["opencv"]
                                                             for a in per_rep])
        # the choice between YUYV's two outputs, both priced the same way (--direct)
        row["ratio_yuyv420_over_yuyv422"] = spread([a["yuyv420"] / a["yuyv422"] for a in per_rep])
        # 16-row strips through libjpeg against whole planes through TurboJPEG (issue 21 item 5)
        row["ratio_yuyv_chunked_over_yuyv420"] = spread([a["yuyv_chunked"] / a["yuyv420"]
                                                         for a in per_rep])
        summary.append(row)
    save("encode.json", {"what": "software JPEG frames per CPU-second, quality 80",
                         "command": "make bench BENCH_VM=0 BENCH_ARGS=\"--only encode\"" +
                                    (" BENCH_QUICK=1" if args.quick else "") +
                                    ("" if os.path.relpath(args.bindir, ROOT) == "build/bench" else
                                     " BUILD=" + os.path.dirname(os.path.relpath(args.bindir, ROOT))),
                         "repetitions": cfg["enc_reps"], "seconds_per_run": cfg["enc_seconds"],
                         "machine": info, "summary": summary, "runs": runs})


# ------------------------------------------------------------------------------ callgrind

def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    return None


def callgrind(args, cfg, info):
    n = 10
    size = "640x480"
    f1, f2 = cfg["cg_frames"]
    runs = []
    for rep in range(cfg["cg_reps"]):
        for frames in (f1, f2):
            out = os.path.join(TMP, "callgrind-%d-%d.out" % (frames, rep))
            wrapper = ["valgrind", "--tool=callgrind", "--toggle-collect=loop_run_once",
                       "--callgrind-out-file=" + out]
            with mjpegd_server(args, ["--source", "file:" + frames_dir(size), "--encoder",
                                      "passthrough"], n, name="mjpegd-callgrind",
                               wrapper=wrapper, ready_timeout=60) as srv:
                d = loadclient(args, srv, n, 0, 30, frames=frames)
                rc = srv.stop()
            ir = callgrind_total(out)
            runs.append({"rep": rep, "frames_per_client": frames, "clients": n,
                         "deliveries": d["frames_all"], "ir_in_loop": ir, "exit_code": rc})
            log("callgrind rep %d F=%d: %s instructions in loop_run_once, %d deliveries" % (
                rep, frames, ir, d["frames_all"]))
    per = []
    for rep in range(cfg["cg_reps"]):
        a = {r["frames_per_client"]: r for r in runs if r["rep"] == rep}
        dd = a[f2]["deliveries"] - a[f1]["deliveries"]
        per.append((a[f2]["ir_in_loop"] - a[f1]["ir_in_loop"]) / dd if dd > 0 else None)
    res = {"what": "user-space instructions per delivered frame·client (valgrind "
                   "--tool=callgrind --toggle-collect=loop_run_once; difference of a %d- and a "
                   "%d-frame run, so start-up, shutdown and connection set-up cancel out)" % (f1, f2),
           "clients": n, "size": size, "source": "file (passthrough)",
           "instructions_per_frame_client": spread(per), "runs": runs, "machine": info}
    save("callgrind.json", res)
    log("callgrind: %.0f instructions per delivered frame·client" % (med(per) or -1))


# ------------------------------------------------------------------------------ profile

def perf_lines(data, *opts):
    p = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none", "--stdio"]
                       + list(opts), capture_output=True, text=True)
    return [re.sub(r"(\s+-)+\s*$", "", l.rstrip()) for l in p.stdout.splitlines()
            if re.match(r"^\s+[\d.]+%", l)]


def perf_report(data, out_txt):
    lines = perf_lines(data, "--sort", "dso,symbol", "--percent-limit", "0.7")
    dso = [l.strip() for l in perf_lines(data, "--sort", "dso")]
    user = perf_lines(data, "--sort", "symbol", "--dsos", "mjpegd,writeloop,libc.so.6,[vdso]",
                      "--percent-limit", "0.1")
    with open(out_txt, "w") as f:
        f.write("# perf report --no-children --sort dso,symbol (cpu-clock samples, -F 4999)\n")
        f.write("\n".join(lines) + "\n\n# by dso\n" + "\n".join(dso) + "\n")
        f.write("\n# user space only (share of all samples)\n" + "\n".join(user) + "\n")
    kernel = sum(float(l.split("%")[0]) for l in dso if "[kernel" in l)
    return lines, dso, kernel, user


def profile(args, cfg, info):
    n = 100
    size = "640x480"
    res = {"clients": n, "size": size, "machine": info}
    for name in ("mjpegd", "writeloop"):
        data = os.path.join(TMP, "perf-%s-%d.data" % (name, n))
        srv = (mjpegd_server(args, ["--source", "file:" + frames_dir(size), "--encoder",
                                    "passthrough"], n) if name == "mjpegd"
               else writeloop_server(args, frames_dir(size)))
        with srv:
            d = loadclient(args, srv, n, cfg["warmup"], cfg["prof_window"],
                           during="perf record -q -g -F 4999 -p %d -o %s" % (srv.pid, data))
        txt = os.path.join(RESULTS, "profile-%s-n%d.txt" % (name, n))
        lines, dso, kernel, user = perf_report(data, txt)
        res[name] = {"top": lines[:30], "by_dso": dso, "kernel_percent": kernel, "user": user[:20],
                     "report": rel(txt), "cpu_us_per_frame_client": d["server"]["cpu_us"]}
        log("profile %s: %.0f%% of samples in the kernel; top: %s" % (
            name, kernel, "; ".join(l.strip() for l in lines[:4])))
    save("profile.json", res)


# ------------------------------------------------------------------------------ slow viewers

SLOW_RATE = 500000  # bytes/s: about half of the 640x480 stream (30 fps × ~34 KiB)


def slow(args, cfg, info):
    """Viewers that read slower than the stream: how stale do their frames get?"""
    size = "640x480"
    runs = []
    for label, kind, extra in (
            ("mjpegd", "mjpegd", None),
            ("writeloop --nonblock", "writeloop", ["--nonblock"]),
            ("writeloop --nonblock --notsent-lowat 65536", "writeloop",
             ["--nonblock", "--notsent-lowat", "65536"])):
        srv = (mjpegd_server(args, ["--source", "file:" + frames_dir(size), "--encoder",
                                    "passthrough"], 2) if kind == "mjpegd"
               else writeloop_server(args, frames_dir(size), extra))
        with srv:
            d = loadclient(args, srv, 2, 0.5, cfg["slow_window"], rate=SLOW_RATE)
        r = {"server": label, "rate_bytes_s": SLOW_RATE, "window_s": d["window_s"],
             "client_fps_mean": d["client_fps_mean"], "latency_p50_ms": d["latency_p50_ms"],
             "latency_p99_ms": d["latency_p99_ms"], "latency_end_ms": d["latency_end_ms"],
             "skipped_per_client": d["skipped_per_client"], "mean_part_bytes": d["mean_part_bytes"]}
        runs.append(r)
        log("slow %-42s: %.1f fps, latency p50 %.0f ms, at the end %.0f ms, %.0f skipped" % (
            label, r["client_fps_mean"] or -1, r["latency_p50_ms"] or -1,
            r["latency_end_ms"] or -1, r["skipped_per_client"] or 0))
    save("slow.json", {"what": "two viewers reading %d bytes/s each (the 640x480 stream is about "
                               "twice that), %s s" % (SLOW_RATE, cfg["slow_window"]),
                       "size": size, "machine": info, "runs": runs})


# ------------------------------------------------------------------------------ libraries

def mapped_libraries(pid):
    """the shared objects mapped into process pid (dlopen()ed ones included, unlike ldd)"""
    with open("/proc/%d/maps" % pid) as f:
        return sorted({l.split()[5] for l in f if len(l.split()) >= 6 and ".so" in l.split()[5]})


def testpattern_raw_bytes(size):
    """the test pattern's raw buffers (I420) at size: TESTPATTERN_BUFFERS of src/source/testpattern.c"""
    with open(os.path.join(ROOT, "src", "source", "testpattern.c")) as f:
        n = int(re.search(r"#define TESTPATTERN_BUFFERS (\d+)", f.read()).group(1))
    w, h = (int(x) for x in size.split("x"))
    return n * w * h * 3 // 2


def libs(args, cfg, info):
    """RSS, threads and mapped libraries at N=100 with the test-pattern source (software JPEG):
    the daemon alone (--source testpattern: the libcamera plugin is never loaded) and with the
    plugin loaded (--source auto on a machine with no camera: the plugin is loaded, finds none,
    and auto goes on to V4L2 and then the test pattern). Issue 21, 2: RSS < 8 MiB excluding frame
    buffers (the test pattern's raw buffers and the JPEG frame pool, from /status)."""
    n, size = 100, "640x480"
    raw = testpattern_raw_bytes(size)
    res = {"clients": n, "size": size, "machine": info, "builds": [], "source_raw_bytes": raw,
           "command": "make bench BENCH_VM=0 BENCH_ARGS=\"--only libs\""}
    for label, source in (("the daemon alone (--source testpattern)", "testpattern"),
                          ("with the libcamera plugin loaded (--source auto, no camera)", "auto")):
        with mjpegd_server(args, ["--source", source, "--size", size], n) as srv:
            d = loadclient(args, srv, n, cfg["warmup"], cfg["window"])
            mapped = mapped_libraries(srv.pid)
            with urllib.request.urlopen("http://127.0.0.1:%d/status" % srv.port, timeout=5) as u:
                st = json.load(u)
        s = d["server"]
        plugin = (st.get("libcamera_plugin") or {}).get("state")
        pool = (st.get("frame_pool") or {}).get("bytes", 0)
        frames_kib = (raw + pool) / 1024
        res["builds"].append({"build": label, "source": source, "shared_libraries": len(mapped),
                              "libraries": mapped, "plugin_state": plugin,
                              "libcamera_mapped": any("libcamera.so" in l for l in mapped),
                              "rss_kib": s["rss_kib"], "rss_anon_kib": s["rss_anon_kib"],
                              "rss_file_kib": s["rss_file_kib"], "threads": s["threads"],
                              "frame_pool_bytes": pool, "frame_buffers_kib": frames_kib,
                              "rss_minus_frames_kib": s["rss_kib"] - frames_kib,
                              "client_fps_mean": d["client_fps_mean"],
                              "cpu_us_per_frame_client": s["cpu_us"]})
        log("libs %-60s: %d libraries, plugin %s, VmRSS %d KiB (anon %d, file %d), frames %d KiB,"
            " %d threads" % (label, len(mapped), plugin, s["rss_kib"], s["rss_anon_kib"],
                             s["rss_file_kib"], frames_kib, s["threads"]))
    save("libs.json", res)


# ------------------------------------------------------------------------------ peers (VM)

def peers(args, cfg, info):
    env = dict(os.environ, BENCH_QUICK="1" if args.quick else "0", MJPEGD=args.mjpegd,
               LOADCLIENT=os.path.join(args.bindir, "loadclient-static"))
    p = subprocess.run([os.path.join(ROOT, "bench", "vm", "run.sh")], env=env, text=True,
                       stdout=subprocess.PIPE)
    last = (p.stdout.strip().splitlines() or ["?"])[-1]
    log(last)
    d = os.path.join(ROOT, "build", "bench-vm", "logs", "bench-peers.d")
    runs = []
    for path in sorted(glob.glob(os.path.join(d, "peers-*.json"))):
        m = re.match(r"peers-(\w+)-(\d+)-(\d+)\.json$", os.path.basename(path))
        try:
            with open(path) as f:
                r = json.load(f)
        except ValueError:
            continue
        s = r["server"]
        s["cpu_us"] = s["cpu_us_per_frame_client"] if s.get("cpu_us_per_frame_client") \
            is not None else s.get("cpu_us_per_frame_client_ticks")
        r.update(server_name=m.group(1), clients=int(m.group(2)), rep=int(m.group(3)))
        runs.append(r)
    stc = {}
    for path in glob.glob(os.path.join(d, "strace-*.txt")):
        name, n = re.match(r"strace-(\w+)-(\d+)\.txt$", os.path.basename(path)).groups()
        jpath = os.path.join(d, "strace-%s-%s.json" % (name, n))
        total, rows = parse_strace(path)
        try:
            with open(jpath) as f:
                fr = json.load(f)["frames_during_cmd"]
        except (OSError, ValueError, KeyError):
            fr = None
        stc["%s-%s" % (name, n)] = {"server_name": name, "clients": int(n), "syscalls": total,
                                    "by_syscall": rows, "frames": fr,
                                    "syscalls_per_frame_client": total / fr if fr else None}
    if not runs:
        raise RuntimeError("bench/vm/run.sh: no results (%s)" % last)
    summary = []
    for n in sorted({r["clients"] for r in runs}):
        row = {"clients": n}
        for name in ("mjpegd", "ustreamer"):
            rs = [r for r in runs if r["clients"] == n and r["server_name"] == name]
            row[name] = {"cpu_us_per_frame_client": spread([r["server"]["cpu_us"] for r in rs]),
                         "client_fps_mean": spread([r["client_fps_mean"] for r in rs]),
                         "rss_kib": spread([r["server"]["rss_kib"] for r in rs]),
                         "threads": max([r["server"]["threads"] for r in rs] or [0]),
                         "mean_part_bytes": med([r["mean_part_bytes"] for r in rs]),
                         "latency_p50_ms": spread([r["latency_p50_ms"] for r in rs])}
        row["ratio_mjpegd_over_ustreamer"] = rep_ratios(runs, n, "mjpegd", "ustreamer")
        summary.append(row)
    accel = open(os.path.join(ROOT, "build", "bench-vm", "accel")).read().strip() \
        if os.path.exists(os.path.join(ROOT, "build", "bench-vm", "accel")) else "?"
    save("peers.json", {"what": "mjpegd vs ustreamer in the QEMU test bed (vivid YUYV 640x360@30,"
                                " software JPEG q80, N clients on the guest's loopback)",
                        "accel": accel, "vm_result": last, "host": info, "summary": summary,
                        "strace": stc, "runs": runs})
    if p.returncode:
        raise RuntimeError("bench/vm/run.sh: " + last)


# ------------------------------------------------------------------------------ m2m (VM)

M2M_SERVERS = ("mjpegd", "floor", "ustreamer")


def m2m_vm(args, name):
    """bench/vm/run.sh NAME; returns (process, its last line, the accelerator it used)"""
    env = dict(os.environ, BENCH_QUICK="1" if args.quick else "0", MJPEGD=args.mjpegd,
               LOADCLIENT=os.path.join(args.bindir, "loadclient-static"),
               M2M_FLOOR=os.path.join(args.bindir, "m2m_floor-static"))
    p = subprocess.run([os.path.join(ROOT, "bench", "vm", "run.sh"), name], env=env, text=True,
                       stdout=subprocess.PIPE)
    last = (p.stdout.strip().splitlines() or ["?"])[-1]
    log(last)
    path = os.path.join(ROOT, "build", "bench-vm", name, "accel")
    accel = open(path).read().strip() if os.path.exists(path) else "?"
    return p, last, accel


def read_text(path):
    """a result file's text, "" when the guest wrote none"""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def rep_ratios(runs, n, num, den):
    """num's CPU per frame·client over den's, repetition by repetition at N = n (the two ran
    under the same conditions), as spread()'s median and range"""
    out = []
    for rep in sorted({r["rep"] for r in runs}):
        c = {r["server_name"]: r["server"]["cpu_us"] for r in runs
             if r["clients"] == n and r["rep"] == rep}
        if c.get(num) and c.get(den):
            out.append(c[num] / c[den])
    return spread(out)


def guest_runs(d, prefix):
    """(server, N, repetition, result, µs CPU per frame·client, clients streamed) of each
    d/PREFIX-SERVER-N-REP.json that loadclient wrote in the guest, the server's "cpu_us" and
    "cpu_us_per_frame" filled in. The guest has no schedstat: its figures are utime+stime ticks
    (USER_HZ 100, docs/performance.md)."""
    out = []
    for path in sorted(glob.glob(os.path.join(d, prefix + "-*.json"))):
        mm = re.match(prefix + r"-(\w+)-(\d+)-(\d+)\.json$", os.path.basename(path))
        if not mm:
            continue
        try:
            with open(path) as f:
                r = json.load(f)
        except ValueError:
            continue
        s = r["server"]
        per_fc = s["cpu_us_per_frame_client"] if s.get("cpu_us_per_frame_client") is not None \
            else s.get("cpu_us_per_frame_client_ticks")
        streamed = r.get("clients_streamed") or 0
        s["cpu_us"] = per_fc
        s["cpu_us_per_frame"] = per_fc * streamed if per_fc is not None else None
        out.append((mm.group(1), int(mm.group(2)), int(mm.group(3)), r, per_fc, streamed))
    return out


def m2m_lc1080_results(d, last, accel, args, whole):
    """bench/vm/guest/bench-m2m-lc1080.sh's results in directory d → the "lc1080" entry"""
    runs = []
    for name, n, rep, r, per_fc, streamed in guest_runs(d, "lc1080"):
        s = r["server"]
        frames = r["frames"] / streamed if streamed else None  # per client: the frames served
        # how coarse the figure is: the server's ticks over the window
        s["cpu_ticks"] = round(per_fc * r["frames"] / 1e4) if per_fc is not None else None
        r["frames_per_client"] = frames
        r["guest_stat"] = {"busy_s": r["system_busy_s"],
                           "us_per_frame": r["system_busy_s"] * 1e6 / frames} \
            if r.get("system_busy_s") is not None and frames else None
        copied = copied_total = None
        if name == "floor":
            copied = copied_total = 0  # by construction: no user-space copy of any frame
        elif name == "mjpegd":
            try:
                with open(os.path.join(d, "status-mjpegd-%d-%d.json" % (n, rep))) as f:
                    st = json.load(f)
                copied, copied_total = st.get("bytes_copied_per_frame"), st.get("bytes_copied")
                r["mjpegd_encoder"], r["mjpegd_source"] = st.get("encoder"), st.get("source")
                r["mjpegd_frames"] = st.get("frames")
            except (OSError, ValueError):
                pass
        r.update(server_name=name, clients=n, rep=rep, bytes_copied_per_frame=copied,
                 bytes_copied=copied_total)
        runs.append(r)
    summary = []
    for n in sorted({r["clients"] for r in runs}):
        row = {"clients": n}
        for name in ("mjpegd", "floor"):
            rs = [r for r in runs if r["clients"] == n and r["server_name"] == name]
            row[name] = {
                "cpu_us_per_frame": spread([r["server"]["cpu_us_per_frame"] for r in rs]),
                "cpu_us_per_frame_client": spread([r["server"]["cpu_us"] for r in rs]),
                "cpu_ticks": spread([r["server"]["cpu_ticks"] for r in rs]),
                "frames_per_client": spread([r["frames_per_client"] for r in rs]),
                "guest_cpu_us_per_frame": spread([(r["guest_stat"] or {}).get("us_per_frame")
                                                  for r in rs]),
                "bytes_copied_per_frame": spread([r["bytes_copied_per_frame"] for r in rs]),
                "bytes_copied": spread([r["bytes_copied"] for r in rs]),
                "client_fps_mean": spread([r["client_fps_mean"] for r in rs]),
                "rss_kib": spread([r["server"]["rss_kib"] for r in rs]),
                "threads": max([r["server"]["threads"] for r in rs] or [0]),
                "mean_part_bytes": med([r["mean_part_bytes"] for r in rs])}
        row["ratio_mjpegd_over_floor"] = rep_ratios(runs, n, "mjpegd", "floor")
        summary.append(row)
    facts = read_text(os.path.join(d, "facts.txt"))
    return {
        "what": "the Pi's own path at 1920x1080 on the emulated bcm2835-codec image encoder in "
                "the QEMU test bed: mjpegd --source libcamera (libcamera 0.0.3's vimc pipeline, "
                "vimc.allocator=1: contiguous dma-bufs; the camera asked for the encoder's padded "
                "rows, the encoder imports its buffers and crops to 1080) vs bench/m2m_floor on "
                "vimc's capture node at the same format and rows, same encoder, JPEG q80, N "
                "clients on the guest's loopback; CPU per frame (utime+stime ticks)",
        "command": "make bench BENCH_ARGS=\"--only %s\"" % ("m2m" if whole else "m2m-lc1080") +
                   (" BENCH_QUICK=1" if args.quick else ""),
        "accel": accel, "vm_result": last, "facts": facts,
        "repetitions": len({r["rep"] for r in runs}), "summary": summary, "runs": runs}


def m2m_lc1080(args, cfg, info):
    """section m2m-lc1080 alone: its own boot; replaces the "lc1080" entry of m2m.json"""
    p, last, accel = m2m_vm(args, "m2m-lc1080")
    d = os.path.join(ROOT, "build", "bench-vm", "m2m-lc1080", "logs", "bench-m2m-lc1080.d")
    lc = m2m_lc1080_results(d, last, accel, args, False)
    if not lc["runs"]:
        raise RuntimeError("bench/vm/run.sh m2m-lc1080: no results (%s)" % last)
    lc["date_utc"], lc["host"] = info["date_utc"], info
    prev = load("m2m.json") or {}
    prev["lc1080"] = lc
    save("m2m.json", prev)
    if p.returncode:
        raise RuntimeError("bench/vm/run.sh m2m-lc1080: " + last)


def m2m(args, cfg, info):
    p, last, accel = m2m_vm(args, "m2m")
    top = os.path.join(ROOT, "build", "bench-vm", "m2m")
    d = os.path.join(top, "logs", "bench-m2m.d")
    runs = []
    for name, n, rep, r, per_fc, streamed in guest_runs(d, "m2m"):
        # the whole guest over the window (/proc/stat, USER_HZ 100): every process and kernel
        # thread, the emulated encoder's worker and vivid's generator included
        guest = None
        if r.get("system_busy_s") is not None and r.get("frames") and streamed:
            guest = {"busy_s": r["system_busy_s"], "cpu_fraction": r.get("system_busy_fraction"),
                     "us_per_frame": r["system_busy_s"] * 1e6 / (r["frames"] / streamed)}
        r["guest_stat"] = guest
        copied = None
        if name == "floor":
            copied = 0.0  # by construction: no user-space copy of any frame
        elif name == "mjpegd":
            try:
                with open(os.path.join(d, "status-mjpegd-%d-%d.json" % (n, rep))) as f:
                    st_json = json.load(f)
                copied = st_json.get("bytes_copied_per_frame")
                r["mjpegd_encoder"] = st_json.get("encoder")
            except (OSError, ValueError):
                pass
        r.update(server_name=name, clients=n, rep=rep, bytes_copied_per_frame=copied)
        runs.append(r)
    if not runs:
        raise RuntimeError("bench/vm/run.sh m2m: no results (%s)" % last)
    # strace -c -f at N = 1 (a separate run each; strace slows the server, so counts only)
    stc = {}
    for path in glob.glob(os.path.join(d, "strace-*-*.txt")):
        name, n = re.match(r"strace-(\w+)-(\d+)\.txt$", os.path.basename(path)).groups()
        rows = {}
        with open(path) as f:
            for line in f:
                p_ = line.split()
                if len(p_) in (5, 6) and re.match(r"^[\d.]+$", p_[0]) and p_[-1] != "total":
                    rows[p_[-1]] = {"calls": int(p_[3]),
                                    "errors": int(p_[4]) if len(p_) == 6 else 0}
        try:
            with open(os.path.join(d, "strace-%s-%s.json" % (name, n))) as f:
                fr = json.load(f)["frames_during_cmd"] / max(int(n), 1)
        except (OSError, ValueError, KeyError):
            fr = None
        total = sum(v["calls"] for v in rows.values())
        stc[name] = {"clients": int(n), "frames": fr, "syscalls": total, "by_syscall": rows,
                     "syscalls_per_frame": total / fr if fr else None}
    summary = []
    for n in sorted({r["clients"] for r in runs}):
        row = {"clients": n}
        for name in M2M_SERVERS:
            rs = [r for r in runs if r["clients"] == n and r["server_name"] == name]
            row[name] = {
                "cpu_us_per_frame": spread([r["server"]["cpu_us_per_frame"] for r in rs]),
                "cpu_us_per_frame_client": spread([r["server"]["cpu_us"] for r in rs]),
                "guest_cpu_us_per_frame": spread([(r["guest_stat"] or {}).get("us_per_frame")
                                                  for r in rs]),
                "bytes_copied_per_frame": spread([r["bytes_copied_per_frame"] for r in rs]),
                "client_fps_mean": spread([r["client_fps_mean"] for r in rs]),
                "rss_kib": spread([r["server"]["rss_kib"] for r in rs]),
                "threads": max([r["server"]["threads"] for r in rs] or [0]),
                "mean_part_bytes": med([r["mean_part_bytes"] for r in rs]),
                "latency_p50_ms": spread([r["latency_p50_ms"] for r in rs])}
        for a, b in (("mjpegd", "floor"), ("mjpegd", "ustreamer"), ("floor", "ustreamer")):
            row["ratio_%s_over_%s" % (a, b)] = rep_ratios(runs, n, a, b)
        summary.append(row)
    facts = read_text(os.path.join(d, "facts.txt"))
    lc = m2m_lc1080_results(os.path.join(top, "logs", "bench-m2m-lc1080.d"), last, accel, args,
                            True)
    lc["date_utc"], lc["host"] = info["date_utc"], info
    if not lc["runs"]:  # mjpegd.bench.lc_reps=0: the last 1080p results stay
        lc = (load("m2m.json") or {}).get("lc1080") or lc
    save("m2m.json", {
        "what": "the Pi's path on the emulated bcm2835-codec image encoder in the QEMU test bed: "
                "mjpegd (vivid multi-planar dma-contig 640x360@30 → DMABUF import → JPEG q80) vs "
                "bench/m2m_floor on the same devices vs Debian's ustreamer (vivid single-planar "
                "YUYV, --encoder CPU: 4.9 has no M2M encoder), N clients on the guest's loopback",
        "command": "make bench BENCH_ARGS=\"--only m2m\"" + (" BENCH_QUICK=1" if args.quick else "") +
                   (" BENCH_VM_PARAMS=\"%s\"" % os.environ["BENCH_VM_PARAMS"]
                    if os.environ.get("BENCH_VM_PARAMS") else ""),
        "accel": accel, "vm_result": last, "facts": facts, "host": info, "summary": summary,
        "strace": stc, "runs": runs, "lc1080": lc if lc["runs"] else None})
    if p.returncode:
        raise RuntimeError("bench/vm/run.sh m2m: " + last)


# ------------------------------------------------------------------------------ main

SECTIONS = ["fanout", "syscalls", "baseline", "encode", "callgrind", "profile", "slow", "libs",
            "peers", "m2m", "m2m-lc1080"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short runs (BENCH_QUICK=1)")
    ap.add_argument("--vm", action="store_true", help="also run the QEMU benches (peers, m2m)")
    ap.add_argument("--only", default="", help="comma-separated sections")
    ap.add_argument("--skip", default="", help="comma-separated sections")
    ap.add_argument("--mjpegd", default=os.path.join(ROOT, "build", "mjpegd"))
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/ (plots, tables)")
    args = ap.parse_args()
    args.mjpegd = os.path.abspath(args.mjpegd)
    cfg = QUICK if args.quick else FULL
    only = [s for s in args.only.split(",") if s]
    skip = [s for s in args.skip.split(",") if s]
    for s in only + skip:
        if s not in SECTIONS:
            ap.error("unknown section %r (%s)" % (s, ", ".join(SECTIONS)))
    todo = [s for s in SECTIONS if (not only or s in only) and s not in skip]
    for s in ("peers", "m2m", "m2m-lc1080"):
        if s in todo and not args.vm and s not in only:
            todo.remove(s)
    if "m2m" in todo and "m2m-lc1080" in todo:
        todo.remove("m2m-lc1080")  # the m2m boot runs it too
    os.makedirs(TMP, exist_ok=True)
    # one fd per client in the servers we start, and the peers' limits
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, max(hard, want)), max(hard, want)))
        except (ValueError, OSError):
            pass
    t0 = time.monotonic()
    info = machine_info(args)
    log("machine: %s, %s CPUs, %s, kernel %s, load %s" % (
        info.get("cpu_model"), info["cpus"], info.get("virtualized"), info["kernel"],
        " ".join(info.get("loadavg_start", []))))
    info["frames"] = make_frames(args, cfg)
    failed = []
    timings = {}
    loads = {}
    for s in todo:
        t = time.monotonic()
        la = open("/proc/loadavg").read().split()[:3]
        log("== %s" % s)
        try:
            globals()[s.replace("-", "_")](args, cfg, info)
        except Exception as e:
            failed.append(s)
            log("%s FAILED: %s" % (s, e))
            traceback.print_exc()
        timings[s] = round(time.monotonic() - t, 1)
        loads[s] = [la, open("/proc/loadavg").read().split()[:3]]
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    # sections run earlier keep their entry: run.json describes the results files as they are
    prev = load("run.json") or {}
    sections = dict(prev.get("sections", {})) if isinstance(prev.get("sections"), dict) else {}
    for s in todo:
        sections[s] = {"seconds": timings[s], "failed": s in failed,
                       "date_utc": info["date_utc"], "quick": args.quick,
                       "loadavg": loads[s]}  # /proc/loadavg's 1, 5, 15 min at start, at end
    meta = {"machine": info, "timings_s": timings, "failed": failed,
            "total_s": round(time.monotonic() - t0, 1), "last_run": todo, "sections": sections}
    save("run.json", meta)
    if not args.no_docs:
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "report.py")])
        if p.returncode:
            failed.append("plot")
    log("done in %.0f s (%s)%s" % (time.monotonic() - t0,
                                  ", ".join("%s %ss" % kv for kv in timings.items()),
                                  "; FAILED: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
