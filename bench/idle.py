#!/usr/bin/python3
"""Encoding on demand (--on-demand), measured: what mjpegd costs with nobody watching, and what a
snapshot then waits. Not a test: nothing is asserted (docs/performance.md has the figures).

    /usr/bin/python3 bench/idle.py [--mjpegd build/mjpegd] [--seconds 60] [--reps 2]
                                   [--snapshots 200] [--size 1280x720] [--fps 30]
                                   [--out bench/results/idle.json]

Two daemons in turn, the same build and arguments (--source testpattern --encoder software
--size WxH --fps N), one with --on-demand on (the default) and one with --on-demand off (every
frame encoded, as before on-demand existed), alternated --reps times so that a change in the
machine's load falls on both:

  idle: no client at all for --seconds after a 2 s warm-up; the daemon's CPU time (utime + stime
        of /proc/PID/stat, all threads) over the window, as CPU seconds per minute and % of one
        core, and frames captured, encoded and skipped per second from /status before and after.
  snapshot: no stream client; --snapshots GET /snapshot.jpg, each on a new connection, 0.1 s plus
        a random 0-33 ms apart (so requests fall anywhere in the frame interval); the time from
        connect to the last byte of the JPEG; p50, p95, max.

/status requests during the idle window are two (before and after) and cost the same in both
modes. The machine's other load is not controlled: the JSON records the load average.
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    """One request on a new connection; (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % path.encode())
        buf = bytearray()
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    head, _, body = bytes(buf).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def status(port):
    code, body = http_get(port, "/status")
    if code != 200:
        raise RuntimeError("/status: %d" % code)
    return json.loads(body)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Daemon:
    def __init__(self, args, on_demand, log_dir):
        self.port = free_port()
        self.log_path = os.path.join(log_dir, "idle-%s.log" % ("on" if on_demand else "off"))
        cmd = [args.mjpegd, "--source", "testpattern", "--encoder", "software", "--size",
               args.size, "--fps", str(args.fps), "--on-demand", "on" if on_demand else "off",
               "--listen", "127.0.0.1:%d" % self.port]
        self.cmd = cmd
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + 10
        while True:
            try:
                st = status(self.port)
                if st["frames"]["encoded"] >= 1:
                    break
            except (OSError, RuntimeError, ValueError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("mjpegd did not start: see %s" % self.log_path)
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def idle_window(args, on_demand, log_dir):
    d = Daemon(args, on_demand, log_dir)
    try:
        time.sleep(2.0)
        s0 = status(d.port)
        c0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(d.proc.pid), time.monotonic()
        s1 = status(d.port)
    finally:
        d.stop()
    wall = t1 - t0
    f0, f1 = s0["frames"], s1["frames"]
    return {
        "on_demand": on_demand,
        "seconds": round(wall, 3),
        "cpu_s_per_min": round((c1 - c0) * 60.0 / wall, 3),
        "cpu_percent": round((c1 - c0) * 100.0 / wall, 2),
        "captured_per_s": round((f1["captured"] - f0["captured"]) / wall, 2),
        "encoded_per_s": round((f1["encoded"] - f0["encoded"]) / wall, 2),
        "skipped_idle_per_s": round((f1.get("skipped_idle", 0) - f0.get("skipped_idle", 0)) / wall, 2),
        "command": " ".join(d.cmd),
    }


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def snapshot_latency(args, on_demand, log_dir):
    d = Daemon(args, on_demand, log_dir)
    lat = []
    try:
        time.sleep(1.0)
        s0 = status(d.port)
        for _ in range(args.snapshots):
            t0 = time.monotonic()
            code, body = http_get(d.port, "/snapshot.jpg")
            t1 = time.monotonic()
            if code != 200 or body[:2] != b"\xff\xd8":
                raise RuntimeError("snapshot: %d, %d bytes" % (code, len(body)))
            lat.append((t1 - t0) * 1000.0)
            time.sleep(0.1 + random.random() / args.fps)
        s1 = status(d.port)
    finally:
        d.stop()
    return {
        "on_demand": on_demand,
        "n": len(lat),
        "p50_ms": round(pct(lat, 50), 2),
        "p95_ms": round(pct(lat, 95), 2),
        "max_ms": round(max(lat), 2),
        "encoded": s1["frames"]["encoded"] - s0["frames"]["encoded"],
        "command": " ".join(d.cmd),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mjpegd", default=os.path.join(ROOT, "build", "mjpegd"))
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--snapshots", type=int, default=200)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "idle.json"))
    args = ap.parse_args()
    log_dir = os.path.join(HERE, "results", "tmp")
    os.makedirs(log_dir, exist_ok=True)

    idle, snaps = [], []
    for rep in range(args.reps):
        for on in ((False, True) if rep % 2 == 0 else (True, False)):
            r = idle_window(args, on, log_dir)
            print("idle, --on-demand %-3s: %.2f CPU s/min (%.2f %% of a core), captured %.1f/s, "
                  "encoded %.2f/s, skipped %.1f/s" % (
                      "on" if on else "off", r["cpu_s_per_min"], r["cpu_percent"],
                      r["captured_per_s"], r["encoded_per_s"], r["skipped_idle_per_s"]),
                  flush=True)
            idle.append(r)
    for on in (False, True):
        r = snapshot_latency(args, on, log_dir)
        print("snapshot, no stream client, --on-demand %-3s: p50 %.2f ms, p95 %.2f ms, max %.2f ms "
              "(%d snapshots, %d frames encoded meanwhile)" % (
                  "on" if on else "off", r["p50_ms"], r["p95_ms"], r["max_ms"], r["n"],
                  r["encoded"]), flush=True)
        snaps.append(r)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "/usr/bin/python3 bench/idle.py " + " ".join(sys.argv[1:]),
        "cpus": os.cpu_count(),
        "loadavg_after": load,
        "size": args.size, "fps": args.fps,
        "idle": idle,
        "snapshot": snaps,
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    print("written %s" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
