"""Testimonials: given with a consent record, moderated, published only while consent
stands; withdrawal and erasure take them down (the API at once, the public reads
within the cache time)."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api import recent
from api.advocacy import models
from api.advocacy.models import AdvocacyAct
from api.database import utcnow
from api.extensions import db
from tests.advocacy import BROWSER, SITE, Asker
from tests.conftest import create_tenant
from tests.db import count

WORDS = "Acme saved our team a day a week."


@pytest.fixture
def asker(app, tenant):
    return Asker(app, tenant)


def give_on_page(asker, words=WORDS, external_id="ann", **fields):
    visit = asker.answer_page(10, words, external_id=external_id)
    data = {
        "text": words,
        "display_name": "Ann L.",
        "consent": "yes",
        "consent_hash": visit.consent_hash(),
    } | fields
    return visit, asker.post_page(visit.token, "testimonial", data)


def only_testimonial(asker) -> dict:
    (found,) = asker.tenant.get("/v1/testimonials").get_json()["data"]
    return found


def public(asker, **query) -> list[dict]:
    answer = asker.client.get(
        "/public/v1/testimonials",
        query_string={"key": asker.tenant.publishable_key, **query},
        headers={"Origin": SITE},
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]


def wall(asker) -> str:
    return asker.client.get(f"/wall/{asker.tenant.id}", headers=BROWSER).get_data(as_text=True)


def approve(asker, testimonial_id: str, **more) -> dict:
    answer = asker.tenant.patch(
        f"/v1/testimonials/{testimonial_id}", json={"status": "approved"} | more
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


# --- giving one, with consent -----------------------------------------------------------


def test_a_promoter_is_asked_after_a_comment_and_the_consent_is_stored_as_shown(asker):
    visit, posted = give_on_page(asker, role="CTO", company="Initech")
    assert 'id="testimonial-title"' in visit.html
    assert "I agree that Acme may publish these words" in visit.html
    assert posted.status_code == 303
    found = only_testimonial(asker)
    assert (found["text"], found["display_name"], found["role"], found["company"]) == (
        WORDS,
        "Ann L.",
        "CTO",
        "Initech",
    )
    assert found["status"] == "pending" and found["public"] is False
    consent = found["consent"]
    assert consent["channel"] == "page" and consent["locale"] == "en"
    assert consent["text"].startswith("I agree that Acme may publish these words")
    assert consent["given_at"] and consent["withdrawn_at"] is None
    thanks = asker.thanks(visit.token).html
    assert "We will publish your words once we have read them" in thanks
    assert "/p/" in thanks  # where to withdraw


def test_the_ask_needs_a_comment_and_a_promoter(asker):
    assert 'id="testimonial-title"' not in asker.answer_page(10, external_id="quiet").html
    assert 'id="testimonial-title"' not in asker.answer_page(8, "Fine.", external_id="p").html
    assert 'id="testimonial-title"' not in asker.answer_page(2, "Bad.", external_id="d").html


def test_no_testimonial_without_ticking_the_consent_box(app, asker):
    _visit, posted = give_on_page(asker, consent="")
    assert posted.status_code == 422
    assert "Please tick the box to agree" in posted.get_data(as_text=True)
    assert count(app, models.Testimonial) == 0


def test_a_changed_consent_wording_is_asked_again(app, asker):
    _visit, posted = give_on_page(asker, consent_hash="0" * 16)
    assert posted.status_code == 422 and count(app, models.Testimonial) == 0


def test_the_api_refuses_a_testimonial_without_its_consent_record(asker):
    answer = asker.tenant.post(
        "/v1/testimonials",
        json={"contact": {"external_id": "x"}, "text": WORDS, "display_name": "X"},
    )
    assert answer.status_code == 422 and "consent" in answer.get_json()["error"]["fields"]


def test_the_database_keeps_no_testimonial_without_consent(app, asker):
    asker.invite()
    contact_id = _contact_id(asker)
    with app.app_context():
        db.session.add(
            models.Testimonial(
                workspace_id=asker.tenant.id, contact_id=contact_id, text="x", display_name="x"
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def _contact_id(asker) -> str:
    return asker.tenant.get("/v1/contacts/ann").get_json()["id"]


@pytest.mark.fresh_reads
def test_no_testimonial_is_public_without_approval_and_standing_consent(asker):
    give_on_page(asker)
    testimonial = only_testimonial(asker)
    assert public(asker) == [] and WORDS not in wall(asker)  # pending
    asker.tenant.patch(f"/v1/testimonials/{testimonial['id']}", json={"status": "rejected"})
    assert public(asker) == []
    approved = approve(asker, testimonial["id"])
    assert approved["public"] is True
    (shown,) = public(asker)
    assert (shown["text"], shown["name"], shown["score"], shown["max_score"]) == (
        WORDS,
        "Ann L.",
        10,
        10,
    )
    assert WORDS in wall(asker)


def test_moderation_never_changes_the_words(asker):
    give_on_page(asker)
    testimonial = only_testimonial(asker)
    edited = asker.tenant.patch(f"/v1/testimonials/{testimonial['id']}", json={"text": "Better."})
    assert edited.status_code == 422
    assert only_testimonial(asker)["text"] == WORDS


def test_giving_twice_keeps_one(asker):
    visit, _ = give_on_page(asker)
    again = asker.post_page(
        visit.token,
        "testimonial",
        {
            "text": "Other",
            "display_name": "A",
            "consent": "yes",
            "consent_hash": visit.consent_hash(),
        },
    )
    assert again.status_code == 303
    assert only_testimonial(asker)["text"] == WORDS


# --- withdrawal and erasure -------------------------------------------------------------


class Clock:
    """The per-worker memory's clock, moved by the test instead of waited for."""

    def __init__(self, monkeypatch):
        self.now = 1000.0
        monkeypatch.setattr(recent, "monotonic", lambda: self.now)


@pytest.fixture
def cached(app_factory, monkeypatch):
    """An app remembering public testimonials for 60 s, and its clock."""
    app = app_factory(TESTIMONIAL_CACHE_SECONDS=60)
    tenant = create_tenant(app)
    return Asker(app, tenant), Clock(monkeypatch)


def published(asker) -> dict:
    give_on_page(asker)
    testimonial = only_testimonial(asker)
    approve(asker, testimonial["id"])
    assert len(public(asker)) == 1 and WORDS in wall(asker)  # now remembered
    return testimonial


def test_withdrawal_on_the_preference_page_takes_it_down_within_the_cache_time(cached):
    asker, clock = cached
    testimonial = published(asker)
    prefs = _preferences_path(asker)
    page = asker.client.get(prefs, headers=BROWSER).get_data(as_text=True)
    assert WORDS in page and "Withdraw consent" in page
    withdrawn = asker.client.post(
        f"{prefs}/testimonials/{testimonial['id']}/withdraw", headers=BROWSER
    )
    assert withdrawn.status_code == 303
    assert "Your consent is withdrawn" in asker.client.get(
        withdrawn.headers["Location"], headers=BROWSER
    ).get_data(as_text=True)

    # The API reads the rows: down at once.
    found = only_testimonial(asker)
    assert found["public"] is False and found["consent"]["withdrawn_at"]
    assert asker.tenant.get("/v1/testimonials?public=true").get_json()["data"] == []
    # The public reads are remembered: down within the cache time, not later.
    clock.now += 61
    assert public(asker) == [] and WORDS not in wall(asker)
    # And it can never be approved again.
    again = asker.tenant.patch(f"/v1/testimonials/{testimonial['id']}", json={"status": "approved"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "consent_withdrawn"


def _preferences_path(asker) -> str:
    from api.surveys.tokens import preferences_token

    with asker.app.app_context():
        return f"/p/{preferences_token(_contact_id(asker))}"


def test_withdrawal_through_the_api_and_the_events(cached):
    asker, clock = cached
    testimonial = published(asker)
    answer = asker.tenant.post(f"/v1/testimonials/{testimonial['id']}/withdraw", json={})
    assert answer.status_code == 200 and answer.get_json()["public"] is False
    asker.tenant.post(f"/v1/testimonials/{testimonial['id']}/withdraw", json={})
    clock.now += 61
    assert public(asker) == []
    types = [event["type"] for event in asker.events()]
    assert [t for t in types if t.startswith("testimonial.")] == [
        "testimonial.created",
        "testimonial.approved",
        "testimonial.withdrawn",
    ]


def test_erasure_deletes_it_at_once_from_the_api_and_within_the_cache_time_from_the_wall(
    app, cached
):
    asker, clock = cached
    testimonial = published(asker)
    assert asker.tenant.delete("/v1/contacts/ann").status_code == 204
    assert asker.tenant.get("/v1/testimonials").get_json()["data"] == []
    assert asker.tenant.get(f"/v1/testimonials/{testimonial['id']}").status_code == 404
    clock.now += 61
    assert public(asker) == [] and WORDS not in wall(asker)
    types = [event["type"] for event in asker.events()]
    assert "testimonial.deleted" in types


def test_the_cache_time_is_never_more_than_five_minutes(app_factory, monkeypatch):
    app = app_factory(TESTIMONIAL_CACHE_SECONDS=3600)
    asker, clock = Asker(app, create_tenant(app)), Clock(monkeypatch)
    testimonial = published(asker)
    asker.tenant.post(f"/v1/testimonials/{testimonial['id']}/withdraw", json={})
    clock.now += 299
    assert len(public(asker)) == 1  # still remembered: the cache at work
    clock.now += 2
    assert public(asker) == []


# --- moderation, the public API and the wall --------------------------------------------


def test_featured_first_then_newest_with_tag_and_survey_filters(asker):
    ids = []
    for n in range(3):
        give_on_page(asker, words=f"Quote {n}", external_id=f"c{n}")
        ids.append(asker.tenant.get("/v1/testimonials").get_json()["data"][-1]["id"])
    approve(asker, ids[0], featured=True, tags=["Home", "pricing"])
    approve(asker, ids[1], tags=["pricing"])
    approve(asker, ids[2])
    assert [t["text"] for t in public(asker)] == ["Quote 0", "Quote 2", "Quote 1"]
    assert [t["text"] for t in public(asker, tag="pricing")] == ["Quote 0", "Quote 1"]
    assert public(asker)[0]["tags"] == ["home", "pricing"]
    survey_id = public(asker)[2]["survey_id"]
    assert [t["text"] for t in public(asker, survey_id=survey_id)] == ["Quote 1"]
    assert len(public(asker, limit=2)) == 2
    listed = asker.tenant.get("/v1/testimonials?tag=home").get_json()["data"]
    assert [t["id"] for t in listed] == [ids[0]]


def test_approving_records_the_act_once(app, asker):
    give_on_page(asker)
    testimonial = only_testimonial(asker)
    approve(asker, testimonial["id"])
    asker.tenant.patch(f"/v1/testimonials/{testimonial['id']}", json={"status": "pending"})
    approve(asker, testimonial["id"])
    with app.app_context():
        acts = db.session.scalars(select(AdvocacyAct.act)).all()
    assert acts == ["testimonial"]


def test_the_public_api_needs_a_publishable_key_from_an_allowed_origin(asker):
    path = f"/public/v1/testimonials?key={asker.tenant.publishable_key}"
    other = asker.client.get(path, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "origin_not_allowed"
    allowed = asker.client.get(path, headers={"Origin": SITE})
    assert allowed.headers["Access-Control-Allow-Origin"] == SITE
    secret = asker.client.get(
        "/public/v1/testimonials", headers={"Authorization": f"Bearer {asker.tenant.secret_key}"}
    )
    assert secret.status_code == 403
    assert asker.client.get("/public/v1/testimonials").status_code == 401


def test_another_workspace_sees_none_of_them(app, asker):
    give_on_page(asker)
    approve(asker, only_testimonial(asker)["id"])
    other = Asker(app, create_tenant(app, "Other"))
    assert public(other) == [] and WORDS not in wall(other)


def test_the_api_adds_testimonials_collected_elsewhere(asker):
    added = asker.tenant.post(
        "/v1/testimonials",
        json={
            "contact": {"external_id": "imported", "first_name": "Ike"},
            "text": "From our old tool.",
            "display_name": "Ike",
            "tags": ["import"],
            "consent": {"text": "Yes, quote me.", "given_at": "2026-01-02T03:04:05Z"},
        },
    )
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert body["consent"] == {
        "text": "Yes, quote me.",
        "channel": "api",
        "locale": None,
        "given_at": "2026-01-02T03:04:05+00:00",
        "withdrawn_at": None,
    }
    assert body["tags"] == ["import"] and body["status"] == "pending"


def test_the_wall_page_escapes_markup_and_runs_no_script(asker):
    give_on_page(asker, words='<script>alert("x")</script>', display_name="<b>Ann</b>")
    approve(asker, only_testimonial(asker)["id"])
    shown = asker.client.get(f"/wall/{asker.tenant.id}", headers=BROWSER)
    html = shown.get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "<b>Ann</b>" not in html
    policy = shown.headers["Content-Security-Policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert f"frame-ancestors {SITE}" in policy
    assert asker.client.get("/wall/ws_nope", headers=BROWSER).status_code == 404


def test_a_testimonial_of_another_contact_cannot_be_withdrawn_from_my_page(asker):
    give_on_page(asker)
    testimonial = only_testimonial(asker)
    asker.invite("mallory")
    from api.surveys.tokens import preferences_token

    with asker.app.app_context():
        mallory = asker.tenant.get("/v1/contacts/mallory").get_json()["id"]
        prefs = f"/p/{preferences_token(mallory)}"
    answer = asker.client.post(
        f"{prefs}/testimonials/{testimonial['id']}/withdraw", headers=BROWSER
    )
    assert answer.status_code == 404
    assert only_testimonial(asker)["consent"]["withdrawn_at"] is None


def test_widget_consent_flow(app, asker):
    asker.widget_survey()
    display, found = asker.answer_widget(9, "Love it", user_id="wendy")
    quote = found["testimonial"]
    assert quote["text"] == "Love it" and quote["consent"].startswith("I agree that Acme")
    body = {
        "display": display,
        "text": "Love it!",
        "display_name": "Wendy",
        "consent": False,
        "consent_hash": quote["consent_hash"],
    }
    refused = asker.widget_call("testimonials", body)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "consent_required"
    given = asker.widget_call("testimonials", body | {"consent": True})
    assert given.status_code == 201 and given.get_json()["status"] == "pending"
    stored = only_testimonial(asker)
    assert stored["consent"]["channel"] == "widget" and stored["text"] == "Love it!"
    again = asker.widget_call("asks", {"display": display}).get_json()
    assert again["testimonial"] is None and again["testimonial_given"]["id"] == stored["id"]


def test_the_testimonial_ask_is_capped_across_channels(asker):
    asker.widget_survey()
    assert 'id="testimonial-title"' in asker.answer_page(10, "Great").html
    assert asker.answer_widget(10, "Still great")[1]["testimonial"] is None


def test_old_consent_is_kept_with_its_time(app, asker):
    give_on_page(asker)
    with app.app_context():
        testimonial = db.session.scalar(select(models.Testimonial))
        assert utcnow() - testimonial.consented_at < timedelta(minutes=1)
        assert testimonial.consent_text.endswith("I can withdraw my consent at any time.")


def test_the_public_api_answers_errors_in_json_to_browsers_too(asker):
    answer = asker.client.get(
        "/public/v1/testimonials?key=pk_unknown&limit=500",
        headers={"Accept": "text/html,*/*;q=0.8", "Origin": SITE},
    )
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
