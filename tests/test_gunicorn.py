"""The app under gunicorn with gunicorn.conf.py, as production runs it.

What only a real server shows: the requests gunicorn refuses itself, answered in
our error format; its log and ours, read whole, holding no personal data even
when a write fails in the database; and a rate limit that several worker
processes count together.
"""

import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.gunicorn_server import Gunicorn

EMAIL = "ann.pii@example.com"
OTHER_EMAIL = "ann.private@example.net"
PHONE = "+49 170 5550123"
QUERY_KEY = "sk_live_in_a_query_0123456789abcdef"


def server_env(database_uri: str, **extra) -> dict[str, str]:
    return {
        "DATABASE_URL": database_uri,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FLIPFUNNEL_ENV": "testing",
        **extra,
    }


@pytest.fixture
def server(app, database_uri, tmp_path):
    """One worker on the test's database (stopped before the database is emptied)."""
    started = Gunicorn(tmp_path / "gunicorn.log", server_env(database_uri))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def refusing_server(database_uri, tmp_path_factory):
    """One worker for every request gunicorn refuses itself. They never reach the app
    or its database, so one server serves them all: starting one took 4 s of CPU. Its
    whole log, read after it stopped, holds none of what those requests carried."""
    started = Gunicorn(
        tmp_path_factory.mktemp("refusals") / "gunicorn.log", server_env(database_uri)
    )
    yield started
    log = started.stop()
    assert EMAIL not in log and QUERY_KEY not in log


def logged_line(server: Gunicorn, text: str, timeout: float = 10) -> str:
    """The first line of the running server's log that holds `text`, once written."""
    deadline = time.monotonic() + timeout
    while True:
        line = next(
            (line for line in server.log_path.read_text().splitlines() if text in line), None
        )
        if line is not None or time.monotonic() > deadline:
            assert line is not None, f"{text!r} was not logged"
            return line
        time.sleep(0.02)


def error_of(answer: bytes) -> tuple[int, dict, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)["error"]


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            f"GET /v1/contacts?key={QUERY_KEY}&email={EMAIL}&after={'x' * 10_000} HTTP/1.1\r\n"
            "Host: t\r\n\r\n",
            414,
            "uri_too_long",
        ),
        (
            f"GET /healthz?email={EMAIL} HTTP/1.1\r\nHost: t\r\nX-Note: {'y' * 9000}\r\n\r\n",
            431,
            "headers_too_large",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: t\r\n" + "X-Many: 1\r\n" * 150 + "\r\n",
            431,
            "headers_too_large",
        ),
        (f"NOT HTTP AT ALL ?email={EMAIL}\r\n\r\n", 400, "bad_request"),
        (
            f"GET /healthz?email={EMAIL} HTTP/1.1\r\nHost: t\r\nBad\x01Name: 1\r\n\r\n",
            400,
            "bad_request",
        ),
    ],
    ids=["request line too long", "header too large", "too many headers", "not HTTP", "bad header"],
)
def test_what_gunicorn_refuses_is_answered_in_our_format(
    refusing_server, request_bytes, status, code
):
    answered, headers, error = error_of(refusing_server.raw(request_bytes.encode("latin-1")))
    assert (answered, error["code"]) == (status, code)
    assert headers["Content-Type"] == "application/json"
    assert error["message"] and error["request_id"] == headers["X-Request-ID"]
    line = logged_line(refusing_server, error["request_id"])
    assert f"refused with {status}" in line
    log = refusing_server.log_path.read_text()
    assert EMAIL not in log and QUERY_KEY not in log and "?" not in line


@pytest.fixture
def failing_contact_writes(app, database_uri):
    """Writes of Ann's contact fail in the database: on PostgreSQL a check constraint,
    whose error quotes the row in its DETAIL ("Failing row contains ..."); on SQLite
    a trigger (whose message can only be a constant)."""
    engine = create_engine(database_uri)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(
                text(
                    "ALTER TABLE contacts ADD CONSTRAINT pii_refused "
                    "CHECK (email IS NULL OR email NOT LIKE 'ann%') NOT VALID"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER pii_refused BEFORE UPDATE ON contacts "
                    "WHEN NEW.email LIKE 'ann%' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    yield "sqlstate=23514 constraint=pii_refused" if postgres else "SQLITE_CONSTRAINT_TRIGGER"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("ALTER TABLE contacts DROP CONSTRAINT pii_refused"))
        else:
            connection.execute(text("DROP TRIGGER pii_refused"))
    engine.dispose()


def test_personal_data_in_a_failing_write_reaches_no_log_line(
    server, tenant, failing_contact_writes
):
    auth = {"Authorization": f"Bearer {tenant.secret_key}"}
    body = {
        "email": EMAIL,
        "first_name": "Ann",
        "attributes": {"phone": PHONE, "backup": OTHER_EMAIL},
    }
    failed = []
    for method, path, payload in (
        ("PUT", f"/v1/contacts/{EMAIL}?email={EMAIL}", body),
        ("POST", f"/v1/contacts?email={EMAIL}", {"external_id": EMAIL, **body}),
    ):
        status, _, answer = server.request(method, path, payload, auth)
        assert status == 500, answer
        error = json.loads(answer)["error"]
        assert error["code"] == "internal_error" and EMAIL not in answer.decode()
        failed.append(error["request_id"])
    # And what gunicorn refuses before the app: a query string with a key and an email.
    server.raw(
        f"GET /v1/contacts?key={QUERY_KEY}&email={EMAIL}&x={'x' * 5000} HTTP/1.1\r\n\r\n".encode()
    )
    server.raw(f"GET /v1/contacts?key={QUERY_KEY}&email={EMAIL} HTTP/9\r\n\r\n".encode())
    server.request("GET", f"/v1/contacts?email={EMAIL}&note=%00", headers=auth)

    log = server.stop()
    for secret in (EMAIL, OTHER_EMAIL, PHONE, "5550123", QUERY_KEY, tenant.secret_key):
        assert secret not in log, f"{secret!r} is in the log:\n{log}"
    assert "Failing row" not in log
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", log), "an email address is in the log"
    for request_id in failed:
        lines = [line for line in log.splitlines() if request_id in line]
        assert any("IntegrityError" in line and "route=/v1/contacts" in line for line in lines)
        # Each failure is named by class and SQLSTATE (or SQLite's name) and constraint.
        assert failing_contact_writes in log


def held_request(server: Gunicorn, path: str) -> int:
    """A GET that keeps its worker busy a moment (a sync worker serves one at a time),
    so requests sent together spread over the workers."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n".encode())
        time.sleep(0.02)
        sock.sendall(b"\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def together(calls: int, call) -> list:
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(call())) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def pids_that_served(server: Gunicorn, path: str) -> list[tuple[str, str]]:
    return re.findall(
        rf"access pid=<(\d+)> status=(\d+) path={path}\n", server.log_path.read_text()
    )


def test_three_workers_share_one_rate_limit_and_production_warns_once(app, database_uri, tmp_path):
    env = server_env(
        database_uri,
        FLIPFUNNEL_ENV="production",
        RATELIMIT_PUBLIC="10 per minute",
        RATELIMIT_STORAGE_URI=f"file://{tmp_path}/ratelimits",
        GUNICORN_ACCESSLOG="-",
        GUNICORN_ACCESS_LOG_FORMAT="access pid=%(p)s status=%(s)s path=%(U)s",
    )
    server = Gunicorn(tmp_path / "gunicorn.log", env, workers=3)
    try:
        # Every worker has loaded the app and answers (/healthz: its own limit's budget).
        deadline = time.monotonic() + 30
        while len({pid for pid, _ in pids_that_served(server, "/healthz")}) < 3:
            assert time.monotonic() < deadline, "not every worker answered"
            together(6, lambda: held_request(server, "/healthz"))
        statuses = together(30, lambda: held_request(server, "/readyz"))
    finally:
        log = server.stop()
    assert Counter(statuses) == {200: 10, 429: 20}, Counter(statuses)
    # The ten that passed were counted by different workers: one count, shared.
    allowed_by = [pid for pid, status in pids_that_served(server, "/readyz") if status == "200"]
    assert len(allowed_by) == 10 and len(set(allowed_by)) >= 2, allowed_by
    assert log.count("rate limits are counted per machine (the 3 workers here share") == 1


def test_a_sign_up_right_after_its_click_is_attributed_by_another_worker(
    app, database_uri, tenant, tmp_path
):
    auth = {"Authorization": f"Bearer {tenant.secret_key}"}
    landing = "https://shop.example.com/welcome"
    assert tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": landing})
    code = tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": "adv", "attributes": {}}}
    ).get_json()
    env = server_env(
        database_uri,
        SECRET_KEY=app.config["SECRET_KEY"],
        GUNICORN_ACCESSLOG="-",
        GUNICORN_ACCESS_LOG_FORMAT="access pid=%(p)s status=%(s)s path=%(U)s",
    )
    server = Gunicorn(tmp_path / "gunicorn.log", env, workers=3)

    def crossed() -> int:
        clicked = [pid for pid, _ in pids_that_served(server, f"/r/{code['code']}")]
        signed_up = [pid for pid, _ in pids_that_served(server, "/v1/referrals")]
        return sum(a != b for a, b in zip(clicked, signed_up, strict=False))

    answers = []
    try:
        # Until three sign-ups went to another worker than their click (whichever
        # worker takes a connection is the kernel's choice).
        while crossed() < 3:
            assert len(answers) < 60, "every sign-up went to its click's worker"
            status, headers, _ = server.request("GET", f"/r/{code['code']}")
            assert status == 302
            ffclick = parse_qs(urlsplit(headers["Location"]).query)["ffclick"][0]
            body = {"click_id": ffclick, "customer": {"external_id": f"friend-{len(answers)}"}}
            answers.append(server.request("POST", "/v1/referrals", body, auth))
    finally:
        server.stop()
    for status, _, answer in answers:
        assert status == 201, answer
        assert json.loads(answer)["source"] == "click"
