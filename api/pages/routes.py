"""Hosted pages: /s/<token> (survey) and /p/<token> (preferences)."""

from flask import Blueprint

bp = Blueprint("pages", __name__)
