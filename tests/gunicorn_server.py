"""Our app under gunicorn and gunicorn.conf.py, as production runs it, for a test.

Started on a free loopback port with the environment a test gives (the test's
database, a signing key, limits); its stderr (gunicorn's log and ours) goes to
a file the test reads after `stop()`.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, log_path: Path, env: dict[str, str], workers: int = 1):
        self.port = free_port()
        self.log_path = log_path
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GUNICORN_", "RATELIMIT_", "FLIPFUNNEL_"))
        }
        environment.update({"WEB_CONCURRENCY": str(workers), "PYTHONUNBUFFERED": "1", **env})
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed by stop)
        command = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, *command, "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(workers)

    def _wait_ready(self, workers: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            booted = self.log_path.read_text().count("Booting worker")
            try:  # any answer (a 429 too, under a test's tight limit) says it is up
                if booted >= workers and self.request("GET", "/healthz")[0]:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log_path.read_text()[-2000:]}")

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            headers = dict(headers or {})
            if body is not None and not isinstance(body, bytes):
                body = json.dumps(body).encode()
                headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def raw(self, data: bytes) -> bytes:
        """Send `data` as is and read the whole answer (gunicorn closes the connection)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer

    def stop(self) -> str:
        """Stop gunicorn (its workers flush their logs) and return everything it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.log_path.read_text()
