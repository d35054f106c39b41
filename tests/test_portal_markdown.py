"""Markdown is rendered, then sanitised: what a user types never runs in a browser."""

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.markdown import _renderer, plain_paragraphs, render_markdown, sanitise


class Markup(HTMLParser):
    """Collect the tags and attributes a browser would build from some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)


def test_markdown_is_rendered() -> None:
    html = render_markdown("**bold** and `code`\n\n- one\n- two")

    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<iframe src="https://evil.example"></iframe>',
        "<svg onload=alert(1)>",
        '<div style="background:url(javascript:alert(1))">x</div>',
    ],
)
def test_typed_html_and_script_links_never_become_markup(text: str) -> None:
    markup = Markup()
    markup.feed(render_markdown(text))

    assert markup.tags <= {"p", "a"}
    for name, value in markup.attributes:
        assert not name.startswith("on")
        assert name != "style"
        assert not (value or "").strip().lower().startswith(("javascript:", "data:"))


def test_html_typed_by_a_user_is_shown_as_text() -> None:
    assert render_markdown("<b>hi</b>").strip() == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


def test_links_get_rel_noopener_and_keep_safe_schemes() -> None:
    html = render_markdown("[docs](https://example.com/a?b=1) [mail](mailto:a@example.com)")

    assert 'href="https://example.com/a?b=1"' in html
    assert 'href="mailto:a@example.com"' in html
    assert 'rel="noopener noreferrer nofollow ugc"' in html


def test_sanitiser_removes_what_the_renderer_would_never_emit() -> None:
    html = sanitise('<p onclick="x()">a</p><script>b()</script><a href="javascript:c()">d</a>')

    assert html == '<p>a</p><a rel="noopener noreferrer nofollow ugc">d</a>'


def test_fenced_code_keeps_its_text_escaped() -> None:
    html = render_markdown("```\n<script>alert(1)</script>\n```")

    assert "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>" in html


def _markdown(text: str) -> str:
    """What render_markdown returns when it does not take the plain-paragraphs path."""
    return sanitise(_renderer().render(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "One line.",
        "Two\nlines.",
        "Para one.\n\n\n\nPara two.\n",
        'Quotes "stay", it\'s (fine): 50% of /a/..%2fb?c=d, x-y, a+b, a=b, #1, @x.',
        "Zahlung fehlgeschlagen \u2013 €50 \u2014 日本語テスト 🚀",
        "Ends in a dash -\nthen goes on",
    ],
)
def test_plain_paragraphs_are_what_markdown_makes_of_them(text: str) -> None:
    assert plain_paragraphs(text) == _markdown(text)


@pytest.mark.parametrize(
    "text",
    [
        "trailing  \nbreak",
        "trailing \nspace",
        "  indented",
        "x\n\n    code",
        "1. list",
        "- list",
        "+ list",
        "# heading",
        "> quote",
        "title\n===",
        "a\tb",
        "a\u00a0b",
        "a\u3000b",
        "a\u200bb",
        "a\r\nb",
        "a & b",
        "a < b",
        "*em*",
        "~~del~~",
        "[a](b)",
        "a | b",
        "a\\b",
    ],
)
def test_text_that_may_be_markup_is_left_to_markdown(text: str) -> None:
    assert plain_paragraphs(text) is None
    assert render_markdown(text) == _markdown(text)


# Prose and line breaks, with what could turn them into markup, and any character.
PIECES = [*"ab .,;:?'\"()/%-@$^{}#=+19", "\n", "\n\n", "  \n", " \n", "1. ", "- "]


@given(
    st.lists(st.one_of(st.sampled_from(PIECES), st.characters(codec="utf-8")), max_size=40).map(
        "".join
    )
)
@settings(max_examples=500, deadline=None)
def test_plain_paragraphs_agree_with_markdown_whenever_taken(text: str) -> None:
    plain = plain_paragraphs(text)
    if plain is not None:
        assert plain == _markdown(text)
