"""Integration tests, area file_source (make test-integration T=file_source): The file: source: a
JPEG directory, an MJPEG file, refused combinations."""
import os
import subprocess

from harness import (Context, Daemon, check, djpeg_size, get_json, need_tool, open_stream,
                     read_parts, run_cli)
from common import test


def make_jpegs(tmp, n=4, size="320x240", sub="jpegs"):
    need_tool("ffmpeg")
    src = os.path.join(tmp, sub)
    os.makedirs(src)
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "lavfi",
                        "-i", f"testsrc=size={size}:rate=5", "-frames:v", str(n), "-q:v", "5",
                        os.path.join(src, "frame%03d.jpg")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"ffmpeg could not make test JPEGs: {p.stderr}")
    files = []
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            files.append(f.read())
    check(len(files) == n and len(set(files)) == n, "ffmpeg made fewer/identical JPEGs")
    return src, files


@test
def test_file_source_directory():
    tmp = Context.current.tmpdir
    src, files = make_jpegs(tmp)
    # Things the directory scan must skip: other files, a directory named like a JPEG, a JPEG
    # of another size (sorted last, so the first file sets the size).
    with open(os.path.join(src, "README.txt"), "w") as f:
        f.write("not an image\n")
    os.makedirs(os.path.join(src, "sub.jpg"))
    small_dir, small = make_jpegs(tmp, n=1, size="160x120", sub="small")
    with open(os.path.join(src, "zzz-small.JPG"), "wb") as f:
        f.write(small[0])
    for enc in ("passthrough", "auto"):
        d = Daemon("--source", f"file:{src}", "--encoder", enc, "--fps", "10")
        r = d.wait_frame()
        check(r.body in files, f"--encoder {enc}: snapshot is not byte-equal to any input file "
              f"({len(r.body)} bytes; inputs {[len(x) for x in files]})")
        c, parser = open_stream(d.port)
        parts = read_parts(c, parser, 10)
        c.close()
        for i, p in enumerate(parts):
            check(p.jpeg in files, f"--encoder {enc}: stream part {i} differs from every input")
        seen = {files.index(p.jpeg) for p in parts}
        check(len(seen) >= 3, f"--encoder {enc}: 10 parts at 10 fps showed only files {seen}")
        st = get_json(d.port)
        check("passthrough" in st["encoder"], f"encoder {st['encoder']!r}")
        check((st["width"], st["height"]) == (320, 240), f"size {st['width']}x{st['height']}")
        check(st["bytes_copied"] == 0 and st["bytes_copied_per_frame"] == 0,
              f"passthrough copied {st['bytes_copied']} bytes "
              f"({st['bytes_copied_per_frame']}/frame)")
        Context.current.note("daemon log: " + d.log())
        d.stop()


@test
def test_file_source_mjpeg_file():
    tmp = Context.current.tmpdir
    _, files = make_jpegs(tmp)
    _, thumb = make_jpegs(tmp, n=1, size="32x32", sub="thumb")
    # One frame carries an EXIF-style APP1 segment holding a complete small JPEG (its FFD8 and
    # FFD9 must not split the frame).
    app1 = b"Exif\0\0" + thumb[0]
    files[1] = files[1][:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + \
        files[1][2:]
    check(djpeg_size(files[1], "JPEG with APP1 thumbnail") == (320, 240), "test JPEG broken")
    mjpeg = os.path.join(tmp, "clip.mjpeg")
    with open(mjpeg, "wb") as f:
        # Junk between frames and a truncated frame at the end are skipped.
        f.write(b"leading junk" + files[0] + b"\r\n--junk\r\n" + b"".join(files[1:]) +
                b"\xff\x00 junk" + files[0][:len(files[0]) // 2])
    d = Daemon("--source", f"file:{mjpeg}", "--fps", "10")
    r = d.wait_frame()
    check(r.body in files, "snapshot differs from every JPEG of the MJPEG file")
    c, parser = open_stream(d.port)
    parts = read_parts(c, parser, 12)
    c.close()
    for i, p in enumerate(parts):
        check(p.jpeg in files, f"stream part {i} differs from every JPEG of the MJPEG file")
    seen = {files.index(p.jpeg) for p in parts}
    check(seen == set(range(len(files))), f"12 parts showed only JPEGs {sorted(seen)} of "
          f"{len(files)}")
    Context.current.note("daemon log: " + d.log())
    d.stop()


@test
def test_file_source_refusals():
    tmp = Context.current.tmpdir
    src, _ = make_jpegs(tmp, n=2)
    p = run_cli(["--source", f"file:{src}", "--encoder", "software",
                 "--listen", "127.0.0.1:0"], timeout=10)
    check(p.returncode != 0, "--source file:DIR --encoder software started")
    check("--encoder" in p.stderr, f"no mention of --encoder in: {p.stderr}")
    missing = os.path.join(tmp, "does-not-exist")
    p = run_cli(["--source", f"file:{missing}", "--listen", "127.0.0.1:0"], timeout=10)
    check(p.returncode != 0, "a missing --source file started")
    check(missing in p.stderr, f"the missing path is not named in: {p.stderr}")
