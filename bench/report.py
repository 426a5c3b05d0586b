#!/usr/bin/python3
"""Plots (docs/img/*.png) and the generated tables of docs/performance.md from bench/results/*.json.

    /usr/bin/python3 bench/report.py        (bench/run.py calls it at the end)

Needs Debian's python3-matplotlib. Only the text between <!-- bench:NAME --> and
<!-- /bench:NAME --> in docs/performance.md is replaced; everything else there is prose.
A section whose results file is missing keeps its old table.
"""
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
IMG = os.path.join(ROOT, "docs", "img")
DOC = os.path.join(ROOT, "docs", "performance.md")

COLORS = {"mjpegd": "#1f77b4", "writeloop": "#7f7f7f", "ustreamer": "#d62728", "floor": "#7f7f7f",
          "baseline": "#ff7f0e", "mjpegd-software": "#2ca02c"}


def load(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def m(s, key="median"):
    return None if s is None else s.get(key)


def fmt(v, nd=2, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) >= 100:
        nd = 0
    elif isinstance(v, float) and abs(v) >= 10:
        nd = min(nd, 1)
    return ("%." + str(nd) + "f%s") % (v, unit)


def rng(s, nd=2):
    """median (min–max) of a spread; just the median when n == 1."""
    if s is None:
        return "–"
    if s.get("n", 1) <= 1 or s["min"] == s["max"]:
        return fmt(s["median"], nd)
    return "%s (%s–%s)" % (fmt(s["median"], nd), fmt(s["min"], nd), fmt(s["max"], nd))


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def save_fig(fig, name):
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(IMG, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print("report: wrote " + os.path.relpath(path, ROOT))


def nticks(ax, xs):
    """log-scaled N axis labelled with the N that were run"""
    ax.set_xscale("log")
    ax.set_xticks(sorted(set(xs)))
    ax.set_xticklabels([str(x) for x in sorted(set(xs))])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def errbar(ax, xs, spreads, label, color, style="-o"):
    ys = [m(s) for s in spreads]
    lo = [m(s) - m(s, "min") if s else 0 for s in spreads]
    hi = [m(s, "max") - m(s) if s else 0 for s in spreads]
    pts = [(x, y, a, b) for x, y, a, b in zip(xs, ys, lo, hi) if y is not None]
    if not pts:
        return
    ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[[p[2] for p in pts],
                [p[3] for p in pts]], fmt=style, label=label, color=color, capsize=3,
                markersize=4)


# ------------------------------------------------------------------------------ sections

def sec_machine(res):
    run = load("run.json")
    if not run:
        return None
    i = run["machine"]
    v = i.get("versions", {})
    rows = [["CPU", "%s, %s vCPUs (%s), %s MiB" % (i.get("cpu_model"), i.get("cpus"),
                                                  i.get("virtualized"), i.get("mem_mib"))],
            ["kernel", "%s %s" % (i.get("kernel"), i.get("arch"))],
            ["load average at start / end", "%s / %s" % (" ".join(i.get("loadavg_start", [])),
                                                         " ".join(i.get("loadavg_end", [])))],
            ["mjpegd", "%s, git %s" % (v.get("mjpegd"), v.get("git_head"))],
            ["libraries", "liburing %s, libturbojpeg %s, libjpeg62-turbo %s" % (
                v.get("liburing2"), v.get("libturbojpeg0"), v.get("libjpeg62-turbo"))],
            ["peers", "ustreamer %s, python3-opencv %s" % (v.get("ustreamer"),
                                                            v.get("python3-opencv"))],
            ["last run", "%s UTC, %s mode, %s s: %s" % (
                i.get("date_utc"), "quick" if i.get("quick") else "full", run.get("total_s"),
                ", ".join("%s %s s" % kv for kv in run.get("timings_s", {}).items()))]]
    secs = run.get("sections") if isinstance(run.get("sections"), dict) else {}
    if secs:
        rows.append(["results from", ", ".join(
            "%s %s%s%s%s" % (k, v.get("date_utc", "?")[:16], " quick" if v.get("quick") else "",
                             " FAILED" if v.get("failed") else "",
                             " (load %s → %s)" % (v["loadavg"][0][0], v["loadavg"][1][0])
                             if v.get("loadavg") else "")
            for k, v in secs.items())])
    fr = i.get("frames", {})
    for size, f in fr.items():
        rows.append(["frames %s" % size, "%d JPEGs, %.1f KiB mean (%.1f–%.1f)" % (
            f["count"], f["bytes_mean"] / 1024, f["bytes_min"] / 1024, f["bytes_max"] / 1024)])
    return table(["", ""], rows)


def sec_fanout(res):
    d = load("fanout.json")
    if not d:
        return None
    rows = []
    for r in d["summary"]:
        mj, wl = r["mjpegd"], r["writeloop"]
        rows.append([r["size"], r["clients"], rng(mj["cpu_us_per_frame_client"]),
                     rng(wl["cpu_us_per_frame_client"]), rng(r["ratio_mjpegd_over_writeloop"]),
                     "%s / %s / %s" % (fmt(m(mj["latency_p50_ms"])), fmt(m(mj["latency_p99_ms"])),
                                       fmt(m(mj["latency_max_ms"]))),
                     "%s / %s / %s" % (fmt(m(wl["latency_p50_ms"])), fmt(m(wl["latency_p99_ms"])),
                                       fmt(m(wl["latency_max_ms"]))),
                     "%s / %s" % (fmt(m(mj["client_fps_mean"]), 1), fmt(m(mj["client_fps_min"]), 1)),
                     "%s (%s)" % (fmt(m(mj["skipped_per_client"]), 1),
                                  fmt(max(0.0, 100 * m(mj["missing_fraction"])) if
                                      m(mj["missing_fraction"]) is not None else None, 1, "%")),
                     fmt(m(wl["skipped_per_client"]), 1)])
    p = d["params"]
    head = ["size", "N", "mjpegd µs CPU / frame·client", "writeloop µs", "mjpegd / writeloop",
            "mjpegd latency p50 / p99 / max ms", "writeloop latency p50 / p99 / max ms",
            "mjpegd fps per client mean / min", "mjpegd skipped per client (missing)",
            "writeloop skipped per client"]
    one = p.get("one_reps", p["reps"])
    note = ("%d run(s) per cell%s, %s s warm-up, %s s window, %d fps; median (min–max) over the "
            "runs; the ratio is taken within each pair of back-to-back runs." % (
                p["reps"], "" if one == p["reps"] else " (%d at N = 1)" % one, p["warmup"],
                p["window"], d["fps"]))
    # plots
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for size, style in (("640x480", "-o"), ("1280x720", "--s")):
        rs = [r for r in d["summary"] if r["size"] == size]
        if not rs:
            continue
        xs = [r["clients"] for r in rs]
        for name in ("mjpegd", "writeloop"):
            errbar(ax, xs, [r[name]["cpu_us_per_frame_client"] for r in rs],
                   "%s %s" % (name, size), COLORS[name], style)
        errbar(ax2, xs, [r["ratio_mjpegd_over_writeloop"] for r in rs], size, COLORS["mjpegd"],
               style)
    allx = [r["clients"] for r in d["summary"]]
    nticks(ax, allx)
    ax.set_xlabel("stream clients N")
    ax.set_ylabel("server CPU µs per delivered frame·client")
    ax.set_title("Fan-out cost (file source, passthrough, 30 fps)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax2.axhline(2.0, color="red", lw=1, ls=":", label="target ≤ 2× at N=100")
    ax2.axhline(1.0, color="gray", lw=1)
    nticks(ax2, allx)
    ax2.set_ylim(bottom=0)
    ax2.set_xlabel("stream clients N")
    ax2.set_ylabel("mjpegd CPU / writeloop CPU")
    ax2.set_title("Ratio to the write-loop floor")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    save_fig(fig, "fanout-cpu.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    for size, style in (("640x480", "-o"), ("1280x720", "--s")):
        rs = [r for r in d["summary"] if r["size"] == size]
        if not rs:
            continue
        xs = [r["clients"] for r in rs]
        for name in ("mjpegd", "writeloop"):
            ax.plot(xs, [m(r[name]["latency_p50_ms"]) for r in rs], style, color=COLORS[name],
                    alpha=0.5, label="%s %s p50" % (name, size), markersize=4)
            ax.plot(xs, [m(r[name]["latency_p99_ms"]) for r in rs], style, color=COLORS[name],
                    label="%s %s p99" % (name, size), markersize=4, lw=2)
    ax.axhline(2.0, color="red", lw=1, ls=":", label="target p99 < 2 ms at N=10")
    nticks(ax, [r["clients"] for r in d["summary"]])
    ax.set_yscale("log")
    ax.set_xlabel("stream clients N")
    ax.set_ylabel("capture timestamp → last byte at the client, ms")
    ax.set_title("Latency on loopback (median over runs)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    save_fig(fig, "fanout-latency.png")

    # RSS
    rrows = []
    fr = d.get("frames", {})
    for r in d["summary"]:
        mj, wl = r["mjpegd"], r["writeloop"]
        fb = fr.get(r["size"], {}).get("bytes_total", 0) / 1024
        rss = m(mj["rss_kib"])
        rrows.append([r["size"], r["clients"], fmt(rss / 1024 if rss else None, 1),
                      fmt(m(mj["rss_anon_kib"]) / 1024, 1), fmt(m(mj["rss_file_kib"]) / 1024, 1),
                      fmt(fb / 1024, 2), fmt((rss - fb) / 1024 if rss else None, 1),
                      fmt((m(mj["rss_anon_kib"]) - fb) / 1024, 1),
                      fmt(m(wl["rss_kib"]) / 1024, 1),
                      fmt(m(mj["time_to_all_streaming_s"]), 2),
                      fmt(m(wl["time_to_all_streaming_s"]), 2)])
    rss_tab = table(["size", "N", "mjpegd VmRSS MiB", "RssAnon", "RssFile (libraries)",
                     "frame data (the 30 JPEGs)", "VmRSS − frames", "RssAnon − frames",
                     "writeloop VmRSS", "mjpegd: s until all N stream", "writeloop: s"], rrows)
    fig, ax = plt.subplots(figsize=(7, 4))
    rs = [r for r in d["summary"] if r["size"] == "640x480"] or d["summary"]
    xs = [r["clients"] for r in rs]
    fb = fr.get(rs[0]["size"], {}).get("bytes_total", 0) / 1024 / 1024
    ax.plot(xs, [m(r["mjpegd"]["rss_kib"]) / 1024 - fb for r in rs], "-o",
            color=COLORS["mjpegd"], label="mjpegd VmRSS − frame data")
    ax.plot(xs, [m(r["mjpegd"]["rss_anon_kib"]) / 1024 - fb for r in rs], "--o",
            color=COLORS["mjpegd"], label="mjpegd RssAnon − frame data")
    ax.plot(xs, [m(r["writeloop"]["rss_kib"]) / 1024 for r in rs], "-o",
            color=COLORS["writeloop"], label="writeloop VmRSS")
    ax.axhline(8, color="red", lw=1, ls=":", label="target < 8 MiB at N=100")
    nticks(ax, xs)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("stream clients N")
    ax.set_ylabel("MiB")
    ax.set_title("Resident memory (%s)" % rs[0]["size"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_fig(fig, "rss.png")
    return table(head, rows) + "\n\n" + note, rss_tab


def sec_syscalls(res):
    d = load("syscalls.json")
    if not d:
        return None
    rows = []
    for r in d["runs"]:
        by = ", ".join("%s %d" % kv for kv in sorted(r["by_syscall"].items(), key=lambda kv: -kv[1]))
        rows.append([r["server_name"], r["clients"], r["tool"], r["frames"], r["syscalls"],
                     fmt(r["syscalls_per_frame_client"], 4), by])
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("mjpegd", "writeloop"):
        rs = sorted([r for r in d["runs"] if r["server_name"] == name and
                     r["tool"].startswith("strace")], key=lambda r: r["clients"])
        ax.plot([r["clients"] for r in rs], [r["syscalls_per_frame_client"] for r in rs], "-o",
                color=COLORS[name], label=name + " (strace -c -f)")
    ax.axhline(0.1, color="red", lw=1, ls=":", label="target < 0.1 at N=100")
    nticks(ax, [r["clients"] for r in d["runs"]])
    ax.set_yscale("log")
    ax.set_xlabel("stream clients N")
    ax.set_ylabel("system calls per delivered frame·client")
    ax.set_title("System calls (640x480, 30 fps)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_fig(fig, "syscalls.png")
    return table(["server", "N", "counted with", "frame·clients delivered", "system calls",
                  "per frame·client", "by call"], rows)


def sec_baseline(res):
    d = load("baseline.json")
    if not d:
        return None
    rows = []
    for r in d["summary"]:
        b, s = r["baseline"], r["mjpegd-software"]
        rows.append([r["clients"], rng(b["cpu_us_per_frame_client"], 1),
                     rng(s["cpu_us_per_frame_client"], 1), rng(r["ratio_mjpegd_over_baseline"]),
                     "%s / %s" % (fmt(m(b["latency_p50_ms"])), fmt(m(b["latency_p99_ms"]))),
                     "%s / %s" % (fmt(m(s["latency_p50_ms"])), fmt(m(s["latency_p99_ms"]))),
                     "%s / %s" % (fmt(m(b["client_fps_mean"]), 1), fmt(m(s["client_fps_mean"]), 1)),
                     "%s / %s" % (fmt(m(b["rss_kib"]) / 1024, 0), fmt(m(s["rss_kib"]) / 1024, 1)),
                     "%d / %d" % (b["threads"], s["threads"]),
                     "%s / %s" % (fmt(b["mean_part_bytes"] / 1024, 1),
                                  fmt(s["mean_part_bytes"] / 1024, 1))])
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r["clients"] for r in d["summary"]]
    errbar(ax, xs, [r["baseline"]["cpu_us_per_frame_client"] for r in d["summary"]],
           "baseline (reconstruction): Python threads + cv2.imencode", COLORS["baseline"])
    errbar(ax, xs, [r["mjpegd-software"]["cpu_us_per_frame_client"] for r in d["summary"]],
           "mjpegd --source testpattern --encoder software", COLORS["mjpegd-software"])
    fo = load("fanout.json")
    if fo:
        rs = [r for r in fo["summary"] if r["size"] == "640x480"]
        errbar(ax, [r["clients"] for r in rs], [r["mjpegd"]["cpu_us_per_frame_client"] for r in rs],
               "mjpegd file source, passthrough (no encoding)", COLORS["mjpegd"], "--o")
    nticks(ax, xs)
    ax.set_yscale("log")
    ax.set_xlabel("stream clients N")
    ax.set_ylabel("server CPU µs per delivered frame·client")
    ax.set_title("Against the reconstructed Python baseline (640x480, 30 fps)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    save_fig(fig, "baseline.png")
    return table(["N", "baseline µs CPU / frame·client", "mjpegd (software) µs",
                  "mjpegd / baseline", "latency p50 / p99 ms: baseline", "mjpegd",
                  "fps per client: baseline / mjpegd", "RSS MiB: baseline / mjpegd",
                  "threads: baseline / mjpegd", "KiB per part: baseline / mjpegd"], rows)


def sec_encode(res):
    d = load("encode.json")
    if not d:
        return None
    old = "ratio_yuyv_old_over_opencv" not in d["summary"][0]  # a results file from before issue 21
    rows = []
    for r in d["summary"]:
        rows.append([r["size"], rng(r["i420"]["fps_per_cpu_s"], 0),
                     rng(r["yuyv"]["fps_per_cpu_s"], 0), rng(r["opencv"]["fps_per_cpu_s"], 0),
                     rng(r["ratio_i420_over_opencv"]), "**%s**" % rng(r["ratio_yuyv_over_opencv"]),
                     "%s / %s / %s" % (fmt(r["i420"]["mean_jpeg_bytes"] / 1024, 1),
                                       fmt(r["yuyv"]["mean_jpeg_bytes"] / 1024, 1),
                                       fmt(r["opencv"]["mean_jpeg_bytes"] / 1024, 1))])
    paths = []
    if not old:
        for r in d["summary"]:
            for kind, label in (("yuyv_old", "4:2:2, the old scalar loop (before)"),
                                ("yuyv422", "4:2:2, vectorised"),
                                ("yuyv420", "4:2:0, vectorised, whole planes (TurboJPEG)" +
                                 ("" if "yuyv_chunked" in r else " (the daemon's)")),
                                ("yuyv_chunked", "4:2:0, vectorised, 16-row strips (libjpeg "
                                 "raw data; the daemon's)")):
                if kind not in r:
                    continue  # a results file from before issue 21 item 5
                k = r[kind]
                paths.append([r["size"], label, rng(k["fps_per_cpu_s"], 0),
                              rng(r["ratio_%s_over_opencv" % kind]),
                              "(inside the encode)" if kind == "yuyv_chunked"
                              else rng(k.get("deinterleave_ms"), 3),
                              fmt(k["mean_jpeg_bytes"] / 1024, 1)])
    fig, ax = plt.subplots(figsize=(8, 4))
    sizes = [r["size"] for r in d["summary"]]
    bars_def = [("i420", "mjpegd, I420 → 4:2:0", COLORS["mjpegd"]),
                ("yuyv", "mjpegd, YUYV → 4:2:0 (vectorised%s)" % (
                    ", 16-row strips" if "yuyv_chunked" in d["summary"][0] else ""), "#9467bd"),
                ("opencv", "baseline cv2.imencode, RGB → 4:2:0", COLORS["baseline"]),
                ("yuyv_chunked", "YUYV → 4:2:0, 16-row strips (direct)", "#b07aa1"),
                ("yuyv420", "YUYV → 4:2:0, whole planes (direct; before item 5)", "#d4a6c8"),
                ("yuyv422", "YUYV → 4:2:2 vectorised (not kept)", "#c5b0d5"),
                ("yuyv_old", "YUYV → 4:2:2, old scalar loop (before)", "#7f7f7f")]
    bars_def = [b for b in bars_def if all(b[0] in r for r in d["summary"])]
    w = 0.8 / len(bars_def)
    for k, (kind, label, col) in enumerate(bars_def):
        ys = [m(r[kind]["fps_per_cpu_s"]) for r in d["summary"]]
        lo = [y - m(r[kind]["fps_per_cpu_s"], "min") for y, r in zip(ys, d["summary"])]
        hi = [m(r[kind]["fps_per_cpu_s"], "max") - y for y, r in zip(ys, d["summary"])]
        bars = ax.bar([i + (k - (len(bars_def) - 1) / 2) * w for i in range(len(sizes))], ys, w,
                      yerr=[lo, hi], capsize=2, label=label, color=col)
        ax.bar_label(bars, fmt="%.0f", fontsize=6)
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels(sizes)
    ax.set_ylabel("frames per CPU-second (quality 80)")
    ax.set_title("Software JPEG encoding (median, bars: range over %s repetitions)"
                 % d.get("repetitions", "?"), fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    save_fig(fig, "encode.png")
    txt = table(["size", "mjpegd I420 frames/CPU-s", "mjpegd YUYV", "OpenCV RGB (baseline)",
                 "I420 / OpenCV", "YUYV / OpenCV", "KiB per JPEG: I420 / YUYV / OpenCV"], rows)
    if paths:
        txt += ("\n\nYUYV's paths, each through `encode_bench --direct --yuyv …` in the same "
                "repetitions (TurboJPEG on the bench's thread; the de-interleave timed apart):\n\n")
        txt += table(["size", "YUYV →", "frames/CPU-s", "× OpenCV", "de-interleave ms/frame",
                      "KiB per JPEG"], paths)
        txt += "\n\n4:2:0 over 4:2:2 (both vectorised, same repetition): %s." % "; ".join(
            "%s %s×" % (r["size"], rng(r["ratio_yuyv420_over_yuyv422"])) for r in d["summary"])
        if all("ratio_yuyv_chunked_over_yuyv420" in r for r in d["summary"]):
            txt += (" 16-row strips over whole planes (both 4:2:0, same repetition): %s." %
                    "; ".join("%s %s×" % (r["size"], rng(r["ratio_yuyv_chunked_over_yuyv420"]))
                              for r in d["summary"]))
    m0 = d.get("machine", {})
    txt += "\n\n%d repetitions of %s s per run, %s; command: `%s`." % (
        d.get("repetitions", 0), d.get("seconds_per_run", "?"), m0.get("date_utc", "?"),
        d.get("command", "make bench"))
    return txt


def sec_callgrind(res):
    d = load("callgrind.json")
    if not d:
        return None
    rows = [[r["rep"], r["frames_per_client"], r["deliveries"], r["ir_in_loop"]] for r in d["runs"]]
    return ("**%s user-space instructions per delivered frame·client** (N=%d, %s, median of %d: %s)."
            "\n\n" % (fmt(m(d["instructions_per_frame_client"]), 0), d["clients"], d["source"],
                      d["instructions_per_frame_client"]["n"],
                      rng(d["instructions_per_frame_client"], 0)) +
            table(["rep", "frames per client", "deliveries (all clients)",
                   "instructions in loop_run_once"], rows))


def sec_profile(res):
    d = load("profile.json")
    if not d:
        return None
    out = []
    for name in ("mjpegd", "writeloop"):
        p = d.get(name)
        if not p:
            continue
        out.append("**%s** (N=%d, %s; %s µs CPU per frame·client in this run; %.0f%% of samples "
                   "in the kernel; full report: `%s`)\n\n```\n%s\n```" % (
                       name, d["clients"], d["size"], fmt(p["cpu_us_per_frame_client"]),
                       p["kernel_percent"], p["report"],
                       "\n".join(l.rstrip() for l in p["top"][:14])))
        if name == "mjpegd" and p.get("user"):
            out.append("mjpegd's user-space share (of all samples):\n\n```\n%s\n```" %
                       "\n".join(l.rstrip() for l in p["user"][:12]))
    return "\n\n".join(out)


def sec_slow(res):
    d = load("slow.json")
    if not d:
        return None
    rows = [[r["server"], fmt(r["client_fps_mean"], 1), fmt(r["latency_p50_ms"], 0),
             fmt(r["latency_p99_ms"], 0), fmt(r["latency_end_ms"], 0),
             fmt(r["skipped_per_client"], 0)] for r in d["runs"]]
    return (d["what"][0].upper() + d["what"][1:] + ".\n\n") + table(
        ["server", "fps per viewer", "latency p50 ms", "p99 ms", "in the last second ms",
         "frames skipped per viewer"], rows)


def sec_libs(res):
    d = load("libs.json")
    if not d or "source_raw_bytes" not in d:
        return None  # a results file from before the plugin (HAVE_LIBCAMERA=0 builds)
    rows = [[b["build"], b["plugin_state"], "yes" if b["libcamera_mapped"] else "no",
             b["shared_libraries"], fmt(b["rss_kib"] / 1024, 1),
             fmt(b["frame_buffers_kib"] / 1024, 2), fmt(b["rss_minus_frames_kib"] / 1024, 1),
             fmt(b["rss_anon_kib"] / 1024, 1), fmt(b["rss_file_kib"] / 1024, 1), b["threads"]]
            for b in d["builds"]]
    return table(["build/mjpegd, N=%d, test pattern %s, software JPEG" % (d["clients"], d["size"]),
                  "/status libcamera_plugin", "libcamera mapped", "shared objects mapped",
                  "VmRSS MiB", "frame buffers MiB", "VmRSS − frame buffers", "RssAnon",
                  "RssFile", "threads"], rows) + (
        "\n\nFrame buffers: the test pattern's raw I420 buffers (%s MiB) and the JPEG frame pool "
        "(`/status` `frame_pool.bytes` at the end of the window). Shared objects: those in "
        "`/proc/PID/maps`, `dlopen()`ed ones included. `%s`." % (
            fmt(d["source_raw_bytes"] / 1024 / 1024, 2), d.get("command", "make bench")))


def sec_peers(res):
    d = load("peers.json")
    if not d:
        return None
    rows = []
    for r in d["summary"]:
        a, b = r["mjpegd"], r["ustreamer"]
        rows.append([r["clients"], rng(a["cpu_us_per_frame_client"], 0),
                     rng(b["cpu_us_per_frame_client"], 0), rng(r["ratio_mjpegd_over_ustreamer"]),
                     "%s / %s" % (fmt(m(a["client_fps_mean"]), 1), fmt(m(b["client_fps_mean"]), 1)),
                     "%s / %s" % (fmt(m(a["rss_kib"]) / 1024, 1), fmt(m(b["rss_kib"]) / 1024, 1)),
                     "%d / %d" % (a["threads"], b["threads"]),
                     "%s / %s" % (fmt((a["mean_part_bytes"] or 0) / 1024, 1),
                                  fmt((b["mean_part_bytes"] or 0) / 1024, 1))])
    st = []
    for k, s in sorted(d.get("strace", {}).items()):
        by = ", ".join("%s %d" % kv for kv in sorted(s["by_syscall"].items(), key=lambda kv: -kv[1])[:6])
        st.append([s["server_name"], s["clients"], s["frames"], s["syscalls"],
                   fmt(s["syscalls_per_frame_client"], 3), by])
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [r["clients"] for r in d["summary"]]
    w = 0.38
    for k, name in enumerate(("mjpegd", "ustreamer")):
        ys = [m(r[name]["cpu_us_per_frame_client"]) or 0 for r in d["summary"]]
        bars = ax.bar([i + (k - 0.5) * w for i in range(len(ns))], ys, w, label=name,
                      color=COLORS[name])
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(ns)))
    ax.set_xticklabels(["N=%d\nmjpegd/ustreamer %s×" % (r["clients"],
                                                         fmt(m(r["ratio_mjpegd_over_ustreamer"])))
                        for r in d["summary"]], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("server CPU µs per delivered frame·client (guest)")
    ax.set_title("vivid YUYV 640x360@30, software JPEG q80 (QEMU %s)" % d.get("accel", "?").upper())
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y", which="both")
    save_fig(fig, "peers.png")
    txt = table(["N", "mjpegd µs CPU / frame·client", "ustreamer µs", "mjpegd / ustreamer",
                 "fps per client: mjpegd / ustreamer", "RSS MiB: mjpegd / ustreamer",
                 "threads", "KiB per part"], rows)
    if st:
        txt += "\n\nSystem calls in the guest (separate runs under `strace -c -f`):\n\n" + table(
            ["server", "N", "frame·clients", "system calls", "per frame·client", "top calls"], st)
    txt += "\n\nGuest run: %s." % d.get("vm_result", "?")
    return txt


def sec_m2m(res):
    d = load("m2m.json")
    if not d:
        return None
    rows = []
    for r in d["summary"]:
        for name in ("mjpegd", "floor", "ustreamer"):
            a = r[name]
            copied = m(a["bytes_copied_per_frame"])
            rows.append([r["clients"], name, rng(a["cpu_us_per_frame"], 0),
                         rng(a["cpu_us_per_frame_client"], 0),
                         rng(a["guest_cpu_us_per_frame"], 0),
                         "not exposed" if copied is None else fmt(float(copied), 0),
                         fmt(m(a["client_fps_mean"]), 1), fmt(m(a["rss_kib"]) / 1024, 1)
                         if m(a["rss_kib"]) else "–", a["threads"],
                         fmt((a["mean_part_bytes"] or 0) / 1024, 1)])
    ratios = [[r["clients"], rng(r["ratio_mjpegd_over_floor"]),
               rng(r["ratio_mjpegd_over_ustreamer"]), rng(r["ratio_floor_over_ustreamer"])]
              for r in d["summary"]]
    txt = table(["N", "server", "µs CPU / frame", "µs CPU / frame·client",
                 "guest µs CPU / frame (all)", "bytes copied / frame", "fps per client",
                 "RSS MiB", "threads", "KiB per part"], rows)
    txt += "\n\nRatios of CPU per frame, per repetition (median (min–max) of %d):\n\n" % max(
        [(r["ratio_mjpegd_over_floor"] or {}).get("n", 0) for r in d["summary"]] or [0])
    txt += table(["N", "mjpegd / floor", "mjpegd / ustreamer", "floor / ustreamer"], ratios)
    st = []
    for name in ("mjpegd", "floor"):
        x = d.get("strace", {}).get(name)
        if not x or not x["frames"]:
            continue
        by = sorted(((k, v) for k, v in x["by_syscall"].items()
                     if v["calls"] / x["frames"] >= 0.05), key=lambda kv: -kv[1]["calls"])
        st.append([name, x["clients"], fmt(x["frames"], 0), fmt(x["syscalls_per_frame"], 1),
                   ", ".join("%s %s%s" % (k, fmt(v["calls"] / x["frames"], 1),
                                          " (%s failed)" % fmt(v["errors"] / x["frames"], 1)
                                          if v["errors"] else "") for k, v in by)])
    if st:
        txt += "\n\nSystem calls per frame at N = 1 (separate runs under `strace -c -f`):\n\n" + \
            table(["server", "N", "frames", "system calls / frame", "per frame"], st)
    enc = next((r.get("mjpegd_encoder") for r in d["runs"] if r.get("mjpegd_encoder")), None)
    if enc:
        txt += "\n\nmjpegd's encoder (/status): `%s`." % enc
    clock = next((ln.partition(": ")[2] for ln in (d.get("facts") or "").splitlines()
                  if ln.startswith("guest clock: ")), None)
    if clock:
        txt += "\nGuest clock source: `%s` (%s)." % (
            clock, "clock_gettime in the vDSO, as on a Pi 2 or later" if clock == "tsc" else
            "each clock_gettime a system call, as on a Pi Zero W or Pi 1")
    txt += "\nGuest run: %s. Command: `%s`." % (d.get("vm_result", "?"), d.get("command", "?"))
    return txt


def sec_m2m_lc1080(res):
    d = (load("m2m.json") or {}).get("lc1080")
    if not d or not d.get("summary"):
        return None
    rows = []
    for r in d["summary"]:
        for name in ("mjpegd", "floor"):
            a = r[name]
            copied = m(a["bytes_copied_per_frame"])
            rows.append([r["clients"], name, rng(a["cpu_us_per_frame"], 0),
                         rng(a["cpu_us_per_frame_client"], 0),
                         "not read" if copied is None else fmt(float(copied), 0),
                         rng(a["frames_per_client"], 0), rng(a["cpu_ticks"], 0),
                         rng(a["guest_cpu_us_per_frame"], 0), rng(a["client_fps_mean"], 1),
                         a["threads"], fmt((a["mean_part_bytes"] or 0) / 1024, 1)])
    txt = table(["N", "server", "µs CPU / frame", "µs CPU / frame·client",
                 "bytes copied / frame", "frames per client (window)",
                 "server CPU ticks (window)", "guest µs CPU / frame (all)", "fps per client",
                 "threads", "KiB per part"], rows)
    reps = max([(r["ratio_mjpegd_over_floor"] or {}).get("n", 0) for r in d["summary"]] or [0])
    txt += "\n\nmjpegd / floor, CPU per frame, per repetition (median (min–max) of %d):\n\n" % reps
    txt += table(["N", "mjpegd / floor", "mjpegd's bytes copied over all its runs"],
                 [[r["clients"], rng(r["ratio_mjpegd_over_floor"]),
                   fmt(float(m(r["mjpegd"]["bytes_copied"], "max")), 0)
                   if m(r["mjpegd"]["bytes_copied"]) is not None else "not read"]
                  for r in d["summary"]])
    txt += "\n"
    facts = {}
    for line in (d.get("facts") or "").splitlines():
        k, _, v = line.partition(": ")
        facts.setdefault(k, v)
    for key, what in (("mjpegd source", "mjpegd's source (/status)"),
                      ("mjpegd encoder", "mjpegd's encoder (/status)"),
                      ("mjpegd log", "mjpegd's log"),
                      ("floor camera format", "The floor's camera format"),
                      ("floor log", "The floor's log")):
        if facts.get(key):
            txt += "\n%s: `%s`." % (what, facts[key].strip())
    warn = [ln for ln in (d.get("facts") or "").splitlines() if ln.startswith("WARNING")]
    if warn:
        txt += "\n**%s**." % "; ".join(warn)
    la = (d.get("host") or {}).get("loadavg_start")
    txt += "\nGuest run: %s; %s UTC%s. Command: `%s`." % (
        d.get("vm_result", "?"), d.get("date_utc", "?"),
        ", host load average at the start %s" % " ".join(la) if la else "",
        d.get("command", "?"))
    if d.get("note"):
        txt += "\n%s%s." % (d["note"][0].upper(), d["note"][1:])
    return txt


def verdict(ok):
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def spread_verdict(sp, bound):
    """met/missed (≤ bound) by the median; says so when the repetitions fall on both sides"""
    v = m(sp)
    if v is None:
        return verdict(None)
    txt = verdict(v <= bound)
    if m(sp, "min") <= bound < m(sp, "max"):
        txt += " (median; the repetitions fall on both sides of %s×)" % fmt(bound, 1)
    return txt


def m2m_rep_ratios(mm, n):
    """mjpegd / floor CPU per frame, repetition by repetition at N = n (bench/run.py's rep_ratios)"""
    runs = (mm or {}).get("runs", [])
    out = []
    for rep in sorted({r["rep"] for r in runs}):
        c = {r["server_name"]: r["server"]["cpu_us"] for r in runs
             if r["clients"] == n and r["rep"] == rep}
        if c.get("mjpegd") and c.get("floor"):
            out.append(c["mjpegd"] / c["floor"])
    return out


def sec_targets(res):
    rows = []
    fo, sc, en, pe = load("fanout.json"), load("syscalls.json"), load("encode.json"), load("peers.json")

    def fan(size, n):
        return next((r for r in (fo or {}).get("summary", []) if r["size"] == size and
                     r["clients"] == n), None)

    r = next((x for x in (pe or {}).get("summary", []) if x["clients"] == 100), None)
    v = m(r["ratio_mjpegd_over_ustreamer"]) if r else None
    rows.append(["CPU per delivered frame·client ≤ 0.5× ustreamer's at N=100",
                 "%s× (runs %s–%s; QEMU guest, both encoding YUYV)" % (
                     fmt(v), fmt(m(r["ratio_mjpegd_over_ustreamer"], "min")),
                     fmt(m(r["ratio_mjpegd_over_ustreamer"], "max"))) if r
                 else "not measured (run with the VM)", verdict(None if v is None else v <= 0.5)])
    for size in ("640x480", "1280x720"):
        r = fan(size, 100)
        v = m(r["ratio_mjpegd_over_writeloop"]) if r else None
        rows.append(["CPU per delivered frame·client ≤ 2× the write-loop limit at N=100 (%s)" % size,
                     "%s× (runs %s–%s)" % (fmt(v), fmt(m(r["ratio_mjpegd_over_writeloop"], "min")),
                                           fmt(m(r["ratio_mjpegd_over_writeloop"], "max"))) if r else
                     "not measured", verdict(None if v is None else v <= 2)])
    s = next((x for x in (sc or {}).get("runs", []) if x["server_name"] == "mjpegd" and
              x["clients"] == 100 and x["tool"].startswith("strace")), None)
    v = s["syscalls_per_frame_client"] if s else None
    rows.append(["< 0.1 system calls per delivered frame·client at N=100",
                 "%s (strace -c -f)" % fmt(v, 3) if s else "not measured",
                 verdict(None if v is None else v < 0.1)])
    for size in ("640x480", "1280x720"):
        r = fan(size, 10)
        if not r:
            continue
        p99 = r["mjpegd"]["latency_p99_ms"]
        wl = r["writeloop"]["latency_p99_ms"]
        rows.append(["frame-to-last-byte latency p99 < 2 ms at N=10, loopback (%s)" % size,
                     "%s ms, median of %d runs (%s–%s); the write loop in the same runs: %s ms" % (
                         fmt(m(p99)), p99["n"], fmt(m(p99, "min")), fmt(m(p99, "max")),
                         rng(wl)),
                     verdict(m(p99) < 2)])
    r = fan("640x480", 1)
    for size in ("640x480", "1280x720"):
        r = fan(size, 1)
        if not r:
            continue
        sp = r["ratio_mjpegd_over_writeloop"]
        rows.append(["one viewer (issue 21, 3): CPU per frame ≤ 1.1× the write loop at N=1 (%s)"
                     % size, "%s× (runs %s–%s, %d repetitions, each beside the write loop)" % (
                         fmt(m(sp)), fmt(m(sp, "min")), fmt(m(sp, "max")), sp["n"]),
                     spread_verdict(sp, 1.1)])
    s = next((x for x in (sc or {}).get("runs", []) if x["server_name"] == "mjpegd" and
              x["clients"] == 1 and x["tool"].startswith("strace")), None)
    w = next((x for x in (sc or {}).get("runs", []) if x["server_name"] == "writeloop" and
              x["clients"] == 1 and x["tool"].startswith("strace")), None)
    if s:
        v = s["syscalls_per_frame_client"]
        rows.append(["one viewer (issue 21, 3): ≤ 2 system calls per frame at N=1",
                     "%s (%s over %d frames, one run under strace -c -f; the write loop: %s)" % (
                         fmt(v, 2), ", ".join("%s %d" % kv for kv in sorted(
                             s["by_syscall"].items(), key=lambda kv: -kv[1])), s["frames"],
                         fmt(w["syscalls_per_frame_client"], 2) if w else "–"),
                     verdict(v <= 2)])
    lb = load("libs.json")
    for b in (lb or {}).get("builds", []) if (lb or {}).get("source_raw_bytes") else []:
        v = b["rss_minus_frames_kib"] / 1024
        alone = b["source"] == "testpattern"
        rows.append(["RSS < 8 MiB at N=100 excluding frame buffers, test pattern (issue 21, 2): %s"
                     % b["build"], "%s MiB VmRSS − frame buffers (%s MiB VmRSS, %d shared objects,"
                     " %d threads; one run)" % (fmt(v, 1), fmt(b["rss_kib"] / 1024, 1),
                                               b["shared_libraries"], b["threads"]),
                     verdict(v < 8) if alone else verdict(v < 8) + " (reported; the target is "
                     "the daemon's without a libcamera camera)"])
    r = fan("640x480", 100)
    if r:
        fb = fo["frames"]["640x480"]["bytes_total"] / 1024
        tot = (m(r["mjpegd"]["rss_kib"]) - fb) / 1024
        anon = (m(r["mjpegd"]["rss_anon_kib"]) - fb) / 1024
        rows.append(["RSS < 8 MiB at N=100 excluding frame buffers (file source, passthrough)",
                     "%s MiB VmRSS − frames (of which %s MiB shared libraries, RssFile; "
                     "private RssAnon − frames: %s MiB)" % (
                         fmt(tot, 1), fmt(m(r["mjpegd"]["rss_file_kib"]) / 1024, 1), fmt(anon, 1)),
                     verdict(tot < 8) + ("" if tot < 8 else " (met for private memory)"
                                         if anon < 8 else "")])
    for r in (en or {}).get("summary", []):
        v1, v2 = m(r["ratio_i420_over_opencv"]), m(r["ratio_yuyv_over_opencv"])
        rows.append(["software path ≥ 3× the baseline's frames per CPU-second (%s)" % r["size"],
                     "%s× from I420, %s× from YUYV" % (fmt(v1), fmt(v2)),
                     verdict(v1 >= 3)])
    for r in (en or {}).get("summary", []):
        sp, before = r["ratio_yuyv_over_opencv"], r.get("ratio_yuyv_old_over_opencv")
        if not before:
            continue  # a results file from before issue 21
        v = m(sp)
        txt = verdict(v >= 1.5)
        if m(sp, "min") < 1.5 <= m(sp, "max"):
            txt += " (median; the repetitions fall on both sides of 1.5×)"
        rows.append(["YUYV ≥ 1.5× the baseline's frames per CPU-second (%s)" % r["size"],
                     "%s× (runs %s–%s, %d repetitions, each beside the baseline; before: %s×, "
                     "the old scalar 4:2:2 loop in the same runs)" % (
                         fmt(v), fmt(m(sp, "min")), fmt(m(sp, "max")), sp["n"], rng(before)),
                     txt])
    mm = load("m2m.json")

    def m2m_row(n):
        return next((x for x in (mm or {}).get("summary", []) if x["clients"] == n), None)

    r = m2m_row(1)
    sp = r["ratio_mjpegd_over_floor"] if r else None
    ok = None if m(sp) is None else m(sp) <= 1.1 and m(sp, "max") <= 1.2
    rows.append(["the Pi's path (issue 21, 4): CPU per frame ≤ 1.1× the floor at N=1, every "
                 "repetition ≤ 1.2× (emulated bcm2835-codec)",
                 "%s× (runs %s–%s, %d repetitions; QEMU guest under TCG, utime+stime ticks, "
                 "DMABUF import, both on the same devices)" % (
                     fmt(m(sp)), fmt(m(sp, "min")), fmt(m(sp, "max")), sp["n"]) if sp
                 else "not measured (run with the VM)",
                 verdict(ok) + ("" if ok is None else " (median %s 1.1×, %d of %d repetitions "
                                "above 1.2×)" % ("≤" if m(sp) <= 1.1 else ">",
                                                 sum(1 for x in m2m_rep_ratios(mm, 1) if x > 1.2),
                                                 sp["n"]))])
    for n in (1, 10):
        r = m2m_row(n)
        sp = r["ratio_mjpegd_over_ustreamer"] if r else None
        rows.append(["the Pi's path: CPU per frame ≤ 0.5× ustreamer's at N=%d" % n,
                     "%s× (runs %s–%s; ustreamer 4.9 cannot use the M2M encoder: it encodes in "
                     "software)" % (fmt(m(sp)), fmt(m(sp, "min")), fmt(m(sp, "max")))
                     if sp else "not measured (not among the last m2m run's N)", spread_verdict(sp, 0.5)])
    return table(["target", "measured", "verdict"], rows)


def replace_block(doc, name, body):
    pat = re.compile(r"(<!-- bench:%s -->\n).*?(<!-- /bench:%s -->)" % (name, name), re.S)
    if not pat.search(doc):
        print("report: no <!-- bench:%s --> block in docs/performance.md" % name)
        return doc
    return pat.sub(lambda mm: mm.group(1) + body.strip() + "\n" + mm.group(2), doc)


def main():
    blocks = {}
    for name, fn in (("machine", sec_machine), ("syscalls", sec_syscalls),
                     ("baseline", sec_baseline), ("encode", sec_encode),
                     ("callgrind", sec_callgrind), ("profile", sec_profile),
                     ("peers", sec_peers), ("m2m", sec_m2m), ("m2m-lc1080", sec_m2m_lc1080),
                     ("libs", sec_libs), ("slow", sec_slow),
                     ("targets", sec_targets)):
        try:
            b = fn(None)
        except Exception as e:  # a partial results set must not stop the others
            print("report: %s: %s" % (name, e))
            b = None
        if b:
            blocks[name] = b
    try:
        f = sec_fanout(None)
        if f:
            blocks["fanout"], blocks["rss"] = f
    except Exception as e:
        print("report: fanout: %s" % e)
    if not os.path.exists(DOC):
        print("report: %s missing" % DOC)
        return 1
    with open(DOC) as fh:
        doc = fh.read()
    for name, body in blocks.items():
        doc = replace_block(doc, name, body)
    with open(DOC + ".tmp", "w") as fh:
        fh.write(doc)
    os.replace(DOC + ".tmp", DOC)
    print("report: updated docs/performance.md (%s)" % ", ".join(sorted(blocks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
