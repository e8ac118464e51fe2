"""Serves the built widget scripts (widgets/dist) under a versioned, long-cached URL.

`/widgets/v1/<name>` for the four scripts only. "v1" is the version of the
scripts' public API (the snippet, `flipfunnel(...)` calls, events, the CSS custom
properties): a breaking change ships as v2 under /widgets/v2/, and v1 keeps
working for the pages that embed it. widgets/dist holds what widgets/build.mjs
makes of widgets/src (minified bundles, committed so that the app needs no Node
to run). survey.js, referral.js and wall.js are cached for a year as immutable: the loader
asks for them as `?v=<hash of their content>`, filled in when it is served, so a
fix gets a new URL. The loader itself, the one URL pasted into customers' pages,
is cached for an hour, so fixes reach every page within the hour.
They are public, so any origin may load them (`Access-Control-Allow-Origin: *`);
what they may do is decided by the widget API, per workspace and origin.
Rate limiting is the app's default per-IP limit.
"""

import gzip
import hashlib
from pathlib import Path

from flask import Blueprint, abort, current_app, request

bp = Blueprint("widget_assets", __name__)

SCRIPTS = frozenset({"loader.js", "survey.js", "referral.js", "wall.js"})
CACHE_CONTROL = "public, max-age=31536000, immutable"
LOADER_CACHE_CONTROL = "public, max-age=3600"
VERSION_PLACEHOLDERS = {
    "survey.js": b"__SURVEY__",
    "referral.js": b"__REFERRAL__",
    "wall.js": b"__WALL__",
}

# name -> (mtime_ns, raw bytes, gzip -9 bytes, etag); re-read when the file changes.
_cache: dict[str, tuple[int, bytes, bytes, str]] = {}


def widgets_dir() -> Path:
    return Path(current_app.root_path).parent / "widgets" / "dist"


def _load(name: str) -> tuple[bytes, bytes, str]:
    path = widgets_dir() / name
    mtime = path.stat().st_mtime_ns
    if name == "loader.js":
        # The loader's bytes depend on the other scripts' versions too.
        mtime = hash((mtime, *(_load(other)[2] for other in VERSION_PLACEHOLDERS)))
    cached = _cache.get(name)
    if cached is None or cached[0] != mtime:
        raw = path.read_bytes()
        if name == "loader.js":
            for other, placeholder in VERSION_PLACEHOLDERS.items():
                raw = raw.replace(placeholder, _load(other)[2][:10].encode())
        etag = hashlib.sha256(raw).hexdigest()[:32]
        cached = _cache[name] = (mtime, raw, gzip.compress(raw, compresslevel=9, mtime=0), etag)
    return cached[1], cached[2], cached[3]


@bp.get("/widgets/v1/<name>")
def script(name: str):
    if name not in SCRIPTS:
        abort(404)
    raw, packed, etag = _load(name)
    # The exact bytes bench/widget_sizes.py measures, when the browser takes gzip.
    zipped = request.accept_encodings["gzip"] > 0
    response = current_app.response_class(
        packed if zipped else raw, mimetype="text/javascript", content_type=None
    )
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag + ("-gz" if zipped else ""))
    response.headers["Cache-Control"] = (
        LOADER_CACHE_CONTROL if name == "loader.js" else CACHE_CONTROL
    )
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
