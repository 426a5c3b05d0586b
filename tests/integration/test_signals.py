"""Integration tests, area signals (make test-integration T=signals): SIGTERM and SIGINT with
clients connected."""
import signal

from harness import SANITIZED, SLOW, Conn, Context, Daemon, TestFailure, check, request_bytes
from pool import StreamPool
from common import test


def signal_with_clients(sig):
    d = Daemon("--source", "testpattern", "--size", "320x240", "--fps", "30")
    d.wait_frame()
    pool = StreamPool(d.port, 5)
    pool.run(until=lambda: min(c.frames for c in pool.clients) >= 2, timeout=5)
    idle = Conn(d.port)  # a keep-alive connection between requests
    idle.send(request_bytes("GET", "/status"))
    idle.read_response()
    half = Conn(d.port)  # one in the middle of its head
    half.send(b"GET /status HTTP/1.1\r\n")
    stalled = Conn(d.port, rcvbuf=4096)
    stalled.send(request_bytes("GET", "/stream.mjpg"))
    pool.run(seconds=0.5)
    d.signal(sig)
    rc, dt = d.wait_exit(3.0 * SLOW)
    d.stopped = True
    if rc is None:
        d.kill()
        raise TestFailure(f"mjpegd still running {3.0 * SLOW:.0f} s after {sig.name}")
    d.check_log()
    check(rc == 0, f"exit code {rc} after {sig.name}")
    Context.current.note(f"exit {rc} {dt:.3f} s after {sig.name}")
    limit = 1.0 if not SANITIZED else 1.5
    check(dt <= limit, f"exit took {dt:.2f} s after {sig.name} (limit {limit} s)")
    pool.run(seconds=0.3)
    check(all(c.closed for c in pool.clients), "stream clients not disconnected")
    check(idle.wait_closed(1) and half.wait_closed(1), "HTTP clients not disconnected")
    pool.close()


@test
def test_sigterm_with_clients():
    signal_with_clients(signal.SIGTERM)


@test
def test_sigint_with_clients():
    signal_with_clients(signal.SIGINT)
