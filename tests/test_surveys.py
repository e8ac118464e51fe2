"""Surveys: create, read, list, change; texts validated against the kind; kind fixed once used."""

import pytest

from api.domain_errors import Invalid, NotFound
from api.extensions import db
from api.surveys import service
from api.surveys.models import Survey
from api.surveys.wording import DEFAULTS
from tests.conftest import create_tenant
from tests.factories import make_contact, make_invitation

NPS = {"name": "Quarterly NPS", "kind": "nps", "product_name": "Acme"}


def create(tenant, **fields):
    response = tenant.post("/v1/surveys", json={**NPS, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def test_create_with_defaults_then_get(tenant):
    response = tenant.post("/v1/surveys", json={"name": "Q1", "kind": "nps"})
    assert response.status_code == 201
    survey = response.get_json()
    assert response.headers["Location"] == f"/v1/surveys/{survey['id']}"
    assert survey["id"].startswith("srv_")
    assert survey["active"] is True
    assert survey["default_locale"] == "en"
    assert survey["texts"] == {}
    assert survey["segment_attributes"] == []
    assert (survey["resurvey_days"], survey["decline_days"], survey["link_ttl_days"]) == (
        90,
        30,
        30,
    )
    assert tenant.get(f"/v1/surveys/{survey['id']}").get_json() == survey


def test_a_survey_created_without_a_product_names_the_workspace(app, client):
    tenant = create_tenant(app, "Globex Corporation", client)
    survey = tenant.post("/v1/surveys", json={"name": "Q1", "kind": "nps"}).get_json()
    assert survey["product_name"] == "Globex Corporation"
    assert survey["preview"]["question"] == (
        "How likely are you to recommend Globex Corporation to a friend or colleague?"
    )


def test_a_long_workspace_name_is_cut_to_the_products_length(app, client):
    tenant = create_tenant(app, "G" * 150, client)
    survey = tenant.post("/v1/surveys", json={"name": "Q1", "kind": "nps"}).get_json()
    assert survey["product_name"] == "G" * 100


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_blank_product_is_refused(tenant, method):
    survey = create(tenant)
    if method == "post":
        response = tenant.post("/v1/surveys", json={**NPS, "product_name": ""})
    else:
        response = tenant.patch(f"/v1/surveys/{survey['id']}", json={"product_name": ""})
    error = error_of(response, 422)
    assert list(error["fields"]) == ["product_name"]
    assert tenant.get(f"/v1/surveys/{survey['id']}").get_json()["product_name"] == "Acme"


def test_preview_shows_the_effective_texts_of_the_default_locale(tenant):
    survey = create(
        tenant,
        kind="csat",
        product_name="Acme",
        default_locale="de",
        texts={
            "de": {"question": "Hallo {first_name|du}, wie zufrieden bist du mit {product}?"},
            "en": {"question": "Never shown in German"},
        },
    )
    preview = survey["preview"]
    assert preview["locale"] == "de"
    assert preview["scale"] == {"min": 1, "max": 5}
    # What the survey knows is filled in; each contact's placeholders show as written.
    assert preview["question"] == "Hallo {first_name|du}, wie zufrieden bist du mit Acme?"
    defaults = DEFAULTS["de"]["csat"]
    for part in ("follow_up", "thank_you"):
        assert preview[part] == {
            category: text.replace("{product}", "Acme") for category, text in defaults[part].items()
        }
    assert preview["low_label"] == defaults["low_label"]
    assert set(preview["follow_up"]) == {"satisfied", "neutral", "unsatisfied"}


@pytest.mark.parametrize(("kind", "low", "high"), [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)])
def test_every_kind_has_its_scale(tenant, kind, low, high):
    survey = create(tenant, kind=kind)
    assert survey["preview"]["scale"] == {"min": low, "max": high}
    assert survey["preview"]["question"] == DEFAULTS["en"][kind]["question"].replace(
        "{product}", "Acme"
    )


def test_list_pages_and_filters(tenant):
    made = [create(tenant, name=f"s{i}", kind=("nps", "csat")[i % 2]) for i in range(5)]
    tenant.patch(f"/v1/surveys/{made[0]['id']}", json={"active": False})
    first = tenant.get("/v1/surveys?limit=2").get_json()
    assert [s["id"] for s in first["data"]] == [made[0]["id"], made[1]["id"]]
    assert first["has_more"] is True
    rest = tenant.get(f"/v1/surveys?limit=10&after={first['next_cursor']}").get_json()
    assert [s["id"] for s in rest["data"]] == [s["id"] for s in made[2:]]
    assert rest["has_more"] is False and rest["next_cursor"] is None
    csat = tenant.get("/v1/surveys?kind=csat").get_json()["data"]
    assert [s["id"] for s in csat] == [made[1]["id"], made[3]["id"]]
    inactive = tenant.get("/v1/surveys?active=false").get_json()["data"]
    assert [s["id"] for s in inactive] == [made[0]["id"]]


def test_patch_changes_given_fields_only(tenant):
    survey = create(tenant, segment_attributes=["plan"])
    response = tenant.patch(
        f"/v1/surveys/{survey['id']}",
        json={"name": "Renamed", "active": False, "resurvey_days": 0, "link_ttl_days": 90},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    changed = response.get_json()
    assert changed["name"] == "Renamed" and changed["active"] is False
    assert changed["resurvey_days"] == 0 and changed["link_ttl_days"] == 90
    assert changed["segment_attributes"] == ["plan"]
    assert changed["product_name"] == "Acme"
    assert changed["created_at"] == survey["created_at"]
    assert changed["updated_at"] >= survey["updated_at"]


def test_patch_texts_replace_per_locale_and_null_removes(tenant):
    survey = create(
        tenant,
        texts={
            "en": {"question": "Q en", "thank_you": {"promoter": "Thanks!"}},
            "de": {"question": "Q de"},
        },
    )
    path = f"/v1/surveys/{survey['id']}"
    patched = tenant.patch(
        path, json={"texts": {"en": {"follow_up": {"detractor": "Why?"}}, "fr": {"question": "Q"}}}
    ).get_json()
    assert patched["texts"] == {
        "en": {"follow_up": {"detractor": "Why?"}},
        "de": {"question": "Q de"},
        "fr": {"question": "Q"},
    }
    assert patched["preview"]["follow_up"]["detractor"] == "Why?"
    assert patched["preview"]["question"] == DEFAULTS["en"]["nps"]["question"].replace(
        "{product}", "Acme"
    )
    removed = tenant.patch(path, json={"texts": {"de": None}}).get_json()
    assert set(removed["texts"]) == {"en", "fr"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "stars"}, "kind"),
        ({"name": ""}, "name"),
        ({"default_locale": "it"}, "default_locale"),
        ({"segment_attributes": ["a", "b", "c", "d", "e", "f"]}, "segment_attributes"),
        ({"segment_attributes": ["plan", "plan"]}, "segment_attributes"),
        ({"resurvey_days": -1}, "resurvey_days"),
        ({"link_ttl_days": 0}, "link_ttl_days"),
        ({"link_ttl_days": 91}, "link_ttl_days"),
        ({"texts": {"it": {"question": "Q"}}}, "texts"),
        ({"texts": {"en": {"subject": "Q"}}}, "texts"),
        ({"texts": {"en": {"question": "x" * 1001}}}, "texts"),
        ({"texts": {"en": {"question": ""}}}, "texts"),
        ({"texts": {"en": {"question": 3}}}, "texts"),
        ({"texts": {"en": {"follow_up": "Why?"}}}, "texts"),
        ({"texts": {"en": {"thank_you": {"promoter": "y" * 1001}}}}, "texts"),
        ({"texts": {"en": "Q"}}, "texts"),
    ],
)
def test_create_validates(tenant, body, field):
    error = error_of(tenant.post("/v1/surveys", json={**NPS, **body}), 422)
    assert field in error["fields"], error


def test_a_text_of_1000_characters_is_fine(tenant):
    survey = create(tenant, texts={"en": {"question": "x" * 1000}})
    assert survey["preview"]["question"] == "x" * 1000


def test_name_and_kind_are_required(tenant):
    error = error_of(tenant.post("/v1/surveys", json={}), 422)
    assert {"name", "kind"} <= set(error["fields"])


def test_categories_must_be_the_kinds(tenant):
    error = error_of(
        tenant.post(
            "/v1/surveys",
            json={**NPS, "kind": "csat", "texts": {"de": {"follow_up": {"detractor": "Warum?"}}}},
        ),
        422,
    )
    assert error["fields"]["texts"]["de"]["follow_up"]["detractor"][0].startswith(
        "Not a csat category"
    )
    survey = create(tenant, kind="csat", texts={"de": {"follow_up": {"unsatisfied": "Warum?"}}})
    assert survey["texts"]["de"]["follow_up"] == {"unsatisfied": "Warum?"}


def test_link_ttl_is_bounded_by_the_configured_maximum(app_factory):
    tenant = create_tenant(app_factory(SURVEY_LINK_MAX_AGE_DAYS=10))
    error = error_of(tenant.post("/v1/surveys", json={**NPS, "link_ttl_days": 11}), 422)
    assert error["fields"]["link_ttl_days"] == ["At most 10 days."]
    assert create(tenant, link_ttl_days=10)["link_ttl_days"] == 10
    assert create(tenant)["link_ttl_days"] == 10  # the default of 30 would outlive the tokens


def test_kind_may_change_until_the_survey_has_invitations(app, tenant):
    survey = create(tenant, texts={"en": {"follow_up": {"detractor": "Why?"}}})
    path = f"/v1/surveys/{survey['id']}"
    # The stored texts must fit the new kind too.
    error = error_of(tenant.patch(path, json={"kind": "ces"}), 422)
    assert "detractor" in error["fields"]["texts"]["en"]["follow_up"]
    changed = tenant.patch(path, json={"kind": "ces", "texts": {"en": None}})
    assert changed.status_code == 200 and changed.get_json()["kind"] == "ces"

    with app.app_context():
        contact = make_contact(tenant.id, "u-1")
        make_invitation(db.session.get(Survey, survey["id"]), contact)
        db.session.commit()
    error = error_of(tenant.patch(path, json={"kind": "nps"}), 409)
    assert error["code"] == "survey_kind_immutable"
    # Naming the kind it already has is not a change.
    assert tenant.patch(path, json={"kind": "ces", "name": "Still CES"}).status_code == 200


def test_another_workspace_cannot_see_or_change_a_survey(tenant, make_tenant):
    survey = create(tenant)
    other = make_tenant("Other")
    path = f"/v1/surveys/{survey['id']}"
    assert error_of(other.get(path), 404)["code"] == "not_found"
    assert error_of(other.patch(path, json={"name": "Mine"}), 404)["code"] == "not_found"
    assert other.get("/v1/surveys").get_json()["data"] == []
    assert tenant.get(path).get_json()["name"] == survey["name"]


def test_there_is_no_delete_deactivate_instead(tenant):
    survey = create(tenant)
    assert tenant.delete(f"/v1/surveys/{survey['id']}").status_code == 405


def test_service_functions_work_without_http(app, tenant):
    with app.app_context():
        survey = service.create_survey(tenant.id, {"name": "Direct", "kind": "ces"})
        with pytest.raises(Invalid) as raised:
            service.update_survey(survey, {"texts": {"en": {"thank_you": {"promoter": "x"}}}})
        assert raised.value.fields["texts"]["en"]["thank_you"]["promoter"]
        service.update_survey(survey, {"texts": {"en": {"thank_you": {"hard": "Sorry"}}}})
        db.session.commit()
        found = service.get_survey(tenant.id, survey.id)
        assert service.preview(found)["thank_you"]["hard"] == "Sorry"
        with pytest.raises(NotFound):
            service.get_survey("wsp_other", survey.id)


def test_openapi_documents_surveys_and_invitations(client):
    spec = client.get("/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/v1/surveys"])
    assert {"get", "patch"} <= set(spec["paths"]["/v1/surveys/{survey_id}"])
    invite = spec["paths"]["/v1/surveys/{survey_id}/invitations"]["post"]
    assert "RFC 8058" in invite["description"]
    links = spec["components"]["schemas"]["InvitationLinks"]["properties"]
    assert "List-Unsubscribe-Post" in links["email_headers"]["description"]
    assert "?score=N" in links["score_urls"]["description"]
