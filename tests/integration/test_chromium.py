"""Integration tests, area chromium (make test-integration T=chromium): Headless Chromium paints
the stream."""
import os
import time

from harness import Context, Daemon, check
from common import timing_test, test, chromium_screenshot


@timing_test
def test_chromium_page():
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10")
    d.wait_frame()
    url = f"http://127.0.0.1:{d.port}/"
    tmp = Context.current.tmpdir
    shots = []
    for i in range(2):
        if i:
            time.sleep(1.0)
        shots.append(chromium_screenshot(url, os.path.join(tmp, f"shot{i}.png")))
    (w, h, ch, rows0), (_, _, _, rows1) = shots
    check((w, h) == (800, 600), f"screenshot is {w}x{h}")
    # The page centres the 320x240 <img> at the top (body margin 0, img margin 0 auto).
    x0, x1, y1 = (w - 320) // 2, (w + 320) // 2, 240

    def region(rows):
        return [bytes(r[x0 * ch:x1 * ch]) for r in rows[:y1]]

    r0, r1 = region(rows0), region(rows1)
    colours = set()
    for row in r0[::4]:
        for x in range(0, len(row), ch * 4):
            colours.add(row[x:x + 3])
    check(len(colours) >= 8, f"the stream area of the screenshot has only {len(colours)} "
          f"colours: the image was not drawn")
    bg = bytes([0x11, 0x11, 0x11])
    check(rows0[300][0:3] == bg or rows0[599][0:3] == bg,
          f"page background is not #111 (layout changed?): {rows0[599][0:3]!r}")
    changed = sum(1 for a, b in zip(r0, r1) if a != b)
    check(changed >= 5, f"the stream area is the same in two screenshots 1 s apart "
          f"({changed} rows differ)")
    outside = sum(1 for a, b in zip(rows0[y1 + 60:], rows1[y1 + 60:]) if a != b)
    Context.current.note(f"rows changed: stream area {changed}, below the figures {outside}")
    d.stop()
