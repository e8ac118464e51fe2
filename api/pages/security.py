"""What every hosted page sends and checks: a CSP nonce, security headers, same-site POSTs."""

import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request

from api.http.errors import ApiError


def csp_nonce() -> str:
    """One nonce per response, made on first use.

    Lazily, because an error page can be rendered before the blueprint's
    before_request hooks ever ran (the rate limiter refuses in the app's own).
    """
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def add_security_headers(
    response, *, scripts: bool = True, data_images: bool = False, frame_ancestors=()
):
    """The headers of every page for people: a strict CSP with this response's nonce.

    Pages only ever run and style what carries the nonce. The report page has no
    script (`scripts=False`) and draws with data: images (`data_images=True`).
    No page may be framed, except by the `frame_ancestors` origins (the wall page,
    by the workspace's own sites).
    """
    nonce = csp_nonce()
    policy = ["default-src 'none'", f"style-src 'nonce-{nonce}'"]
    if scripts:
        policy.append(f"script-src 'nonce-{nonce}'")
    if data_images:
        policy.append("img-src 'self' data:")
    ancestors = " ".join(frame_ancestors) or "'none'"
    policy += ["form-action 'self'", "base-uri 'none'", f"frame-ancestors {ancestors}"]
    response.headers["Content-Security-Policy"] = "; ".join(policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The token is in the URL: no Referer may carry it anywhere.
    response.headers["Referrer-Policy"] = "no-referrer"
    # Pages hold a person's answers and a live token; no cache (shared or not) may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse_cross_site() -> None:
    """Refuse a POST that a browser sent from another site.

    Classic CSRF rides on ambient credentials (cookies); these forms have none.
    The token in the URL is the whole authorisation, and whoever can read it
    can POST it from anywhere anyway, so no CSRF token could add anything.
    What is left is a page elsewhere making visitors' browsers submit a token
    it learned: refused here, from the browser's own word, when it gives one.
    `Sec-Fetch-Site` cannot be set by page script and is sent by every current
    browser; `Origin` covers older ones. Mail clients (RFC 8058 one-click) and
    servers send neither and are let through, which the token allows anyway.

    `Origin: null` counts as no word: with `Referrer-Policy: no-referrer` a
    browser sends exactly that for our own same-origin form posts.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        allowed = site in ("same-origin", "none")
    else:
        origin = request.headers.get("Origin", "null").strip().lower()
        allowed = origin == "null" or origin in _own_origins()
    if not allowed:
        raise ApiError(403, "cross_site_request", "This form can only be sent from its own page.")


def _own_origins() -> set[str]:
    origins = {f"{request.scheme}://{request.host}".lower()}
    base = urlsplit(current_app.config.get("BASE_URL") or "")
    if base.scheme and base.netloc:
        origins.add(f"{base.scheme}://{base.netloc}".lower())
    return origins
