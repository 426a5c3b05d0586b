"""Integration tests, area rotation (make test-integration T=rotation): --rotation 0|90|180|270
with --hflip/--vflip. The test pattern cannot turn its pictures, so the whole orientation goes in
an EXIF Orientation tag; browsers (headless Chromium and Firefox) draw /stream.mjpg and
/snapshot.jpg in an <img> whose width and height are swapped for 90 and 270, and the pattern's
orange corner marker (top-right as drawn) must be where the rotation puts it. Also: the EXIF
segment parsed out of every part and snapshot, Content-Length counting it, bytes_copied staying
0, SIGHUP changing the rotation under a connected viewer, a JPEG that has its own Exif (one
Orientation tag sent, ours), bad values, and which other clients follow the tag (ffmpeg, OpenCV's
imdecode) or not (ffplay, VLC, OpenCV's VideoCapture) with the rotation docs/integrations.md
gives for those."""
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import (SLOW, Context, Daemon, TestFailure, TestSkipped, check, get_json, need_tool,
                     open_stream, read_parts, read_png, run_cli)
from common import timing_test, test, chromium_screenshot

SIZE = (320, 240)
MARKER = min(SIZE) // 8  # the test pattern's marker side (src/source/testpattern.c)
TRAILER = b"\r\n--mjpegdframe\r\n"


# ------------------------------------------------------------------------------- the model

def marker_corner(rotation, hflip, vflip):
    """Where the marker (top-right as drawn) is seen: mirrors first, then the clockwise turn
    (docs/configuration.md). Corners as (x, y), each 0 or 1, y down."""
    x, y = 1, 0
    if hflip:
        x = 1 - x
    if vflip:
        y = 1 - y
    for _ in range(rotation // 90):
        x, y = 1 - y, x  # a clockwise quarter turn: top-left → top-right → bottom-right
    return x, y


def exif_value(rotation, hflip, vflip):
    """The EXIF Orientation for the whole orientation (a source that cannot flip)."""
    table = {  # (rotation, hflip, vflip) with the mirrors first: CIPA DC-008's eight
        (0, False, False): 1, (0, True, False): 2, (0, False, True): 4, (0, True, True): 3,
        (90, False, False): 6, (90, True, False): 7, (90, False, True): 5, (90, True, True): 8,
        (180, False, False): 3, (180, True, False): 4, (180, False, True): 2,
        (180, True, True): 1,
        (270, False, False): 8, (270, True, False): 5, (270, False, True): 7,
        (270, True, True): 6,
    }
    return table[(rotation, hflip, vflip)]


# The eight orientations, one flag combination each.
EIGHT = [(0, False, False), (0, True, False), (180, False, False), (0, False, True),
         (90, False, True), (90, False, False), (90, True, False), (270, False, False)]


def flags(rotation, hflip, vflip):
    return ["--rotation", str(rotation)] + (["--hflip"] if hflip else []) + \
        (["--vflip"] if vflip else [])


# ------------------------------------------------------------------------------- JPEG/EXIF

def jpeg_segments(jpeg):
    """The marker segments before the scan: [(offset, marker, bytes incl. marker)]."""
    check(jpeg[:2] == b"\xff\xd8", f"not a JPEG: {jpeg[:8]!r}")
    p, out = 2, []
    while p + 4 <= len(jpeg):
        check(jpeg[p] == 0xff, f"no marker at {p}: {jpeg[p:p + 4]!r}")
        m = jpeg[p + 1]
        if m == 0xda:
            break
        n = struct.unpack(">H", jpeg[p + 2:p + 4])[0]
        out.append((p, m, jpeg[p:p + 2 + n]))
        p += 2 + n
    return out


def exif_orientations(jpeg):
    """Every Orientation tag in every APP1 Exif segment, in order, read by a small TIFF reader."""
    found = []
    for _off, m, seg in jpeg_segments(jpeg):
        if m != 0xe1 or seg[4:10] != b"Exif\0\0":
            continue
        tiff = seg[10:]
        e = {b"MM": ">", b"II": "<"}.get(tiff[:2])
        check(e and struct.unpack(e + "H", tiff[2:4])[0] == 42, f"bad TIFF header {tiff[:8]!r}")
        ifd = struct.unpack(e + "I", tiff[4:8])[0]
        count = struct.unpack(e + "H", tiff[ifd:ifd + 2])[0]
        for i in range(count):
            tag, typ, n = struct.unpack(e + "HHI", tiff[ifd + 2 + 12 * i:ifd + 10 + 12 * i])
            if tag == 0x0112:
                check(typ == 3 and n == 1, f"Orientation of type {typ}, count {n}")
                found.append(struct.unpack(e + "H", tiff[ifd + 10 + 12 * i:ifd + 12 + 12 * i])[0])
    return found


def check_oriented(jpeg, want, what):
    """want 1: no Exif at all; else exactly one Orientation, ours, in an APP1 right after SOI."""
    got = exif_orientations(jpeg)
    if want == 1:
        check(got == [], f"{what}: Orientation tags {got}, want none")
        return
    check(got == [want], f"{what}: Orientation tags {got}, want [{want}]")
    check(jpeg[2:4] == b"\xff\xe1" and jpeg[6:12] == b"Exif\0\0",
          f"{what}: the Exif segment is not right after SOI: {jpeg[:16]!r}")


# ------------------------------------------------------------------------------- pictures

def is_marker(px):
    r, g, b = px[0], px[1], px[2]
    return r > 200 and 70 < g < 190 and b < 90  # orange (255, 128, 0) after JPEG


def check_corners(shot, box, corner, what):
    """box: (x, y, w, h) of the <img> in the screenshot; the marker must be in corner and in
    no other."""
    w, h, ch, rows = shot
    x0, y0, bw, bh = box
    inset = MARKER // 2
    seen = {}
    for cx in (0, 1):
        for cy in (0, 1):
            x = x0 + (bw - 1 - inset if cx else inset)
            y = y0 + (bh - 1 - inset if cy else inset)
            check(0 <= x < w and 0 <= y < h, f"{what}: ({x}, {y}) outside the {w}x{h} shot")
            seen[(cx, cy)] = tuple(rows[y][x * ch:x * ch + 3])
    hits = [c for c, px in seen.items() if is_marker(px)]
    check(hits == [corner], f"{what}: the marker is at {hits}, want {corner} "
          f"(corner pixels {seen})")


def page(path, imgs, bg="#123456"):
    """An HTML page of <img>s at fixed places: imgs [(src, x, y, w, h)]."""
    body = "".join(f'<img src="{src}" width="{w}" height="{h}" style="left:{x}px;top:{y}px">\n'
                   for src, x, y, w, h in imgs)
    with open(path, "w") as f:
        f.write("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
                f"body{{margin:0;background:{bg}}}"
                "img{position:absolute;display:block}</style></head><body>\n"
                f"{body}</body></html>\n")
    return "file://" + path


def firefox_screenshot(url, out, size):
    """firefox-esr --headless --screenshot: it shoots once the page has loaded (so a stream it
    shows must end: see StreamRelay)."""
    exe = need_tool("firefox-esr")
    home = os.path.join(Context.current.tmpdir, f"firefox-{os.path.basename(out)}")
    profile = os.path.join(home, "profile")
    os.makedirs(profile)
    args = [exe, "--headless", "--no-remote", "--profile", profile, "--screenshot", out,
            "--window-size", size, url]
    try:
        p = subprocess.run(args, capture_output=True, text=True, errors="replace",
                           timeout=60 * SLOW, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, HOME=home), start_new_session=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("firefox did not finish within 60 s")
    Context.current.note(f"firefox rc={p.returncode}: {p.stderr[-400:]}")
    check(p.returncode == 0 and os.path.exists(out),
          f"firefox --screenshot failed (rc {p.returncode}): {p.stderr[-300:]}")
    return read_png(out)


class StreamRelay:
    """Passes /stream.mjpg through unchanged for its first `parts` parts, then ends it with the
    closing delimiter ("--mjpegdframe--") and closes: Firefox's --screenshot waits for the page
    to finish loading, which a live stream never does. Every byte of those parts (part header,
    EXIF segment, JPEG) is the daemon's."""

    def __init__(self, upstream_port, parts=3):
        self.upstream = upstream_port
        self.parts = parts
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.relayed = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(10)
            req = b""
            while b"\r\n\r\n" not in req:
                chunk = c.recv(4096)
                if not chunk:
                    return
                req += chunk
            u = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            u.sendall(req)
            buf = b""
            while buf.count(TRAILER) < self.parts:
                chunk = u.recv(65536)
                if not chunk:
                    break
                buf += chunk
            u.close()
            end = 0
            for _ in range(self.parts):
                end = buf.index(TRAILER, end) + len(TRAILER)
            c.sendall(buf[:end - len(TRAILER)] + b"\r\n--mjpegdframe--\r\n")
            self.relayed += 1
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


def swapped(rotation):
    return (SIZE[1], SIZE[0]) if rotation in (90, 270) else SIZE


# ------------------------------------------------------------------------------- tests

@timing_test
def test_rotation_eight_snapshots_chromium():
    """All eight orientations (one daemon each, the test pattern): each snapshot carries the one
    Orientation tag expected, with a Content-Length that counts it; headless Chromium draws the
    eight snapshots, width and height swapped for 90/270, the marker where the flags put it."""
    daemons = []
    for rot, h, v in EIGHT:
        d = Daemon("--source", "testpattern", "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", "5",
                   *flags(rot, h, v))
        daemons.append(d)
    imgs, boxes = [], []
    for i, ((rot, h, v), d) in enumerate(zip(EIGHT, daemons)):
        r = d.wait_frame()
        want = exif_value(rot, h, v)
        check(int(r.header("content-length")) == len(r.body), "snapshot Content-Length")
        check_oriented(r.body, want, f"rotation {rot} hflip {h} vflip {v}")
        st = get_json(d.port)
        check(st["orientation"]["exif_orientation"] == want, f"/status {st['orientation']}")
        check(st["orientation"]["sensor"] == {"rotation": 0, "hflip": False, "vflip": False},
              f"the test pattern has no sensor to turn: {st['orientation']}")
        w, hh = swapped(rot)
        x, y = 10 + (i % 4) * 340, 10 + (i // 4) * 340
        imgs.append((f"http://127.0.0.1:{d.port}/snapshot.jpg", x, y, w, hh))
        boxes.append((x, y, w, hh))
    tmp = Context.current.tmpdir
    url = page(os.path.join(tmp, "eight.html"), imgs)
    shot = chromium_screenshot(url, os.path.join(tmp, "eight.png"), size="1380,700")
    for (rot, h, v), box in zip(EIGHT, boxes):
        check_corners(shot, box, marker_corner(rot, h, v),
                      f"Chromium, snapshot, rotation {rot} hflip {h} vflip {v}")
    for d in daemons:
        st = get_json(d.port)
        check(st["bytes_copied"] == 0, f"bytes_copied {st['bytes_copied']}")
        d.stop()


def stream_and_snapshot_page(tmp, name, daemons, stream_port=None):
    imgs, expect = [], []
    for i, (rot, d) in enumerate(daemons):
        w, h = swapped(rot)
        sport = stream_port(d) if stream_port else d.port
        x0 = 10 + i * 2 * 260
        imgs.append((f"http://127.0.0.1:{sport}/stream.mjpg", x0, 10, w, h))
        imgs.append((f"http://127.0.0.1:{d.port}/snapshot.jpg", x0 + 260, 10, w, h))
        expect += [(f"stream, rotation {rot}", (x0, 10, w, h), marker_corner(rot, False, False)),
                   (f"snapshot, rotation {rot}", (x0 + 260, 10, w, h),
                    marker_corner(rot, False, False))]
    return page(os.path.join(tmp, name), imgs), expect


@timing_test
def test_rotation_90_270_chromium_and_firefox():
    """--rotation 90 and 270: /stream.mjpg and /snapshot.jpg side by side in <img>s of 240x320,
    in headless Chromium and in headless Firefox (firefox-esr); the marker bottom-right for 90,
    top-left for 270 in all eight pictures. Firefox is shown the stream through a relay that
    ends it after 3 parts (its --screenshot waits for the page to load)."""
    daemons = [(rot, Daemon("--source", "testpattern", "--size", f"{SIZE[0]}x{SIZE[1]}",
                            "--fps", "10", "--rotation", str(rot))) for rot in (90, 270)]
    for _rot, d in daemons:
        d.wait_frame()
    tmp = Context.current.tmpdir
    url, expect = stream_and_snapshot_page(tmp, "chromium.html", daemons)
    shot = chromium_screenshot(url, os.path.join(tmp, "chromium.png"), size="1060,360")
    for what, box, corner in expect:
        check_corners(shot, box, corner, f"Chromium, {what}")

    relays = {d.port: StreamRelay(d.port) for _rot, d in daemons}
    try:
        url, expect = stream_and_snapshot_page(tmp, "firefox.html", daemons,
                                               stream_port=lambda d: relays[d.port].port)
        shot = firefox_screenshot(url, os.path.join(tmp, "firefox.png"), "1060,360")
        check(all(r.relayed for r in relays.values()),
              f"Firefox did not ask for both streams: {[r.relayed for r in relays.values()]}")
        for what, box, corner in expect:
            check_corners(shot, box, corner, f"Firefox, {what}")
    finally:
        for r in relays.values():
            r.close()
    for _rot, d in daemons:
        check(get_json(d.port)["bytes_copied"] == 0, "bytes_copied")
        d.stop()


@timing_test
def test_rotation_page_upright():
    """The built-in page (/) with --rotation 90 in headless Chromium: its <img> is as tall as the
    picture is wide (the EXIF turn applies: image-orientation from-image), the marker at the
    bottom right."""
    d = Daemon("--source", "testpattern", "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", "10",
               "--rotation", "90")
    d.wait_frame()
    shot = chromium_screenshot(f"http://127.0.0.1:{d.port}/",
                               os.path.join(Context.current.tmpdir, "page.png"))
    w = shot[0]
    # the page centres its <img> at the top (body margin 0, img margin 0 auto)
    bw, bh = swapped(90)
    check_corners(shot, ((w - bw) // 2, 0, bw, bh), marker_corner(90, False, False),
                  "the page's own view")
    # below the picture: the page's background, not a stretched 320x240 image
    row = shot[3][bh + 4]
    px = tuple(row[(w // 2) * shot[2]:(w // 2) * shot[2] + 3])
    check(px == (0x11, 0x11, 0x11), f"below the 320-pixel-tall picture: {px}, want #111")
    d.stop()


@test
def test_rotation_stream_parts_and_sighup():
    """Every stream part carries the segment (its Content-Length counts it; each part parses
    strictly); SIGHUP with another rotation changes the tag from the next frames on, under the
    same connection, without reopening the test pattern; bytes_copied stays 0."""
    conf = os.path.join(Context.current.tmpdir, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nfps = 20\nrotation = 90\n")
    d = Daemon("--config", conf)
    conn, parser = open_stream(d.port)
    parts = read_parts(conn, parser, 3)
    for i, p in enumerate(parts):
        check(len(p.jpeg) == int(p.headers["content-length"]), "part length")
        check_oriented(p.jpeg, 6, f"part {i}")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nfps = 20\nrotation = 270\nhflip = true\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    seen = []
    while time.monotonic() < deadline:
        p = read_parts(conn, parser, 1)[0]
        tags = exif_orientations(p.jpeg)
        seen.append(tags)
        if tags == [5]:
            break
    check(seen and seen[-1] == [5], f"after SIGHUP (270, hflip → 5) the parts carried {seen}")
    for p in read_parts(conn, parser, 3):
        check_oriented(p.jpeg, 5, "after SIGHUP")
    st = get_json(d.port)
    check(st["orientation"]["exif_orientation"] == 5 and st["orientation"]["rotation"] == 270,
          f"/status after SIGHUP: {st['orientation']}")
    check(st["clients"]["streams"] == 1, f"the viewer was dropped: {st['clients']}")
    check(st["devices"]["source"]["restarts"] == 0, f"the source was reopened: {st['devices']}")
    check("source: reopening" not in d.log(), "SIGHUP reopened the source for an EXIF change")
    check(st["bytes_copied"] == 0, f"bytes_copied {st['bytes_copied']}")
    # back to 0: no segment at all
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nfps = 20\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        p = read_parts(conn, parser, 1)[0]
        if not exif_orientations(p.jpeg):
            break
    check_oriented(p.jpeg, 1, "after SIGHUP to rotation 0")
    # a bad value on SIGHUP: refused, the running rotation kept
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 320x240\nfps = 20\nrotation = 45\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.3 * SLOW)
    check("rotation: '45' is not a rotation (0 | 90 | 180 | 270)" in d.log(),
          f"SIGHUP with rotation 45: {d.log()[-400:]}")
    check_oriented(read_parts(conn, parser, 1)[0].jpeg, 1, "after a refused SIGHUP")
    conn.close()
    d.stop()


@test
def test_rotation_own_exif_replaced():
    """A JPEG with an Exif segment of its own (the file source replaying a picture whose
    Orientation is 3): with --rotation 90 it is sent with exactly one Orientation tag, ours
    (6), the rest of its bytes unchanged; with --rotation 0, exactly as it is. No byte copied."""
    src = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "5", "--rotation", "180")
    original = src.wait_frame().body
    src.stop()
    check(exif_orientations(original) == [3], "the test picture has its own Orientation 3")
    path = os.path.join(Context.current.tmpdir, "own-exif.jpg")
    with open(path, "wb") as f:
        f.write(original)
    without_own = original[:2] + original[2 + 36:]
    for rot, want in ((90, 6), (0, 3)):
        d = Daemon("--source", f"file:{path}", "--fps", "5", "--rotation", str(rot))
        body = d.wait_frame().body
        check(exif_orientations(body) == [want], f"--rotation {rot}: Orientation tags "
              f"{exif_orientations(body)}, want [{want}]")
        if rot:
            check(body[:2] + body[2 + 36:] == without_own,
                  f"--rotation {rot}: the picture's other bytes changed")
        else:
            check(body == original, "--rotation 0: the picture was changed")
        conn, parser = open_stream(d.port)
        p = read_parts(conn, parser, 1)[0]
        check(exif_orientations(p.jpeg) == [want], f"stream part: {exif_orientations(p.jpeg)}")
        conn.close()
        check(get_json(d.port)["bytes_copied"] == 0, "bytes_copied")
        d.stop()


@test
def test_rotation_bad_values():
    """--rotation 45 (and 360, -90, 90.0) and a config file's rotation = 45: a start-up error
    naming the option and the four values it takes."""
    for v in ("45", "360", "-90", "90.0"):
        p = run_cli(["--source", "testpattern", "--rotation", v])
        check(p.returncode != 0, f"--rotation {v} started")
        check(f"--rotation: '{v}' is not a rotation (0 | 90 | 180 | 270)" in p.stderr,
              f"--rotation {v}: {p.stderr!r}")
    conf = os.path.join(Context.current.tmpdir, "bad.conf")
    with open(conf, "w") as f:
        f.write("rotation = 45\n")
    p = run_cli(["--config", conf])
    check(p.returncode != 0 and "rotation: '45' is not a rotation (0 | 90 | 180 | 270)"
          in p.stderr, f"config rotation = 45: {p.returncode} {p.stderr!r}")


@test
def test_rotation_ffmpeg():
    """What ffmpeg (the command-line tool, Debian's build) makes of the tag: it turns the
    picture (autorotate) for the snapshot and for the stream; the marker lands bottom-right for
    --rotation 90. (Recorded for docs/integrations.md: a client that honours the tag.)"""
    exe = need_tool("ffmpeg")
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", "--rotation", "90")
    d.wait_frame()
    tmp = Context.current.tmpdir
    for what in ("snapshot.jpg", "stream.mjpg"):
        out = os.path.join(tmp, f"ffmpeg-{what}.png")
        p = subprocess.run([exe, "-v", "error", "-y", "-i", f"http://127.0.0.1:{d.port}/{what}",
                            "-frames:v", "1", "-pix_fmt", "rgb24", out],
                           capture_output=True, text=True, timeout=30 * SLOW,
                           stdin=subprocess.DEVNULL)
        check(p.returncode == 0, f"ffmpeg {what}: {p.stderr[-300:]}")
        shot = read_png(out)
        check((shot[0], shot[1]) == (240, 320), f"ffmpeg {what}: {shot[0]}x{shot[1]}")
        check_corners(shot, (0, 0, 240, 320), marker_corner(90, False, False), f"ffmpeg {what}")
    d.stop()


@test
def test_rotation_vlc_transform():
    """VLC, a client that shows the picture as the camera took it: its decoded pictures (the
    scene filter) of a --rotation 90 stream are 320x240 with the marker top-right, and with the
    rotation docs/integrations.md gives (--video-filter=transform{type=90}) 240x320 with the
    marker bottom-right."""
    from test_vlc import vlc_frames
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", "--rotation", "90")
    d.wait_frame()
    url = f"http://127.0.0.1:{d.port}/stream.mjpg"
    for name, extra, size, corner in (
            ("plain", "scene", (320, 240), marker_corner(0, False, False)),
            ("transform", "transform{type=90}:scene", (240, 320),
             marker_corner(90, False, False))):
        pics, text = vlc_frames(url, name, want=2, seconds=20, video_filter=extra)
        check(pics, f"VLC ({name}) decoded no picture: {text[-400:]!r}")
        shot = read_png(pics[-1])
        # The scene filter writes the decoder's buffer, its rows rounded up to 16 (320x256):
        # below the picture, or turned with it to its left.
        w, h = shot[0], shot[1]
        if name == "plain":
            ok, box = w == 320 and 240 <= h <= 256, (0, 0, 320, 240)
        else:
            ok, box = h == 320 and 240 <= w <= 256, (w - 240, 0, 240, 320)
        check(ok, f"VLC ({name}): {w}x{h}, want {size[0]}x{size[1]} (+ up to 16 rows)")
        check_corners(shot, box, corner, f"VLC ({name})")
    d.stop()


def ffplay_picture_size(url, vf=None):
    """The size of the pictures ffplay shows (SDL's dummy video driver: no window), read from its
    debug log: the output of the last filter of its graph ("... -> w:W h:H"), and whether ffplay
    put a transpose of its own in the graph (ffplay_transpose: it follows the picture's
    orientation, as ffplay 7 does)."""
    exe = need_tool("ffplay")
    args = [exe, "-hide_banner", "-loglevel", "debug", "-nostats", "-an", "-autoexit"]
    if vf:
        args += ["-vf", vf]
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    try:
        p = subprocess.run(args + [url], capture_output=True, text=True, errors="replace",
                           timeout=30 * SLOW, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"ffplay {url} did not exit: {str(e.stderr)[-300:]}")
    sizes = re.findall(r"\] w:\d+ h:\d+ [^\n]*?-> w:(\d+) h:(\d+)", p.stderr)
    check(sizes, f"ffplay {vf or ''}: no filter graph in its log: {p.stderr[-400:]!r}")
    return tuple(int(v) for v in sizes[-1]), "ffplay_transpose" in p.stderr


def ffplay_version():
    out = subprocess.run([need_tool("ffplay"), "-version"], capture_output=True, text=True,
                         errors="replace").stdout
    m = re.search(r"ffplay version (?:n)?(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@test
def test_rotation_ffplay():
    """ffplay 5.1 (Debian 12), unlike the ffmpeg command line, does not turn the picture: its
    autorotate reads the stream's display matrix, not the frames' one the JPEG decoder makes of
    the tag (its filter graph shows 320x240 for a --rotation 90 snapshot); -vf transpose=1, the
    rotation docs/integrations.md gives for it, shows 240x320. ffplay 7 (Debian 13) follows the
    tag: it puts a transpose of its own in the graph and shows 240x320 unasked."""
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", "--rotation", "90")
    d.wait_frame()
    url = f"http://127.0.0.1:{d.port}/snapshot.jpg"
    version = ffplay_version()
    size, auto = ffplay_picture_size(url)
    Context.current.note(f"ffplay {version[0]}.{version[1]}: {size[0]}x{size[1]}, "
                         f"{'follows the tag' if auto else 'ignores the tag'}")
    if version >= (7, 0):
        check(auto and size == (240, 320),
              f"ffplay {version[0]}.{version[1]} shows {size[0]}x{size[1]} (auto transpose: "
              f"{auto}); docs/integrations.md says ffplay 7 follows the tag")
    else:
        check(not auto and size == (320, 240),
              f"ffplay {version[0]}.{version[1]} shows {size[0]}x{size[1]}: it turns the picture "
              "now? (docs/integrations.md says ffplay 5 does not)")
        size, _ = ffplay_picture_size(url, "transpose=1")
        check(size == (240, 320), f"ffplay -vf transpose=1 shows {size[0]}x{size[1]}")
    d.stop()


@test
def test_rotation_opencv():
    """OpenCV (python3-opencv, which scripts/deps.sh bench installs; skipped without it):
    cv2.imdecode of a --rotation 90 snapshot follows the tag (320 rows, marker bottom-right);
    cv2.VideoCapture of the stream does not (240 rows, marker top-right), even with
    CAP_PROP_ORIENTATION_AUTO; cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE), the rotation
    docs/integrations.md gives, puts the marker bottom-right."""
    try:
        import cv2
        import numpy
    except ImportError:
        raise TestSkipped("no python3-opencv (scripts/deps.sh bench installs it)")
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", "--rotation", "90")
    body = d.wait_frame().body

    def as_shot(img):  # (w, h, channels, rows of RGB bytes) as read_png gives
        rgb = img[:, :, ::-1]
        return (img.shape[1], img.shape[0], 3, [bytes(r.tobytes()) for r in rgb])

    still = cv2.imdecode(numpy.frombuffer(body, numpy.uint8), cv2.IMREAD_COLOR)
    check(still.shape[:2] == (320, 240), f"cv2.imdecode: {still.shape}")
    check_corners(as_shot(still), (0, 0, 240, 320), marker_corner(90, False, False),
                  "cv2.imdecode")
    cap = cv2.VideoCapture(f"http://127.0.0.1:{d.port}/stream.mjpg")
    if hasattr(cv2, "CAP_PROP_ORIENTATION_AUTO"):
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    ok, frame = cap.read()
    cap.release()
    check(ok, "cv2.VideoCapture read no frame")
    check(frame.shape[:2] == (240, 320), f"cv2.VideoCapture: {frame.shape} (turned now?)")
    check_corners(as_shot(frame), (0, 0, 320, 240), marker_corner(0, False, False),
                  "cv2.VideoCapture")
    turned = cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    check_corners(as_shot(turned), (0, 0, 240, 320), marker_corner(90, False, False),
                  "cv2.rotate(ROTATE_90_CLOCKWISE)")
    d.stop()
