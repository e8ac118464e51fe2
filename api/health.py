"""Liveness and readiness for load balancers and orchestrators."""

from flask import Blueprint, current_app
from sqlalchemy import text

from api.extensions import db
from api.http.errors import ApiError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:
        db.session.rollback()
        current_app.logger.warning("readiness: database check failed (%s)", type(error).__name__)
        raise ApiError(503, "unavailable", "The database does not answer.") from None
    return {"status": "ok", "database": "ok"}
