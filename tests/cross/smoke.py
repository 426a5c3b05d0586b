"""A short check of a running mjpegd: GET /snapshot.jpg is one whole JPEG (and decodes with djpeg
when that is installed), GET /stream.mjpg delivers a few multipart frames that are JPEGs too.
Standard library only. Usage: smoke.py HOST PORT [FRAMES]. Prints one PASS/FAIL line per check
and exits non-zero when one failed. Used by make test-cross and make test-deb.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "30"))


def jpeg_problem(data):
    """None when data is a baseline/progressive JPEG with a frame header and an end marker."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return f"no SOI marker (starts {data[:4].hex()})"
    if data[-2:] != b"\xff\xd9":
        return f"no EOI marker at the end (ends {data[-4:].hex()})"
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return f"garbage at offset {i}"
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            if not width or not height:
                return "zero-sized frame"
            return None
        if marker == 0xDA:
            return "scan before a frame header"
        i += 2 + length
    return "no SOF frame header"


def decodes(data):
    djpeg = shutil.which("djpeg")
    if not djpeg:
        return True
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        r = subprocess.run([djpeg, "-outfile", os.devnull, f.name], capture_output=True,
                           timeout=TIMEOUT)
        return r.returncode == 0 and not r.stderr


def http_get(host, port, path, max_bytes=None, until=None):
    """Returns (status line, headers dict, body bytes read)."""
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        deadline = time.monotonic() + TIMEOUT
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = int(headers["content-length"]) if "content-length" in headers else max_bytes
        while (want is None or len(body) < want) and time.monotonic() < deadline:
            if until and until(body):
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return lines[0], headers, body
    finally:
        s.close()


def stream_frames(body, boundary):
    """The JPEG parts of a multipart body (complete parts only)."""
    frames = []
    sep = b"--" + boundary
    for part in body.split(sep)[1:]:
        head, found, rest = part.partition(b"\r\n\r\n")
        if not found:
            continue
        length = None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length is not None and len(rest) >= length:
            frames.append(rest[:length])
    return frames


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    nframes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    failed = 0

    def report(ok, name, detail=""):
        nonlocal failed
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}", flush=True)

    try:
        status, headers, body = http_get(host, port, "/snapshot.jpg")
        problem = None if " 200 " in status + " " else f"status {status!r}"
        problem = problem or (None if headers.get("content-type") == "image/jpeg"
                              else f"content-type {headers.get('content-type')!r}")
        problem = problem or jpeg_problem(body) or (None if decodes(body) else "djpeg rejects it")
        report(problem is None, "GET /snapshot.jpg is a JPEG", problem or f"{len(body)} bytes")
    except (OSError, ValueError, KeyError) as e:
        report(False, "GET /snapshot.jpg is a JPEG", repr(e))

    try:
        def enough(body):
            return len(stream_frames(body, boundary)) >= nframes

        boundary = b"mjpegdframe"
        status, headers, body = http_get(host, port, "/stream.mjpg", until=enough)
        ctype = headers.get("content-type", "")
        if "boundary=" in ctype:
            boundary = ctype.split("boundary=")[1].strip('"').encode()
        frames = stream_frames(body, boundary)
        bad = [jpeg_problem(f) for f in frames[:nframes] if jpeg_problem(f)]
        ok = " 200 " in status + " " and ctype.startswith("multipart/x-mixed-replace") \
            and len(frames) >= nframes and not bad and all(decodes(f) for f in frames[:nframes])
        report(ok, f"GET /stream.mjpg gives {nframes} JPEG frames",
               f"{status!r}, {ctype!r}, {len(frames)} frames" + (f", {bad[0]}" if bad else ""))
    except (OSError, ValueError) as e:
        report(False, f"GET /stream.mjpg gives {nframes} JPEG frames", repr(e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
