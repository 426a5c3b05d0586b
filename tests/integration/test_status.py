"""Integration tests, area status (make test-integration T=status): /status (JSON), /metrics
(Prometheus text) and the index page."""
import json
import re

from harness import Conn, Context, Daemon, check, get_json, project_version, request, request_bytes
from pool import StreamPool
from common import test, timing_test


@timing_test
def test_status_json():
    fps = 20
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", str(fps))
    d.wait_frame()
    pool = StreamPool(d.port, 2)
    pool.run(seconds=2.5)
    st = get_json(d.port)
    Context.current.note("status: " + json.dumps(st)[:1500])
    expect = {
        "version": str, "uptime_ms": int, "source": str, "encoder": str, "width": int,
        "height": int, "fps_target": int, "fps_measured": (int, float), "frames": dict,
        "bytes_copied": int, "bytes_copied_per_frame": (int, float), "bytes_sent": int,
        "frame_pool": dict, "loop": dict, "clients": dict,
    }
    for k, t in expect.items():
        check(k in st and isinstance(st[k], t), f"/status: key {k!r} missing or not {t}")
    sub = {"frames": ["captured", "encoded", "sent", "dropped", "encode_errors"],
           "frame_pool": ["capacity", "in_use", "bytes"],
           "loop": ["io_uring_enters", "completions", "sends_announced", "waits_bounded"],
           "clients": ["count", "streams", "max", "rejected", "list"]}
    for k, keys in sub.items():
        for kk in keys:
            check(kk in st[k], f"/status: {k}.{kk} missing")
            if kk != "list":
                check(isinstance(st[k][kk], int) and st[k][kk] >= 0,
                      f"/status: {k}.{kk} = {st[k][kk]!r}")
    check(st["version"] == project_version(), f"version {st['version']!r} vs Makefile "
          f"{project_version()!r}")
    check(2000 <= st["uptime_ms"] <= 60000, f"uptime_ms {st['uptime_ms']}")
    check("testpattern" in st["source"], f"source {st['source']!r}")
    check((st["width"], st["height"], st["fps_target"]) == (320, 240, fps),
          f"size/fps {st['width']}x{st['height']}@{st['fps_target']}")
    check(abs(st["fps_measured"] - fps) <= 0.15 * fps,
          f"fps_measured {st['fps_measured']} for --fps {fps}")
    f = st["frames"]
    check(f["captured"] >= 2 * fps and f["encoded"] >= 2 * fps, f"frames {f}")
    check(f["encoded"] <= f["captured"] and f["encode_errors"] == 0, f"frames {f}")
    check(f["sent"] >= 2 * 2 * fps * 0.8, f"frames.sent {f['sent']} with 2 viewers for 2.5 s")
    check(st["bytes_sent"] > f["sent"] * 1000, f"bytes_sent {st['bytes_sent']}")
    fp = st["frame_pool"]
    check(1 <= fp["in_use"] <= fp["capacity"] and fp["bytes"] > 0, f"frame_pool {fp}")
    check(st["loop"]["io_uring_enters"] > 0 and st["loop"]["completions"] > 0, f"loop {st['loop']}")
    # two viewers on loopback: their parts leave whole, so they are announced to the wait
    check(st["loop"]["sends_announced"] > 0, f"loop {st['loop']}")
    cl = st["clients"]
    check(cl["count"] == 3 and cl["streams"] == 2 and cl["max"] == 100 and cl["rejected"] == 0,
          f"clients {dict((k, v) for k, v in cl.items() if k != 'list')}, wanted count 3 "
          f"(2 streams + this request), streams 2, max 100, rejected 0")
    kinds = sorted(e["kind"] for e in cl["list"])
    check(kinds == ["http", "stream", "stream"], f"clients.list kinds {kinds}")
    addrs = {c.addr() for c in pool.clients}
    for e in cl["list"]:
        for k in ("id", "addr", "kind", "fps", "frames_sent", "frames_skipped", "connected_ms"):
            check(k in e, f"clients.list entry without {k!r}: {e}")
        if e["kind"] == "stream":
            check(e["addr"] in addrs, f"stream entry addr {e['addr']} not one of {addrs}")
            check(abs(e["fps"] - fps) <= 0.25 * fps, f"stream client fps {e['fps']}")
            check(e["frames_sent"] >= 2 * fps * 0.8, f"stream client frames_sent "
                  f"{e['frames_sent']}")
            check(2000 <= e["connected_ms"] <= 60000, f"connected_ms {e['connected_ms']}")
    st2 = get_json(d.port)
    check(st2["uptime_ms"] >= st["uptime_ms"] and
          st2["frames"]["sent"] >= st["frames"]["sent"], "counters went backwards")

    # HEAD /status: same head, no body.
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/status"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 100, f"HEAD /status {r}")
    check(c.read_some(0.3) == b"", "HEAD /status sent a body")
    c.close()

    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/metrics"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 100, f"HEAD /metrics {r}")
    check(c.read_some(0.3) == b"", "HEAD /metrics sent a body")
    c.close()

    # /metrics: Prometheus text format.
    r = request(d.port, "GET", "/metrics")
    check(r.status == 200 and (r.header("content-type") or "").startswith("text/plain"),
          f"/metrics: {r.status} {r.header('content-type')}")
    text = r.body.decode()
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.]+(?:e[+-]?\d+)?)",
                         line)
        check(m, f"/metrics: bad line {line!r}")
        check(m.group(1) in typed, f"/metrics: {m.group(1)} has no # TYPE")
        values[m.group(1)] = float(m.group(3))
    check("mjpegd_frames_sent_total" in values, "/metrics has no mjpegd_frames_sent_total")
    check(values["mjpegd_frames_sent_total"] >= st2["frames"]["sent"],
          f"mjpegd_frames_sent_total {values['mjpegd_frames_sent_total']} < /status "
          f"{st2['frames']['sent']}")
    pool.close()
    d.stop()


@test
def test_index_page():
    d = Daemon("--source", "testpattern", "--size", "320x240")
    for path in ("/", "/index.html"):
        r = request(d.port, "GET", path)
        check(r.status == 200 and (r.header("content-type") or "").startswith("text/html"),
              f"GET {path}: {r.status} {r.header('content-type')}")
        # relative, so that the page works under a proxy's prefix (docs/multi-camera.md)
        check(re.search(rb'<img[^>]*src="stream\.mjpg"', r.body), f"GET {path}: no <img> of "
              f"stream.mjpg")
        check(not re.search(rb'(src|href)="/|fetch\(\'/', r.body),
              f"GET {path}: an absolute URL in the page")
    c = Conn(d.port)
    c.send(request_bytes("HEAD", "/"))
    r = c.read_response(head_only=True)
    check(r.status == 200 and int(r.header("content-length")) > 0, f"HEAD /: {r}")
    check(c.read_some(0.3) == b"", "HEAD / sent a body")
    c.close()
    d.stop()
