"""Advocates: opting in from every surface, what the advocacy queue shows, acts done,
and the leaderboard counting reviews and testimonials beside referrals."""

import pytest
from sqlalchemy import func, select

from api.advocacy.models import AdvocacyAct, AdvocacyAsk, AdvocateOptIn
from api.extensions import db
from api.surveys.tokens import preferences_token
from tests.advocacy import BROWSER, Asker


@pytest.fixture
def asker(app, tenant):
    return Asker(app, tenant)


def agreed(asker, external_id="ann") -> list[str]:
    profile = asker.tenant.get(f"/v1/advocates/{external_id}").get_json()
    return [row["act"] for row in profile["acts"] if row["opted_in"]]


def advocate_events(asker) -> list[tuple[str, list[str], str]]:
    return [(e["type"], e["data"]["acts"], e["data"]["source"]) for e in asker.events("advocate.")]


def test_a_promoter_opts_in_on_the_thank_you_page(asker):
    visit = asker.answer_page(10)
    assert "Would you do more for Acme?" in visit.html
    done = asker.post_page(visit.token, "advocate", {"acts": ["case_study", "review"]})
    assert done.status_code == 303 and "done=advocate" in done.headers["Location"]
    shown = asker.client.get(done.headers["Location"], headers=BROWSER).get_data(as_text=True)
    assert "be in touch." in shown and "Would you do more" not in shown
    assert agreed(asker) == ["review", "case_study"]
    assert advocate_events(asker) == [("advocate.opted_in", ["review", "case_study"], "page")]


def test_the_opt_in_is_a_promoters_ask(asker):
    assert "Would you do more" not in asker.answer_page(8, external_id="p").html
    assert "Would you do more" not in asker.answer_page(3, external_id="d").html


def test_opting_in_in_the_widget(asker):
    asker.widget_survey()
    display, found = asker.answer_widget(9)
    offered = [row["act"] for row in found["advocate"]["acts"]]
    assert offered == [
        "testimonial",
        "review",
        "referral",
        "case_study",
        "reference_call",
        "advisory_board",
    ]
    answer = asker.widget_call("advocates", {"display": display, "acts": ["reference_call"]})
    assert answer.status_code == 200 and answer.get_json()["acts"] == ["reference_call"]
    assert asker.widget_call("asks", {"display": display}).get_json()["advocate"] is None
    bad = asker.widget_call("advocates", {"display": display, "acts": ["lunch"]})
    assert bad.status_code == 422


def test_the_preference_page_sets_exactly_the_boxes_ticked(app, asker):
    asker.invite()
    with app.app_context():
        path = f"/p/{preferences_token(asker.tenant.get('/v1/contacts/ann').get_json()['id'])}"
    page = asker.client.get(path, headers=BROWSER).get_data(as_text=True)
    assert 'name="acts" value="advisory_board"' in page
    saved = asker.client.post(
        f"{path}/advocacy", data={"acts": ["review", "referral"]}, headers=BROWSER
    )
    assert saved.status_code == 303
    assert "Your choices are saved." in asker.client.get(
        saved.headers["Location"], headers=BROWSER
    ).get_data(as_text=True)
    asker.client.post(f"{path}/advocacy", data={"acts": ["referral"]}, headers=BROWSER)
    assert agreed(asker) == ["referral"]
    page = asker.client.get(path, headers=BROWSER).get_data(as_text=True)
    assert 'value="referral" checked' in page and 'value="review" checked' not in page
    assert advocate_events(asker) == [
        ("advocate.opted_in", ["review", "referral"], "preference_page"),
        ("advocate.opted_out", ["review"], "preference_page"),
    ]


def test_the_api_opts_in_and_out_and_tells_once(asker):
    asker.invite()
    first = asker.tenant.post("/v1/advocates/ann/opt-in", json={"acts": ["testimonial"]})
    assert first.get_json() == {"acts": ["testimonial"], "changed": ["testimonial"]}
    again = asker.tenant.post("/v1/advocates/ann/opt-in", json={"acts": ["testimonial"]})
    assert again.get_json() == {"acts": ["testimonial"], "changed": []}
    listed = asker.tenant.get("/v1/advocates").get_json()["data"]
    assert [(a["contact"]["external_id"], a["acts"]) for a in listed] == [("ann", ["testimonial"])]
    assert asker.tenant.get("/v1/advocates?act=review").get_json()["data"] == []
    out = asker.tenant.post("/v1/advocates/ann/opt-out", json={})
    assert out.get_json() == {"acts": [], "changed": ["testimonial"]}
    assert [e[0] for e in advocate_events(asker)] == ["advocate.opted_in", "advocate.opted_out"]
    assert (
        asker.tenant.post("/v1/advocates/nobody/opt-in", json={"acts": ["review"]}).status_code
        == 404
    )


def test_the_advocacy_queue_item_shows_what_they_agreed_to(asker):
    visit = asker.answer_page(10)
    asker.post_page(visit.token, "advocate", {"acts": ["testimonial", "advisory_board"]})
    (item,) = asker.tenant.get("/v1/queues/advocacy/items").get_json()["data"]
    assert item["agreed_to"] == ["testimonial", "advisory_board"]
    asker.answer_page(1, external_id="dan")
    (follow_up,) = asker.tenant.get("/v1/queues/follow_up/items").get_json()["data"]
    assert follow_up["agreed_to"] == []


def test_acts_are_recorded_by_the_api_and_counted_in_the_profile(asker):
    asker.invite()
    made = asker.tenant.post(
        "/v1/advocacy-acts",
        json={
            "contact": {"external_id": "ann", "attributes": {}},
            "act": "case_study",
            "note": "Q3 story",
        },
    )
    assert made.status_code == 201 and made.get_json()["source"] == "api"
    asker.tenant.post(
        "/v1/advocacy-acts",
        json={"contact": {"external_id": "ann", "attributes": {}}, "act": "review"},
    )
    profile = asker.tenant.get("/v1/advocates/ann?period=all").get_json()
    done = {row["act"]: row["done"] for row in profile["acts"]}
    assert done["case_study"] == 1 and done["review"] == 1 and done["testimonial"] == 0
    listed = asker.tenant.get("/v1/advocacy-acts?act=case_study").get_json()["data"]
    assert [a["note"] for a in listed] == ["Q3 story"]
    types = [event["type"] for event in asker.events()]
    assert types.count("advocacy_act.recorded") == 2


def test_the_profile_says_when_each_act_may_next_be_asked_for(asker):
    asker.ask_by_email()
    profile = asker.tenant.get("/v1/advocates/ann").get_json()
    review = next(row for row in profile["acts"] if row["act"] == "review")
    assert review["last_asked_at"] and review["next_ask_at"] > review["last_asked_at"]
    case_study = next(row for row in profile["acts"] if row["act"] == "case_study")
    assert case_study["last_asked_at"] is None and case_study["next_ask_at"] is None


def test_the_leaderboard_counts_reviews_and_testimonials_beside_referrals(app, asker):
    tenant = asker.tenant
    tenant.put(
        "/v1/referral-program",
        json={"enabled": True, "landing_url": "https://shop.example.com/"},
    )
    # Rita refers one friend who signs up; Rob leaves two reviews; Tess gives a testimonial.
    code = tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": "rita", "first_name": "Rita"}}
    ).get_json()
    tenant.post("/v1/referrals", json={"code": code["code"], "customer": {"external_id": "friend"}})
    for _ in range(2):
        tenant.post(
            "/v1/advocacy-acts",
            json={"contact": {"external_id": "rob", "first_name": "Rob"}, "act": "review"},
        )
    visit = asker.answer_page(10, "Superb", external_id="tess")
    asker.post_page(
        visit.token,
        "testimonial",
        {
            "text": "Superb",
            "display_name": "Tess",
            "consent": "yes",
            "consent_hash": visit.consent_hash(),
        },
    )
    testimonial = tenant.get("/v1/testimonials").get_json()["data"][0]
    tenant.patch(f"/v1/testimonials/{testimonial['id']}", json={"status": "approved"})

    board = tenant.get("/v1/leaderboard?period=30d").get_json()["data"]
    rows = [
        (e["contact_external_id"], e["reviews"], e["testimonials"], e["signups"], e["code"])
        for e in board
    ]
    assert rows == [
        ("rob", 2, 0, 0, None),
        ("tess", 0, 1, 0, None),
        ("rita", 0, 0, 1, code["code"]),
    ]
    assert [e["rank"] for e in board] == [1, 2, 3]


def test_erasure_withdraws_opt_ins_and_asks_and_keeps_acts_anonymous(app, asker):
    asker.invite()
    asker.tenant.post("/v1/advocates/ann/opt-in", json={"acts": ["review"]})
    asker.ask_by_email()
    asker.tenant.post(
        "/v1/advocacy-acts",
        json={
            "contact": {"external_id": "ann", "attributes": {}},
            "act": "reference_call",
            "note": "Ann's call",
        },
    )
    assert asker.tenant.delete("/v1/contacts/ann").status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdvocateOptIn)) == 0
        assert db.session.scalar(select(func.count()).select_from(AdvocacyAsk)) == 0
        act = db.session.scalar(select(AdvocacyAct))
        assert act.act == "reference_call" and act.note is None
    assert asker.tenant.get("/v1/advocates").get_json()["data"] == []
