"""One gate for what a request brings: its path, query string and body.

It runs first, before anything reads the request (the caller's key lookup
included), on every route. Each rule is stated once, here:

- Size: `MAX_CONTENT_LENGTH` for any body (413), `MAX_FORM_MEMORY_SIZE` and
  `MAX_FORM_PARTS` for forms: Werkzeug's own limits, which Flask reads from the
  settings. A request line or header too long is gunicorn's to refuse (see
  gunicorn.conf.py), in the same error format.
- Depth: JSON nested deeper than `JSON_MAX_DEPTH` is refused (422), judged on the
  raw bytes before any parser recurses into them. Python's json gives up with a
  RecursionError near 1,000 levels, and marshmallow and the JSON column would
  recurse again.
- Text: no NUL and no unpaired surrogate in a path segment, query argument, form
  field, or JSON string or key (422, naming the field). PostgreSQL's text and
  jsonb cannot store NUL, and a lone surrogate (valid JSON: "\\ud800") cannot be
  encoded as UTF-8 at all.

The checks cost next to nothing on an ordinary request: the raw bytes are
searched for the only spellings a NUL or a surrogate can take (`%00`, `\\u0000`,
`\\udXXX`), and a body is parsed here only when one is found.
"""

import json
import re

from flask import current_app, request

from api.http.errors import ApiError
from api.http.openapi import BODY_METHODS, answers

# NUL and the surrogate range: what no text field may hold once decoded.
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
TEXT_MESSAGE = "Must not contain NUL (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)."
KEY_MESSAGE = "Names must not contain NUL (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)."

# In JSON a NUL or a surrogate can only be written as an escape. A URL or a form
# can only bring NUL (%00 or raw; the server has unquoted the path already):
# invalid UTF-8 there is decoded as U+FFFD.
_JSON_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")
# What nesting is judged on: brackets, and the quotes that say which are in strings.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))
_QUOTED = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")  # one pass: each matched pair is a level's leaf
_FORMS = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Blueprints whose bodies may be larger than MAX_CONTENT_LENGTH (file uploads), by name.
_BODY_LIMITS: dict[str, int] = {}
_UPLOAD_FORM_MEMORY = 1024 * 1024


def allow_body(blueprint: str, max_bytes: int) -> None:
    """Let `blueprint`'s requests carry bodies up to `max_bytes` instead."""
    _BODY_LIMITS[blueprint] = max_bytes


def body_limit(blueprint: str | None) -> int | None:
    """The larger body `blueprint` allows, or None: MAX_CONTENT_LENGTH holds."""
    return _BODY_LIMITS.get(blueprint or "")


class Refused(ValueError):
    """A JSON value the intake rules refuse; `fields` is None when the whole value is at fault."""

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields


def check_json(raw: bytes | str, max_depth: int) -> None:
    """Refused unless `raw` is nested at most `max_depth` deep and holds no NUL or
    lone surrogate. Malformed JSON passes: the parser that reads it says so."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if _too_deep(raw, max_depth):
        raise Refused(f"JSON may be nested at most {max_depth} levels deep.")
    if _JSON_ESCAPE.search(raw) is None:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        return
    fields = refused_text(value)
    if fields is not None:
        raise Refused(TEXT_MESSAGE, fields or None)


def loads(text: bytes | str, max_depth: int):
    """json.loads for JSON that arrives inside a request (a query argument, a cursor):
    Refused as `check_json` says, ValueError when it is not JSON."""
    check_json(text, max_depth)
    return json.loads(text)


def _too_deep(raw: bytes, max_depth: int) -> bool:
    # There cannot be more levels than opening brackets, and most bodies have few.
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    # Escaped quotes (and the escaped backslashes before them) gone, then down to
    # brackets and quotes: each pair of quotes is a string, and an empty one ("")
    # can go before the others are cut out with what they hold.
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE)
    structure = _QUOTED.sub(b"", structure.replace(b'""', b""))
    # Each pass removes the innermost level; well-formed JSON max_depth deep is gone after
    # max_depth passes. What remains is deeper, or malformed (which its parser refuses).
    for _ in range(max_depth):
        if not structure:
            return False
        structure = _INNERMOST.sub(b"", structure)
    return bool(structure)


def refused_text(value) -> dict | None:
    """Where `value` (parsed JSON) holds forbidden text: {} for `value` itself (a string),
    else the offending fields as nested {name: [message]}, as marshmallow reports them;
    None when there is none."""
    if isinstance(value, str):
        return {} if _FORBIDDEN.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        return None
    found: dict = {}
    for key, item in items:
        if _FORBIDDEN.search(key):
            found[_printable(key)] = [KEY_MESSAGE]
            continue
        inner = refused_text(item)
        if inner is not None:
            found[key] = inner or [TEXT_MESSAGE]
    return found or None


def _printable(name: str) -> str:
    return _FORBIDDEN.sub("\ufffd", name)


def _refused_pairs(pairs) -> dict:
    found = {}
    for name, value in pairs:
        if _FORBIDDEN.search(name):
            found[_printable(name)] = [KEY_MESSAGE]
        elif _FORBIDDEN.search(value):
            found[name] = [TEXT_MESSAGE]
    return found


@answers(422)
@answers(413, methods=BODY_METHODS)
def check_request() -> None:
    """The gate: ApiError 422 for what the rules above refuse, 413 past a size limit.

    It reads the raw WSGI values first, so an ordinary request costs a few
    substring searches (and the request object is looked up once: each access
    through Flask's proxy costs as much as a search)."""
    req = request._get_current_object()
    larger = body_limit(req.blueprint)
    if larger is not None:  # before any part of the body is read
        req.max_content_length = larger
        # Werkzeug's multipart decoder holds each 64 KiB chunk it reads, and what it kept
        # of the last one, against this limit: a file upload needs room above 64 KiB.
        req.max_form_memory_size = max(req.max_form_memory_size or 0, _UPLOAD_FORM_MEMORY)
    environ = req.environ
    fields: dict = {}
    if "\x00" in environ.get("PATH_INFO", ""):
        fields.update(_refused_pairs((req.view_args or {}).items()) or {"_path": [TEXT_MESSAGE]})
    query = environ.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        fields.update(_refused_pairs(req.args.items(multi=True)))
    if environ.get("CONTENT_TYPE"):
        if req.mimetype in _FORMS:
            fields.update(_refused_pairs(req.form.items(multi=True)))
        elif req.is_json:
            _check_body(req.get_data(cache=True))
    if fields:
        raise ApiError(422, "validation_error", TEXT_MESSAGE, fields)


def _check_body(raw: bytes) -> None:
    try:
        check_json(raw, current_app.config["JSON_MAX_DEPTH"])
    except Refused as refused:
        fields = refused.fields or {"_body": [refused.message]}
        raise ApiError(422, "validation_error", refused.message, fields) from None


def init_app(app) -> None:
    app.before_request(check_request)
