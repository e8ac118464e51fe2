"""Tests for api.surveys.email_block: e-mail-safe HTML and the plain-text alternative."""

from html.parser import HTMLParser

import pytest

from api.scoring import score_range
from api.surveys.email_block import SurveyEmail, render_email_block, render_email_text

UNSUBSCRIBE = "https://example.com/u/abc?x=1&y=2"


def score_urls(kind, base="https://example.com/r"):
    return [(score, f"{base}?s={score}&t=tok") for score in score_range(kind)]


# Each kind's question and end labels, as a survey of that kind would word them.
WORDING = {
    "nps": ("How likely are you to recommend Acme?", "Not at all likely", "Extremely likely"),
    "csat": ("How satisfied are you?", "Very unsatisfied", "Very satisfied"),
    "ces": ("How easy was it?", "Very difficult", "Very easy"),
}


def email(kind: str, changes: dict) -> SurveyEmail:
    """What both renderers take, for a survey of `kind`, with the test's changes."""
    question, low_label, high_label = WORDING[kind]
    fields = {
        "question": question,
        "kind": kind,
        "score_urls": score_urls(kind),
        "low_label": low_label,
        "high_label": high_label,
        "unsubscribe_url": UNSUBSCRIBE,
        "unsubscribe_text": "Don't want these emails? Unsubscribe",
    }
    return SurveyEmail(**(fields | changes))


def block(kind="nps", **changes):
    options = {"accent": changes.pop("accent")} if "accent" in changes else {}
    return render_email_block(email(kind, changes), **options)


def text(kind="nps", **changes):
    return render_email_text(email(kind, changes))


class Parsed(HTMLParser):
    """Start tags (name, attributes) and text data, with entities decoded."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]

    def buttons(self):
        """(cell attributes, link attributes) for every coloured cell holding a link."""
        pairs = []
        for i, (tag, attrs) in enumerate(self.tags):
            if tag == "td" and "bgcolor" in attrs:
                assert self.tags[i + 1][0] == "a", "a button cell must hold the link"
                pairs.append((attrs, self.tags[i + 1][1]))
        return pairs


def contrast(foreground, background):
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def style_value(style, prop):
    declarations = dict(d.split(":", 1) for d in style.split(";") if d)
    return declarations[prop]


# --- escaping -----------------------------------------------------------------------------


def test_question_and_labels_are_escaped():
    html = block(
        question="<script>alert(1)</script> & you?",
        low_label="<b>low</b>",
        high_label='"high"',
        intro="<img src=x onerror=alert(1)>",
    )
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; you?" in html
    text_content = "".join(Parsed(html).text)
    assert "<script>alert(1)</script> & you?" in text_content
    assert '"high"' in text_content


def test_urls_are_attribute_safe():
    nasty = 'https://example.com/r?s=1&q="><script>x</script>'
    urls = [(s, nasty if s == 1 else url) for s, url in score_urls("csat")]
    html = block(kind="csat", score_urls=urls, unsubscribe_url='https://e.com/u?a="b"&c=d')
    assert "<script" not in html and '"b"' not in html
    assert "&amp;q=&#34;&gt;&lt;script&gt;" in html
    hrefs = [a["href"] for a in Parsed(html).all("a")]
    assert nasty in hrefs and 'https://e.com/u?a="b"&c=d' in hrefs


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "count"), [("nps", 11), ("csat", 5), ("ces", 7)])
def test_one_button_per_score_in_order(kind, count):
    parsed = Parsed(block(kind=kind))
    buttons = parsed.buttons()
    assert len(buttons) == count
    assert [link["href"] for _, link in buttons] == [url for _, url in score_urls(kind)]


def test_buttons_render_in_score_order_whatever_the_input_order():
    shuffled = list(reversed(score_urls("ces")))
    buttons = Parsed(block(kind="ces", score_urls=shuffled)).buttons()
    assert [link["href"] for _, link in buttons] == [url for _, url in score_urls("ces")]


def test_button_labels_are_the_scores():
    html = block(kind="csat")
    for score, url in score_urls("csat"):
        href = url.replace("&", "&amp;")
        assert f'href="{href}"' in html
        assert html.split(f'href="{href}"', 1)[1].split(">", 1)[1].startswith(f"{score}</a>")


@pytest.mark.parametrize(("kind", "size"), [("nps", 36), ("csat", 44), ("ces", 44)])
def test_buttons_are_a_tappable_fixed_size(kind, size):
    for cell, link in Parsed(block(kind=kind)).buttons():
        assert cell["width"] == cell["height"] == str(size)
        assert style_value(link["style"], "line-height") == f"{size}px"


def test_only_email_safe_markup():
    html = block(intro="Hi Ann")
    for forbidden in ("<style", "<script", "class=", "<img", "<link", "javascript:"):
        assert forbidden not in html.lower(), forbidden
    parsed = Parsed(html)
    assert {tag for tag, _ in parsed.tags} == {"table", "tr", "td", "a"}
    assert not [name for _, attrs in parsed.tags for name in attrs if name.startswith("on")]


def test_every_table_is_a_presentation_table_without_spacing():
    tables = Parsed(block()).all("table")
    assert len(tables) >= 2
    for table in tables:
        assert table["role"] == "presentation"
        assert (table["cellpadding"], table["cellspacing"], table["border"]) == ("0", "0", "0")


def test_every_href_is_a_given_url():
    allowed = {url for _, url in score_urls("nps")} | {UNSUBSCRIBE}
    hrefs = [a["href"] for a in Parsed(block()).all("a")]
    assert set(hrefs) == allowed
    assert len(hrefs) == 12


def test_button_cells_carry_bgcolor_and_inline_background():
    for cell, _ in Parsed(block(accent="#0F766E")).buttons():
        assert cell["bgcolor"] == "#0f766e"
        assert style_value(cell["style"], "background-color") == "#0f766e"


def test_short_accent_is_expanded():
    cell, _ = Parsed(block(accent="#abc")).buttons()[0]
    assert cell["bgcolor"] == "#aabbcc"


@pytest.mark.parametrize(
    ("accent", "text_colour"),
    [
        ("#1d4ed8", "#ffffff"),
        ("#000000", "#ffffff"),
        ("#fde047", "#000000"),
        ("#777777", "#000000"),
    ],
)
def test_button_text_meets_wcag_aa(accent, text_colour):
    for cell, link in Parsed(block(accent=accent)).buttons():
        colour = style_value(link["style"], "color")
        assert colour == text_colour
        assert contrast(colour, cell["bgcolor"]) >= 4.5


GREYS = [f"#{level:02x}{level:02x}{level:02x}" for level in range(0, 256, 15)]
BRANDS = ["#6b7280", "#0f766e", "#dc2626", "#16a34a", "#f59e0b", "#7c3aed", "#0ea5e9", "#db2777"]


@pytest.mark.parametrize("accent", GREYS + BRANDS)
def test_any_accent_gets_aa_contrast_text(accent):
    cell, link = Parsed(block(kind="csat", accent=accent)).buttons()[0]
    assert contrast(style_value(link["style"], "color"), cell["bgcolor"]) >= 4.5


@pytest.mark.parametrize("accent", ["red", "#12345", "#1d4ed8;background:url(x)", "", "#ggg"])
def test_accent_must_be_a_hex_colour(accent):
    with pytest.raises(ValueError, match="accent"):
        block(accent=accent)


@pytest.mark.parametrize(
    "urls",
    [
        score_urls("nps")[:-1],  # missing 10
        [*score_urls("nps"), (10, "https://dup")],  # 10 twice
        [*score_urls("nps"), (11, "https://off-scale")],
        score_urls("csat"),  # wrong scale
    ],
)
def test_score_urls_must_cover_the_scale_exactly(urls):
    with pytest.raises(ValueError, match="exactly one URL"):
        block(kind="nps", score_urls=urls)


def test_labels_sit_under_the_ends_of_the_scale():
    html = block()
    parsed = Parsed(html)
    low = next(attrs for tag, attrs in parsed.tags if tag == "td" and attrs.get("align") == "left")
    high = next(
        attrs for tag, attrs in parsed.tags if tag == "td" and attrs.get("align") == "right"
    )
    assert int(low["colspan"]) + int(high["colspan"]) == 2 * 11 - 1  # 11 buttons + 10 gaps
    order = [
        "How likely",
        'href="https://example.com/r?s=0',
        "Not at all likely",
        "Extremely likely",
        "Unsubscribe",
    ]
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_intro_is_optional():
    assert "Hello Ann" not in block()
    html = block(intro="Hello Ann")
    assert html.index("Hello Ann") < html.index("How likely")


def test_unsubscribe_link_text():
    links = Parsed(block()).all("a")
    assert links[-1]["href"] == UNSUBSCRIBE
    assert "".join(Parsed(block()).text).endswith("Don't want these emails? Unsubscribe")


# --- plain text ---------------------------------------------------------------------------


def test_plain_text_lists_every_score_url_in_order():
    lines = text(kind="csat").splitlines()
    listed = [line for line in lines if line[:1].isdigit() and ": " in line]
    assert listed == [f"{score}: {url}" for score, url in score_urls("csat")]


def test_plain_text_layout():
    body = text(kind="csat", intro="Hi Ann,")
    assert body == (
        "Hi Ann,\n\nHow satisfied are you?\n1 = Very unsatisfied, 5 = Very satisfied\n\n"
        + "".join(f"{score}: {url}\n" for score, url in score_urls("csat"))
        + f"\nDon't want these emails? Unsubscribe: {UNSUBSCRIBE}\n"
    )


def test_plain_text_is_not_html_escaped():
    body = text(question="Is <this> & that ok?")
    assert "Is <this> & that ok?" in body
    assert "&amp;" not in body


def test_plain_text_validates_scores_too():
    with pytest.raises(ValueError):
        text(kind="ces", score_urls=score_urls("nps"))
