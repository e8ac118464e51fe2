"""The report page for people: /reports/<survey_id>."""

from flask import Blueprint

bp = Blueprint("report_pages", __name__)
