"""Liveness and readiness for load balancers and orchestrators."""

from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.extensions import db
from api.http import errors
from api.http.openapi import Blueprint

bp = Blueprint("health", __name__, public=True, description="For load balancers.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "`ok`"})
    database = fields.String(metadata={"description": "`ok` (readiness only)"})


@bp.get("/healthz")
@bp.response(200, HealthSchema)
def healthz():
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@bp.get("/readyz")
@bp.response(200, HealthSchema)
def readyz():
    """Ready for traffic: the database answers. Any failure of it is a 503, never a 500."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return errors.unavailable(error)
    return {"status": "ok", "database": "ok"}
