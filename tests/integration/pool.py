"""Many stream clients in one process: non-blocking sockets and one selector."""
import selectors
import socket
import time

from harness import SLOW, STREAM_CONTENT_TYPE, Context, MultipartParser, TestFailure, check


class StreamClient:
    def __init__(self, port, path, rcvbuf=None):
        self.path = path
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5 * SLOW)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.sock.setblocking(False)
        Context.current.sockets.append(self.sock)
        self.head = bytearray()
        self.status = None
        self.parser = MultipartParser(keep=False, verify=True)
        self.frames = 0
        self.times = []  # monotonic arrival time of every complete part
        self.closed = False
        self.error = None

    def addr(self):
        h, p = self.sock.getsockname()[:2]
        return f"{h}:{p}"

    def on_data(self, data, now):
        if self.status is None:
            self.head += data
            i = self.head.find(b"\r\n\r\n")
            if i < 0:
                return
            head = self.head[:i].decode("latin-1")
            rest = bytes(self.head[i + 4:])
            self.head = None
            lines = head.split("\r\n")
            self.status = int(lines[0].split()[1])
            if self.status != 200:
                self.error = f"{self.path}: status line {lines[0]!r}"
                return
            ctype = [ln.split(":", 1)[1].strip() for ln in lines[1:]
                     if ln.lower().startswith("content-type:")]
            if ctype != [STREAM_CONTENT_TYPE]:
                self.error = f"{self.path}: Content-Type {ctype}"
                return
            data = rest
        if data:
            parts = self.parser.feed(data, now)
            self.frames += len(parts)
            self.times.extend(p.t_done for p in parts)

    def frames_between(self, t0, t1):
        return sum(1 for t in self.times if t0 <= t < t1)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class StreamPool:
    def __init__(self, port, n, path="/stream.mjpg", paths=None):
        self.sel = selectors.DefaultSelector()
        self.clients = []
        for i in range(n):
            p = paths[i] if paths else path
            c = StreamClient(port, p)
            self.clients.append(c)
            self.sel.register(c.sock, selectors.EVENT_READ, c)

    def run(self, seconds=None, until=None, timeout=10, on_tick=None):
        """Reads from every client for `seconds`, or until until() is true (failing after
        timeout * SLOW s). on_tick(now) is called about every 0.25 s."""
        start = time.monotonic()
        end = start + seconds if seconds is not None else start + timeout * SLOW
        next_tick = start
        while True:
            now = time.monotonic()
            if on_tick and now >= next_tick:
                on_tick(now)
                next_tick = now + 0.25
            if until and until():
                return
            if now >= end:
                if seconds is None:
                    raise TestFailure(f"condition not reached within {timeout * SLOW:.0f} s")
                return
            for key, _ in self.sel.select(timeout=min(0.05, max(0.0, end - now))):
                c = key.data
                try:
                    data = c.sock.recv(262144)
                except BlockingIOError:
                    continue
                except ConnectionError as e:
                    data = b""
                    c.error = c.error or f"{c.path}: {e}"
                now = time.monotonic()
                if not data:
                    c.closed = True
                    self.sel.unregister(c.sock)
                    continue
                c.on_data(data, now)
            for c in self.clients:
                check(not c.error, f"stream client {c.addr() if not c.closed else ''}: "
                      f"{c.error}")

    def check_open(self):
        closed = [i for i, c in enumerate(self.clients) if c.closed]
        check(not closed, f"mjpegd closed {len(closed)} stream(s) (clients {closed[:10]})")

    def close(self):
        for c in self.clients:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.close()
        self.sel.close()
