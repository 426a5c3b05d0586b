"""Integration tests, area cors (make test-integration T=cors): --cors-origin: the header on every
response, SIGHUP."""
import os
import select
import signal
import time

from harness import SLOW, Conn, Context, Daemon, check, request, request_bytes, run_cli
from common import test, basic, auth_users_file


def raw_response(port, data, timeout=5):
    c = Conn(port, timeout)
    try:
        c.send(data)
        head = c.read_until(b"\r\n\r\n").decode("latin-1")
        rest = c.read_some(0.2)
    finally:
        c.close()
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return int(lines[0].split()[1]), headers, rest


def conn_is_open_and_quiet(c):
    """True while mjpegd has neither answered c nor closed it (a held slot); a refused
    connection has a 503 waiting, or is closed."""
    readable, _, _ = select.select([c.sock], [], [], 0)
    return not readable


@test
def test_cors_allow_origin_on_every_response():
    """--allow-origin: none (the default) sends no CORS header anywhere, '*' and an origin are
    sent on every response: stream, snapshot, JSON, errors, 401, the 503 above --max-clients,
    and the OPTIONS preflight (204, no body, no Content-Length)."""
    users = auth_users_file()
    cases = (
        ("none", None, []),
        ("*", "*", ["--allow-origin", "*"]),
        ("origin", "https://dash.example:8443", ["--allow-origin", "https://dash.example:8443",
                                                 "--auth-file", users]),
    )
    for name, want, args in cases:
        d = Daemon("--source", "testpattern", "--size", "160x120", "--max-clients", "3", *args)
        auth = {"Authorization": basic("alice", "wonderland")} if "--auth-file" in args else {}
        reqs = {
            "stream": request_bytes("GET", "/stream.mjpg", auth),
            "stream HEAD": request_bytes("HEAD", "/stream.mjpg", auth),
            "snapshot": request_bytes("GET", "/snapshot.jpg", auth),
            "status": request_bytes("GET", "/status", auth),
            "index": request_bytes("GET", "/", auth),
            "404": request_bytes("GET", "/nope", auth),
            "405": request_bytes("DELETE", "/status", auth),
            "400": b"GET /stream.mjpg?fps=0 HTTP/1.1\r\nHost: x\r\n\r\n" if not auth else
                   request_bytes("GET", "/stream.mjpg?fps=0", auth),
            "505": b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
            "preflight": request_bytes("OPTIONS", "/status", {
                "Origin": "https://dash.example:8443", "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization"}),
            # a page's fetch() POST of the controls: the one path that takes POST says so
            "preflight-controls": request_bytes("OPTIONS", "/controls", {
                "Origin": "https://dash.example:8443", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type"}),
        }
        if auth:
            reqs["401"] = request_bytes("GET", "/status")
        d.wait_frame() if not auth else None
        for what, data in reqs.items():
            status, headers, rest = raw_response(d.port, data)
            got = headers.get("access-control-allow-origin")
            check(got == ([want] if want else None),
                  f"{name}: {what} ({status}): Access-Control-Allow-Origin {got!r}, want {want!r}")
            creds = headers.get("access-control-allow-credentials")
            check(creds == (["true"] if name == "origin" else None),
                  f"{name}: {what}: Access-Control-Allow-Credentials {creds!r}")
            if what.startswith("preflight"):
                # the path's own methods (/status: no POST), in Allow and the CORS answer
                path_methods = ("GET, HEAD, POST, OPTIONS" if what == "preflight-controls"
                                else "GET, HEAD, OPTIONS")
                check(status == 204 and "content-length" not in headers and rest == b"",
                      f"{name}: {what}: {status} {headers} {rest!r}")
                check(headers.get("allow") == [path_methods], f"{name}: {what}: Allow {headers}")
                methods = headers.get("access-control-allow-methods")
                allow_h = headers.get("access-control-allow-headers")
                if want:
                    check(methods == [path_methods] and
                          allow_h == ["Authorization, Content-Type"],
                          f"{name}: preflight headers {headers}")
                else:
                    check(methods is None and allow_h is None, f"{name}: preflight {headers}")
            elif what == "401":
                check(status == 401, f"{name}: 401 request got {status}")
            elif what in ("404", "405", "400", "505"):
                check(status == int(what), f"{name}: {what} request got {status}")
            else:
                check(status == 200, f"{name}: {what}: {status}")
        # above --max-clients: the 503 sent without a client slot carries it too. Three
        # connections hold every slot; one that a connection the test closed just before still
        # counted against was refused (a 503, then closed): it is replaced until three are held.
        hold = []
        deadline = time.monotonic() + 10 * SLOW
        while True:
            hold = [c for c in hold if conn_is_open_and_quiet(c)]
            if len(hold) == 3:
                break
            check(time.monotonic() < deadline, f"{name}: 3 connections not held within "
                  f"{10 * SLOW:.0f} s")
            hold += [Conn(d.port) for _ in range(3 - len(hold))]
            time.sleep(0.3 * SLOW)
        status, headers, _ = raw_response(d.port, request_bytes("GET", "/status"))
        check(status == 503 and headers.get("access-control-allow-origin") == (
            [want] if want else None), f"{name}: 503: {status} {headers}")
        for c in hold:
            c.close()
        d.stop()
    for bad in ("ftp://x", "https://", "https://a/b", "https://a:0", "https://a b", "x",
                "https://a\r\nSet-Cookie:1", "http://[::1"):
        p = run_cli(["--allow-origin", bad])
        check(p.returncode == 2 and "--allow-origin" in p.stderr, f"--allow-origin {bad!r}: "
              f"exit {p.returncode} {p.stderr!r}")
    p = run_cli(["--help"])
    check("--allow-origin ORIGIN" in p.stdout and "Default: none." in p.stdout.split(
        "--allow-origin")[1][:400], "--help does not show --allow-origin with default none")


@test
def test_cors_sighup_changes_origin():
    tmp = Context.current.tmpdir
    conf = os.path.join(tmp, "mjpegd.conf")
    with open(conf, "w") as f:
        f.write("source = testpattern\nsize = 160x120\n")
    d = Daemon("--config", conf)
    d.wait_frame()
    check(request(d.port, "GET", "/status").header("access-control-allow-origin") is None,
          "CORS header without --allow-origin")
    with open(conf, "a") as f:
        f.write("allow-origin = http://octopi.local\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5 * SLOW
    while request(d.port, "GET", "/status").header("access-control-allow-origin") != \
            "http://octopi.local":
        check(time.monotonic() < deadline, "--allow-origin not applied on SIGHUP")
        time.sleep(0.1)
    d.stop()
