"""Tenant isolation, checked generically over every /v1 route.

Workspace B calls every method of every /v1 rule with workspace A's
identifiers in the path. B must never see A's data, must get 404 for A's
objects (a PUT upsert creates B's own object instead), and A's objects must be
byte-for-byte unchanged afterwards.

A new route whose path has a parameter not in PATH_VALUES fails this test on
purpose: add the parameter there (the id of one of A's objects of that kind),
and a body to BODIES if {} is not a valid body for a POST/PUT/PATCH on it.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.conftest import Tenant, create_tenant

IGNORED_METHODS = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


@dataclass
class Objects:
    """What workspace A owns, and every string that identifies it."""

    tenant: Tenant
    contacts: list[dict] = field(default_factory=list)
    keys: list[dict] = field(default_factory=list)

    def markers(self) -> set[str]:
        found = {self.tenant.id}
        for contact in self.contacts:
            found |= {contact["id"], contact["external_id"], contact["email"]}
            found |= {contact["first_name"], contact["last_name"]}
            found |= {str(value) for value in contact["attributes"].values()}
        for key in self.keys:
            found |= {key["id"], key["prefix"]}
        found |= {self.tenant.secret_key, self.tenant.publishable_key}
        return found


# Path parameter -> the values of A's objects to put in it; one call per value.
PATH_VALUES: dict[str, Callable[[Objects], list[str]]] = {
    "external_id": lambda a: [a.contacts[0]["external_id"]],
    "key_id": lambda a: [key["id"] for key in a.keys],
}

# (rule, method) -> a minimal valid body, where {} is not one.
BODIES: dict[tuple[str, str], Callable[[Objects], dict]] = {
    # Upsert by A's other external id: must make B's own contact.
    ("/v1/contacts", "POST"): lambda a: {"external_id": a.contacts[1]["external_id"]},
    ("/v1/keys", "POST"): lambda a: {"kind": "secret"},
}

# Statuses allowed, per (rule, method), where the default rule does not say it.
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("/v1/contacts", "POST"): {201},
    ("/v1/keys", "POST"): {201},
}


def make_workspace_a(app) -> Objects:
    tenant = create_tenant(app, "Alpha Isolation")
    objects = Objects(tenant)
    for n in (1, 2):
        response = tenant.put(
            f"/v1/contacts/alpha-ext-{n}-q7",
            json={
                "email": f"alpha.person{n}@alpha-only.example",
                "first_name": f"Alphafirst{n}",
                "last_name": f"Alphalast{n}",
                "attributes": {"alpha_note": f"alpha-attribute-value-{n}"},
            },
        )
        assert response.status_code == 201
        objects.contacts.append(response.get_json())
    extra = tenant.post("/v1/keys", json={"kind": "secret", "name": "alpha-extra"})
    assert extra.status_code == 201
    objects.keys = tenant.get("/v1/keys").get_json()["data"]
    assert len(objects.keys) == 3
    return objects


def snapshot(a: Objects) -> dict[str, tuple[int, bytes]]:
    """A's view of its own objects: status and raw bytes per path."""
    paths = ["/v1/contacts", "/v1/keys"]
    paths += [f"/v1/contacts/{contact['external_id']}" for contact in a.contacts]
    paths += [f"/v1/keys/{key['id']}" for key in a.keys]
    taken = {}
    for path in paths:
        response = a.tenant.get(path)
        taken[path] = (response.status_code, response.get_data())
    return taken


def v1_calls(app) -> list[tuple[str, str, list[str]]]:
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        for method in sorted(rule.methods - IGNORED_METHODS):
            calls.append((rule.rule, method, PARAM.findall(rule.rule)))
    # Lists first, so they are checked before B has made any objects of its own.
    return sorted(calls, key=lambda call: (bool(call[2]) or call[1] != "GET", call[0], call[1]))


def fill(rule: str, a: Objects) -> list[str]:
    missing = [name for name in PARAM.findall(rule) if name not in PATH_VALUES]
    assert not missing, (
        f"Route {rule} has path parameter(s) {missing} that tests/test_isolation.py does not "
        "know. Add each to PATH_VALUES (one of workspace A's objects of that kind) so the "
        "route is checked for tenant isolation."
    )
    paths = [rule]
    for name in PARAM.findall(rule):
        values = PATH_VALUES[name](a)
        assert values, f"PATH_VALUES[{name!r}] gave no value"
        pattern = re.compile(rf"<(?:[^<>:]+:)?{re.escape(name)}>")
        paths = [pattern.sub(value, path) for path in paths for value in values]
    return paths


def leaked(markers: set[str], text: str) -> list[str]:
    return sorted(marker for marker in markers if marker and marker in text)


def test_no_v1_route_reaches_another_workspace(app_factory):
    app = app_factory(API_KEY_TOUCH_SECONDS=3600)  # A's last_used_at stays put while B calls
    a = make_workspace_a(app)
    b = create_tenant(app, "Beta Isolation")
    markers = a.markers()
    before = snapshot(a)
    assert {status for status, _ in before.values()} == {200}, before

    covered, problems, sent = [], [], set()
    for rule, method, params in v1_calls(app):
        for path in fill(rule, a):
            body = BODIES.get((rule, method), lambda _a: {})(a) if method in BODY_METHODS else None
            request_text = path + (json.dumps(body) if body is not None else "")
            sent |= {marker for marker in markers if marker in request_text}
            response = b.client.open(path, method=method, json=body, headers=b.headers)
            text = response.get_data(as_text=True)
            status = response.status_code
            covered.append(f"{method} {rule} -> {status}")

            # A's data B did not send itself must never come back.
            shown = leaked(markers - {m for m in markers if m in request_text}, text)
            if shown:
                problems.append(f"{method} {path}: answered with A's {shown}")
            if params:
                wanted = {201} if method == "PUT" else {404}
            elif method == "GET":
                wanted = {200}
            else:
                wanted = EXPECTED.get((rule, method), set(range(200, 500)))
            if status not in wanted:
                problems.append(f"{method} {path}: status {status}, expected {sorted(wanted)[:3]}")
            if params and method == "PUT" and status == 201:
                mine = b.get(path)
                if mine.status_code != 200 or mine.get_data() != response.get_data():
                    problems.append(f"PUT {path} did not make an object of B's own")

    # B's lists, now that B has objects with A's external ids: still nothing else of A's.
    for rule, method, params in v1_calls(app):
        if method == "GET" and not params:
            text = b.get(rule).get_data(as_text=True)
            shown = leaked(markers - sent, text)
            if shown:
                problems.append(f"GET {rule} at the end: answered with A's {shown}")

    after = snapshot(a)
    changed = sorted(path for path in before if before[path] != after[path])
    print("Tenant isolation covered:\n  " + "\n  ".join(covered))
    if changed:
        problems.append(f"B's calls changed A's objects (as A sees them): {changed}")
    assert not problems, "\n".join(problems) + "\n\ncovered:\n" + "\n".join(covered)
    rules = {entry.split(" ")[1] for entry in covered}
    assert covered and {"/v1/contacts", "/v1/keys"} <= rules, covered
    assert {"/v1/contacts/<external_id>", "/v1/keys/<key_id>"} <= rules, covered


def test_every_v1_route_parameter_is_known(app):
    """The same guard on its own, so the message is the first failure a new route meets."""
    unknown = {
        rule.rule: [name for name in rule.arguments if name not in PATH_VALUES]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
    }
    unknown = {rule: names for rule, names in unknown.items() if names}
    assert not unknown, (
        f"Add these path parameters to PATH_VALUES in tests/test_isolation.py so their routes "
        f"are checked for tenant isolation: {unknown}"
    )
