"""Error pages of the hosted pages: friendly, localised, with the request id and nothing else.

The status, code and JSON body come from the one error format (`api.http.errors`);
this only decides the words a browser shows. A token that fails says "not found"
or "expired" and never which check failed.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, render_template, request

from api import signing
from api.http.errors import ApiError
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill

NOT_FOUND = "not_found"
LINK_EXPIRED = "link_expired"
SURVEY_CLOSED = "survey_closed"


def link_not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "This link is not valid.")


def link_expired() -> ApiError:
    return ApiError(410, LINK_EXPIRED, "This link has expired.")


@contextmanager
def token_checked() -> Iterator[None]:
    """Reading a page's token: expired is the 410 page, any other failure the 404 one."""
    try:
        yield
    except signing.TokenExpired:
        raise link_expired() from None
    except signing.TokenInvalid:
        raise link_not_found() from None


def survey_closed() -> ApiError:
    return ApiError(410, SURVEY_CLOSED, "This survey is closed.")


# code -> (title key, body key) in UI
_WORDS = {
    NOT_FOUND: ("not_found_title", "not_found_body"),
    LINK_EXPIRED: ("link_expired_title", "link_expired_body"),
    # UI calls a closed survey "expired": "This survey has closed".
    SURVEY_CLOSED: ("expired_title", "expired_body"),
    "cross_site_request": ("forbidden_title", "forbidden_body"),
    "rate_limited": ("rate_limited_title", "rate_limited_body"),
}
_BY_STATUS = {404: _WORDS[NOT_FOUND], 410: _WORDS[LINK_EXPIRED]}
_GENERIC = ("error_title", "error_retry")


def page_locale() -> str:
    """The locale a page found for its reader, else the browser's."""
    return g.get("page_locale") or pick_locale(
        accept_language=request.headers.get("Accept-Language")
    )


def render_error_page(status: int, error: dict) -> str:
    locale = page_locale()
    words = UI[pick_locale(locale)]
    title, body = _WORDS.get(error["code"]) or _BY_STATUS.get(status) or _GENERIC
    request_id = error.get("request_id") or ""
    return render_template(
        "page_error.html",
        lang=locale,
        status=status,
        title=words[title],
        body=words[body],
        reference=fill(words["reference"], {"request_id": request_id}) if request_id else "",
    )
