"""Every model, imported in one place so migrations see the whole schema."""

from api.contacts.models import Contact
from api.http.idempotency import IdempotencyRecord
from api.workspaces.models import ApiKey, Workspace

__all__ = ["ApiKey", "Contact", "IdempotencyRecord", "Workspace"]
