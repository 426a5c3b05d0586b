"""Integration tests, area controls (make test-integration T=controls): Camera controls: GET/POST
/controls, colour gains, cross-site refusals, read-only and the state file, credentials, the
page's panel in Chromium."""
import json
import os
import re
import socket
import subprocess
import time

from harness import (Conn, Context, Daemon, TestFailure, check, get_json, need_tool, read_png,
                     request, request_bytes)
import harness
from common import test, auth_users_file


def luma_mean(jpeg):
    """Mean of the decoded picture's luma (djpeg -grayscale)."""
    need_tool("djpeg")
    p = subprocess.run(["djpeg", "-grayscale", "-pnm"], input=jpeg, capture_output=True,
                       timeout=20)
    check(p.returncode == 0, f"djpeg failed: {p.stderr!r}")
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    check(m, "djpeg -grayscale did not give a PGM")
    pixels = p.stdout[m.end():]
    return sum(pixels) / len(pixels)


def post(port, path, body, content_type="application/json", headers=None):
    c = Conn(port)
    try:
        h = {"Connection": "close", "Content-Type": content_type,
             "Content-Length": str(len(body))}
        h.update(headers or {})
        c.send(request_bytes("POST", path, h, body=body.encode()))
        return c.read_response()
    finally:
        c.close()


def controls_by_name(port):
    doc = get_json(port, "/controls")
    return doc, {c["name"]: c for c in doc["controls"]}


def fresh_snapshot(d, after):
    """A snapshot taken from a frame made after time.monotonic() `after` (+ a frame's slack)."""
    time.sleep(max(0.0, after + 0.3 - time.monotonic()))
    r = request(d.port, "GET", "/snapshot.jpg")
    check(r.status == 200, f"snapshot: {r.status}")
    return r.body


@test
def test_controls_get_post():
    """The test pattern's controls: listed with their ranges, set all together by JSON or form,
    refused whole (nothing half-applied) with the control and its range named, while 2 stream
    clients keep getting frames; the picture follows (mean luma)."""
    from pool import StreamPool
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "20")
    doc, ctl = controls_by_name(d.port)
    check(doc["writable"] is True, f"writable {doc['writable']!r}")
    check(set(ctl) == {"brightness", "saturation", "overlay", "colour_gains"},
          f"controls {sorted(ctl)}")
    b = ctl["brightness"]
    check((b["type"], b["min"], b["max"], b["step"], b["default"], b["value"]) ==
          ("integer", -100, 100, 1, 0, 0), f"brightness {b}")
    check(ctl["overlay"]["type"] == "boolean" and ctl["overlay"]["value"] is True,
          f"overlay {ctl['overlay']}")
    pool = StreamPool(d.port, 2)
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 2, timeout=5)
    base = luma_mean(fresh_snapshot(d, time.monotonic()))

    r = post(d.port, "/controls", '{"brightness": 80, "overlay": false}')
    check(r.status == 200, f"POST JSON: {r.status} {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 80 and ctl["overlay"]["value"] is False,
          f"after POST: {ctl['brightness']} {ctl['overlay']}")
    bright = luma_mean(fresh_snapshot(d, time.monotonic()))
    Context.current.note(f"mean luma: {base:.1f} at brightness 0, {bright:.1f} at 80")
    check(bright > base + 40, f"brightness 80 did not brighten the picture: {base:.1f} → {bright:.1f}")

    # one bad control: none applied
    r = post(d.port, "/controls", '{"brightness": -50, "saturation": 500}')
    check(r.status == 400, f"out of range: {r.status}")
    check(b"saturation: '500' is out of range (it takes 0..200)" in r.body, f"body {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 80, f"half-applied: {ctl['brightness']}")
    for body, ctype, want in (("brightness=-20&saturation=0", "application/x-www-form-urlencoded", 200),
                              ("brightness=abc", "application/x-www-form-urlencoded", 400),
                              ('{"nope": 1}', "application/json", 400),
                              ('{"brightness": 1', "application/json", 400),
                              ("brightness=1", "text/plain", 415),
                              ("", "application/json", 400)):
        r = post(d.port, "/controls", body, content_type=ctype)
        check(r.status == want, f"POST {body!r} as {ctype}: {r.status} {r.body!r}, want {want}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == -20 and ctl["saturation"]["value"] == 0,
          f"form: {ctl['brightness']} {ctl['saturation']}")
    # mjpg-streamer's form, as a POST; GET never changes anything
    r = post(d.port, "/?action=command&id=brightness&value=5", "")
    check(r.status == 200, f"POST ?action=command: {r.status} {r.body!r}")
    r = request(d.port, "GET", "/?action=command&id=brightness&value=90")
    check(r.status == 405, f"GET ?action=command: {r.status}")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 5, f"after the command form: {ctl['brightness']}")
    before = [c.frames for c in pool.clients]
    pool.run(seconds=1.0)
    check(all(c.frames > b + 5 for c, b in zip(pool.clients, before)),
          "the stream did not keep flowing")
    pool.check_open()
    pool.close()
    d.stop()


def chroma_spread(jpeg):
    """Mean |Cb| and |Cr| (BT.601, around 0) of the decoded picture (djpeg -pnm)."""
    need_tool("djpeg")
    p = subprocess.run(["djpeg", "-pnm"], input=jpeg, capture_output=True, timeout=20)
    check(p.returncode == 0, f"djpeg failed: {p.stderr!r}")
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", p.stdout)
    check(m, "djpeg did not give a PPM")
    px = p.stdout[m.end():]
    n = len(px) // 3
    cb = cr = 0.0
    for i in range(0, n * 3, 3):
        r, g, b = px[i], px[i + 1], px[i + 2]
        cb += abs(-0.168736 * r - 0.331264 * g + 0.5 * b)
        cr += abs(0.5 * r - 0.418688 * g - 0.081312 * b)
    return cb / n, cr / n


@test
def test_controls_colour_gains():
    """A control of two numbers (libcamera's ColourGains: red, blue), on the test pattern's
    colour_gains: listed with its count and range, set from JSON and a form, refused whole when
    it is not two numbers in range, kept in the state file; the picture follows (blue-difference
    chroma gone at a blue gain of 0, red-difference at a red gain of 0)."""
    state = os.path.join(Context.current.tmpdir, "state")
    os.makedirs(state)
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "20", "--state-dir", state)
    _, ctl = controls_by_name(d.port)
    g = ctl.get("colour_gains")
    check(g is not None and (g["type"], g["count"], g["min"], g["max"], g["default"], g["value"])
          == ("floats", 2, 0, 4, [1, 1], [1, 1]), f"colour_gains {g}")
    cb0, cr0 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    r = post(d.port, "/controls", '{"colour_gains": [1, 0]}')
    check(r.status == 200, f"POST [1, 0]: {r.status} {r.body!r}")
    cb1, cr1 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    r = post(d.port, "/controls", "colour_gains=0%2C1", "application/x-www-form-urlencoded")
    check(r.status == 200, f"POST form 0,1: {r.status} {r.body!r}")
    cb2, cr2 = chroma_spread(fresh_snapshot(d, time.monotonic()))
    Context.current.note(f"mean |Cb|, |Cr|: gains 1,1 {cb0:.1f}, {cr0:.1f}; 1,0 {cb1:.1f}, "
                         f"{cr1:.1f}; 0,1 {cb2:.1f}, {cr2:.1f}")
    check(cb0 > 10 and cr0 > 10, f"the test pattern has no colour: {cb0:.1f} {cr0:.1f}")
    check(cb1 < 3 and cr1 > cr0 * 0.7, f"blue gain 0: |Cb| {cb0:.1f} → {cb1:.1f}, "
          f"|Cr| {cr0:.1f} → {cr1:.1f}")
    check(cr2 < 3 and cb2 > cb0 * 0.7, f"red gain 0: |Cr| {cr0:.1f} → {cr2:.1f}, "
          f"|Cb| {cb0:.1f} → {cb2:.1f}")
    for body, ctype, want in (('{"colour_gains": [5, 1]}', "application/json",
                               b"colour_gains: '5,1' is out of range (it takes 2 numbers, each 0..4)"),
                              ('{"colour_gains": 2}', "application/json", b"not that many numbers"),
                              ('{"colour_gains": [1, 1, 1]}', "application/json", b"not that many"),
                              ("colour_gains=2", "application/x-www-form-urlencoded", b"not that many"),
                              ('{"brightness": 10, "colour_gains": [1]}', "application/json",
                               b"colour_gains")):
        r = post(d.port, "/controls", body, content_type=ctype)
        check(r.status == 400 and want in r.body, f"POST {body!r}: {r.status} {r.body!r}")
    _, ctl = controls_by_name(d.port)
    check(ctl["colour_gains"]["value"] == [0, 1] and ctl["brightness"]["value"] == 0,
          f"refused requests changed something: {ctl['colour_gains']} {ctl['brightness']}")
    with open(os.path.join(state, "controls.conf")) as f:
        saved = f.read()
    check("colour_gains=0,1" in saved, f"state file: {saved!r}")
    d.stop()
    d = Daemon("--source", "testpattern", "--size", "320x240", "--state-dir", state)
    _, ctl = controls_by_name(d.port)
    check(ctl["colour_gains"]["value"] == [0, 1], f"after a restart: {ctl['colour_gains']}")
    d.stop()


@test
def test_controls_cross_site_refused():
    """A page of another site must not change the camera: Origin or Sec-Fetch-Site from
    elsewhere → 403, nothing applied; the page's own origin and curl (neither header) may."""
    d = Daemon("--source", "testpattern", "--size", "160x120")
    own = f"http://127.0.0.1:{d.port}"
    for headers, want in (({"Origin": "http://evil.example"}, 403),
                          ({"Origin": "null"}, 403),
                          ({"Sec-Fetch-Site": "cross-site"}, 403),
                          ({"Sec-Fetch-Site": "same-site"}, 403),
                          ({"Origin": own, "Host": f"127.0.0.1:{d.port}",
                            "Sec-Fetch-Site": "same-origin"}, 200),
                          ({}, 200)):
        r = post(d.port, "/controls", '{"brightness": 30}', headers=headers)
        check(r.status == want, f"POST with {headers}: {r.status} {r.body!r}, want {want}")
        if want == 403:
            _, ctl = controls_by_name(d.port)
            check(ctl["brightness"]["value"] != 30 or headers == {},
                  f"applied despite {headers}")
    r = post(d.port, "/controls", "brightness=1", "application/x-www-form-urlencoded",
             headers={"Origin": "http://evil.example"})
    check(r.status == 403, f"cross-site form: {r.status}")
    # a CORS preflight says POST and Content-Type may come (from the allowed origin only)
    d.stop()


@test
def test_controls_read_only_and_state():
    """--controls off: listed, not settable (403). --state-dir: what is set is written
    atomically and comes back after a restart, over --control's value (the newest word wins);
    a corrupt state file is reported and ignored."""
    tmp = Context.current.tmpdir
    d = Daemon("--source", "testpattern", "--size", "160x120", "--controls", "off")
    doc, _ = controls_by_name(d.port)
    check(doc["writable"] is False, f"writable {doc['writable']!r}")
    r = post(d.port, "/controls", '{"brightness": 30}')
    check(r.status == 403 and b"--controls off" in r.body, f"read-only: {r.status} {r.body!r}")
    d.stop()

    state = os.path.join(tmp, "state")
    os.makedirs(state)
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state,
               "--control", "brightness=10", "--control", "saturation=50")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 10 and ctl["saturation"]["value"] == 50,
          f"--control at start: {ctl['brightness']} {ctl['saturation']}")
    r = post(d.port, "/controls", '{"brightness": 70}')
    check(r.status == 200, f"POST: {r.status}")
    with open(os.path.join(state, "controls.conf")) as f:
        text = f.read()
    check("brightness=70\n" in text, f"state file: {text!r}")
    check([n for n in os.listdir(state)] == ["controls.conf"], f"left over: {os.listdir(state)}")
    d.stop()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state,
               "--control", "brightness=10", "--control", "saturation=50")
    _, ctl = controls_by_name(d.port)
    check(ctl["brightness"]["value"] == 70 and ctl["saturation"]["value"] == 50,
          f"after a restart: {ctl['brightness']} {ctl['saturation']}")
    d.stop()
    for corrupt in ("brightness=70\ngarbage without equals\n", "brightness=70\n\x00x=1\n"):
        with open(os.path.join(state, "controls.conf"), "w") as f:
            f.write(corrupt)
        d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", state)
        _, ctl = controls_by_name(d.port)
        check(ctl["brightness"]["value"] == 0, f"corrupt state {corrupt!r} applied: {ctl['brightness']}")
        d.stop()
        check("<4>controls: ignoring " in d.log(), f"no warning for {corrupt!r}: {d.log()[-400:]!r}")
    # an unwritable state directory: applied, and said once why it is not kept
    ro = os.path.join(tmp, "missing-dir")
    d = Daemon("--source", "testpattern", "--size", "160x120", "--state-dir", ro)
    r = post(d.port, "/controls", '{"brightness": 40}')
    check(r.status == 200, f"POST with no state dir: {r.status}")
    d.stop()
    check("not kept across restarts" in d.log(), "no warning for the missing state directory")


class WebDriver:
    """Just enough of the W3C WebDriver protocol (chromedriver, JSON over HTTP, standard library)
    to load a page in headless Chromium, run a script, press keys and take screenshots."""

    def __init__(self):
        import urllib.request
        self.urllib = urllib.request
        exe = need_tool("chromedriver")
        browser = need_tool("chromium")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        home = os.path.join(Context.current.tmpdir, "wd-home")
        os.makedirs(home, exist_ok=True)
        self.log = os.path.join(Context.current.tmpdir, "chromedriver.log")
        self.proc = subprocess.Popen([exe, f"--port={self.port}", f"--log-path={self.log}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env=dict(os.environ, HOME=home))
        deadline = time.monotonic() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise TestFailure("chromedriver did not answer within 20 s")
                time.sleep(0.1)
        profile = os.path.join(Context.current.tmpdir, "wd-profile")
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=800,1100", "--force-device-scale-factor=1",
                     "--hide-scrollbars", f"--user-data-dir={profile}"]}}}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except self.urllib.HTTPError as e:
            body = e.read().decode(errors="replace")
            self.proc.kill()
            try:
                message = json.loads(body)["value"]["message"].splitlines()[-1]
            except (ValueError, KeyError, IndexError, TypeError):
                message = body[:200]
            # Seen in the platform roots (chroot + unshare, tests/platforms): Chromium starts
            # but chromedriver cannot reach its renderer. An environment that cannot run the
            # browser under the driver is a skip with the reason, never a pass.
            raise harness.TestSkipped(f"chromedriver could not start Chromium here: {message}")

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = self.urllib.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                  headers={"Content-Type": "application/json"})
        with self.urllib.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def script(self, js, *args):
        return self.cmd("POST", "/execute/sync", {"script": js, "args": list(args)})

    def screenshot(self, path):
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        return read_png(path)

    def close(self):
        try:
            self.cmd("DELETE", "")
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@test
def test_chromium_controls_panel():
    """The page's controls panel in headless Chromium: built from /controls (a slider per
    integer, a switch per boolean), and pressing End on the brightness slider (as a user would
    on a phone's keyboard or a desktop) sets it, and the picture brightens (two screenshots)."""
    import urllib.error
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "10")
    d.wait_frame()
    try:
        wd = WebDriver()
    except (OSError, urllib.error.URLError) as e:
        raise TestFailure(f"chromedriver: {e}")
    try:
        wd.cmd("POST", "/url", {"url": f"http://127.0.0.1:{d.port}/"})
        deadline = time.monotonic() + 15
        while wd.script("return document.querySelectorAll('#clist .ctl').length;") < 4:
            check(time.monotonic() < deadline, "the controls panel was not built within 15 s")
            time.sleep(0.2)
        kinds = wd.script("return [...document.querySelectorAll('#clist .ctl')].map(d => "
                          "d.querySelector('label').textContent + ':' + "
                          "(d.querySelector('input,select,button').type || ''));")
        check(kinds == ["brightness:range", "saturation:range", "overlay:checkbox",
                        "colour_gains:range"], f"panel rows {kinds}")
        gains = wd.script("return document.querySelectorAll("
                          "'#clist .ctl:nth-child(4) input[type=range]').length;")
        check(gains == 2, f"colour_gains (two numbers) has {gains} sliders, not 2")
        check(wd.script("return document.getElementById('controls').hidden;") is False,
              "the panel is hidden")
        time.sleep(1.0)
        tmp = Context.current.tmpdir

        def image_mean(png):
            w, h, ch, rows = png
            x0, x1 = (w - 320) // 2, (w + 320) // 2
            total = n = 0
            for row in rows[0:240:4]:
                for x in range(x0 * ch, x1 * ch, ch * 4):
                    total += row[x] + row[x + 1] + row[x + 2]
                    n += 3
            return total / n

        before = image_mean(wd.screenshot(os.path.join(tmp, "before.png")))
        slider = wd.cmd("POST", "/element", {"using": "css selector",
                                            "value": "#clist .ctl:first-child input"})
        eid = next(iter(slider.values()))
        wd.cmd("POST", f"/element/{eid}/click", {})
        wd.cmd("POST", f"/element/{eid}/value", {"text": "\ue010"})  # End: the maximum
        deadline = time.monotonic() + 10
        while True:
            _, ctl = controls_by_name(d.port)
            if ctl["brightness"]["value"] == 100:
                break
            check(time.monotonic() < deadline,
                  f"the slider did not set brightness: {ctl['brightness']}")
            time.sleep(0.2)
        time.sleep(1.5)  # a few frames drawn into the <img>
        after = image_mean(wd.screenshot(os.path.join(tmp, "after.png")))
        Context.current.note(f"stream area mean: {before:.1f} before, {after:.1f} after")
        check(after > before + 30, f"the picture did not brighten: {before:.1f} → {after:.1f}")
        check(wd.script("return document.getElementById('cmsg').textContent;") == "",
              "the panel shows an error")
    finally:
        wd.close()
        d.stop()


@test
def test_controls_need_credentials():
    """With --auth-file, changing a control needs credentials like every URL: 401 without, and
    nothing applied; 200 with them."""
    import base64
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--auth-file", users)
    auth = {"Authorization": "Basic " + base64.b64encode(b"dave:s3cret").decode()}
    r = post(d.port, "/controls", '{"brightness": 33}')
    check(r.status == 401 and r.header("www-authenticate"), f"without credentials: {r.status}")
    r = post(d.port, "/controls", '{"brightness": 33}',
             headers={"Authorization": "Basic " + base64.b64encode(b"dave:wrong").decode()})
    check(r.status == 401, f"a wrong password: {r.status}")
    r = request(d.port, "GET", "/controls", headers=auth)
    check(r.status == 200 and b'"value": 0' in r.body, f"GET with credentials: {r.status} {r.body[:200]!r}")
    r = post(d.port, "/controls", '{"brightness": 33}', headers=auth)
    check(r.status == 200 and b'"value": 33' in r.body, f"with credentials: {r.status} {r.body[:200]!r}")
    d.stop()
