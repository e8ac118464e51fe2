from urllib.parse import quote

from flask.views import MethodView

from api.contacts import erasure, service, stages
from api.contacts.imports import cli as imports_cli
from api.contacts.models import Contact
from api.contacts.schemas import (
    ContactFieldsSchema,
    ContactFilterArgs,
    ContactSchema,
    ContactUpsertSchema,
    StageChangeSchema,
)
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.openapi import LOCATION
from api.http.pagination import PageArgs, page_of, paginate

bp = ApiBlueprint(
    "contacts",
    __name__,
    url_prefix="/v1/contacts",
    description="Contacts: the people you ask and reward, keyed by your own id (external_id).",
)
# `flask contacts import FILE`, `flask contacts run-import IMPORT_ID`
bp.cli.add_command(imports_cli.import_contacts)
bp.cli.add_command(imports_cli.run_import)


def _found(external_id: str) -> Contact:
    return service.require_contact(current_workspace_id(), external_id)


def _upserted(contact: Contact, created: bool):
    # Quoted whole: an external id may hold "/", "?" or "#", which would change the URL.
    location = f"/v1/contacts/{quote(contact.external_id, safe='')}"
    return contact, (201 if created else 200), {"Location": location}


@bp.route("")
class Contacts(MethodView):
    @bp.arguments(ContactFilterArgs, location="query")
    @bp.response(200, page_of(ContactSchema))
    def get(self, args):
        """List contacts, oldest first, filtered by email, stage or last change."""
        return paginate(service.filter_contacts(current_workspace_id(), args), args)

    @bp.arguments(ContactUpsertSchema)
    @bp.response(200, ContactSchema, headers=LOCATION)
    @bp.alt_response(201, schema=ContactSchema, description="Created", headers=LOCATION)
    def post(self, data):
        """Create or update by `external_id`; given fields change, attributes merge."""
        external_id = data.pop("external_id")
        return _upserted(*service.upsert_contact(current_workspace_id(), external_id, data))


@bp.route("/<external_id>")
class ContactByExternalId(MethodView):
    @bp.response(200, ContactSchema)
    def get(self, external_id):
        """Get a contact by your id."""
        return _found(external_id)

    @bp.arguments(ContactFieldsSchema)
    @bp.response(200, ContactSchema, headers=LOCATION)
    @bp.alt_response(201, schema=ContactSchema, description="Created", headers=LOCATION)
    def put(self, data, external_id):
        """Create or replace: fields left out are cleared."""
        return _upserted(
            *service.upsert_contact(current_workspace_id(), external_id, data, replace=True)
        )

    @bp.arguments(ContactFieldsSchema)
    @bp.response(200, ContactSchema)
    def patch(self, data, external_id):
        """Change the given fields; attributes merge and `null` deletes an attribute."""
        return service.update_contact(_found(external_id), data)

    @bp.response(204)
    def delete(self, external_id):
        """Erase the contact's personal data; anonymous aggregates stay."""
        erasure.erase(_found(external_id))


@bp.route("/<external_id>/stages")
class ContactStages(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(StageChangeSchema))
    def get(self, args, external_id):
        """The contact's lifecycle stage history, oldest first: every change, its time and
        what made it."""
        return paginate(stages.history(_found(external_id)), args)
