"""Checks what tests/cross/vm.sh's guest printed on its console: the HTTP response headers and body
of /snapshot.jpg, the start of /stream.mjpg, the daemon's exit status and log. Usage:
vmcheck.py CONSOLE_LOG. Prints PASS/FAIL lines; exit status 1 when one failed.
"""
import base64
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smoke import decodes, jpeg_problem, stream_frames  # noqa: E402


def main():
    text = open(sys.argv[1], "rb").read().decode("latin-1").replace("\r", "")
    blocks = {}
    for m in re.finditer(r"^MJPEGD-VM-BEGIN (\S+)\n(.*?)^MJPEGD-VM-END \1$", text, re.S | re.M):
        try:
            blocks[m.group(1)] = base64.b64decode("".join(m.group(2).split()))
        except ValueError as e:
            blocks[m.group(1)] = f"(bad base64: {e})".encode()
    failed = 0

    def report(ok, name, detail=""):
        nonlocal failed
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}", flush=True)

    kernel = re.search(r"^MJPEGD-VM kernel (.*)$", text, re.M)
    if not kernel:
        print(text[-3000:])
        report(False, "guest booted and ran /init")
        return 1
    where = f"guest kernel {kernel.group(1)}"
    hdr = blocks.get("snapshot.hdr", b"").decode("latin-1")
    snap = blocks.get("snapshot.jpg", b"")
    problem = None if re.search(r"HTTP/1\.[01] 200", hdr) else f"status: {hdr.strip()[:200]!r}"
    problem = problem or (None if re.search(r"(?i)content-type: image/jpeg", hdr)
                          else "no Content-Type: image/jpeg")
    problem = problem or jpeg_problem(snap) or (None if decodes(snap) else "djpeg rejects it")
    report(problem is None, f"{where}: GET /snapshot.jpg is a JPEG", problem or f"{len(snap)} bytes")
    frames = stream_frames(blocks.get("stream.bin", b""), b"mjpegdframe")
    bad = [p for p in (jpeg_problem(f) for f in frames[:3]) if p]
    report(len(frames) >= 3 and not bad and all(decodes(f) for f in frames[:3]),
           f"{where}: GET /stream.mjpg gives 3 JPEG frames",
           f"{len(frames)} frames" + (f", {bad[0]}" if bad else ""))
    m = re.search(r"^MJPEGD-VM daemon-exit (\d+)$", text, re.M)
    code = m.group(1) if m else None
    if code != "0":
        print(blocks.get("daemon.log", b"(no daemon log)").decode("utf-8", "replace"))
    report(code == "0", f"{where}: mjpegd stops cleanly on SIGTERM", f"exit {code}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
