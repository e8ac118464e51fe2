from datetime import timedelta

from flask.views import MethodView

from api.domain_errors import found
from api.extensions import db
from api.http import idempotency
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.workspaces import keys
from api.workspaces.models import ApiKey, Workspace
from api.workspaces.schemas import (
    ApiKeyListSchema,
    ApiKeySchema,
    CreateKeySchema,
    NewApiKeySchema,
    RotateKeySchema,
    WorkspaceSchema,
    WorkspaceSettingsSchema,
)

bp = ApiBlueprint(
    "keys",
    __name__,
    url_prefix="/v1/keys",
    description="API keys: several may be alive at once, so keys can be rotated without downtime.",
)


def _with_secret(key: ApiKey, raw: str) -> dict:
    # A retry with the same Idempotency-Key gets the key's metadata: the key is never stored.
    idempotency.replay_instead(ApiKeySchema().dump(key))
    # Values, not a dump: @bp.response dumps with NewApiKeySchema (a dump of a dump is a 500).
    return {name: getattr(key, name) for name in ApiKeySchema().fields} | {"key": raw}


def _found(key_id: str) -> ApiKey:
    return found(keys.get_key(current_workspace_id(), key_id), "API key")


@bp.route("")
class Keys(MethodView):
    @bp.response(200, ApiKeyListSchema)
    def get(self):
        """List the workspace's keys (prefixes only; keys are stored as hashes)."""
        return {"data": keys.list_keys(current_workspace_id())}

    @bp.arguments(CreateKeySchema)
    @bp.response(201, NewApiKeySchema)
    def post(self, data):
        """Create a key; the response is the only time the whole key is shown."""
        key, raw = keys.create_key(current_workspace_id(), data["kind"], data["name"])
        return _with_secret(key, raw)


@bp.route("/<key_id>")
class KeyById(MethodView):
    @bp.response(200, ApiKeySchema)
    def get(self, key_id):
        """Get one key's metadata."""
        return _found(key_id)

    @bp.response(200, ApiKeySchema)
    def delete(self, key_id):
        """Revoke a key; it stops working at once."""
        return keys.revoke(_found(key_id))


@bp.post("/<key_id>/rotate")
@bp.arguments(RotateKeySchema)
@bp.response(201, NewApiKeySchema)
def rotate_key(data, key_id):
    """Create a replacement key; the old one expires after the grace period."""
    key, raw = keys.rotate(_found(key_id), timedelta(hours=data["grace_hours"]))
    return _with_secret(key, raw)


settings_bp = ApiBlueprint(
    "workspace",
    __name__,
    url_prefix="/v1/workspace",
    description="The calling workspace and its settings (queue service levels).",
)


@settings_bp.route("")
class WorkspaceSettings(MethodView):
    @settings_bp.response(200, WorkspaceSchema)
    def get(self):
        """The workspace this key belongs to."""
        return db.session.get(Workspace, current_workspace_id())

    @settings_bp.arguments(WorkspaceSettingsSchema)
    @settings_bp.response(200, WorkspaceSchema)
    def patch(self, data):
        """Change the name or the queue service levels (hours until an item is due)."""
        workspace = db.session.get(Workspace, current_workspace_id())
        for name, value in data.items():
            setattr(workspace, name, value)
        return workspace
