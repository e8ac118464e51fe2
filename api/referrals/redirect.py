"""The tracked referral link /r/<code>: count the click, redirect with attribution."""

from flask import Blueprint

bp = Blueprint("referral_links", __name__)
