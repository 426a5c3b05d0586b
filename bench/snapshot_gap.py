#!/usr/bin/python3
"""The stream's largest gap during back-to-back full-size snapshots, on a running mjpegd.

For a Pi owner with --snapshot-size set (docs/testing.md, "What only a Raspberry Pi can
confirm"): reads /stream.mjpg, notes when each part's JPEG has arrived, then asks for N
/snapshot.jpg one after another and prints the largest gap between stream parts meanwhile, in
milliseconds and in median frame intervals (issue 20's bound: 2), and the snapshot latency
p50/p95. Standard library only.

    python3 bench/snapshot_gap.py [--url http://127.0.0.1:8080] [--snapshots 10]
"""
import argparse
import statistics
import sys
import threading
import time
import urllib.request


def read_parts(resp, times, stop):
    """Appends the arrival time of every complete part (its Content-Length bytes read)."""
    while not stop.is_set():
        length = None
        while True:
            line = resp.readline()
            if not line:
                return
            line = line.strip()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
            elif not line and length is not None:
                break
        body = resp.read(length)
        if len(body) < length:
            return
        times.append(time.monotonic())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--snapshots", type=int, default=10)
    a = ap.parse_args()
    if a.snapshots < 1:
        ap.error("--snapshots must be at least 1")
    base = a.url.rstrip("/")
    try:
        stream = urllib.request.urlopen(base + "/stream.mjpg", timeout=10)
    except OSError as e:
        sys.exit(f"cannot open {base}/stream.mjpg: {e}")
    times, stop = [], threading.Event()
    t = threading.Thread(target=read_parts, args=(stream, times, stop), daemon=True)
    t.start()
    time.sleep(3)  # the stream's own rhythm first
    if len(times) < 5:
        sys.exit(f"only {len(times)} stream parts in 3 s: is the daemon streaming?")
    before = [b - x for x, b in zip(times, times[1:])]
    interval = statistics.median(before)
    lat = []
    t0 = time.monotonic()
    for _ in range(a.snapshots):
        s = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/snapshot.jpg", timeout=30) as r:
                r.read()
        except OSError as e:
            sys.exit(f"snapshot failed: {e}")
        lat.append(time.monotonic() - s)
    t1 = time.monotonic()
    time.sleep(max(0.5, 3 * interval))
    stop.set()
    during = [x for x in times if t0 - interval <= x <= t1 + interval]
    if len(during) < 2:
        sys.exit(f"the stream gave {len(during)} parts during the snapshots: stalled")
    gap = max(b - x for x, b in zip(during, during[1:]))
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(f"stream: median interval {interval * 1000:.1f} ms before the snapshots")
    print(f"during {a.snapshots} snapshots ({t1 - t0:.2f} s): {len(during)} parts, largest gap "
          f"{gap * 1000:.1f} ms = {gap / interval:.2f} intervals (bound 2: "
          f"{'met' if gap <= 2 * interval else 'NOT met'})")
    print(f"snapshot latency: p50 {statistics.median(lat) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
