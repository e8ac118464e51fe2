"""Placeholder filling: ``{name}`` and ``{name|fallback}`` in (possibly user-written) texts.

Filling is plain-text: nothing here escapes HTML, because the same text goes into HTML
pages, e-mail HTML and plain-text e-mail, each of which escapes (or not) at render time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["fill", "placeholder_names"]

# {name} or {name|fallback}. Names are plain identifiers (hyphens allowed for attribute
# keys); anything else in braces, like {0}, {a.b} or {__class__}, is left as literal text.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z][A-Za-z0-9_-]*)\s*(?:\|([^{}]*))?\}")
# Marks where a placeholder became empty so that only the text around it gets tidied.
_GAP = "\x00"
_GAP_RUN = re.compile(r"[ \t]*(?:\x00[ \t]*)+")
_NO_SPACE_BEFORE = frozenset(",.;:!?)]…")
_NO_SPACE_AFTER = frozenset("([¿¡")


def _first_text(*candidates: object) -> str | None:
    """The first candidate that is not blank, as stripped text; None if all are."""
    for candidate in candidates:
        text = "" if candidate is None else str(candidate).replace(_GAP, "").strip()
        if text:
            return text
    return None


def fill(
    template: str,
    values: Mapping[str, object],
    fallbacks: Mapping[str, str] | None = None,
    *,
    only_given: bool = False,
) -> str:
    """Fill ``{name}`` placeholders in a (possibly user-written) template.

    For each placeholder the first non-blank of these wins: ``values[name]``, the
    inline fallback in ``{name|fallback}``, ``fallbacks[name]``. Values go through
    ``str()`` and are stripped. If none is set the placeholder disappears and the
    spacing it leaves is tidied: ``"Hi {first_name}, how"`` -> ``"Hi, how"``.
    With `only_given`, placeholders whose name is not in `values` stay as written
    (a survey's preview fills what the survey knows and shows the rest).

    This never raises on a template and never evaluates it (unlike ``str.format``,
    which would follow ``{a.b}`` or ``{0[x]}``): unknown syntax stays literal text.
    The result is NOT HTML-escaped; escape it where it is rendered.
    NUL characters are dropped (they serve as the internal gap marker and are never
    valid in HTML or e-mail text anyway).
    """
    fallbacks = fallbacks or {}

    def resolve(match: re.Match[str]) -> str:
        name, inline = match.group(1), match.group(2)
        if only_given and name not in values:
            return match.group(0)
        return _first_text(values.get(name), inline, fallbacks.get(name)) or _GAP

    filled = _PLACEHOLDER.sub(resolve, template.replace(_GAP, ""))
    return _GAP_RUN.sub(_close_gap, filled)


def placeholder_names(template: str) -> set[str]:
    """The names ``fill`` would look up in `template`."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(template.replace(_GAP, ""))}


def _close_gap(match: re.Match[str]) -> str:
    """Replace an emptied placeholder and the blanks around it with what reads naturally.

    Nothing at the start or end of a line, next to other whitespace (such as the French
    no-break space before "?"), before closing punctuation or after an opening mark;
    one space between two words; nothing if there was no space to begin with.
    """
    text = match.string
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    if not before or before.isspace() or before in _NO_SPACE_AFTER:
        return ""
    if not after or after.isspace() or after in _NO_SPACE_BEFORE:
        return ""
    return " " if match.group().replace(_GAP, "") else ""
