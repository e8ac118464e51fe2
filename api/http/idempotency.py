"""`Idempotency-Key` for every POST on the APIs, as request middleware.

The first request with a key claims it (a row, committed at once, so a
concurrent twin sees it); its successful response is stored in the same
transaction as its work and replayed to retries that carry the same body.
A different body under the same key is a 422; a twin that arrives while the
first is still running gets a 409 and retries. Failed requests release the key,
since retrying them should run them again.

Stored bodies past `COMPRESS_FROM` bytes are zlib-compressed: an answer with
email blocks (a small invitation batch's) is mostly repeated HTML, which level 1
shrinks twentyfold for little time.
"""

import hashlib
import re
import zlib
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.database import JSONType, UTCDateTime, insert_ignore, utcnow
from api.extensions import db
from api.http.errors import ApiError
from api.http.openapi import answers

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Content-Type", "Location")
COMPRESS_FROM = 4096
ZLIB = "zlib"


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_keys"
    # The worker's purge finds expired records by age.
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    # How response_body is stored: None as it was sent, "zlib" compressed.
    response_encoding: Mapped[str | None] = mapped_column(String(16))
    response_headers: Mapped[dict | None] = mapped_column(JSONType)


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.mimetype == "multipart/form-data":
        # A client draws a new boundary for each attempt (curl -F does): the same
        # request is the same fields and files, whatever bytes separate them.
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"field {len(name)}:{name} {len(value)}\n".encode() + value.encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            content = upload.read()
            upload.seek(0)
            label = f"file {len(name)}:{name} {upload.filename!r} {len(content)}\n"
            digest.update(label.encode() + content)
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(workspace_id: str, key: str, fingerprint: str, now: datetime) -> bool:
    claimed = insert_ignore(
        IdempotencyRecord,
        {"workspace_id": workspace_id, "key": key, "fingerprint": fingerprint, "locked_at": now},
        ["workspace_id", "key"],
    )
    db.session.commit()
    return claimed


@answers(
    400,
    409,
    422,
    methods=["POST"],
    parameters=[
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": _VALID_KEY.pattern,
            },
            "description": "Makes the POST safe to retry: a retry with the same body gets the "
            "first answer again; another body under the same key is a 422.",
        }
    ],
    success_headers={"Idempotent-Replayed": "IDEMPOTENT_REPLAYED"},
)
def begin():
    """Before the view: claim the key, or answer for the request that holds it."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not _VALID_KEY.fullmatch(key):  # not match: `$` would accept a trailing newline
        raise ApiError(
            400, "invalid_idempotency_key", f"{HEADER} must be 1 to 255 printable characters."
        )
    workspace_id, fingerprint, now = g.workspace_id, _fingerprint(), utcnow()
    config = current_app.config
    if _claim(workspace_id, key, fingerprint, now):
        g.idempotency_key = key
        return None
    record = db.session.get(IdempotencyRecord, (workspace_id, key))
    if record is None or record.created_at < now - timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"]):
        db.session.execute(_delete(workspace_id, key))
        if not _claim(workspace_id, key, fingerprint, now):
            raise _in_progress()
        g.idempotency_key = key
        return None
    if record.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was used with a different request; use a new key for a new request.",
        )
    if record.response_status is not None:
        return _replay(record)
    stale = now - timedelta(seconds=config["IDEMPOTENCY_LOCK_SECONDS"])
    if record.locked_at < stale and _take_over(record, now):
        g.idempotency_key = key
        return None
    raise _in_progress()


def replay_instead(payload: dict) -> None:
    """Store `payload` for replay instead of the response, which holds a secret shown once."""
    g.idempotency_replay_body = current_app.json.response(payload).get_data()


def finish(response):
    """After the view: keep a success for replay (committed with the work), else release."""
    key = g.pop("idempotency_key", None)
    replay_body = g.pop("idempotency_replay_body", None)
    if key is None:
        return response
    if response.status_code < 400:
        headers = {
            name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers
        }
        body = response.get_data() if replay_body is None else replay_body
        encoding = None
        if len(body) >= COMPRESS_FROM:
            body, encoding = zlib.compress(body, 1), ZLIB
        db.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.workspace_id == g.workspace_id, IdempotencyRecord.key == key)
            .values(
                response_status=response.status_code,
                response_body=body,
                response_encoding=encoding,
                response_headers=headers,
            )
        )
    else:
        db.session.rollback()
        db.session.execute(_delete(g.workspace_id, key))
        db.session.commit()
    return response


def _replay(record: IdempotencyRecord):
    body = record.response_body
    if record.response_encoding == ZLIB:
        body = zlib.decompress(body)
    response = current_app.response_class(body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _take_over(record: IdempotencyRecord, now: datetime) -> bool:
    """Claim a key whose first request died mid-way; only one retry can win."""
    result = db.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.workspace_id == record.workspace_id,
            IdempotencyRecord.key == record.key,
            IdempotencyRecord.locked_at == record.locked_at,
            IdempotencyRecord.response_status.is_(None),
        )
        .values(locked_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def _delete(workspace_id: str, key: str):
    return delete(IdempotencyRecord).where(
        IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key
    )


def _in_progress() -> ApiError:
    return ApiError(
        409,
        "idempotency_in_progress",
        f"A request with this {HEADER} is still being processed; retry shortly.",
    ).with_headers({"Retry-After": "1"})


def purge_expired(now: datetime, ttl: timedelta, batch: int = 1000) -> int:
    """Delete up to `batch` records past their time to live; the worker calls it
    every few minutes (api/worker/periodic.py), a batch per transaction."""
    expired = (
        select(IdempotencyRecord.workspace_id, IdempotencyRecord.key)
        .where(IdempotencyRecord.created_at < now - ttl)
        .limit(batch)
    )
    result = db.session.execute(
        delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.workspace_id, IdempotencyRecord.key).in_(expired)
        )
    )
    return result.rowcount
