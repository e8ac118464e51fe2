"""Every route that takes a contact reference follows the one rule (api/contacts/references.py).

One test per form of reference on each route: `contact_id`, a bare `external_id`, an
inline contact that exists, an inline contact that does not yet, and a reference to
no one by id and by external id. Routes that name one contact answer 404
`contact_not_found` for no one; invitations, which take a batch, list it as skipped.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

KNOWN = "known-1"


@dataclass(frozen=True)
class Route:
    path: str
    body: Callable[[dict, dict], dict]  # (reference, setup) -> request body
    batch: bool = False  # unknown references are skipped, not refused

    def call(self, tenant, setup: dict, ref: dict):
        return tenant.post(self.path.format(**setup), json=self.body(ref, setup))


ROUTES = {
    "invitation": Route(
        "/v1/surveys/{survey_id}/invitations", lambda ref, _: {"contact": ref}, batch=True
    ),
    "invitation_batch": Route(
        "/v1/surveys/{survey_id}/invitations", lambda ref, _: {"contacts": [ref]}, batch=True
    ),
    "response": Route(
        "/v1/responses",
        lambda ref, setup: {"survey_id": setup["survey_id"], "score": 9, "contact": ref},
    ),
    "referral_code": Route("/v1/referral-codes", lambda ref, _: {"contact": ref}),
    "testimonial": Route(
        "/v1/testimonials",
        lambda ref, _: {
            "contact": ref,
            "text": "Lovely.",
            "display_name": "Kay",
            "consent": {"text": "You may quote me."},
        },
    ),
    "review_request": Route("/v1/review-requests", lambda ref, _: {"contact": ref}),
    "advocacy_act": Route("/v1/advocacy-acts", lambda ref, _: {"contact": ref, "act": "review"}),
}

FORMS = {
    "contact_id": lambda known_id: {"contact_id": known_id},
    "external_id": lambda _: {"external_id": KNOWN},
    "inline_existing": lambda _: {"external_id": KNOWN, "first_name": "Kay"},
    "inline_new": lambda _: {"external_id": "new-1", "email": "new@example.com"},
    "unknown_contact_id": lambda _: {"contact_id": "con_nobody"},
    "unknown_external_id": lambda _: {"external_id": "nobody"},
}


def _setup(tenant) -> dict:
    survey = tenant.post("/v1/surveys", json={"name": "NPS", "kind": "nps"}).get_json()
    known = tenant.post("/v1/contacts", json={"external_id": KNOWN, "email": "k@example.com"})
    review_sites = [{"name": "G2", "url": "https://g2.example/acme"}]
    assert (
        tenant.patch(
            "/v1/advocacy-settings", json={"review_destinations": review_sites}
        ).status_code
        == 200
    )
    return {"survey_id": survey["id"], "known_id": known.get_json()["id"]}


def _contact_id_of(answer: dict, batch: bool) -> str:
    return answer["invitations"][0]["contact_id"] if batch else answer["contact_id"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_resolves_each_form_by_the_one_rule(tenant, route, form):
    setup, spec = _setup(tenant), ROUTES[route]
    ref = FORMS[form](setup["known_id"])
    answer = spec.call(tenant, setup, ref)
    body = answer.get_json()
    if form.startswith("unknown"):
        if spec.batch:
            assert answer.status_code == 201, body
            assert body["skipped"] == [{"contact": ref, "reason": "contact_not_found"}]
            assert body["counts"]["invited"] == 0
        else:
            assert answer.status_code == 404, body
            assert body["error"]["code"] == "contact_not_found"
        # Naming no one never creates anyone.
        assert tenant.get("/v1/contacts/nobody").status_code == 404
        return
    assert answer.status_code in (200, 201), body
    if form == "inline_new":
        created = tenant.get("/v1/contacts/new-1").get_json()
        assert created["email"] == "new@example.com"
        assert _contact_id_of(body, spec.batch) == created["id"]
        return
    assert _contact_id_of(body, spec.batch) == setup["known_id"]
    known = tenant.get(f"/v1/contacts/{KNOWN}").get_json()
    assert known["first_name"] == ("Kay" if form == "inline_existing" else None)


@pytest.mark.parametrize("route", ROUTES)
def test_a_reference_cannot_change_consent(tenant, route):
    setup, spec = _setup(tenant), ROUTES[route]
    answer = spec.call(tenant, setup, {"external_id": KNOWN, "unsubscribed": False})
    assert answer.status_code == 422, answer.get_json()
