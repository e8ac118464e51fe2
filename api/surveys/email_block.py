"""The survey question as an e-mail: one click on a score answers it.

E-mail HTML is its own dialect: Outlook for Windows renders with Word, and Gmail drops
``<style>`` blocks in many cases and strips classes, scripts and anything clever. So
this fragment uses only what works everywhere:

* nested ``<table role="presentation">`` for layout (``role`` keeps screen readers
  from announcing layout tables as data), with cellpadding/cellspacing/border 0;
* inline ``style`` attributes plus the old ``bgcolor``/``width``/``height``
  attributes that Outlook honours where it ignores CSS;
* "bulletproof" buttons: a coloured ``<td>`` around a plain link, so the button
  still shows when images are blocked (there are no images at all).

The scale is one table row of fixed-size cells. Letting buttons wrap on narrow
screens needs media queries, which many clients strip, so we don't: the NPS row is
11 x 36 px + 10 x 4 px gaps = 436 px wide, which fits the usual 600 px e-mail
column; phone clients that are narrower shrink the message to fit or scroll it.
Shorter scales (CSAT, CES) get bigger 44 px buttons.

Every text and URL is HTML-escaped here (attribute-safe: quotes included), so
callers pass plain text, e.g. the output of ``api.i18n.placeholders.fill``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import escape

from api.scoring import score_range

__all__ = [
    "LinksEmail",
    "SurveyEmail",
    "render_email_block",
    "render_email_text",
    "render_links_block",
    "render_links_text",
]

_FONT = "font-family:Arial,Helvetica,sans-serif;"
_TEXT = "#111827"  # near-black body text, 17:1 on white
_MUTED = "#4b5563"  # grey for labels and footer, 7.6:1 on white: AA even at 12 px
_GAP_PX = 4
_SMALL_CELL_PX = 36  # scales longer than _LARGE_CELL_MAX_SCORES, i.e. NPS
_LARGE_CELL_PX = 44
_LARGE_CELL_MAX_SCORES = 7
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_HEADING = f"font-size:18px;line-height:26px;font-weight:bold;color:{_TEXT};"
_BODY = f"font-size:15px;line-height:22px;color:{_TEXT};"


@dataclass(frozen=True)
class SurveyEmail:
    """What a survey e-mail says, for its HTML block and its plain text alike.

    ``score_urls`` must hold exactly one URL for every score on the kind's scale (in
    any order); anything else is a bug in the caller, and rendering raises ValueError.
    """

    question: str
    kind: str
    score_urls: Sequence[tuple[int, str]]
    low_label: str
    high_label: str
    unsubscribe_url: str
    unsubscribe_text: str
    intro: str | None = None


@dataclass(frozen=True)
class LinksEmail:
    """An ask with a button per link (a review request: one per review site), then
    small footer links: (text, url) pairs."""

    heading: str
    body: str
    links: Sequence[tuple[str, str]]
    footer_links: Sequence[tuple[str, str]]


def render_email_block(email: SurveyEmail, *, accent: str = "#1d4ed8") -> str:
    """HTML fragment: optional intro, the question, one button per score, unsubscribe footer.

    An ``accent`` that is not ``#rgb``/``#rrggbb`` raises ValueError (it is written into
    style attributes, so it must never be free text). The button text is black or
    white, whichever contrasts more with ``accent``: always at least 4.58:1, above
    WCAG AA's 4.5:1.
    """
    scores = _ordered_scores(email.kind, email.score_urls)
    background = _hex_colour(accent)
    rows = []
    if email.intro:
        rows.append(_text_row(email.intro, _BODY))
    rows.append(_text_row(email.question, _HEADING))
    scale = _scale(scores, email.low_label, email.high_label, background)
    rows.append(f'<tr><td style="padding:0 0 24px 0;">{scale}</td></tr>')
    rows.append(_footer_row(email.unsubscribe_text, email.unsubscribe_url))
    return _table("".join(rows), 'width="100%"')


def render_email_text(email: SurveyEmail) -> str:
    """Plain-text alternative of ``render_email_block``: one line per score with its URL.

    Sent as the text/plain part, so clients without HTML (and spam filters, which
    distrust HTML-only mail) get the same survey. Nothing is escaped.
    """
    scores = _ordered_scores(email.kind, email.score_urls)
    lines = [email.intro, ""] if email.intro else []
    lines += [
        email.question,
        f"{scores[0][0]} = {email.low_label}, {scores[-1][0]} = {email.high_label}",
        "",
        *(f"{score}: {url}" for score, url in scores),
        "",
        f"{email.unsubscribe_text}: {email.unsubscribe_url}",
    ]
    return "\n".join(lines) + "\n"


def render_links_block(email: LinksEmail, *, accent: str = "#1d4ed8") -> str:
    """HTML fragment of a ``LinksEmail``: the same dialect and escaping as the survey
    block."""
    background = _hex_colour(accent)
    rows = [_text_row(email.heading, _HEADING), _text_row(email.body, _BODY)]
    for text, url in email.links:
        rows.append(
            f'<tr><td style="padding:0 0 12px 0;">{_wide_button(text, url, background)}</td></tr>'
        )
    rows += [_footer_row(text, url) for text, url in email.footer_links]
    return _table("".join(rows), 'width="100%"')


def render_links_text(email: LinksEmail) -> str:
    """Plain-text alternative of ``render_links_block``."""
    lines = [email.heading, "", email.body, ""]
    lines += [f"{text}: {url}" for text, url in email.links]
    lines += ["", *(f"{text}: {url}" for text, url in email.footer_links)]
    return "\n".join(lines) + "\n"


def _footer_row(text: str, url: str) -> str:
    """A small grey link on its own row: the unsubscribe and preference links."""
    link = _link(url, text, f"{_FONT}font-size:12px;color:{_MUTED};")
    return f'<tr><td style="{_FONT}font-size:12px;line-height:18px;">{link}</td></tr>'


def _wide_button(text: str, url: str, background: str) -> str:
    """A bulletproof button as wide as its text (see ``_button``)."""
    cell = (
        f'align="center" valign="middle" height="{_LARGE_CELL_PX}" bgcolor="{background}" '
        f'style="height:{_LARGE_CELL_PX}px;background-color:{background};border-radius:4px;"'
    )
    link_style = (
        f"display:block;padding:0 20px;line-height:{_LARGE_CELL_PX}px;{_FONT}font-size:15px;"
        f"font-weight:bold;text-align:center;text-decoration:none;"
        f"color:{_readable_on(background)};"
    )
    return _table(f"<tr><td {cell}>{_link(url, text, link_style)}</td></tr>")


def _ordered_scores(kind: str, score_urls: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """``score_urls`` sorted by score, after checking it covers the scale exactly once."""
    scale = score_range(kind)
    ordered = sorted(score_urls)
    if [score for score, _ in ordered] != list(scale):
        raise ValueError(
            f"{kind} needs exactly one URL for each score {scale.start}..{scale.stop - 1}"
        )
    return ordered


def _scale(
    scores: Sequence[tuple[int, str]], low_label: str, high_label: str, background: str
) -> str:
    """The button row, and under it the end labels, each spanning half of the row."""
    size = _LARGE_CELL_PX if len(scores) <= _LARGE_CELL_MAX_SCORES else _SMALL_CELL_PX
    spacer = (
        f'<td width="{_GAP_PX}" style="width:{_GAP_PX}px;font-size:0;line-height:0;">&nbsp;</td>'
    )
    buttons = spacer.join(_button(score, url, size, background) for score, url in scores)
    columns = 2 * len(scores) - 1
    label_style = f"padding:6px 0 0 0;{_FONT}font-size:12px;line-height:16px;color:{_MUTED};"
    labels = (
        f'<td colspan="{columns // 2}" align="left" style="{label_style}">'
        f"{escape(low_label)}</td>"
        f'<td colspan="{columns - columns // 2}" align="right" style="{label_style}">'
        f"{escape(high_label)}</td>"
    )
    return _table(f"<tr>{buttons}</tr><tr>{labels}</tr>")


def _button(score: int, url: str, size: int, background: str) -> str:
    """A bulletproof button: the cell carries the colour (bgcolor for Outlook)."""
    cell = (
        f'align="center" valign="middle" width="{size}" height="{size}" bgcolor="{background}" '
        f'style="width:{size}px;height:{size}px;background-color:{background};border-radius:4px;"'
    )
    link_style = (
        f"display:block;width:{size}px;line-height:{size}px;{_FONT}font-size:15px;"
        f"font-weight:bold;text-align:center;text-decoration:none;"
        f"color:{_readable_on(background)};"
    )
    return f"<td {cell}>{_link(url, str(score), link_style)}</td>"


def _text_row(text: str, style: str) -> str:
    return f'<tr><td style="padding:0 0 16px 0;{_FONT}{style}">{escape(text)}</td></tr>'


def _link(url: str, text: str, style: str) -> str:
    return f'<a href="{escape(url)}" target="_blank" style="{style}">{escape(text)}</a>'


def _table(inner: str, attributes: str = "") -> str:
    extra = f" {attributes}" if attributes else ""
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"{extra}>'
        f"{inner}</table>"
    )


def _hex_colour(value: str) -> str:
    """``#rgb`` or ``#rrggbb`` as lower-case ``#rrggbb``; anything else -> ValueError."""
    if not _HEX_COLOUR.fullmatch(value):
        raise ValueError(f"accent must be a #rgb or #rrggbb colour, got {value!r}")
    digits = value[1:].lower()
    if len(digits) == 3:
        digits = "".join(2 * d for d in digits)
    return f"#{digits}"


@lru_cache(maxsize=64)
def _readable_on(background: str) -> str:
    """Black or white, whichever has the higher WCAG contrast ratio with ``background``.

    Contrast is (L1 + 0.05) / (L2 + 0.05) with relative luminance L, so white wins
    exactly when (1.05) / (L + 0.05) > (L + 0.05) / 0.05.
    """
    luminance = _relative_luminance(background)
    return "#ffffff" if 1.05 / (luminance + 0.05) > (luminance + 0.05) / 0.05 else "#000000"


def _relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a ``#rrggbb`` colour."""

    def linear(channel: str) -> float:
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
