"""Surveys that target lifecycle stages: skipped with `stage_not_targeted`, in batch
invitations and in the widget's eligibility alike."""

import pytest

from tests.test_widget_api import Widget


@pytest.fixture
def survey_id(tenant):
    response = tenant.post("/v1/surveys", json={"name": "NPS", "kind": "nps"})
    assert response.status_code == 201
    return response.get_json()["id"]


def invite(tenant, survey_id: str, contacts: list[dict]) -> tuple[list[str], dict[str, str]]:
    response = tenant.post(f"/v1/surveys/{survey_id}/invitations", json={"contacts": contacts})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    invited = sorted(invitation["external_id"] for invitation in body["invitations"])
    skipped = {item["contact"]["external_id"]: item["reason"] for item in body["skipped"]}
    return invited, skipped


def set_stage(tenant, external_id: str, stage: str | None) -> None:
    assert tenant.put(f"/v1/contacts/{external_id}", json={"stage": stage}).status_code in (
        200,
        201,
    )


def test_a_survey_asks_every_stage_until_told_otherwise(tenant, survey_id):
    survey = tenant.get(f"/v1/surveys/{survey_id}").get_json()
    assert survey["target_stages"] == [] and survey["excluded_stages"] == []
    for external_id, stage in (("a", "onboarding"), ("b", None), ("c", "churned")):
        set_stage(tenant, external_id, stage)
    invited, skipped = invite(tenant, survey_id, [{"external_id": x} for x in "abc"])
    assert invited == ["a", "b", "c"] and skipped == {}


def test_never_during_onboarding(tenant, survey_id):
    patched = tenant.patch(f"/v1/surveys/{survey_id}", json={"excluded_stages": ["onboarding"]})
    assert patched.get_json()["excluded_stages"] == ["onboarding"]
    set_stage(tenant, "busy", "onboarding")
    set_stage(tenant, "ready", "customer")
    set_stage(tenant, "unknown", None)
    refs = [
        {"external_id": "busy"},
        {"external_id": "ready"},
        {"external_id": "unknown"},  # no stage: not excluded
        # An inline contact's new stage is what counts, in the same call.
        {"external_id": "new", "stage": "onboarding"},
    ]
    invited, skipped = invite(tenant, survey_id, refs)
    assert invited == ["ready", "unknown"]
    assert skipped == {"busy": "stage_not_targeted", "new": "stage_not_targeted"}


def test_only_after_ramp_up(tenant, survey_id):
    tenant.patch(f"/v1/surveys/{survey_id}", json={"target_stages": ["customer", "advocate"]})
    for external_id, stage in (
        ("trial", "trial"),
        ("adopting", "adopting"),
        ("customer", "customer"),
        ("advocate", "advocate"),
        ("none", None),
    ):
        set_stage(tenant, external_id, stage)
    refs = [{"external_id": x} for x in ("trial", "adopting", "customer", "advocate", "none")]
    invited, skipped = invite(tenant, survey_id, refs)
    assert invited == ["advocate", "customer"]
    # A contact without a stage is not at a targeted one.
    assert skipped == dict.fromkeys(("trial", "adopting", "none"), "stage_not_targeted")


def test_unsubscribing_is_the_first_reason(tenant, survey_id):
    tenant.patch(f"/v1/surveys/{survey_id}", json={"excluded_stages": ["onboarding"]})
    tenant.put("/v1/contacts/gone", json={"stage": "onboarding", "unsubscribed": True})
    _invited, skipped = invite(tenant, survey_id, [{"external_id": "gone"}])
    assert skipped == {"gone": "unsubscribed"}


def test_stage_lists_are_checked(tenant, survey_id):
    for body in (
        {"target_stages": ["vip"]},
        {"excluded_stages": ["customer", "customer"]},
        {"target_stages": "customer"},
    ):
        response = tenant.patch(f"/v1/surveys/{survey_id}", json=body)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]["fields"]) == set(body)


def test_widget_eligibility_follows_the_stage(app, tenant):
    widget = Widget(app, tenant)
    widget.survey(target_stages=["customer", "advocate"], excluded_stages=["advocate"])
    set_stage(tenant, "u1", "onboarding")
    assert widget.eligibility("u1").get_json() == {"show": False, "reason": "stage_not_targeted"}
    set_stage(tenant, "u1", "customer")
    assert widget.eligibility("u1").get_json()["show"] is True
    set_stage(tenant, "u1", "advocate")  # targeted, but excluded: excluded wins
    assert widget.eligibility("u1").get_json()["reason"] == "stage_not_targeted"


def test_an_anonymous_visitor_has_no_stage(app, tenant):
    widget = Widget(app, tenant)
    widget.survey(allow_anonymous=True, target_stages=["customer"])
    answer = widget.eligibility(user_id=None).get_json()
    assert answer == {"show": False, "reason": "stage_not_targeted"}


def test_an_anonymous_visitor_passes_an_exclusion(app, tenant):
    widget = Widget(app, tenant)
    widget.survey(allow_anonymous=True, excluded_stages=["onboarding"])
    assert widget.eligibility(user_id=None).get_json()["show"] is True
