"""``_()`` in the Jinja templates: the catalog of the locale the page was negotiated in.

A page handler that has chosen a locale puts it in ``g.page_locale`` (as the hosted
pages and the report page do), so its template and the error page it may end in both
speak it; without one, English.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context, request

from api.i18n.catalogs import DEFAULT_LOCALE, translations
from api.i18n.negotiation import pick_locale

__all__ = ["choose_page_locale", "gettext", "init_app", "page_locale"]


def choose_page_locale(*candidates: str | None, fallback: str | None = None) -> str:
    """The reader's locale for this page: what we know of them (``candidates``, in
    priority order), then their browser's, then ``fallback``; kept in ``g.page_locale``."""
    locale = pick_locale(
        *candidates, accept_language=request.headers.get("Accept-Language"), fallback=fallback
    )
    g.page_locale = locale
    return locale


def page_locale() -> str:
    return (g.get("page_locale") if has_app_context() else None) or DEFAULT_LOCALE


def gettext(message: str) -> str:
    return translations(page_locale()).gettext(message)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["_"] = gettext
