"""A real webhook receiver on loopback, for tests: records what arrives, answers as told.

It speaks HTTP/1.1 with keep-alive, as real receivers do. `stall()` makes it hold
every request until `release()`; a held request whose client went away (a worker
killed with -9) stops counting as in flight. `overlaps` counts requests that
arrived while another with the same `webhook-id` was still in flight.
"""

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


Answer = tuple[int, dict[str, str], bytes]


class Receiver:
    def __init__(self, answer: Callable[[Received], Answer] | None = None):
        self.answer = answer or (lambda received: (200, {}, b"ok"))
        self.received: list[Received] = []
        self.overlaps = 0
        self._in_flight: dict[str, int] = {}
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                receiver._arrive(received)
                try:
                    if not receiver._hold(self.connection):
                        self.close_connection = True
                        return
                    status, headers, body = receiver.answer(received)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    receiver._leave(received)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll: shutdown() waits for it, at the end of every test.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _arrive(self, received: Received) -> None:
        with self._changed:
            if self._in_flight.get(received.webhook_id):
                self.overlaps += 1
            self._in_flight[received.webhook_id] = self._in_flight.get(received.webhook_id, 0) + 1
            self.received.append(received)
            self._changed.notify_all()

    def _leave(self, received: Received) -> None:
        with self._changed:
            self._in_flight[received.webhook_id] -= 1
            self._changed.notify_all()

    def _hold(self, connection: socket.socket) -> bool:
        """Wait while stalled; False if the client hung up meanwhile."""
        while not self._released.wait(0.05):
            readable, _, _ = select.select([connection], [], [], 0)
            if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                return False
        return True

    def stall(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Until at least `count` requests arrived; all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} requests arrived")
                self._changed.wait(left)
            return list(self.received)

    def in_flight(self) -> int:
        with self._changed:
            return sum(self._in_flight.values())

    def wait_in_flight(self, count: int, timeout: float = 20.0) -> None:
        """Until at least `count` requests are being held (or answered) at once."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(self._in_flight.values()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{sum(self._in_flight.values())} of {count} in flight")
                self._changed.wait(left)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Until `condition()` holds, checked whenever a request arrives or leaves."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the receiver never saw what was expected")
                self._changed.wait(min(left, 0.5))

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
