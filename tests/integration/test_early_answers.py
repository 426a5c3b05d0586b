"""Integration tests, area early_answers (make test-integration T=early_answers): Answers from the
head alone: Expect: 100-continue, 405 before the body."""
import subprocess
import time

from harness import SLOW, Conn, Daemon, assert_serving, check, need_tool, request_bytes
from common import test, basic, auth_users_file


def head_exchange(port, head, wait=1.0):
    """Sends a request head whose body is still to come; returns the connection, what came back
    within `wait` seconds (b"" when nothing did) and the seconds it took."""
    c = Conn(port)
    t0 = time.monotonic()
    c.send(head)
    got = c.read_some(wait * SLOW)
    return c, got, time.monotonic() - t0


def parse_head(raw):
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, rest


@test
def test_expect_100_continue():
    """RFC 9110 section 10.1.1: a request with Expect: 100-continue gets 100 Continue before its
    body is read, or its final status at once when the head alone decides it (401 without
    credentials, 413, 405, 403): no client waits for a 100 that never comes."""
    body = b"brightness=40"
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)), "Expect": "100-continue"}
    d = Daemon("--source", "testpattern", "--size", "160x120")
    c, got, took = head_exchange(d.port, request_bytes("POST", "/controls", form))
    check(got == b"HTTP/1.1 100 Continue\r\n\r\n", f"POST /controls with Expect: {got[:200]!r}")
    c.send(body)
    r = c.read_response()
    check(r.status == 200 and b'"value": 40' in r.body, f"after the body: {r.status} "
          f"{r.body[:200]!r}")
    # keep-alive goes on: the next request on the connection is answered
    c.send(request_bytes("GET", "/status"))
    check(c.read_response().status == 200, "the request after the 100-continue one")
    # no second 100 for a request whose body is already there
    c.send(request_bytes("POST", "/controls", form, body=b"brightness=41"))
    r = c.read_response()
    check(r.status == 200 and b'"value": 41' in r.body, f"Expect with the body: {r.status}")
    c.close()
    # HTTP/1.0: the expectation is ignored (RFC 9110 section 10.1.1)
    c, got, _ = head_exchange(d.port, request_bytes("POST", "/controls", form,
                                                    version="HTTP/1.0"), wait=0.5)
    check(got == b"", f"HTTP/1.0 request answered before its body: {got[:100]!r}")
    c.close()
    # the head decides: a final status at once, no 100, and the connection closed
    for name, path, headers, want in (
            ("405", "/status", form, 405),
            ("413", "/controls", dict(form, **{"Content-Length": "5000"}), 413),
            ("403 cross-site", "/controls", dict(form, **{"Sec-Fetch-Site": "cross-site"}), 403),
            ("415", "/controls", dict(form, **{"Content-Type": "text/plain"}), 415)):
        c, got, took = head_exchange(d.port, request_bytes("POST", path, headers))
        line, h, _ = parse_head(got)
        check(line.startswith(f"HTTP/1.1 {want} "), f"{name}: {line!r} after {took:.2f} s")
        check(h.get("connection") == "close", f"{name}: Connection {h.get('connection')!r}")
        check(c.wait_closed(), f"{name}: connection not closed")
        c.close()
    curl = need_tool("curl")
    t0 = time.monotonic()
    p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                        "Expect: 100-continue", "-d", "brightness=42",
                        f"http://127.0.0.1:{d.port}/controls"],
                       capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    check(p.stdout == "200", f"curl -H 'Expect: 100-continue': {p.stdout}")
    check(took < 0.8 * SLOW, f"curl waited {took:.2f} s for the 100")
    d.stop()
    # --auth-file: no credentials → 401 at once; with them → 100, then the body is checked
    users = auth_users_file()
    d = Daemon("--source", "testpattern", "--size", "160x120", "--auth-file", users)
    c, got, took = head_exchange(d.port, request_bytes("POST", "/controls", form))
    line, h, _ = parse_head(got)
    check(line.startswith("HTTP/1.1 401 ") and h.get("www-authenticate"),
          f"without credentials: {line!r} after {took:.2f} s")
    check(h.get("connection") == "close" and c.wait_closed(), "401: the connection stays open")
    c.close()
    auth = dict(form, Authorization=basic("dave", "s3cret"))
    c, got, _ = head_exchange(d.port, request_bytes("POST", "/controls", auth))
    check(got == b"HTTP/1.1 100 Continue\r\n\r\n", f"with credentials: {got[:200]!r}")
    c.send(body)
    r = c.read_response()
    check(r.status == 200 and b'"value": 40' in r.body, f"with credentials: {r.status}")
    c.close()
    d.stop()


@test
def test_method_not_allowed_at_once():
    """A request whose method the path does not take is answered 405 with Allow from its head,
    without waiting for the body it announces, and the connection is closed (the body is never
    read). A complete one on keep-alive stays as it was: 405, the connection kept."""
    d = Daemon("--source", "testpattern", "--size", "160x120")
    for method, path in (("POST", "/"), ("POST", "/status"), ("POST", "/stream.mjpg"),
                         ("PUT", "/stream.mjpg"), ("DELETE", "/snapshot.jpg")):
        c, got, took = head_exchange(d.port, request_bytes(method, path,
                                                           {"Content-Length": "10"}))
        line, h, rest = parse_head(got)
        check(line.startswith("HTTP/1.1 405 "), f"{method} {path}: {line!r} after {took:.2f} s")
        check(h.get("allow") == "GET, HEAD, OPTIONS", f"{method} {path}: Allow {h.get('allow')!r}")
        check(h.get("connection") == "close", f"{method} {path}: Connection {h.get('connection')!r}")
        check(c.wait_closed(), f"{method} {path}: connection not closed")
        c.close()
    # GET ?action=command: the path takes only POST
    c, got, _ = head_exchange(d.port, request_bytes("PUT", "/?action=command&id=x&value=1",
                                                    {"Content-Length": "3"}))
    line, h, _ = parse_head(got)
    check(line.startswith("HTTP/1.1 405 ") and h.get("connection") == "close",
          f"PUT ?action=command: {line!r} {h}")
    c.close()
    check(d.alive(), "mjpegd died")
    assert_serving(d.port)
    d.stop()
