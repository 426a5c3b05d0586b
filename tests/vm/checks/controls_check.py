#!/usr/bin/python3
"""Checks what a guest test's camera controls did to the served picture.

    tests/vm/checks/controls_check.py DIR

DIR/expect holds one expectation per line, about JPEGs in DIR (written by the guest test):
    brighter A.jpg B.jpg D     mean luma of B exceeds A's by at least D (0..255)
    differs A.jpg B.jpg D      mean absolute luma difference of the two pictures is at least D
    grey A.jpg D               mean |Cb - 128| + |Cr - 128| of A is at most D (saturation 0)
Decodes with djpeg (libjpeg-turbo): -grayscale for luma, and the colour picture converted to
YCbCr with the JFIF equations for chroma. Prints one line per expectation and
"check: N passed, N failed"; exit status 0 only when all passed and there was at least one.
Standard library only.
"""
import os
import re
import subprocess
import sys


def decode(path, grey):
    args = ["djpeg", "-pnm"] + (["-grayscale"] if grey else [])
    with open(path, "rb") as f:
        p = subprocess.run(args, stdin=f, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise ValueError(f"djpeg: {p.stderr.decode(errors='replace')}")
    m = re.match(rb"P([56])\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    if not m:
        raise ValueError("djpeg gave no PNM")
    return int(m.group(2)), int(m.group(3)), p.stdout[m.end():]


def luma(path):
    return decode(path, True)[2]


def chroma_deviation(path):
    _, _, rgb = decode(path, False)
    total, n = 0.0, len(rgb) // 3
    for i in range(0, n * 3, 3 * 7):  # every 7th pixel: plenty for a mean
        r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
        cb = -0.168736 * r - 0.331264 * g + 0.5 * b
        cr = 0.5 * r - 0.418688 * g - 0.081312 * b
        total += abs(cb) + abs(cr)
    return total / max(1, len(range(0, n * 3, 3 * 7)))


def main():
    d = sys.argv[1]
    passed = failed = 0
    with open(os.path.join(d, "expect")) as f:
        lines = [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]
    for words in lines:
        kind = words[0]
        try:
            if kind == "brighter":
                a, b = luma(os.path.join(d, words[1])), luma(os.path.join(d, words[2]))
                ma, mb = sum(a) / len(a), sum(b) / len(b)
                ok = mb >= ma + float(words[3])
                text = f"mean luma {ma:.1f} → {mb:.1f} (want +{words[3]})"
            elif kind == "differs":
                a, b = luma(os.path.join(d, words[1])), luma(os.path.join(d, words[2]))
                n = min(len(a), len(b))
                diff = sum(abs(a[i] - b[i]) for i in range(0, n, 5)) / len(range(0, n, 5))
                ok = len(a) == len(b) and diff >= float(words[3])
                text = f"mean |difference| {diff:.1f} (want ≥ {words[3]})"
            elif kind == "grey":
                dev = chroma_deviation(os.path.join(d, words[1]))
                ok = dev <= float(words[2])
                text = f"mean chroma deviation {dev:.1f} (want ≤ {words[2]})"
            else:
                ok, text = False, "unknown expectation"
        except (OSError, ValueError) as e:
            ok, text = False, str(e)
        print(f"{'PASS' if ok else 'FAIL'}  {' '.join(words)}: {text}")
        passed += ok
        failed += not ok
    print(f"check: {passed} passed, {failed} failed")
    sys.exit(0 if passed and not failed else 1)


if __name__ == "__main__":
    main()
