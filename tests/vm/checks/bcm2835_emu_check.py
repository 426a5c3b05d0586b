#!/usr/bin/python3
"""Checks the JPEGs of the emulated Raspberry Pi encoder against the raw frames they came from.

    tests/vm/checks/bcm2835_emu_check.py DIR

For every DIR/NAME.meta with DIR/NAME.raw and DIR/NAME.jpg (written by tests/vm/tools/bcm2835_emu in
the guest, or by its `gen` mode and any encoder on the host):
  - the JPEG's structure: SOI, one DQT holding tables 0 and 1 equal to JPEG Annex K's
    luminance/chrominance tables scaled for the meta's quality exactly as libjpeg's
    jpeg_quality_scaling() + jpeg_add_quant_table(force_baseline) do, a baseline SOF0 of the
    picture's size with 4:2:0 sampling, EOI last;
  - it decodes with two independent decoders: djpeg (libjpeg-turbo) without a warning, and
    ffmpeg into yuvj420p (the JPEG's own planes, no colour conversion);
  - every 8x8 luma block and every 16x16 MCU's chroma of ffmpeg's picture has the mean of the
    raw frame's block (RGB converted with the JFIF equations), within the DC quantiser's
    rounding: |decoded - expected| <= q_dc / 16 + 1. A meta key ignore_rows=N leaves out the
    blocks that reach into the first N rows (a camera's on-screen text that changes from frame to
    frame, when the raw frame was captured apart from the JPEG: mjpegd's guest tests).
Prints one line per file and "check: N passed, N failed"; exit status 0 only when all passed
and there was at least one. Standard library only; needs djpeg and ffmpeg on PATH.
"""
import os
import subprocess
import sys

STD_QUANT = (
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
     24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32,
)
ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
          12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
          35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
          58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
RGB = {"RGBP", "RGB3", "BGR3", "AB24", "BGR4"}


def expected_dqt(quality, table):
    """libjpeg: jpeg_quality_scaling(), then jpeg_add_quant_table(force_baseline=TRUE)."""
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - q * 2
    natural = [min(max((v * scale + 50) // 100, 1), 255) for v in STD_QUANT[table]]
    return [natural[ZIGZAG[k]] for k in range(64)]


def parse_jpeg(d):
    """Marker segments up to SOS: {'dqt': {id: [64 values]}, 'sof': (marker, h, w, comps)}."""
    if d[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    if d[-2:] != b"\xff\xd9":
        raise ValueError("no EOI at the end")
    out = {"dqt": {}, "sof": None, "app": []}
    pos = 2
    while pos + 4 <= len(d):
        if d[pos] != 0xFF:
            raise ValueError("marker expected at %d" % pos)
        m, n = d[pos + 1], d[pos + 2] << 8 | d[pos + 3]
        seg = d[pos + 4:pos + 2 + n]
        if 0xE0 <= m <= 0xEF:
            out["app"].append("APP%d %s" % (m - 0xE0, seg[:4].decode("latin-1")))
        elif m == 0xDB:
            i = 0
            while i < len(seg):
                if seg[i] >> 4:
                    raise ValueError("16-bit DQT table")
                out["dqt"][seg[i] & 15] = list(seg[i + 1:i + 65])
                i += 65
        elif m in (0xC0, 0xC1, 0xC2, 0xC3):
            comps = [(seg[6 + 3 * k], seg[7 + 3 * k], seg[8 + 3 * k]) for k in range(seg[5])]
            out["sof"] = (m, seg[1] << 8 | seg[2], seg[3] << 8 | seg[4], comps)
        elif m == 0xDA:
            return out
        pos += 2 + n
    raise ValueError("no SOS")


def up2(samples, w):
    """Chroma samples covering two pixels each -> one value per pixel."""
    a = bytearray(2 * len(samples))
    a[0::2] = samples
    a[1::2] = samples
    return a[:w]


def pixel_rows(meta, raw):
    """Yields per picture row three per-pixel channels: (Y, Cb, Cr) or (R, G, B)."""
    f, w, h = meta["fourcc"], meta["width"], meta["height"]
    bpl, hb = meta["bytesperline"], meta["buffer_height"]
    pairs = (w + 1) // 2
    for y in range(h):
        row = raw[y * bpl:(y + 1) * bpl]
        if f == "YU12":
            cs = bpl // 2
            u0 = bpl * hb + (y // 2) * cs
            v0 = bpl * hb + cs * (hb // 2) + (y // 2) * cs
            yield row[:w], up2(raw[u0:u0 + pairs], w), up2(raw[v0:v0 + pairs], w)
        elif f in ("NV12", "NV21"):
            uv = raw[bpl * hb + (y // 2) * bpl:][:2 * pairs]
            a, b = up2(uv[0::2], w), up2(uv[1::2], w)
            yield (row[:w], a, b) if f == "NV12" else (row[:w], b, a)
        elif f in ("YUYV", "YVYU", "UYVY", "VYUY"):
            oy0, ocb, oy1, ocr = {"YUYV": (0, 1, 2, 3), "YVYU": (0, 3, 2, 1),
                                  "UYVY": (1, 0, 3, 2), "VYUY": (1, 2, 3, 0)}[f]
            luma = bytearray(2 * pairs)
            luma[0::2] = row[oy0:4 * pairs:4]
            luma[1::2] = row[oy1:4 * pairs:4]
            yield luma[:w], up2(row[ocb:4 * pairs:4], w), up2(row[ocr:4 * pairs:4], w)
        elif f == "RGBP":
            r, g, b = bytearray(w), bytearray(w), bytearray(w)
            for x in range(w):
                p = row[2 * x] | row[2 * x + 1] << 8
                r5, g6, b5 = p >> 11, (p >> 5) & 63, p & 31
                r[x], g[x], b[x] = r5 << 3 | r5 >> 2, g6 << 2 | g6 >> 4, b5 << 3 | b5 >> 2
            yield r, g, b
        elif f in ("RGB3", "BGR3", "AB24", "BGR4"):
            n = 3 if f in ("RGB3", "BGR3") else 4
            ch = [row[k:n * w:n] for k in range(3)]
            yield (ch[0], ch[1], ch[2]) if f in ("RGB3", "AB24") else (ch[2], ch[1], ch[0])
        else:
            raise ValueError("unknown fourcc " + f)


def to_ycbcr(r, g, b):
    return (0.299 * r + 0.587 * g + 0.114 * b,
            -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
            0.5 * r - 0.418688 * g - 0.081312 * b + 128)


def expected_means(meta, raw):
    """{('Y', bx, by): mean} for 8x8 blocks, {('C', mx, my): (cb, cr)} for 16x16 MCUs."""
    w, h = meta["width"], meta["height"]
    nbx = (w + 7) // 8
    sums = {}  # (bx, by) -> [s0, s1, s2, n]
    for y, (c0, c1, c2) in enumerate(pixel_rows(meta, raw)):
        by = y // 8
        for bx in range(nbx):
            a, b = bx * 8, min(bx * 8 + 8, w)
            s = sums.setdefault((bx, by), [0, 0, 0, 0])
            s[0] += sum(c0[a:b])
            s[1] += sum(c1[a:b])
            s[2] += sum(c2[a:b])
            s[3] += b - a
    rgb = meta["fourcc"] in RGB
    out = {}
    mcus = {}
    for (bx, by), (s0, s1, s2, n) in sums.items():
        m = (s0 / n, s1 / n, s2 / n)
        out[("Y", bx, by)] = to_ycbcr(*m)[0] if rgb else m[0]
        t = mcus.setdefault((bx // 2, by // 2), [0, 0, 0, 0])
        for k, v in enumerate((s0, s1, s2, n)):
            t[k] += v
    for (mx, my), (s0, s1, s2, n) in mcus.items():
        m = (s0 / n, s1 / n, s2 / n)
        out[("C", mx, my)] = to_ycbcr(*m)[1:] if rgb else m[1:]
    return out


def decoded_means(w, h, yuv):
    cw, ch = (w + 1) // 2, (h + 1) // 2
    if len(yuv) != w * h + 2 * cw * ch:
        raise ValueError("ffmpeg gave %d bytes, not a %dx%d yuvj420p picture" % (len(yuv), w, h))
    planes = (yuv[:w * h], yuv[w * h:w * h + cw * ch], yuv[w * h + cw * ch:])

    def block_mean(plane, pw, ph, x0, y0, size):
        x1, y1 = min(x0 + size, pw), min(y0 + size, ph)
        vals = [sum(plane[y * pw + x0:y * pw + x1]) for y in range(y0, y1)]
        return sum(vals) / ((x1 - x0) * (y1 - y0))

    out = {}
    for by in range((h + 7) // 8):
        for bx in range((w + 7) // 8):
            out[("Y", bx, by)] = block_mean(planes[0], w, h, bx * 8, by * 8, 8)
    for my in range((h + 15) // 16):
        for mx in range((w + 15) // 16):
            out[("C", mx, my)] = (block_mean(planes[1], cw, ch, mx * 8, my * 8, 8),
                                  block_mean(planes[2], cw, ch, mx * 8, my * 8, 8))
    return out


def check(d, name):
    meta = {}
    with open(os.path.join(d, name + ".meta")) as f:
        for kv in f.read().split():
            k, v = kv.split("=", 1)
            meta[k] = int(v) if v.lstrip("-").isdigit() else v
    raw = open(os.path.join(d, name + ".raw"), "rb").read()
    need = meta["bytesperline"] * meta["buffer_height"]
    if len(raw) < need:
        raise ValueError("the raw frame has %d bytes, its layout needs at least %d"
                         % (len(raw), need))
    jpg_path = os.path.join(d, name + ".jpg")
    jpg = open(jpg_path, "rb").read()
    w, h, q = meta["width"], meta["height"], meta["quality"]

    j = parse_jpeg(jpg)
    for t in (0, 1):
        if j["dqt"].get(t) != expected_dqt(q, t):
            raise ValueError("DQT table %d is %s, libjpeg's for quality %d is %s"
                             % (t, j["dqt"].get(t, [])[:8], q, expected_dqt(q, t)[:8]))
    if not j["sof"] or j["sof"][0] != 0xC0:
        raise ValueError("not baseline (SOF0)")
    _, sh, sw, comps = j["sof"]
    if (sw, sh) != (w, h):
        raise ValueError("SOF says %dx%d, the picture is %dx%d" % (sw, sh, w, h))
    if [c[1] for c in comps] != [0x22, 0x11, 0x11]:
        raise ValueError("sampling %s is not 4:2:0" % [hex(c[1]) for c in comps])

    dj = subprocess.run(["djpeg", "-nosmooth", "-ppm", jpg_path], capture_output=True)
    if dj.returncode != 0 or dj.stderr:
        raise ValueError("djpeg: exit %d: %s" % (dj.returncode, dj.stderr.decode().strip()))
    ppm_head = dj.stdout.split(b"\n", 3)
    if ppm_head[1] != b"%d %d" % (w, h):
        raise ValueError("djpeg decoded %s, not %dx%d" % (ppm_head[1], w, h))
    ff = subprocess.run(["ffmpeg", "-v", "error", "-i", jpg_path, "-f", "rawvideo",
                         "-pix_fmt", "yuvj420p", "-"], capture_output=True)
    if ff.returncode != 0 or ff.stderr.strip():
        raise ValueError("ffmpeg: exit %d: %s" % (ff.returncode, ff.stderr.decode().strip()))

    exp = expected_means(meta, raw)
    dec = decoded_means(w, h, ff.stdout)
    worst = {"Y": 0.0, "Cb": 0.0, "Cr": 0.0}
    tol = {"Y": j["dqt"][0][0] / 16 + 1, "Cb": j["dqt"][1][0] / 16 + 1}
    tol["Cr"] = tol["Cb"]
    skip = meta.get("ignore_rows", 0)
    for key, e in exp.items():
        if key[2] * (8 if key[0] == "Y" else 16) < skip:
            continue
        got = dec[key]
        pairs = [("Y", e, got)] if key[0] == "Y" else [("Cb", e[0], got[0]), ("Cr", e[1], got[1])]
        for comp, ev, gv in pairs:
            err = abs(ev - gv)
            worst[comp] = max(worst[comp], err)
            if err > tol[comp]:
                raise ValueError("%s block %s: decoded %.2f, the raw frame's mean is %.2f "
                                 "(tolerance %.2f)" % (comp, key[1:], gv, ev, tol[comp]))
    return ("%s %dx%d q=%d %d bytes, %s, %d blocks, worst |error| Y %.2f Cb %.2f Cr %.2f "
            "(tolerance %.2f/%.2f)" % (meta["fourcc"], w, h, q, len(jpg),
                                       " ".join(j["app"]) or "no APPn", len(exp),
                                       worst["Y"], worst["Cb"], worst["Cr"], tol["Y"], tol["Cb"]))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    d = sys.argv[1]
    names = sorted(n[:-5] for n in os.listdir(d) if n.endswith(".meta")
                   and os.path.exists(os.path.join(d, n[:-5] + ".jpg")))
    passed = failed = 0
    for name in names:
        try:
            print("  PASS  %s: %s" % (name, check(d, name)))
            passed += 1
        except (ValueError, OSError, KeyError) as e:
            print("  FAIL  %s: %s" % (name, e))
            failed += 1
    print("check: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
