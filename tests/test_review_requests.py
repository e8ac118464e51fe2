"""Review requests never gate: every respondent is asked, or none; the ask cap holds
across the thank-you page, the widget and email; clicks and reviews are counted."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api import database, scoring
from api.advocacy import asks
from api.advocacy.models import AdvocacyAct, AdvocacyAsk, ReviewRequest
from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from tests.advocacy import BROWSER, Asker


@pytest.fixture
def asker(app, tenant):
    return Asker(app, tenant)


@pytest.mark.parametrize("kind", ["nps", "csat", "ces"])
def test_the_review_ask_is_offered_to_detractors_whenever_it_is_offered_at_all(asker, kind):
    """Every score of the scale gets the ask on the thank-you page, or none does."""
    scale = scoring.score_range(kind)
    asked = {
        score
        for score in scale
        if 'id="review-title"' in asker.answer_page(score, external_id=f"on-{score}").html
    }
    assert asked == set(scale)
    unhappy = [s for s in scale if scoring.queue_for(kind, scoring.classify(kind, s))]
    assert set(unhappy) & asked  # detractors, unsatisfied, hard: asked like everyone

    asker.settings(review_ask="off")
    offered = [
        score
        for score in scale
        if 'id="review-title"' in asker.answer_page(score, external_id=f"off-{score}").html
    ]
    assert offered == []


def test_the_widget_asks_every_score_too(asker):
    asker.widget_survey()
    found = {
        score: asker.answer_widget(score, user_id=f"w-{score}")[1]["review"]
        for score in scoring.score_range("nps")
    }
    assert all(review is not None for review in found.values()), found
    detractor = found[0]
    assert [site["name"] for site in detractor["destinations"]] == ["G2", "Capterra"]
    assert all("/rv/" in site["url"] for site in detractor["destinations"])


@pytest.mark.parametrize(
    "value",
    ["promoters", "promoters_only", "happy", "satisfied", ["promoter"], {"min_score": 9}, 9, None],
)
def test_a_promoters_only_setting_is_refused_with_422_saying_why(asker, value):
    answer = asker.tenant.patch("/v1/advocacy-settings", json={"review_ask": value})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "review_gating"
    assert "Google" in error["message"] and "16 CFR 465" in error["message"]
    assert "review_ask" in error["fields"]
    assert asker.tenant.get("/v1/advocacy-settings").get_json()["review_ask"] == "everyone"
    # Refused, so nothing changed and nobody is told.
    assert len(asker.events("advocacy_settings.updated")) == 1  # the review sites' PATCH


def test_the_readme_says_why_there_is_no_promoters_only_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "16 CFR 465" in readme and "review gating" in readme.lower()


# --- the ask cap ------------------------------------------------------------------------


def test_ask_cap_holds_from_email_to_the_page_and_the_widget(asker):
    asker.widget_survey()
    assert asker.ask_by_email().status_code == 201
    assert 'id="review-title"' not in asker.answer_page(3).html
    assert asker.answer_widget(3)[1]["review"] is None
    again = asker.ask_by_email()
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ask_capped"
    assert "ask again from" in again.get_json()["error"]["message"]


def test_ask_cap_holds_from_the_page_to_the_widget_and_email(asker):
    asker.widget_survey()
    assert 'id="review-title"' in asker.answer_page(2).html
    assert asker.answer_widget(10)[1]["review"] is None
    assert asker.ask_by_email().status_code == 409
    assert asker.tenant.get("/v1/review-requests").get_json()["data"][0]["channel"] == "page"


def test_ask_cap_holds_from_the_widget_to_the_page_and_email(asker):
    asker.widget_survey()
    assert asker.answer_widget(6)[1]["review"] is not None
    assert 'id="review-title"' not in asker.answer_page(9).html
    assert asker.ask_by_email().status_code == 409


def test_the_same_answer_shows_its_ask_again_and_asks_nothing_new(asker):
    first = asker.answer_page(4)
    again = asker.answer_page(8, token=first.token)  # a changed score: the same ask
    assert 'id="review-title"' in again.html
    assert len(asker.tenant.get("/v1/review-requests").get_json()["data"]) == 1
    assert len(asker.events("review_request.created")) == 1


def test_after_the_cooldown_the_contact_is_asked_again(app, asker):
    asker.settings(ask_cooldown_days=30)
    assert asker.ask_by_email().status_code == 201
    assert asker.ask_by_email().status_code == 409
    with app.app_context():
        db.session.execute(update(AdvocacyAsk).values(asked_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    assert 'id="review-title"' in asker.answer_page(7).html


def test_other_acts_have_their_own_cap_and_the_api_can_claim_one(asker):
    asker.invite()  # the contact "ann"
    claimed = asker.tenant.post("/v1/advocates/ann/asks", json={"act": "case_study"})
    assert claimed.status_code == 200, claimed.get_json()
    again = asker.tenant.post("/v1/advocates/ann/asks", json={"act": "case_study"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ask_capped"
    # A case study ask is not a review ask.
    assert asker.ask_by_email().status_code == 201


def test_two_channels_asking_at_once_get_one_yes(app, asker):
    asker.invite()
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == "ann"))
        workspace_id, contact_id = contact.workspace_id, contact.id
    barrier, results = threading.Barrier(4), []

    def claim(channel):
        with app.app_context():
            barrier.wait()
            ask = asks.Ask(workspace_id, contact_id, "review", channel)
            results.append(asks.claim(ask, 90, utcnow()))
            db.session.commit()

    threads = [
        threading.Thread(target=claim, args=(c,)) for c in ("page", "widget", "email", "api")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


def test_anonymous_widget_answers_are_not_asked(app, asker):
    with app.app_context():
        from api.surveys.models import Survey

        db.session.add(
            Survey(
                workspace_id=asker.tenant.id,
                name="Anon",
                kind="nps",
                widget_enabled=True,
                allow_anonymous=True,
            )
        )
        db.session.commit()
    shown = asker.client.get(
        "/w/v1/eligibility", query_string={"key": asker.tenant.publishable_key}
    ).get_json()
    display = shown["display"]
    asker.widget_call("responses", {"display": display, "score": 2})
    found = asker.widget_call("asks", {"display": display}).get_json()
    assert found["review"] is None and found["testimonial"] is None and found["advocate"] is None


# --- what comes of a request --------------------------------------------------------------


def test_a_tracked_link_counts_the_click_and_goes_to_the_site(app, asker):
    made = asker.ask_by_email().get_json()
    g2 = made["destinations"][0]
    followed = asker.client.get(g2["url"].removeprefix("http://127.0.0.1:8000"))
    assert followed.status_code == 302
    assert followed.headers["Location"] == "https://g2.example/acme"
    unknown = asker.client.get(made["url"].removeprefix("http://127.0.0.1:8000") + "/rd_gone")
    assert unknown.status_code == 302 and "/rv/" in unknown.headers["Location"]
    request = asker.tenant.get(f"/v1/review-requests/{made['id']}").get_json()
    assert request["first_clicked_at"] is not None and request["reviewed_at"] is None
    clicked = asker.events("review_request.clicked")
    assert [event["data"]["destination_id"] for event in clicked] == [g2["id"]]


def test_i_left_a_review_on_the_thank_you_page_is_recorded_once_as_an_act(app, asker):
    visit = asker.answer_page(1)
    assert asker.post_page(visit.token, "review", {}).status_code == 303
    assert asker.post_page(visit.token, "review", {}).status_code == 303
    assert asker.thanks(visit.token).html.count("Thank you for your review!") == 1
    assert len(asker.events("review_request.reviewed")) == 1
    acts = asker.tenant.get("/v1/advocacy-acts").get_json()["data"]
    assert [(act["act"], act["source"]) for act in acts] == [("review", "page")]


def test_the_review_page_of_an_email_lists_the_sites_and_takes_i_left_a_review(app, asker):
    made = asker.ask_by_email().get_json()
    path = made["url"].removeprefix("http://127.0.0.1:8000")
    page = asker.client.get(path, headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Would you review Acme?" in html
    assert "G2" in html and "Capterra" in html and "I left a review" in html
    site = made["destinations"][1]["id"]
    done = asker.client.post(path, data={"destination_id": site}, headers=BROWSER)
    assert done.status_code == 303
    assert "Thank you for your review!" in asker.client.get(path, headers=BROWSER).get_data(
        as_text=True
    )
    with app.app_context():
        act = db.session.scalar(select(AdvocacyAct))
        assert (act.act, act.destination, act.source) == ("review", "Capterra", "email")


def test_review_links_that_fail_are_404_or_410(app, asker, monkeypatch):
    made = asker.ask_by_email().get_json()
    path = made["url"].removeprefix("http://127.0.0.1:8000")
    assert asker.client.get(path[:-2] + "xx", headers=BROWSER).status_code == 404
    monkeypatch.setitem(app.config, "REVIEW_LINK_MAX_AGE_DAYS", 0)
    with monkeypatch.context() as patched:
        import itsdangerous.timed

        later = utcnow().timestamp() + 5
        patched.setattr(itsdangerous.timed.time, "time", lambda: later)
        assert asker.client.get(path, headers=BROWSER).status_code == 410


def test_the_email_block_links_every_site_and_respects_unsubscribes(app, asker):
    made = asker.ask_by_email().get_json()
    assert made["channel"] == "email"
    for site in made["destinations"]:
        assert site["url"] in made["email_html"] and site["url"] in made["email_text"]
    assert "Already left a review?" in made["email_html"]
    assert "/p/" in made["email_html"]  # the preference page, to stop these emails

    asker.tenant.put("/v1/contacts/bob", json={"unsubscribed": True})
    refused = asker.tenant.post("/v1/review-requests", json={"contact": {"external_id": "bob"}})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "unsubscribed"


def test_no_request_while_the_workspace_asks_for_no_reviews(app, tenant):
    asker = Asker(app, tenant, sites=())
    refused = asker.ask_by_email()
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "review_ask_off"
    assert 'id="review-title"' not in asker.answer_page(9).html


def test_the_report_counts_asks_clicks_and_reviews_by_channel_category_and_site(app, asker):
    asker.widget_survey()
    detractor = asker.answer_page(0, external_id="d1")
    asker.answer_page(10, external_id="p1")
    asker.answer_widget(8, user_id="w1")
    emailed = asker.ask_by_email("e1").get_json()
    asker.client.get(emailed["destinations"][0]["url"].removeprefix("http://127.0.0.1:8000"))
    asker.post_page(detractor.token, "review", {"destination_id": emailed["destinations"][1]["id"]})

    report = asker.tenant.get("/v1/review-requests/report").get_json()
    assert (report["asks"], report["clicked"], report["reviews"]) == (4, 1, 1)
    assert set(report["by_channel"]) == {"page", "widget", "email"}
    assert report["by_channel"]["page"]["asks"] == 2
    assert report["by_category"]["detractor"] == {
        "asks": 1,
        "clicked": 0,
        "reviews": 1,
        "click_rate": 0.0,
        "review_rate": 1.0,
    }
    assert {c: f["asks"] for c, f in report["by_category"].items()} == {
        "detractor": 1,
        "promoter": 1,
        "passive": 1,
        "none": 1,
    }
    sites = {row["name"]: (row["clicks"], row["reviews"]) for row in report["by_destination"]}
    assert sites == {"G2": (1, 0), "Capterra": (0, 1)}


def test_destinations_keep_their_ids_when_the_list_changes(asker):
    first = asker.tenant.get("/v1/advocacy-settings").get_json()["review_destinations"]
    kept = asker.settings(
        review_destinations=[first[1], {"name": "Trustpilot", "url": "https://tp.example/a"}]
    )["review_destinations"]
    assert kept[0] == first[1] and kept[1]["id"] not in {d["id"] for d in first}
    bad = asker.tenant.patch(
        "/v1/advocacy-settings",
        json={"review_destinations": [{"id": "rd_nope", "name": "X", "url": "https://x.example"}]},
    )
    assert bad.status_code == 422
    scheme = asker.tenant.patch(
        "/v1/advocacy-settings",
        json={"review_destinations": [{"name": "X", "url": "javascript:alert(1)"}]},
    )
    assert scheme.status_code == 422


def test_events_say_every_step(app, asker):
    made = asker.ask_by_email().get_json()
    asker.client.get(made["destinations"][0]["url"].removeprefix("http://127.0.0.1:8000"))
    asker.tenant.post(f"/v1/review-requests/{made['id']}/reviewed", json={})
    types = [event["type"] for event in asker.events("review_request.")]
    assert types == ["review_request.created", "review_request.clicked", "review_request.reviewed"]
    with app.app_context():
        request = db.session.get(ReviewRequest, made["id"])
        assert request.reviewed_at is not None


def test_claims_share_one_statement_with_their_values_bound(app, asker):
    """The conditional upsert is built once per engine: later claims, whatever their
    contact, act, time or cooldown, bind their values to it (api/database.py)."""
    asker.invite()
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == "ann"))
        first = asks.Ask(contact.workspace_id, contact.id, "review", "email")
        assert asks.claim(first, 90, utcnow())
        built = database._upsert_if_older.cache_info()
        later = asks.Ask(contact.workspace_id, contact.id, "case_study", "api", "resp_1")
        assert asks.claim(later, 30, utcnow() + timedelta(days=1))
        assert not asks.claim(first, 90, utcnow() + timedelta(days=89))
        assert asks.claim(first, 90, utcnow() + timedelta(days=91))
        after = database._upsert_if_older.cache_info()
        assert (after.misses, after.hits) == (built.misses, built.hits + 3)
        rows = asks.last_asks(contact.id)
        assert (rows["case_study"].channel, rows["case_study"].response_id) == ("api", "resp_1")
        db.session.rollback()
