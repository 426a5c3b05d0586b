"""Integration tests, area reverse_proxy (make test-integration T=reverse_proxy): nginx and HAProxy
with TLS in front (docs/reverse-proxy.md), --trusted-proxy."""
import json
import os
import re
import socket
import subprocess
import time

from harness import (SLOW, Conn, Context, Daemon, MultipartParser, check, djpeg_size, get_json,
                     need_tool, request, request_bytes, run_cli)
import harness
from common import serial_test, test, basic, auth_users_file


def doc_block(lang):
    """The ```lang block of docs/reverse-proxy.md: the test runs what users copy."""
    with open(os.path.join(harness.REPO, "docs", "reverse-proxy.md")) as f:
        m = re.search(r"```" + lang + r"\n(.*?)```", f.read(), re.S)
    check(m, f"docs/reverse-proxy.md has no {lang} block")
    return m.group(1)


def replace_once(text, old, new, what):
    check(text.count(old) == 1, f"{what}: '{old}' not found once in docs/reverse-proxy.md")
    return text.replace(old, new)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10):
    deadline = time.monotonic() + timeout * SLOW
    while True:
        check(proc.poll() is None, f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            check(time.monotonic() < deadline, f"{what} does not listen on {port}")
            time.sleep(0.05)


def proxy_tools():
    """nginx, haproxy, openssl, installed by scripts/deps.sh test; if they are not there, try
    that once; a test that still lacks them is skipped with the reason."""
    import shutil
    want = {"nginx": "/usr/sbin/nginx", "haproxy": "/usr/sbin/haproxy", "openssl": None}
    found = {t: shutil.which(t) or (p if p and os.access(p, os.X_OK) else None)
             for t, p in want.items()}
    if all(found.values()):
        return found
    p = subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "test"],
                       capture_output=True, text=True, timeout=600)
    found = {t: shutil.which(t) or (p2 if p2 and os.access(p2, os.X_OK) else None)
             for t, p2 in want.items()}
    if not all(found.values()):
        missing = [t for t, v in found.items() if not v]
        raise harness.TestSkipped(f"{', '.join(missing)} not installed and scripts/deps.sh test "
                                  f"could not install them: {p.stderr.strip()[-200:]}")
    return found


def start_nginx(tools, tmp, port, upstream, cert, key, n):
    conf = doc_block("nginx")
    if upstream.startswith("/"):
        conf = replace_once(conf, "/run/mjpegd/mjpegd.sock", upstream, "nginx upstream")
    else:
        conf = replace_once(conf, "unix:/run/mjpegd/mjpegd.sock", upstream, "nginx upstream")
    conf = replace_once(conf, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", "nginx listen")
    conf = replace_once(conf, "/etc/ssl/certs/camera.pem", cert, "nginx certificate")
    conf = replace_once(conf, "/etc/ssl/private/camera.key", key, "nginx key")
    d = os.path.join(tmp, f"nginx{n}")
    os.makedirs(d)
    temps = "".join(f"    {k}_temp_path {d}/{k};\n" for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    full = (("user root root;\n" if os.geteuid() == 0 else "") +
            f"worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n"
            f"error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {d}/access.log;\n{temps}{conf}}}\n")
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(full)
    log = open(os.path.join(d, "stderr.log"), "wb")
    proc = subprocess.Popen([tools["nginx"], "-p", d, "-e", f"{d}/error.log", "-c", path],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            preexec_fn=harness._die_with_parent)
    return proc, os.path.join(d, "error.log")


def start_haproxy(tools, tmp, port, upstream, pem, n):
    conf = doc_block("haproxy")
    conf = replace_once(conf, "/run/mjpegd/mjpegd.sock", upstream, "haproxy upstream")
    conf = replace_once(conf, "bind :443 ssl crt /etc/haproxy/camera.pem",
                        f"bind 127.0.0.1:{port} ssl crt {pem}", "haproxy bind")
    d = os.path.join(tmp, f"haproxy{n}")
    os.makedirs(d)
    path = os.path.join(d, "haproxy.cfg")
    with open(path, "w") as f:
        f.write("global\n    maxconn 200\n\n" + conf)
    p = subprocess.run([tools["haproxy"], "-c", "-f", path], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0, f"haproxy -c on the documented configuration: {p.stdout}{p.stderr}")
    log_path = os.path.join(d, "stderr.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([tools["haproxy"], "-db", "-f", path], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, preexec_fn=harness._die_with_parent)
    return proc, log_path


def tls_stream_from(port, source, headers):
    """Reads /webcam/?action=stream through the TLS proxy from a chosen loopback address, as
    HTTP/1.0 (no chunked coding in between). Returns (ssl socket, parser, first parts)."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.socket()
    raw.settimeout(10 * SLOW)
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    Context.current.sockets.append(s)
    s.sendall(request_bytes("GET", "/webcam/?action=stream", dict({"Host": "localhost"},
                                                                   **headers), "HTTP/1.0"))
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        check(data, f"proxy closed the stream before its head: {buf[:200]!r}")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0],
          f"stream through the proxy: {head[:200]!r}")
    parser = MultipartParser(keep=False)
    parts = parser.feed(rest)
    deadline = time.monotonic() + 10 * SLOW
    while len(parts) < 5:
        check(time.monotonic() < deadline, f"{len(parts)} parts through the proxy in 10 s")
        data = s.recv(65536)
        check(data, "proxy closed the stream")
        parts += parser.feed(data)
    return s, parser, parts


@serial_test
def test_reverse_proxy_nginx_haproxy_tls():
    """docs/reverse-proxy.md's nginx and HAProxy configurations, run for real: TLS with a test
    certificate, the /webcam/ prefix, over TCP and over the unix socket; ffmpeg and curl through
    them with credentials; X-Forwarded-For believed from the trusted proxy only."""
    tools = proxy_tools()
    curl = need_tool("curl")
    need_tool("ffmpeg")
    tmp = Context.current.tmpdir
    cert, key, pem = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem", "combined.pem"))
    p = subprocess.run([tools["openssl"], "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"openssl req: {p.stderr}")
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    users = auth_users_file()
    sock = os.path.join(tmp, "mjpegd.sock")
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30", "--auth-file",
               users, "--listen", "127.0.0.1:0", "--listen", f"unix:{sock},mode=0666",
               "--trusted-proxy", "127.0.0.1,unix")
    creds = {"Authorization": basic("alice", "wonderland")}
    figures = []
    n = 0
    for proxy in ("nginx", "haproxy"):
        for via in ("tcp", "unix"):
            n += 1
            what = f"{proxy} over {via}"
            port = free_port()
            upstream = sock if via == "unix" else f"127.0.0.1:{d.port}"
            if proxy == "nginx":
                proc, plog = start_nginx(tools, tmp, port, upstream, cert, key, n)
            else:
                proc, plog = start_haproxy(tools, tmp, port, upstream, pem, n)
            try:
                wait_port(port, proc, what)
                base = f"https://127.0.0.1:{port}/webcam/"
                snap = os.path.join(tmp, f"snap{n}.jpg")
                r = subprocess.run([curl, "-k", "-s", "-u", "carol:c4rol pw", "-o", snap, "-w",
                                    "%{http_code}", base + "?action=snapshot"],
                                   capture_output=True, text=True, timeout=30)
                check(r.stdout == "200", f"{what}: curl snapshot {r.stdout} {r.stderr}")
                check(djpeg_size(open(snap, "rb").read(), what) == (320, 240),
                      f"{what}: snapshot size")
                r = subprocess.run([curl, "-k", "-s", "-o", "/dev/null", "-D", "-",
                                    base + "?action=snapshot"], capture_output=True, text=True,
                                   timeout=30)
                check(" 401" in r.stdout.split("\n")[0] and 'realm="mjpegd"' in r.stdout,
                      f"{what}: without credentials: {r.stdout[:300]!r}")
                out = os.path.join(tmp, f"copy{n}.mjpg")
                t0 = time.monotonic()
                # the test's certificate is self-signed: newer ffmpeg (Debian testing's)
                # verifies by default, as curl does without -k
                r = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
                                    "-tls_verify", "0", "-i",
                                    f"https://alice:wonderland@127.0.0.1:{port}/webcam/"
                                    "?action=stream", "-frames:v", "10", "-c", "copy", "-f",
                                    "mjpeg", "-y", out], capture_output=True, text=True,
                                   timeout=60 * SLOW)
                check(r.returncode == 0, f"{what}: ffmpeg: {r.stderr[-300:]}")
                frames = open(out, "rb").read().count(b"\xff\xd9")
                check(frames >= 10, f"{what}: ffmpeg copied {frames} frames")
                ff_s = time.monotonic() - t0
                # the real client's address, not the forged one, and live frames
                s, parser, parts = tls_stream_from(port, "127.0.0.2", dict(
                    creds, **{"X-Forwarded-For": "198.51.100.7"}))
                ages = [time.time() - float(pt.headers["x-timestamp"]) for pt in parts[-3:]]
                st = get_json_auth(d.port, creds)
                addrs = [c["addr"] for c in st["clients"]["list"]]
                check(any(a.startswith("127.0.0.2 (via ") for a in addrs),
                      f"{what}: /status does not show the client 127.0.0.2: {addrs}")
                check(not any("198.51.100.7" in a for a in addrs),
                      f"{what}: the forged X-Forwarded-For was believed: {addrs}")
                check(max(ages) < 1.0 * SLOW, f"{what}: frames arrive {max(ages):.2f} s old "
                      f"(buffered?)")
                figures.append(f"{what}: ffmpeg 10 frames in {ff_s:.2f} s; frame age "
                               f"{max(ages) * 1000:.0f} ms")
                s.close()
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                if os.path.exists(plog):
                    Context.current.note(f"{what} log: " + open(plog, errors="replace")
                                         .read()[-600:])
    Context.current.note("\n".join(figures))
    # the same proxies without --trusted-proxy: the proxy is the client
    d.stop()


def get_json_auth(port, headers):
    r = request(port, "GET", "/status", headers)
    check(r.status == 200, f"/status: {r.status}")
    return json.loads(r.body)


@test
def test_trusted_proxy_only():
    """X-Forwarded-For from an untrusted peer is ignored; from a trusted one its last hop is the
    client in /status and in the failed-login slow-down."""
    d = Daemon("--source", "testpattern", "--size", "160x120", "--trusted-proxy", "127.0.0.1")
    c = Conn(d.port)
    c.send(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": "1.2.3.4, 203.0.113.9"}))
    check(c.read_response().status == 200, "stream")
    sock = socket.socket()
    sock.bind(("127.0.0.3", 0))
    sock.connect(("127.0.0.1", d.port))
    Context.current.sockets.append(sock)
    sock.sendall(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": "203.0.113.77"}))
    time.sleep(0.3 * SLOW)
    addrs = [x["addr"] for x in get_json(d.port)["clients"]["list"]]
    check(any(a.startswith("203.0.113.9 (via 127.0.0.1:") for a in addrs),
          f"trusted peer: {addrs}")
    check(not any("1.2.3.4" in a for a in addrs), f"a hop before the last was taken: {addrs}")
    check(not any("203.0.113.77" in a for a in addrs) and
          any(a.startswith("127.0.0.3:") for a in addrs), f"untrusted peer believed: {addrs}")
    p = run_cli(["--trusted-proxy", "localhost"])
    check(p.returncode == 2 and "is not a list of IP addresses" in p.stderr, p.stderr)
    d.stop()


@test
def test_trusted_proxy_network():
    """--trusted-proxy ADDR/BITS trusts every peer in the network and no other; a network with
    host bits set, or /0, is refused at start."""
    d = Daemon("--source", "testpattern", "--size", "160x120", "--trusted-proxy", "127.0.0.0/30")
    socks = []
    for peer, hop in (("127.0.0.2", "198.51.100.2"), ("127.0.0.3", "198.51.100.3"),
                      ("127.0.0.5", "198.51.100.5")):
        sock = socket.socket()
        sock.bind((peer, 0))
        sock.connect(("127.0.0.1", d.port))
        Context.current.sockets.append(sock)
        sock.sendall(request_bytes("GET", "/stream.mjpg", {"X-Forwarded-For": hop}))
        socks.append(sock)
    time.sleep(0.3 * SLOW)
    addrs = [x["addr"] for x in get_json(d.port)["clients"]["list"]]
    for hop, peer in (("198.51.100.2", "127.0.0.2"), ("198.51.100.3", "127.0.0.3")):
        check(any(a.startswith(f"{hop} (via {peer}:") for a in addrs),
              f"peer {peer} in 127.0.0.0/30 not believed: {addrs}")
    check(not any("198.51.100.5" in a for a in addrs) and
          any(a.startswith("127.0.0.5:") for a in addrs),
          f"peer 127.0.0.5 outside 127.0.0.0/30 believed: {addrs}")
    d.stop()
    for bad in ("127.0.0.1/8", "0.0.0.0/0", "10.0.0.0/33"):
        p = run_cli(["--trusted-proxy", bad])
        check(p.returncode == 2 and "is not a list of IP addresses" in p.stderr,
              f"{bad}: {p.returncode} {p.stderr}")


@serial_test
def test_reverse_proxy_two_cameras():
    """docs/multi-camera.md's nginx front for two camera instances, run for real: /cam/nozzle/ and
    /cam/room/ reach each its own daemon (told apart by their sizes) over TLS: page, snapshot,
    OctoPrint-style URLs and the stream; the page's relative links stay under the prefix; one
    daemon stopped leaves the other's stream flowing."""
    import ssl
    import urllib.parse
    tools = proxy_tools()
    curl = need_tool("curl")
    tmp = Context.current.tmpdir
    cert, key = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem"))
    p = subprocess.run([tools["openssl"], "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"openssl req: {p.stderr}")
    nozzle = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "15",
                    "--trusted-proxy", "127.0.0.1")
    room = Daemon("--source", "testpattern", "--size", "160x120", "--fps", "15",
                  "--trusted-proxy", "127.0.0.1")
    with open(os.path.join(harness.REPO, "docs", "multi-camera.md")) as f:
        m = re.search(r"```nginx\n(.*?)```", f.read(), re.S)
    check(m, "docs/multi-camera.md has no nginx block")
    conf = m.group(1)
    conf = replace_once(conf, "server 127.0.0.1:8080;", f"server 127.0.0.1:{nozzle.port};",
                        "nozzle upstream")
    conf = replace_once(conf, "server 127.0.0.1:8081;", f"server 127.0.0.1:{room.port};",
                        "room upstream")
    port = free_port()
    conf = replace_once(conf, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", "nginx listen")
    conf = replace_once(conf, "/etc/ssl/certs/camera.pem", cert, "nginx certificate")
    conf = replace_once(conf, "/etc/ssl/private/camera.key", key, "nginx key")
    d = os.path.join(tmp, "nginx")
    os.makedirs(d)
    temps = "".join(f"    {k}_temp_path {d}/{k};\n" for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(("user root root;\n" if os.geteuid() == 0 else "") +
                f"worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n"
                f"error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n"
                f"http {{\n    access_log {d}/access.log;\n{temps}{conf}}}\n")
    log = open(os.path.join(d, "stderr.log"), "wb")
    proc = subprocess.Popen([tools["nginx"], "-p", d, "-e", f"{d}/error.log", "-c",
                             os.path.join(d, "nginx.conf")], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, preexec_fn=harness._die_with_parent)
    try:
        wait_port(port, proc, "nginx")
        base = f"https://127.0.0.1:{port}"

        def get(path):
            out = os.path.join(tmp, "body")
            r = subprocess.run([curl, "-k", "-s", "-o", out, "-w", "%{http_code}", base + path],
                               capture_output=True, text=True, timeout=30)
            check(r.stdout == "200", f"GET {path} through nginx: {r.stdout} {r.stderr}")
            return open(out, "rb").read()

        for name, size in (("nozzle", (320, 240)), ("room", (160, 120))):
            prefix = f"/cam/{name}/"
            for path in ("snapshot.jpg", "?action=snapshot"):
                check(djpeg_size(get(prefix + path), name) == size,
                      f"{prefix}{path}: not {name}'s {size[0]}x{size[1]} picture")
            page = get(prefix)
            refs = re.findall(rb'(?:src|href)="([^"#]*)"', page) + \
                re.findall(rb"fetch\('([^']*)'", page)
            check(b"stream.mjpg" in refs, f"{prefix}: no stream.mjpg in the page: {refs}")
            for ref in set(refs):
                url = urllib.parse.urljoin(prefix, ref.decode())
                check(url.startswith(prefix), f"{prefix}: the page's {ref!r} leaves the prefix "
                      f"({url})")
                if ref in (b"snapshot.jpg", b"status", b"controls", b"metrics"):
                    get(url)
            st = json.loads(get(prefix + "status"))
            check((st["width"], st["height"]) == size, f"{prefix}status: {st['width']}x"
                  f"{st['height']}")

        # the room camera's stream through the front; the nozzle daemon stops meanwhile
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        Context.current.sockets.append(s)
        s.sendall(request_bytes("GET", "/cam/room/stream.mjpg", {"Host": "localhost"},
                                "HTTP/1.0"))
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = s.recv(65536)
            check(data, f"nginx closed room's stream before its head: {buf[:200]!r}")
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        check(b" 200 " in head.split(b"\r\n")[0], f"room's stream: {head[:200]!r}")
        parser = MultipartParser(keep=False)
        parts = parser.feed(rest)
        t_stop = None
        times = []
        deadline = time.monotonic() + 15 * SLOW
        while len(times) < 40:
            check(time.monotonic() < deadline, f"{len(times)} parts of room's stream in 15 s")
            data = s.recv(65536)
            check(data, "nginx closed room's stream")
            for _ in parser.feed(data):
                times.append(time.monotonic())
            if t_stop is None and len(times) >= 10:
                nozzle.stop()
                t_stop = time.monotonic()
        gaps = [b - a for a, b in zip(times, times[1:]) if b >= t_stop]
        check(max(gaps) < 0.5 * SLOW, f"room's stream waited {max(gaps):.2f} s after nozzle "
              "stopped")
        Context.current.note(f"room's longest gap between parts after nozzle stopped: "
                             f"{max(gaps) * 1000:.0f} ms (15 fps)")
        s.close()
        r = subprocess.run([curl, "-k", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            base + "/cam/nozzle/snapshot.jpg"], capture_output=True, text=True,
                           timeout=30)
        check(r.stdout == "502", f"/cam/nozzle/ with nozzle stopped: {r.stdout} (want 502)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    room.stop()
