"""Outbound HTTP for webhooks, with urllib3.

* It connects to the address `ssrf.resolve` checked, never resolving the name
  again, while TLS still sends the real name (SNI) and verifies the certificate
  against it (`server_hostname`, `assert_hostname`): DNS rebinding cannot switch
  the address between the check and the connection.
* It never follows a redirect (a 3xx is a failed attempt), reads at most 2 KB of
  the answer for the attempt log, and keeps connections alive per (address,
  name) in a bounded pool: at most `WEBHOOKS_MAX_IN_FLIGHT` sends at once.
* 5 s to connect and 15 s in all. urllib3's read timeout is per socket read, so a
  receiver trickling a byte every few seconds could hold a send for ever; a
  watchdog thread shuts the sockets of sends past their deadline.
"""

import email.utils
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from api.webhooks import ssrf

log = logging.getLogger("flipfunnel.worker")

BODY_LOG_BYTES = 2048
USER_AGENT = "Flipfunnel-Webhooks/1.0"


@dataclass(frozen=True)
class Outgoing:
    """One attempt to make: built and signed by the dispatcher, sent here."""

    delivery_id: str
    token: str  # the lease it is sent under
    url: str
    headers: dict
    body: bytes
    at: datetime  # when the attempt counts as made (the worker's clock)


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    token: str
    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None  # None: a 2xx
    error_message: str | None = None
    retry_after: float | None = None  # seconds, from a 429 or 503

    @property
    def succeeded(self) -> bool:
        return self.error is None


# --- deadlines -----------------------------------------------------------------------------


class _Watch:
    def __init__(self, deadline: float):
        self.deadline = deadline
        self.sockets: list[socket.socket] = []
        self.expired = False


class _Watchdog:
    """Shuts the sockets of sends that outlive their deadline."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self._local = threading.local()
        self._watches: set[_Watch] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, deadline: float):
        watch = _Watch(deadline)
        with self._lock:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-deadlines")
                self._thread.daemon = True
                self._thread.start()
        self._local.watch = watch
        try:
            yield watch
        finally:
            self._local.watch = None
            with self._lock:
                self._watches.discard(watch)

    def track(self, sock) -> None:
        watch = getattr(self._local, "watch", None)
        if watch is not None and sock is not None:
            watch.sockets.append(sock)
            if watch.expired:
                _shut(sock)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            with self._lock:
                late = [
                    watch for watch in self._watches if not watch.expired and now > watch.deadline
                ]
            for watch in late:
                watch.expired = True
                for sock in list(watch.sockets):
                    _shut(sock)


def _shut(sock) -> None:
    with suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()


class _Watched:
    """A connection the watchdog tracks, plain or TLS (mixed in before urllib3's class)."""

    def connect(self) -> None:
        super().connect()
        _watchdog.track(self.sock)

    def request(self, *args, **kwargs) -> None:
        _watchdog.track(self.sock)  # a kept-alive connection, already connected
        super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# --- sending -------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Sender:
    def __init__(self, config: dict):
        self.connect_timeout = config["WEBHOOKS_CONNECT_TIMEOUT_SECONDS"]
        self.total_timeout = config["WEBHOOKS_TIMEOUT_SECONDS"]
        self.allow_http = config["WEBHOOKS_ALLOW_HTTP"]
        self.allow_private = config["WEBHOOKS_ALLOW_PRIVATE"]
        self.max_in_flight = config["WEBHOOKS_MAX_IN_FLIGHT"]
        self.pools = PoolManager(num_pools=256, maxsize=self.max_in_flight, block=False)
        self.pools.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        self._executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="webhook-send")
        self.stopping: Callable[[], bool] = lambda: False

    def submit(self, outgoing: Outgoing) -> "Future[Outcome | None]":
        """Send in the pool; None if the worker began stopping before its turn came."""
        return self._executor.submit(self._send_safely, outgoing)

    def _send_safely(self, outgoing: Outgoing) -> Outcome | None:
        if self.stopping():
            return None
        try:
            return self.send(outgoing)
        except Exception:
            # A bug of ours: logged (ids only), and recorded as a failed attempt.
            log.exception("sending delivery=%s failed", outgoing.delivery_id)
            return Outcome(outgoing.delivery_id, outgoing.token, outgoing.at, 0, error="internal")

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.pools.clear()

    def send(self, outgoing: Outgoing) -> Outcome:
        started = time.monotonic()

        def outcome(**fields) -> Outcome:
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(outgoing.delivery_id, outgoing.token, outgoing.at, elapsed, **fields)

        try:
            target = ssrf.resolve(
                outgoing.url, allow_http=self.allow_http, allow_private=self.allow_private
            )
        except ssrf.Refused as refused:
            error = "unresolvable" if refused.code == "unresolvable" else "refused_address"
            return outcome(error=error, error_message=refused.reason[:300])
        headers = {**outgoing.headers, "Host": target.host_header, "User-Agent": USER_AGENT}
        with _watchdog.watching(started + self.total_timeout) as watch:
            try:
                response = self._post(target, headers, outgoing.body, started)
                status = response.status
                try:
                    text = response.read(BODY_LOG_BYTES + 1, decode_content=False)
                except (HTTPError, OSError):
                    text = b""
                if len(text) > BODY_LOG_BYTES:
                    response.close()  # a longer answer is not worth reading: drop the connection
                response.release_conn()
            except SSLError as failure:
                return outcome(error="tls", error_message=_message(failure))
            except NewConnectionError as failure:
                return outcome(error="connection", error_message=_message(failure))
            except (ConnectTimeoutError, ReadTimeoutError):
                return outcome(error="timeout", error_message="No answer in time.")
            except (ProtocolError, HTTPError, OSError) as failure:
                if watch.expired:
                    return outcome(
                        error="timeout",
                        error_message=f"No complete answer within {self.total_timeout:g} s.",
                    )
                return outcome(error="connection", error_message=_message(failure))
        logged = text[:BODY_LOG_BYTES].decode("utf-8", errors="replace")
        if 200 <= status < 300:
            return outcome(status_code=status, response_body=logged)
        if 300 <= status < 400:
            return outcome(
                status_code=status,
                response_body=logged,
                error="redirect",
                error_message=f"Answered {status}; redirects are never followed.",
            )
        retry_after = None
        if status in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), outgoing.at)
        return outcome(
            status_code=status,
            response_body=logged,
            error="http_status",
            error_message=f"Answered {status}.",
            retry_after=retry_after,
        )

    def _post(self, target: ssrf.Target, headers: dict, body: bytes, started: float):
        """POST to the first checked address that takes the connection."""
        failure: Exception | None = None
        for address in target.addresses:
            remaining = self.total_timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            tls = {"server_hostname": target.host, "assert_hostname": target.host}
            pool = self.pools.connection_from_host(
                address,
                target.port,
                target.scheme,
                pool_kwargs=tls if target.scheme == "https" else None,
            )
            try:
                return pool.urlopen(
                    "POST",
                    target.path,
                    body=body,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                    release_conn=False,
                    timeout=Timeout(connect=min(self.connect_timeout, remaining), read=remaining),
                )
            except NewConnectionError as error:  # refused: the next address may take it
                failure = error
            except ConnectTimeoutError as error:
                failure = error
        raise failure or ConnectTimeoutError("No time left to connect.")


def _message(failure: Exception) -> str:
    """The reason, after urllib3's prefix (the connection or pool it happened on).

    urllib3 never puts the path in these messages: a Slack webhook URL's secret
    path stays out of the attempt log.
    """
    text = str(failure)
    return text.rsplit(": ", 1)[-1][:300]
