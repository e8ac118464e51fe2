"""Tenant isolation, checked generically over every /v1 route.

Workspace A makes one object of each kind through the API. Workspace B then
calls every method of every /v1 rule with A's identifiers in the path (and,
where a body names other objects, in the body). B must never see A's data,
must get 404 for A's objects (a PUT upsert creates B's own object instead), and
A's view of every GET route must be byte-for-byte the same afterwards.

A new route whose path has a parameter not in PATH_VALUES fails this test on
purpose: make one of A's objects of that kind in `make_workspace_a`, add the
parameter to PATH_VALUES, and add a body to BODIES if {} is not a valid body
for a POST/PUT/PATCH on it (the body must be valid, or B gets a 422 before
the object is ever looked up).
"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from api.contacts.imports import service as imports
from tests.conftest import Tenant, create_tenant
from tests.factories import stripe_signature

IGNORED_METHODS = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")
# Parameters that pick a fixed namespace, not an object: a rule with only these is a list.
NAMESPACES = {"queue"}


@dataclass
class Objects:
    """What workspace A owns: its API answers by kind, and the secrets it holds."""

    tenant: Tenant
    made: dict[str, dict] = field(default_factory=dict)
    keys: list[dict] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)

    def make(self, kind: str, response, *marker_fields: str) -> dict:
        assert response.status_code in (200, 201, 202), (kind, response.get_data(as_text=True))
        body = response.get_json()
        self.made[kind] = body
        self.markers |= {str(body[name]) for name in ("id", *marker_fields) if body.get(name)}
        return body


def make_workspace_a(app) -> Objects:
    tenant = create_tenant(app, "Alpha Isolation")
    a = Objects(tenant, markers={tenant.id, tenant.secret_key, tenant.publishable_key})
    for n in (1, 2):
        a.make(
            f"contact{n}",
            tenant.put(
                f"/v1/contacts/alpha-ext-{n}-q7",
                json={
                    "email": f"alpha.person{n}@alpha-only.example",
                    "first_name": f"Alphafirst{n}",
                    "last_name": f"Alphalast{n}",
                    "attributes": {"alpha_note": f"alpha-attribute-value-{n}"},
                },
            ),
            "external_id",
            "email",
            "first_name",
            "last_name",
        )
    a.markers |= {"alpha-attribute-value-1", "alpha-attribute-value-2"}
    a.make("key", tenant.post("/v1/keys", json={"kind": "secret", "name": "alpha-extra"}))
    a.keys = tenant.get("/v1/keys").get_json()["data"]
    a.markers |= {key["id"] for key in a.keys} | {key["prefix"] for key in a.keys}

    survey = a.make(
        "survey",
        tenant.post("/v1/surveys", json={"name": "Alpha Survey Q7", "kind": "nps"}),
        "name",
    )
    a.make(
        "response",
        tenant.post(
            "/v1/responses",
            json={
                "survey_id": survey["id"],
                "contact": {"external_id": a.made["contact1"]["external_id"]},
                "score": 2,  # a detractor, so a follow-up queue item opens
                "comment": "alpha-private-comment-q7",
            },
        ),
        "comment",
        "invitation_id",
    )
    a.make(
        "invitation_batch",
        tenant.post(
            f"/v1/surveys/{survey['id']}/invitations",
            json={"contacts": [{"external_id": a.made["contact2"]["external_id"]}]},
        ),
    )
    items = tenant.get("/v1/queues/follow_up/items").get_json()["data"]
    assert len(items) == 1, items
    a.made["queue_item"] = items[0]
    a.markers.add(items[0]["id"])

    a.make(
        "program",
        tenant.put(
            "/v1/referral-program",
            json={
                "enabled": True,
                "landing_url": "https://alpha-only.example/landing",
                "referrer_reward": {"kind": "money", "amount": 10, "currency": "EUR"},
                "hold_days": 0,
            },
        ),
        "landing_url",
    )
    code = a.make(
        "code",
        tenant.post(
            "/v1/referral-codes",
            json={"contact": {"external_id": a.made["contact1"]["external_id"]}},
        ),
        "code",
    )
    referral = a.make(
        "referral",
        tenant.post(
            "/v1/referrals",
            json={
                "code": code["code"],
                "customer": {
                    "external_id": "alpha-friend-q7",
                    "email": "friend@alpha-only.example",
                },
            },
        ),
        "referred_contact_id",
        "referred_external_id",
    )
    a.make(
        "conversion",
        tenant.post(
            f"/v1/referrals/{referral['id']}/conversions",
            json={"order_id": "alpha-order-q7", "amount": 50, "currency": "EUR"},
        ),
        "order_id",
    )
    rewards = tenant.get("/v1/rewards").get_json()["data"]
    assert len(rewards) == 1, rewards
    a.made["reward"] = rewards[0]
    a.markers.add(rewards[0]["id"])
    a.make("widget", tenant.get("/v1/widget"), "identity_secret")

    a.make(
        "advocacy_settings",
        tenant.patch(
            "/v1/advocacy-settings",
            json={
                "review_destinations": [
                    {"name": "Alpha Reviews Q7", "url": "https://alpha-only.example/reviews"}
                ]
            },
        ),
    )
    a.markers |= {"Alpha Reviews Q7", "https://alpha-only.example/reviews"}
    a.make(
        "testimonial",
        tenant.post(
            "/v1/testimonials",
            json={
                "contact": {"contact_id": a.made["contact1"]["id"]},
                "response_id": a.made["response"]["id"],
                "text": "alpha-testimonial-words-q7",
                "display_name": "Alphaquoted Q7",
                "tags": ["alpha-tag-q7"],
                "consent": {"text": "alpha-consent-wording-q7"},
            },
        ),
        "text",
        "display_name",
    )
    a.markers |= {"alpha-tag-q7", "alpha-consent-wording-q7"}
    a.make(
        "review_request",
        tenant.post(
            "/v1/review-requests",
            json={"contact": {"contact_id": a.made["contact2"]["id"]}, "channel": "api"},
        ),
        "url",
    )
    a.make(
        "opt_in",
        tenant.post(
            f"/v1/advocates/{a.made['contact1']['external_id']}/opt-in",
            json={"acts": ["case_study"]},
        ),
    )
    a.make(
        "act",
        tenant.post(
            "/v1/advocacy-acts",
            json={
                "contact": {"contact_id": a.made["contact1"]["id"]},
                "act": "reference_call",
                "note": "alpha-act-note-q7",
            },
        ),
        "note",
    )
    endpoint = a.make(
        "endpoint",
        tenant.post(
            "/v1/webhook-endpoints",
            json={"url": "https://93.184.215.14/alpha-hooks-q7", "description": "alpha-hook-q7"},
        ),
        "url",
        "description",
        "secret",
    )
    # Both answer 202 (queued): A's view of them is what B must not reach.
    ping = tenant.post(f"/v1/webhook-endpoints/{endpoint['id']}/ping").get_json()
    a.make("delivery", tenant.get(f"/v1/webhook-deliveries/{ping['id']}"))
    recover = tenant.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/recover",
        json={"since": "2026-01-01T00:00:00+00:00"},
    ).get_json()
    a.make("job", tenant.get(f"/v1/jobs/{recover['id']}"))

    stripe_secret = "whsec_alpha_only_" + "q7" * 12
    stripe = a.make(
        "stripe",
        tenant.put("/v1/integrations/stripe", json={"signing_secret": stripe_secret}),
        "receiving_url",
    )
    a.markers |= {stripe_secret, stripe["receiving_url"].rsplit("/", 1)[1]}
    event = json.dumps(
        {
            "id": "evt_alpha_only_q7",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {"object": {"id": "cs_alpha_only_q7", "amount_total": 900, "currency": "eur"}},
        }
    )
    received = tenant.client.post(
        urlsplit(stripe["receiving_url"]).path,
        data=event,
        headers={"Stripe-Signature": stripe_signature(event, stripe_secret)},
    )
    assert received.status_code == 200, received.get_data(as_text=True)
    a.markers |= {"evt_alpha_only_q7", "cs_alpha_only_q7", received.get_json()["id"]}

    a.make(
        "import",
        tenant.client.post(
            "/v1/contacts/imports",
            data=b"external_id,email\nalpha-imported-q7,not-an-email-alpha-q7\n",
            headers={**tenant.headers, "Content-Type": "text/csv"},
        ),
    )
    with app.app_context():
        imports.run_import(a.made["import"]["id"])
    a.markers |= {"alpha-imported-q7"}
    return a


# Path parameter -> the values (A's objects) to put in it; one call per value.
PATH_VALUES: dict[str, Callable[[Objects], list[str]]] = {
    "external_id": lambda a: [a.made["contact1"]["external_id"]],
    "key_id": lambda a: [key["id"] for key in a.keys],
    "survey_id": lambda a: [a.made["survey"]["id"]],
    "response_id": lambda a: [a.made["response"]["id"]],
    "invitation_id": lambda a: [a.made["response"]["invitation_id"]],
    "queue": lambda a: ["follow_up"],  # A's item is in it; B's must look empty
    "item_id": lambda a: [a.made["queue_item"]["id"]],
    "id_or_code": lambda a: [a.made["code"]["id"], a.made["code"]["code"]],
    "referral_id": lambda a: [a.made["referral"]["id"]],
    "reward_id": lambda a: [a.made["reward"]["id"]],
    "testimonial_id": lambda a: [a.made["testimonial"]["id"]],
    "review_request_id": lambda a: [a.made["review_request"]["id"]],
    "job_id": lambda a: [a.made["job"]["id"]],
    "endpoint_id": lambda a: [a.made["endpoint"]["id"]],
    "delivery_id": lambda a: [a.made["delivery"]["id"]],
    "import_id": lambda a: [a.made["import"]["id"]],
    "batch_id": lambda a: [a.made["invitation_batch"]["id"]],
}

# (rule, method) -> a minimal valid body, where {} is not one. Bodies naming
# other objects name A's, so references in bodies are checked too.
BODIES: dict[tuple[str, str], Callable[[Objects], dict]] = {
    # Upsert by A's other external id: must make B's own contact.
    ("/v1/contacts", "POST"): lambda a: {"external_id": a.made["contact2"]["external_id"]},
    ("/v1/keys", "POST"): lambda a: {"kind": "secret"},
    ("/v1/surveys", "POST"): lambda a: {"name": "Beta survey", "kind": "csat"},
    ("/v1/surveys/<survey_id>/invitations", "POST"): lambda a: {
        "contact": {"external_id": "beta-invitee"}
    },
    ("/v1/responses", "POST"): lambda a: {
        "survey_id": a.made["survey"]["id"],
        "contact": {"contact_id": a.made["contact1"]["id"]},
        "score": 9,
    },
    ("/v1/responses/<response_id>", "PATCH"): lambda a: {"comment": "beta comment"},
    (
        "/v1/queues/<any('follow_up', 'advocacy', 'follow-up'):queue>/items/<item_id>/claim",
        "POST",
    ): lambda a: {"assignee": "beta agent"},
    (
        "/v1/queues/<any('follow_up', 'advocacy', 'follow-up'):queue>/items/<item_id>/resolve",
        "POST",
    ): lambda a: {"outcome": "beta outcome"},
    ("/v1/referral-codes", "POST"): lambda a: {"contact": {"contact_id": a.made["contact1"]["id"]}},
    ("/v1/referral-codes/<id_or_code>", "PATCH"): lambda a: {"disabled": True},
    ("/v1/referrals", "POST"): lambda a: {
        "code": a.made["code"]["code"],
        "customer": {"external_id": "beta-friend"},
    },
    ("/v1/referrals/<referral_id>/review", "POST"): lambda a: {"decision": "reject"},
    ("/v1/referrals/<referral_id>/conversions", "POST"): lambda a: {
        "order_id": "beta-order",
        "amount": 1,
        "currency": "EUR",
    },
    ("/v1/referrals/<referral_id>/refunds", "POST"): lambda a: {
        "order_id": a.made["conversion"]["order_id"]
    },
    ("/v1/rewards/<reward_id>/paid", "POST"): lambda a: {"reference": "beta-payout"},
    ("/v1/testimonials", "POST"): lambda a: {
        "contact": {"contact_id": a.made["contact1"]["id"]},
        "text": "beta words",
        "display_name": "Beta",
        "consent": {"text": "beta consent"},
    },
    ("/v1/testimonials/<testimonial_id>", "PATCH"): lambda a: {"status": "approved"},
    ("/v1/review-requests", "POST"): lambda a: {
        "contact": {"contact_id": a.made["contact1"]["id"]}
    },
    ("/v1/advocates/<external_id>/opt-in", "POST"): lambda a: {"acts": ["review"]},
    ("/v1/advocates/<external_id>/asks", "POST"): lambda a: {"act": "review"},
    ("/v1/advocacy-acts", "POST"): lambda a: {
        "contact": {"contact_id": a.made["contact1"]["id"]},
        "act": "review",
    },
    ("/v1/webhook-endpoints/<endpoint_id>/recover", "POST"): lambda a: {
        "since": "2026-01-01T00:00:00+00:00"
    },
}

# Statuses allowed for calls without path parameters that are not plain lists.
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("/v1/contacts", "POST"): {201},
    ("/v1/keys", "POST"): {201},
    ("/v1/surveys", "POST"): {201},
    # Bodies naming A's survey, contact or code: not found for B.
    ("/v1/responses", "POST"): {404, 422},
    ("/v1/referral-codes", "POST"): {404, 422},
    ("/v1/referrals", "POST"): {404, 409, 422},
    ("/v1/testimonials", "POST"): {404},
    ("/v1/review-requests", "POST"): {404},
    ("/v1/advocacy-acts", "POST"): {404},
}


def v1_calls(app) -> list[tuple[str, str, list[str]]]:
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        for method in sorted(rule.methods - IGNORED_METHODS):
            objects = [name for name in PARAM.findall(rule.rule) if name not in NAMESPACES]
            calls.append((rule.rule, method, objects))
    # Lists first, so they are checked before B has made objects of its own; PUTs come
    # last, so B's calls (nested routes too: a contact's stages) meet A's id before
    # B's upsert makes an object of B's own under it.
    return sorted(
        calls,
        key=lambda call: (bool(call[2]) or call[1] != "GET", call[1] == "PUT", call[0], call[1]),
    )


def fill(rule: str, a: Objects) -> list[str]:
    missing = [name for name in PARAM.findall(rule) if name not in PATH_VALUES]
    assert not missing, (
        f"Route {rule} has path parameter(s) {missing} that tests/test_isolation.py does not "
        "know. Make one of workspace A's objects of that kind in make_workspace_a and add "
        "the parameter to PATH_VALUES, so the route is checked for tenant isolation."
    )
    paths = [rule]
    for name in PARAM.findall(rule):
        values = PATH_VALUES[name](a)
        assert values, f"PATH_VALUES[{name!r}] gave no value"
        pattern = re.compile(rf"<(?:[^<>:]+:)?{re.escape(name)}>")
        paths = [pattern.sub(value, path) for path in paths for value in values]
    return paths


# A survey or preference link is signed when it is shown (an invitation's links): its
# signature carries that moment, so two readings of the same invitation differ there.
SIGNED_LINK = re.compile(rb"(/[sp]/)[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+")


def snapshot(app, a: Objects) -> dict[str, tuple[int, bytes]]:
    """A's answer on every GET route, filled with A's objects: status and raw bytes
    (signed links' tokens aside)."""
    taken = {}
    for rule, method, _params in v1_calls(app):
        if method == "GET":
            for path in fill(rule, a):
                response = a.tenant.get(path)
                taken[path] = (
                    response.status_code,
                    SIGNED_LINK.sub(rb"\1<token>", response.get_data()),
                )
    return taken


def leaked(markers: set[str], text: str) -> list[str]:
    return sorted(marker for marker in markers if marker and marker in text)


def test_no_v1_route_reaches_another_workspace(app_factory):
    app = app_factory(API_KEY_TOUCH_SECONDS=3600)  # A's last_used_at stays put while B calls
    a = make_workspace_a(app)
    b = create_tenant(app, "Beta Isolation")
    markers = a.markers
    before = snapshot(app, a)
    assert {status for status, _ in before.values()} == {200}, {
        path: status for path, (status, _) in before.items() if status != 200
    }

    covered, problems, sent = [], [], set()
    for rule, method, params in v1_calls(app):
        for path in fill(rule, a):
            body = BODIES.get((rule, method), lambda _a: {})(a) if method in BODY_METHODS else None
            request_text = path + (json.dumps(body) if body is not None else "")
            echoed = {marker for marker in markers if marker in request_text}
            sent |= echoed
            response = b.client.open(path, method=method, json=body, headers=b.headers)
            status = response.status_code
            covered.append(f"{method} {rule} -> {status}")

            # A's data that B did not send itself must never come back.
            shown = leaked(markers - echoed, response.get_data(as_text=True))
            if shown:
                problems.append(f"{method} {path}: answered with A's {shown}")
            if params:
                wanted = {201} if method == "PUT" else {404}
            elif method == "GET":
                wanted = {200}
            else:
                wanted = EXPECTED.get((rule, method), set(range(200, 500)))
            if status not in wanted:
                problems.append(
                    f"{method} {path}: status {status}, expected one of {sorted(wanted)[:4]}: "
                    + response.get_data(as_text=True)[:300]
                )
            if params and method == "PUT" and status == 201:
                mine = b.get(path)
                if mine.status_code != 200 or mine.get_data() != response.get_data():
                    problems.append(f"PUT {path} did not make an object of B's own")

    # B's lists again, now that B has objects of its own: still nothing of A's.
    for rule, method, params in v1_calls(app):
        if method == "GET" and not params:
            for path in fill(rule, a):
                shown = leaked(markers - sent, b.get(path).get_data(as_text=True))
                if shown:
                    problems.append(f"GET {path} at the end: answered with A's {shown}")

    after = snapshot(app, a)
    changed = sorted(path for path in before if before[path] != after[path])
    if changed:
        problems.append(f"B's calls changed A's objects (as A sees them): {changed}")
    print("Tenant isolation covered:\n  " + "\n  ".join(covered))
    assert not problems, "\n".join(problems) + "\n\ncovered:\n" + "\n".join(covered)
    rules = {entry.split(" ")[1] for entry in covered}
    assert {"/v1/contacts", "/v1/keys"} <= rules, covered
    assert {"/v1/contacts/<external_id>", "/v1/keys/<key_id>"} <= rules, covered


def test_every_v1_route_parameter_is_known(app):
    """The guard on its own, so its message is the first failure a new route meets."""
    unknown = {
        rule.rule: [name for name in rule.arguments if name not in PATH_VALUES]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
    }
    unknown = {rule: names for rule, names in unknown.items() if names}
    assert not unknown, (
        "Make one of workspace A's objects of each kind in make_workspace_a and add these "
        f"path parameters to PATH_VALUES in tests/test_isolation.py: {unknown}"
    )
