"""The preference page /p/<token>: unsubscribe by form or RFC 8058 one-click, and back."""

from sqlalchemy import select

from api.contacts.erasure import erase
from api.contacts.models import Contact
from api.events.models import Event
from api.extensions import db
from api.surveys import invitations, tokens
from api.surveys.models import Survey
from tests.test_survey_page import BROWSER, SAME_ORIGIN, Elements, assert_page, make_case

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def contact_of(app, contact_id: str) -> Contact:
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        db.session.expunge(contact)
        return contact


def unsubscribe_events(app, contact_id: str) -> list[dict]:
    with app.app_context():
        return [
            event.data
            for event in db.session.scalars(
                select(Event).where(
                    Event.type == "contact.unsubscribed", Event.subject_id == contact_id
                )
            )
        ]


def test_get_shows_the_question_and_changes_nothing(app, client):
    case = make_case(app)
    for _ in range(2):  # a scanner, then the person
        page = client.get(f"/p/{case.preferences_token}", headers=BROWSER)
    html = assert_page(page, 200, "Unsubscribe", "stop receiving survey emails from Acme")
    form = Elements(html).find("form", method="post", action=f"/p/{case.preferences_token}")
    assert form and Elements(html).find("button", type="submit")
    assert not contact_of(app, case.contact_id).unsubscribed
    assert unsubscribe_events(app, case.contact_id) == []


def test_form_post_unsubscribes_and_offers_to_subscribe_again(app, client):
    case = make_case(app)
    url = f"/p/{case.preferences_token}"
    posted = client.post(url, headers=SAME_ORIGIN)
    assert posted.status_code == 303 and posted.location == url
    assert contact_of(app, case.contact_id).unsubscribed
    assert unsubscribe_events(app, case.contact_id) == [
        {"external_id": contact_of(app, case.contact_id).external_id, "source": "preference_page"}
    ]
    html = assert_page(client.get(url, headers=BROWSER), 200, "You&#39;re unsubscribed")
    assert Elements(html).find("form", method="post", action=f"{url}/resubscribe")

    again = client.post(f"{url}/resubscribe", headers=SAME_ORIGIN)
    assert again.status_code == 303
    assert not contact_of(app, case.contact_id).unsubscribed
    html = client.get(again.location, headers=BROWSER).get_data(as_text=True)
    assert "You&#39;re subscribed again" in html


def test_one_click_post_from_a_mail_client(app, client):
    case = make_case(app)
    # RFC 8058: no cookies, no Origin, no Accept; just the form body.
    response = client.post(f"/p/{case.preferences_token}", data=ONE_CLICK)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).strip() == "You have been unsubscribed."
    assert contact_of(app, case.contact_id).unsubscribed
    assert [e["source"] for e in unsubscribe_events(app, case.contact_id)] == ["one_click"]


def test_one_click_as_multipart_is_accepted(app, client):
    case = make_case(app)
    response = client.post(
        f"/p/{case.preferences_token}", data=ONE_CLICK, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert contact_of(app, case.contact_id).unsubscribed


def test_unsubscribing_twice_records_one_event(app, client):
    case = make_case(app)
    url = f"/p/{case.preferences_token}"
    client.post(url, data=ONE_CLICK)
    assert client.post(url, data=ONE_CLICK).status_code == 200  # a mail client retrying
    assert client.post(url, headers=SAME_ORIGIN).status_code == 303  # a double click
    assert len(unsubscribe_events(app, case.contact_id)) == 1
    first = contact_of(app, case.contact_id).unsubscribed_at
    assert first is not None


def test_cross_site_form_post_is_refused(app, client):
    case = make_case(app)
    url = f"/p/{case.preferences_token}"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post(url, headers={**BROWSER, **headers})
        assert_page(refused, 403, "This form could not be sent")
    assert not contact_of(app, case.contact_id).unsubscribed
    client.post(url, data=ONE_CLICK)
    refused = client.post(
        f"{url}/resubscribe", headers={**BROWSER, "Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert contact_of(app, case.contact_id).unsubscribed


def test_erased_contact_and_wrong_tokens_are_not_found(app, client):
    case = make_case(app)
    assert_page(client.get(f"/p/{case.token}", headers=BROWSER), 404)  # a survey token
    assert_page(client.get(f"/p/{case.preferences_token}x", headers=BROWSER), 404)
    with app.app_context():
        assert client.get(f"/p/{tokens.preferences_token('con_nobody')}").status_code == 404
        erase(db.session.get(Contact, case.contact_id))
        db.session.commit()
    assert_page(client.get(f"/p/{case.preferences_token}", headers=BROWSER), 404)
    assert client.post(f"/p/{case.preferences_token}", data=ONE_CLICK).status_code == 404
    assert unsubscribe_events(app, case.contact_id) == []


def test_page_speaks_the_contacts_language(app, client):
    case = make_case(app, contact={"locale": "fr"})
    html = client.get(f"/p/{case.preferences_token}", headers=BROWSER).get_data(as_text=True)
    assert '<html lang="fr">' in html and "Se désabonner" in html
    one_click = client.post(f"/p/{case.preferences_token}", data=ONE_CLICK)
    assert one_click.get_data(as_text=True).strip() == "Vous avez été désabonné."


def test_unsubscribed_contact_is_not_invited_again(app, client):
    case = make_case(app)
    client.post(f"/p/{case.preferences_token}", data=ONE_CLICK)
    with app.app_context():
        survey = db.session.get(Survey, case.survey_id)
        invited, skipped = invitations.invite(survey, [{"contact_id": case.contact_id}], "email")
        assert invited == []
        assert [(s.ref["contact_id"], s.reason) for s in skipped] == [
            (case.contact_id, invitations.UNSUBSCRIBED)
        ]
        db.session.rollback()


def test_subscribing_again_is_an_event_once(app, client):
    case = make_case(app)
    url = f"/p/{case.preferences_token}"
    client.post(url, headers=SAME_ORIGIN)
    for _ in range(2):  # a double click changes one thing
        assert client.post(f"{url}/resubscribe", headers=SAME_ORIGIN).status_code == 303
    assert not contact_of(app, case.contact_id).unsubscribed
    external_id = contact_of(app, case.contact_id).external_id
    with app.app_context():
        events = db.session.execute(
            select(Event.type, Event.data)
            .where(Event.subject_id == case.contact_id, Event.type.like("contact.%"))
            .order_by(Event.id)
        ).all()
    # The same payload both ways, so a consumer handles them alike.
    assert [tuple(event) for event in events] == [
        ("contact.unsubscribed", {"external_id": external_id, "source": "preference_page"}),
        ("contact.resubscribed", {"external_id": external_id, "source": "preference_page"}),
    ]
