"""Serves the widget scripts in widgets/ under a versioned, long-cached URL."""

from flask import Blueprint

bp = Blueprint("widget_assets", __name__)
