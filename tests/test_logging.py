"""One log line per request: the route pattern, never the concrete path, keys or emails."""

import logging
import re
import sys

import pytest

LINE = re.compile(
    r"^request_id=(?P<id>\S+) method=(?P<method>[A-Z]+) route=(?P<route>\S+) "
    r"status=(?P<status>\d{3}) ms=(?P<ms>\d+\.\d)$"
)


@pytest.fixture
def request_log(app, caplog):
    """The request logger's lines; it does not propagate, so caplog is attached to it."""
    logger = logging.getLogger("flipfunnel.requests")
    added = caplog.handler not in logger.handlers
    if added:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="flipfunnel.requests")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "flipfunnel.requests"]

    yield lines
    if added:
        logger.removeHandler(caplog.handler)


def only_line(lines: list[str]) -> re.Match:
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match, lines[0]
    return match


def test_one_line_per_request(tenant, request_log):
    response = tenant.get("/v1/contacts")
    line = only_line(request_log())
    assert line["id"] == response.headers["X-Request-ID"]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/contacts", "200")
    assert float(line["ms"]) >= 0
    tenant.get("/v1/keys")
    tenant.get("/healthz")
    assert len(request_log()) == 3


def test_errors_are_logged_too(client, tenant, request_log):
    client.get("/v1/contacts", headers={"Authorization": "Bearer sk_not_a_real_key_123456"})
    tenant.post("/v1/contacts", json={"stage": "vip"})
    tenant.get("/v1/no-such-thing/tok_live_abcdef0123456789")
    first, second, third = (LINE.match(line) for line in request_log())
    assert (first["route"], first["status"]) == ("/v1/contacts", "401")
    assert (second["method"], second["status"]) == ("POST", "422")
    assert (third["route"], third["status"]) == ("<unmatched>", "404")
    assert "sk_not_a_real_key" not in "\n".join(request_log())
    assert "tok_live" not in "\n".join(request_log())


def test_line_holds_no_key_email_or_path_value(tenant, request_log):
    email = "ann.secret@example.com"
    tenant.put(f"/v1/contacts/{email}", json={"email": email, "first_name": "Ann"})
    tenant.post("/v1/contacts", json={"external_id": "u-2", "email": "bob.hidden@example.com"})
    tenant.get(f"/v1/contacts/{email}")
    tenant.get("/v1/contacts", query_string={"email": email})
    lines = request_log()
    assert len(lines) == 4
    text = "\n".join(lines)
    assert "ann.secret" not in text and "example.com" not in text
    assert "bob.hidden" not in text and "@" not in text
    assert tenant.secret_key not in text and tenant.secret_key[3:] not in text
    assert tenant.secret_key[:11] not in text  # not even its visible prefix
    assert [LINE.match(line)["route"] for line in lines] == [
        "/v1/contacts/<external_id>",
        "/v1/contacts",
        "/v1/contacts/<external_id>",
        "/v1/contacts",
    ]


@pytest.mark.parametrize(
    "incoming",
    ["abcdefgh", "req-2024.11_23-XYZ", "0123456789abcdef0123456789abcdef", "a" * 64],
)
def test_safe_client_request_id_is_echoed(tenant, request_log, incoming):
    response = tenant.get("/v1/contacts", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    assert only_line(request_log())["id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "abcdefg",  # too short
        "a" * 65,  # too long
        "bad id with spaces",
        "abcdefgh\nrequest_id=forged method=GET",  # a forged second log line
        "abcdefgh\n",  # `$` alone would let a trailing newline through
        "abcdefgh\r\nX-Evil: 1",
        "abc/def/ghi",
        "abcdefgh<script>",
        "caf\u00e9-caf\u00e9-caf\u00e9",
    ],
)
def test_unsafe_client_request_id_is_replaced(tenant, request_log, incoming):
    response = tenant.client.get(
        "/v1/contacts", headers=tenant.headers, environ_base={"HTTP_X_REQUEST_ID": incoming}
    )
    echoed = response.headers["X-Request-ID"]
    assert echoed != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    line = only_line(request_log())
    assert line["id"] == echoed
    assert "forged" not in request_log()[0] and "\n" not in request_log()[0]


def test_every_request_gets_a_fresh_id(client, request_log):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_error_body_names_the_request_id(tenant):
    response = tenant.get("/v1/contacts/nobody", headers={"X-Request-ID": "trace-abc-123"})
    assert response.get_json()["error"]["request_id"] == "trace-abc-123"


def test_the_referral_link_logs_and_echoes_the_request_id(client, request_log):
    response = client.get(
        "/r/NOSUCHCODE?email=ann@example.com", headers={"X-Request-ID": "link-1234"}
    )
    assert response.status_code == 302
    assert response.headers["X-Request-ID"] == "link-1234"
    line = only_line(request_log())
    assert line["id"] == "link-1234" and line["route"] == "/r/<code>"
    assert line["status"] == "302" and "NOSUCHCODE" not in line.string
    assert "ann@example.com" not in line.string


def test_queued_lines_are_written_off_the_request_and_none_is_lost(tmp_path, monkeypatch):
    from api.http import request_log

    path = tmp_path / "requests.log"
    with open(path, "w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        handler = request_log._handler(queued=True)
        log = logging.getLogger("test.queued")
        log.addHandler(handler)
        log.propagate = False
        try:
            for n in range(500):
                log.warning("line %d", n)
            # Stopping drains the queue, as the worker's exit does.
            handler.listener.stop()
        finally:
            log.removeHandler(handler)
            handler.listener.start()  # for the stop registered at exit
    lines = path.read_text().splitlines()
    assert [line.split(" WARNING ")[1] for line in lines] == [f"line {n}" for n in range(500)]
