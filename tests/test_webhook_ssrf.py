"""The SSRF guard: every refused class of address, at creation and at delivery; DNS
answers checked once and connected to as checked; redirects never followed; TLS
verifying the name while connecting to the checked address."""

import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading

import pytest
from sqlalchemy import select

from api.extensions import db
from api.webhooks import ssrf
from api.webhooks.models import WebhookDelivery
from tests.conftest import create_tenant
from tests.factories import seed
from tests.receiver import Receiver
from tests.webhooks import LOCAL, deliver, make_endpoint

REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10/hook", "loopback"),
    ("https://10.0.0.5/hook", "private"),
    ("https://172.16.3.4/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://255.255.255.255/hook", "reserved"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::]/hook", "unspecified"),
    ("https://[::1]/hook", "loopback"),
    ("https://[fc00::1]/hook", "unique local"),
    ("https://[fd00:ec2::254]/hook", "unique local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://[ff02::1]/hook", "multicast"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::ffff:169.254.169.254]/hook", "link-local"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://[2002:a9fe:a9fe::1]/hook", "link-local"),  # 6to4 of 169.254.169.254
    ("https://[64:ff9b::a00:1]/hook", "private"),  # NAT64 of 10.0.0.1
    ("https://192.0.2.10/hook", "non-public"),  # documentation
    ("https://localhost/hook", "loopback"),  # a name that resolves to 127.0.0.1
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_each_class_is_refused_at_creation(tenant, url, why):
    answer = tenant.post("/v1/webhook-endpoints", json={"url": url})
    assert answer.status_code == 422, answer.get_json()
    message = answer.get_json()["error"]["fields"]["url"][0]
    assert why in message and "public" in message


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://user:pass@93.184.215.14/hook", "Credentials"),
        ("https:///hook", "host"),
        ("https://93.184.215.14:99999/hook", "valid"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(tenant, url, why):
    answer = tenant.post("/v1/webhook-endpoints", json={"url": url})
    assert answer.status_code == 422
    assert why in answer.get_json()["error"]["fields"]["url"][0]


def test_a_public_address_is_accepted(tenant):
    assert (
        tenant.post("/v1/webhook-endpoints", json={"url": "https://93.184.215.14/h"}).status_code
        == 201
    )
    assert (
        tenant.post(
            "/v1/webhook-endpoints", json={"url": "https://[2606:4700::1111]/h"}
        ).status_code
        == 201
    )


def test_changing_the_url_is_checked_too(tenant):
    created = tenant.post(
        "/v1/webhook-endpoints", json={"url": "https://93.184.215.14/h"}
    ).get_json()
    answer = tenant.patch(
        f"/v1/webhook-endpoints/{created['id']}", json={"url": "https://169.254.169.254/"}
    )
    assert answer.status_code == 422


def test_every_attempt_is_checked_again(app_factory, receiver):
    """Allowed when made (development), refused when sent (production rules)."""
    permissive = app_factory(**LOCAL)
    tenant = create_tenant(permissive)
    make_endpoint(tenant, receiver.url)
    seed(permissive, tenant.id)
    strict = app_factory(WEBHOOKS_ALLOW_HTTP=True)
    deliver(strict)
    assert receiver.received == []
    with strict.app_context():
        delivery = db.session.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.last_error) == ("pending", "refused_address")
    log = tenant.get(f"/v1/webhook-deliveries/{delivery.id}").get_json()["attempt_log"]
    assert "loopback" in log[0]["error_message"]


def test_a_name_rebound_to_loopback_after_creation_is_refused(app, tenant, receiver, monkeypatch):
    answers = iter(["93.184.215.14", "127.0.0.1"])
    monkeypatch.setattr(
        ssrf, "getaddrinfo", lambda host, port: [(socket.AF_INET, 1, 6, "", (next(answers), port))]
    )
    make_endpoint(tenant, f"https://hooks.example:{receiver.port}/hooks")
    seed(app, tenant.id)
    deliver(app)
    assert receiver.received == []
    with app.app_context():
        assert db.session.scalar(select(WebhookDelivery.last_error)) == "refused_address"


def test_the_connection_goes_to_the_address_checked_with_one_lookup(
    app_factory, receiver, monkeypatch
):
    """The name resolves (once per attempt) to 127.0.0.1 only here: reaching the receiver
    at all proves the sender connected to that checked address, not a second lookup."""
    lookups = []

    def lookup(host, port):
        lookups.append(host)
        return [(socket.AF_INET, 1, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(ssrf, "getaddrinfo", lookup)
    app = app_factory(**LOCAL)
    tenant = create_tenant(app)
    make_endpoint(tenant, f"http://hooks.example:{receiver.port}/in")
    lookups.clear()
    seed(app, tenant.id)
    deliver(app)
    (one,) = receiver.received
    assert one.headers["host"] == f"hooks.example:{receiver.port}"
    assert one.path == "/in"
    assert lookups == ["hooks.example"]


def test_a_redirect_to_the_metadata_service_is_not_followed(app_factory, receiver):
    app = app_factory(**LOCAL)
    tenant = create_tenant(app)
    receiver.answer = lambda received: (
        302,
        {"Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
        b"",
    )
    make_endpoint(tenant, receiver.url)
    seed(app, tenant.id)
    deliver(app)
    assert len(receiver.received) == 1
    with app.app_context():
        delivery = db.session.scalar(select(WebhookDelivery))
        assert (delivery.last_status_code, delivery.last_error) == (302, "redirect")


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def tls_receiver(tmp_path):
    """An https receiver whose certificate (from a test CA) names hooks.test only."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")

    def run(*args):
        # The arguments are this fixture's own constants.
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=tmp_path)  # noqa: S603

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=Test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "site.key",
        "-out",
        "site.csr",
        "-subj",
        "/CN=hooks.test",
    )
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:hooks.test\n")
    run(
        "x509",
        "-req",
        "-in",
        "site.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "site.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    )
    receiver = Receiver()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "site.pem", tmp_path / "site.key")
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    lock = threading.Lock()
    original = receiver.server.get_request

    def get_request():
        sock, address = original()
        with lock:
            return context.wrap_socket(sock, server_side=True), address

    receiver.server.get_request = get_request
    receiver.sni = names
    receiver.ca = str(tmp_path / "ca.pem")
    yield receiver
    receiver.close()


def test_tls_verifies_the_name_while_connecting_to_the_checked_address(
    app_factory, tls_receiver, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", tls_receiver.ca)
    monkeypatch.setattr(
        ssrf, "getaddrinfo", lambda host, port: [(socket.AF_INET, 1, 6, "", ("127.0.0.1", port))]
    )
    app = app_factory(WEBHOOKS_ALLOW_PRIVATE=True)  # https only
    tenant = create_tenant(app)
    good = make_endpoint(tenant, f"https://hooks.test:{tls_receiver.port}/ok")
    make_endpoint(tenant, f"https://other.test:{tls_receiver.port}/wrong-name")
    seed(app, tenant.id)
    deliver(app)
    (one,) = tls_receiver.received
    assert one.path == "/ok"
    assert json.loads(one.body)["type"] == "invitation.created"
    assert "hooks.test" in tls_receiver.sni
    with app.app_context():
        failed = db.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id != good["id"])
        )
        assert failed.last_error == "tls"


# --- at delivery, class by class -------------------------------------------------------------


def _sender(**settings):
    from api.webhooks.sender import Sender

    config = {
        "WEBHOOKS_CONNECT_TIMEOUT_SECONDS": 1.0,
        "WEBHOOKS_TIMEOUT_SECONDS": 2.0,
        "WEBHOOKS_ALLOW_HTTP": False,
        "WEBHOOKS_ALLOW_PRIVATE": False,
        "WEBHOOKS_MAX_IN_FLIGHT": 2,
        **settings,
    }
    return Sender(config)


def _attempt(sender, url):
    from api.database import utcnow
    from api.webhooks.sender import Outgoing

    return sender.send(Outgoing("dlv_x", "token", url, {}, b"{}", utcnow()))


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_each_class_is_refused_at_delivery_without_a_connection(url, why, monkeypatch):
    import urllib3.util.connection

    connections = []
    monkeypatch.setattr(
        urllib3.util.connection, "create_connection", lambda *a, **k: connections.append(a)
    )
    sender = _sender()
    try:
        outcome = _attempt(sender, url)
    finally:
        sender.close()
    assert outcome.error == "refused_address", outcome
    assert why in outcome.error_message
    assert connections == []


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("100.100.0.1", "carrier-grade NAT"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fd12::1", "unique local"),
    ],
)
def test_a_name_resolving_to_each_class_is_refused_at_delivery(address, why, monkeypatch):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(
        ssrf, "getaddrinfo", lambda host, port: [(family, 1, 6, "", (address, port))]
    )
    sender = _sender()
    try:
        outcome = _attempt(sender, "https://hooks.example/in")
    finally:
        sender.close()
    assert outcome.error == "refused_address"
    assert f"hooks.example resolves to {ipaddress.ip_address(address)}" in outcome.error_message
    assert why in outcome.error_message


def test_http_is_refused_at_delivery_unless_allowed():
    sender = _sender()
    try:
        assert _attempt(sender, "http://93.184.215.14/").error == "refused_address"
    finally:
        sender.close()
