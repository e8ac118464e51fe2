"""The hosted wall page, `/wall/<workspace_id>`: published testimonials, no JavaScript.

It reads what the public API reads (api/advocacy/testimonials.py: approved,
consent standing, remembered per worker for TESTIMONIAL_CACHE_SECONDS), so a
withdrawal leaves it within that time. It may be framed by the workspace's
allowed origins (the widget's), and by no one else.
"""

from flask import g, render_template, request

from api.advocacy import testimonials
from api.extensions import db
from api.http import errors as http_errors
from api.http.openapi import Blueprint
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.i18n.templates import choose_page_locale
from api.pages import errors, security
from api.workspaces.models import Workspace

bp = Blueprint("wall", __name__, public=True, description="The hosted testimonial wall.")
http_errors.html_renderers[bp.name] = errors.render_error_page

# The most a wall shows: enough for a page people read.
SHOWN = 100


@bp.context_processor
def _page_context() -> dict:
    return {"csp_nonce": security.csp_nonce()}


@bp.after_request
def _headers(response):
    return security.add_security_headers(
        response, scripts=False, frame_ancestors=g.get("wall_origins") or []
    )


@bp.get("/wall/<workspace_id>")
@bp.page()
def wall_page(workspace_id: str):
    workspace = db.session.get(Workspace, workspace_id)
    locale = choose_page_locale(request.args.get("locale"))
    if workspace is None:
        raise errors.link_not_found()
    g.wall_origins = workspace.allowed_origins or []
    words = UI[locale]
    shown = testimonials.public(
        workspace.id, request.args.get("tag") or None, request.args.get("survey_id") or None, SHOWN
    )
    return render_template(
        "wall.html",
        lang=locale,
        ui=words,
        title=fill(words["wall_title"], {"product": workspace.name}),
        testimonials=[row | {"score_text": _score_text(words, row)} for row in shown],
    )


def _score_text(words: dict, row: dict) -> str | None:
    if row["score"] is None or row["max_score"] is None:
        return None
    return fill(words["score_label"], {"score": row["score"], "max": row["max_score"]})
