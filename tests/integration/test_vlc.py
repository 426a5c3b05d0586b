"""Integration tests, area vlc (make test-integration T=vlc): VLC plays /stream.mjpg, with and
without credentials."""
import hashlib
import os
import signal
import subprocess
import time

from harness import SLOW, Context, Daemon, check, need_tool, read_png
from common import timing_test, test, auth_users_file


def vlc_frames(url, name, want=8, seconds=20, video_filter="scene"):
    """Plays url in VLC (cvlc, no window, no audio) with its scene filter writing every decoded
    picture as a PNG (video_filter: the filter chain, ending in scene). VLC refuses to run as root: then as nobody. Returns the distinct pictures
    (PNG contents) it decoded, and its log."""
    exe = need_tool("cvlc")
    ctx = Context.current
    os.chmod(ctx.tmpdir, 0o711)
    out, home = (os.path.join(ctx.tmpdir, f"vlc-{name}-out"),
                 os.path.join(ctx.tmpdir, f"vlc-{name}-home"))
    for d in (out, home):
        os.makedirs(d)
        os.chmod(d, 0o777)
    args = [exe, "-I", "dummy", "--no-audio", "--vout", "dummy", "--no-video-title-show",
            f"--video-filter={video_filter}", f"--scene-path={out}", "--scene-format=png",
            "--scene-ratio=1", "--scene-prefix=f", url]
    if os.geteuid() == 0:
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + args
    log = os.path.join(ctx.tmpdir, f"vlc-{name}.log")
    with open(log, "wb") as f:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                             env=dict(os.environ, HOME=home), start_new_session=True)
    distinct = {}
    deadline = time.monotonic() + seconds * SLOW
    try:
        while time.monotonic() < deadline and len(distinct) < want and p.poll() is None:
            time.sleep(0.2)
            for name in sorted(os.listdir(out)):
                path = os.path.join(out, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if data.endswith(b"IEND\xaeB`\x82"):  # written whole
                    distinct.setdefault(hashlib.sha256(data).digest(), path)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    with open(log, errors="replace") as f:
        text = f.read()
    ctx.note("vlc: " + "\n".join(text.splitlines()[-8:]))
    return list(distinct.values()), text


@timing_test
def test_vlc_plays_stream():
    """The brief's clients: VLC (its http module asks with Range: bytes=0-) plays the stream,
    picture after picture, of the right size; also with credentials in the URL against
    --auth-file, which it sends after the 401 challenge."""
    users = auth_users_file()
    for extra, cred in (((), ""), (("--auth-file", users), "alice:wonderland@")):
        d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10", *extra)
        pics, text = vlc_frames(f"http://{cred}127.0.0.1:{d.port}/stream.mjpg",
                                "auth" if cred else "open")
        what = "with credentials" if cred else "without credentials"
        check(len(pics) >= 8, f"{what}: VLC decoded {len(pics)} distinct pictures in "
              f"{20 * SLOW:.0f} s: {text[-600:]!r}")
        # VLC's scene filter writes the decoder's buffer, whose height is rounded up (320x256
        # for a 320x240 JPEG); the picture is the top 240 rows.
        w, h, ch, rows = read_png(pics[-1])
        check(w == 320 and 240 <= h <= 256, f"{what}: VLC's picture is {w}x{h}")
        bars = {bytes(rows[100][x * ch:x * ch + 3]) for x in range(0, w, 8)}
        check(len(bars) >= 6, f"{what}: VLC's picture has {len(bars)} colours across the test "
              f"pattern's colour bars")
        if cred:
            check("wrong password" not in d.log() and "unknown user" not in d.log(),
                  f"VLC's credentials were refused: {d.log()[-300:]!r}")
        d.stop()
