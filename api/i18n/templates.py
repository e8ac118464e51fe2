"""``_()`` in the Jinja templates: the catalog of the locale the page was negotiated in.

A page handler that has chosen a locale puts it in ``g.page_locale`` (as the hosted
pages and the report page do), so its template and the error page it may end in both
speak it; without one, English.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context

from api.i18n.catalogs import DEFAULT_LOCALE, translations

__all__ = ["gettext", "init_app", "page_locale"]


def page_locale() -> str:
    return (g.get("page_locale") if has_app_context() else None) or DEFAULT_LOCALE


def gettext(message: str) -> str:
    return translations(page_locale()).gettext(message)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["_"] = gettext
