"""Liveness and readiness for load balancers and orchestrators."""

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.extensions import db
from api.http import errors

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers. Any failure of it is a 503, never a 500."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return errors.unavailable(error)
    return {"status": "ok", "database": "ok"}
