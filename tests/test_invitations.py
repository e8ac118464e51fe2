"""Invitations: signed links, per-score links, email blocks, who is skipped and why, batches."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from api import signing
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict
from api.events.models import Event
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.responses import service as responses
from api.responses.models import InvitationRollup
from api.surveys import batches, invitations, tokens
from api.surveys.models import Invitation, Survey
from api.surveys.wording import survey_texts
from tests.db import count

XSS = "<img src=x onerror=alert(1)>"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_survey(tenant, **fields) -> dict:
    body = {"name": "NPS", "kind": "nps", "product_name": "Acme", **fields}
    response = tenant.post("/v1/surveys", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def invite(tenant, survey_id: str, body: dict, status: int = 201, **kwargs) -> dict:
    response = tenant.post(f"/v1/surveys/{survey_id}/invitations", json=body, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_json()


def invite_one(tenant, survey_id: str, contact: dict, **kwargs) -> dict:
    answer = invite(tenant, survey_id, {"contact": contact, **kwargs})
    assert answer["counts"] == {"invited": 1, "skipped": 0}, answer
    return answer["invitations"][0]


def token_of(url: str, kind: str = "s") -> str:
    match = re.fullmatch(rf"http://127\.0\.0\.1:8000/{kind}/([A-Za-z0-9_\-.]+)", url)
    assert match, url
    return match.group(1)


# --- links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "scores"), [("nps", range(0, 11)), ("csat", range(1, 6)), ("ces", range(1, 8))]
)
def test_links_name_the_invitation_and_every_score(app, tenant, kind, scores):
    survey = make_survey(tenant, kind=kind)
    link = invite_one(tenant, survey["id"], {"external_id": "u-1", "email": "ann@example.com"})
    token = token_of(link["url"])
    assert link["score_urls"] == {str(n): f"{link['url']}?score={n}" for n in scores}
    assert len(link["score_urls"]) == len(scores)
    with app.app_context():
        invitation = tokens.invitation_for(token)
        assert invitation.id == link["id"]
        assert invitation.survey_id == survey["id"]
        assert invitation.contact_id == link["contact_id"]
        # A plain itsdangerous signature with the survey-link salt...
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="survey-link")
        assert serializer.loads(token, max_age=60) == link["id"]
        # ...that is no good for another purpose.
        with pytest.raises(signing.TokenInvalid):
            tokens.contact_id_for(token)
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=29) < expires - utcnow() <= timedelta(days=30)
    assert link["external_id"] == "u-1"


def test_the_email_block_holds_every_link_and_escapes_the_contact(app, tenant):
    survey = make_survey(tenant, texts={"en": {"question": "Hi {first_name}, rate {product}?"}})
    link = invite_one(tenant, survey["id"], {"external_id": "u-1", "first_name": XSS})
    html, text = link["email_html"], link["email_text"]
    for url in link["score_urls"].values():
        assert f'href="{url}"' in html
        assert url in text
    assert f'href="{link["unsubscribe_url"]}"' in html
    assert link["unsubscribe_url"] in text
    assert XSS not in html and "<img" not in html
    assert "Hi &lt;img src=x onerror=alert(1)&gt;, rate Acme?" in html
    # Plain text is not HTML: it carries the name as written.
    assert f"Hi {XSS}, rate Acme?" in text
    with app.app_context():
        assert tokens.contact_id_for(token_of(link["unsubscribe_url"], "p")) == link["contact_id"]


def test_rfc_8058_headers_point_at_the_preference_page(tenant):
    survey = make_survey(tenant)
    link = invite_one(tenant, survey["id"], {"external_id": "u-1", "first_name": "Ann"})
    assert link["email_headers"] == {
        "List-Unsubscribe": f"<{link['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_placeholders_are_filled_from_the_contact_with_fallbacks(tenant):
    question = "{first_name|Hello there}, is {product} right for your {plan|team}?"
    survey = make_survey(tenant, texts={"en": {"question": question}})
    answer = invite(
        tenant,
        survey["id"],
        {
            "contacts": [
                {"external_id": "a", "first_name": "Ann", "attributes": {"plan": "Pro plan"}},
                {"external_id": "b", "email": "b@example.com"},
            ]
        },
    )
    by_id = {link["external_id"]: link for link in answer["invitations"]}
    assert "Ann, is Acme right for your Pro plan?" in by_id["a"]["email_text"]
    assert "Hello there, is Acme right for your team?" in by_id["b"]["email_text"]
    # No value and no fallback: the placeholder goes and the sentence still reads.
    plain = make_survey(tenant, texts={"en": {"question": "Hi {first_name}, rate {product}."}})
    link = invite_one(tenant, plain["id"], {"external_id": "b", "email": "b@example.com"})
    assert link["email_text"].startswith("Hi, rate Acme.\n")


@pytest.mark.parametrize(
    ("contact_locale", "survey_locale", "expected"),
    [
        ("de", "en", "de"),
        ("de-AT", "en", "de"),
        ("fr", "de", "fr"),
        ("it", "es", "es"),
        (None, "de", "de"),
    ],
)
def test_the_question_speaks_the_contacts_language(tenant, contact_locale, survey_locale, expected):
    survey = make_survey(tenant, default_locale=survey_locale)
    contact = {"external_id": "u-1", "email": "u@example.com", "locale": contact_locale}
    link = invite_one(tenant, survey["id"], {k: v for k, v in contact.items() if v})
    strings = survey_texts("nps", expected)
    question = fill(strings["question"], {"product": "Acme"})
    assert link["email_text"].startswith(question + "\n")
    assert UI[expected]["email_footer_unsubscribe"] in link["email_text"]


def test_a_german_contact_gets_the_german_override(tenant):
    survey = make_survey(
        tenant,
        texts={
            "en": {"question": "English {first_name}?"},
            "de": {"question": "Deutsch {first_name}?"},
        },
    )
    answer = invite(
        tenant,
        survey["id"],
        {
            "contacts": [
                {"external_id": "de", "locale": "de", "first_name": "Jörg"},
                {"external_id": "en", "locale": "en", "first_name": "Ann"},
            ]
        },
    )
    by_id = {link["external_id"]: link for link in answer["invitations"]}
    assert "Deutsch Jörg?" in by_id["de"]["email_html"]
    assert "English Ann?" in by_id["en"]["email_html"]


# --- who is invited -----------------------------------------------------------------------


def test_unsubscribed_contacts_are_skipped(app, tenant):
    survey = make_survey(tenant)
    tenant.post("/v1/contacts", json={"external_id": "gone", "unsubscribed": True})
    answer = invite(
        tenant,
        survey["id"],
        {
            "contacts": [
                {"external_id": "gone", "first_name": "G"},
                {"external_id": "here", "stage": "lead"},
            ]
        },
    )
    assert answer["counts"] == {"invited": 1, "skipped": 1}
    assert answer["invitations"][0]["external_id"] == "here"
    (skipped,) = answer["skipped"]
    assert skipped["reason"] == "unsubscribed"
    assert skipped["contact"]["external_id"] == "gone"
    assert count(app, Invitation, survey_id=survey["id"]) == 1


def test_an_invitation_cannot_resubscribe_a_contact(tenant):
    survey = make_survey(tenant)
    tenant.post("/v1/contacts", json={"external_id": "gone", "unsubscribed": True})
    body = {"contact": {"external_id": "gone", "unsubscribed": False}}
    response = tenant.post(f"/v1/surveys/{survey['id']}/invitations", json=body)
    assert response.status_code == 422
    assert tenant.get("/v1/contacts/gone").get_json()["unsubscribed"] is True


def _invite_at(app, survey_id: str, contact_id: str, now: datetime) -> dict:
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        batch = batches.start(survey, [{"contact_id": contact_id}], "email", now)
        answer = json.loads(json.dumps(batches.described(batch, True), default=str))
        db.session.commit()
        return answer


def test_resurvey_throttle(app, tenant):
    survey = make_survey(tenant, resurvey_days=90)
    contact_id = invite_one(tenant, survey["id"], {"external_id": "u-1", "first_name": "Ann"})[
        "contact_id"
    ]
    first = _invite_at(app, survey["id"], contact_id, T0)["invitations"][0]
    with app.app_context():
        responses.submit(db.session.get(Invitation, first["id"]), 9, now=T0)
        db.session.commit()
    soon = _invite_at(app, survey["id"], contact_id, T0 + timedelta(days=89))
    assert soon["counts"] == {"invited": 0, "skipped": 1}
    assert soon["skipped"] == [
        {
            "contact": {"contact_id": contact_id, "external_id": "u-1"},
            "reason": "recently_responded",
        }
    ]
    later = _invite_at(app, survey["id"], contact_id, T0 + timedelta(days=91))
    assert later["counts"] == {"invited": 1, "skipped": 0}
    # Another survey is not throttled by this one's response.
    other = make_survey(tenant, name="Other")
    assert (
        _invite_at(app, other["id"], contact_id, T0 + timedelta(days=1))["counts"]["invited"] == 1
    )


def test_only_contacts_that_existed_are_looked_up_for_the_throttle(app, tenant, monkeypatch):
    survey = make_survey(tenant, resurvey_days=90)
    answered = invite_one(tenant, survey["id"], {"external_id": "u-1", "first_name": "Ann"})
    with app.app_context():
        responses.submit(db.session.get(Invitation, answered["id"]), 9)
        db.session.commit()
    asked = []
    look_up = invitations.throttle_reasons

    def spied(survey, contact_ids, now):
        asked.append(sorted(contact_ids))
        return look_up(survey, contact_ids, now)

    monkeypatch.setattr(invitations, "throttle_reasons", spied)
    inline = [{"external_id": f"u-{i}", "first_name": "New"} for i in (1, 2, 3)]
    batch = invite(tenant, survey["id"], {"contacts": inline})
    # u-1 (given inline, so updated) answered: still held back; u-2 and u-3 are new.
    assert batch["counts"] == {"invited": 2, "skipped": 1}
    assert [skip["reason"] for skip in batch["skipped"]] == ["recently_responded"]
    assert asked == [[answered["contact_id"]]]


def test_decline_throttle(app, tenant):
    survey = make_survey(tenant, decline_days=30)
    link = invite_one(tenant, survey["id"], {"external_id": "u-1", "first_name": "Ann"})
    with app.app_context():
        db.session.get(Invitation, link["id"]).declined_at = T0
        db.session.commit()
    soon = _invite_at(app, survey["id"], link["contact_id"], T0 + timedelta(days=29))
    assert [item["reason"] for item in soon["skipped"]] == ["recently_declined"]
    later = _invite_at(app, survey["id"], link["contact_id"], T0 + timedelta(days=31))
    assert later["counts"] == {"invited": 1, "skipped": 0}


def test_unknown_contacts_are_skipped_as_not_found(tenant):
    survey = make_survey(tenant)
    tenant.post("/v1/contacts", json={"external_id": "known"})
    refs = [{"contact_id": "con_nope"}, {"external_id": "nobody"}, {"external_id": "known"}]
    answer = invite(tenant, survey["id"], {"contacts": refs})
    assert answer["counts"] == {"invited": 1, "skipped": 2}
    assert answer["skipped"] == [
        {"contact": {"contact_id": "con_nope"}, "reason": "contact_not_found"},
        {"contact": {"external_id": "nobody"}, "reason": "contact_not_found"},
    ]


def test_refs_by_id_external_id_and_inline_in_one_batch(tenant):
    survey = make_survey(tenant)
    by_id = tenant.post("/v1/contacts", json={"external_id": "a"}).get_json()["id"]
    tenant.post("/v1/contacts", json={"external_id": "b"})
    refs = [{"contact_id": by_id}, {"external_id": "b"}, {"external_id": "c", "email": "c@x.io"}]
    answer = invite(tenant, survey["id"], {"contacts": refs, "channel": "link"})
    assert [link["external_id"] for link in answer["invitations"]] == ["a", "b", "c"]
    assert answer["invitations"][0]["contact_id"] == by_id


def test_a_contact_named_twice_is_invited_once(app, tenant):
    survey = make_survey(tenant)
    contact_id = tenant.post("/v1/contacts", json={"external_id": "a"}).get_json()["id"]
    refs = [{"external_id": "a"}, {"contact_id": contact_id}, {"external_id": "a", "stage": "lead"}]
    answer = invite(tenant, survey["id"], {"contacts": refs})
    assert answer["counts"]["invited"] == 1
    assert count(app, Invitation, survey_id=survey["id"]) == 1


def test_inline_contacts_are_created_then_updated_with_attributes_merged(app, tenant):
    survey = make_survey(tenant)
    first = {
        "external_id": "u-1",
        "email": "Ann@Example.com",
        "first_name": "Ann",
        "locale": "de",
        "attributes": {"plan": "free", "seats": 2},
    }
    invite(tenant, survey["id"], {"contacts": [first]})
    contact = tenant.get("/v1/contacts/u-1").get_json()
    assert contact["email"] == "ann@example.com" and contact["locale"] == "de"
    assert contact["attributes"] == {"plan": "free", "seats": 2}
    second = {
        "external_id": "u-1",
        "last_name": "Lee",
        "attributes": {"plan": "pro", "seats": None},
    }
    invite(tenant, survey["id"], {"contacts": [second]})
    updated = tenant.get("/v1/contacts/u-1").get_json()
    assert updated["id"] == contact["id"]
    assert (updated["first_name"], updated["last_name"]) == ("Ann", "Lee")
    assert updated["attributes"] == {"plan": "pro"}
    assert count(app, Contact, workspace_id=tenant.id) == 1


# --- the request ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contacts": []},
        {"contact": {"external_id": "a"}, "contacts": [{"external_id": "b"}]},
        {"contact": {}},
        {"contact": {"contact_id": "con_1", "email": "a@b.co"}},
        {"contact": {"external_id": ""}},
        {"contact": {"external_id": "a", "email": "not an email"}},
        {"contact": {"external_id": "a"}, "channel": "widget"},
        {"contact": {"external_id": "a"}, "channel": "pigeon"},
        {"contacts": [{"external_id": "a", "colour": "red"}]},
        {"contacts": "a"},
    ],
)
def test_bad_bodies_are_422(app, tenant, body):
    survey = make_survey(tenant)
    response = tenant.post(f"/v1/surveys/{survey['id']}/invitations", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "validation_error"
    assert count(app, Invitation) == 0


def test_more_than_100000_contacts_is_422(app, tenant):
    survey = make_survey(tenant)
    body = {"contacts": [{"external_id": f"u-{i}"} for i in range(100_001)]}
    response = tenant.post(f"/v1/surveys/{survey['id']}/invitations", json=body)
    assert response.status_code == 422
    assert "contacts" in response.get_json()["error"]["fields"]
    assert count(app, Contact) == 0


def test_an_inactive_survey_takes_no_invitations(app, tenant):
    survey = make_survey(tenant, active=False)
    response = tenant.post(
        f"/v1/surveys/{survey['id']}/invitations",
        json={"contact": {"external_id": "u-1", "email": "u@example.com"}},
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "survey_inactive"
    assert count(app, Invitation) == 0
    assert count(app, Contact) == 0  # the inline upsert went with the failed request
    with app.app_context(), pytest.raises(Conflict):
        batches.start(db.session.get(Survey, survey["id"]), [], "email")


def test_each_invitation_is_an_event_and_counted(app, tenant):
    survey = make_survey(tenant)
    answer = invite(
        tenant,
        survey["id"],
        {"contacts": [{"external_id": f"u-{i}", "stage": "customer"} for i in range(3)]},
    )
    with app.app_context():
        events = list(
            db.session.scalars(
                select(Event).where(Event.type == "invitation.created").order_by(Event.id)
            )
        )
        assert [event.subject_id for event in events] == [
            link["id"] for link in answer["invitations"]
        ]
        assert {event.workspace_id for event in events} == {tenant.id}
        assert events[0].data == {
            "survey_id": survey["id"],
            "contact_id": answer["invitations"][0]["contact_id"],
            "channel": "email",
            "batch_id": answer["id"],
        }
        rollup = db.session.scalar(
            select(func.sum(InvitationRollup.count)).where(
                InvitationRollup.survey_id == survey["id"]
            )
        )
        assert rollup == 3


def test_an_idempotent_retry_invites_no_one_twice(app, tenant):
    survey = make_survey(tenant)
    body = {"contacts": [{"external_id": f"u-{i}", "first_name": "A"} for i in range(5)]}
    headers = {"Idempotency-Key": "batch-1"}
    path = f"/v1/surveys/{survey['id']}/invitations"
    first = tenant.post(path, json=body, headers=headers)
    again = tenant.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, Invitation, survey_id=survey["id"]) == 5
    assert count(app, Event, type="invitation.created") == 5
    fresh = tenant.post(path, json=body, headers={"Idempotency-Key": "batch-2"})
    assert fresh.status_code == 201
    assert count(app, Invitation, survey_id=survey["id"]) == 10


def test_another_workspace_can_neither_invite_nor_use_our_contacts(app, tenant, make_tenant):
    ours = make_survey(tenant)
    contact_id = invite_one(tenant, ours["id"], {"external_id": "u-1", "first_name": "Ann"})[
        "contact_id"
    ]
    other = make_tenant("Other")
    response = other.post(
        f"/v1/surveys/{ours['id']}/invitations", json={"contact": {"external_id": "x"}}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    theirs = make_survey(other)
    answer = invite(
        other, theirs["id"], {"contacts": [{"contact_id": contact_id}, {"external_id": "u-1"}]}
    )
    assert answer["counts"] == {"invited": 0, "skipped": 2}
    assert {item["reason"] for item in answer["skipped"]} == {"contact_not_found"}
    assert count(app, Invitation, survey_id=ours["id"]) == 1
    assert count(app, Invitation, workspace_id=other.id) == 0
