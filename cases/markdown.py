"""
Markdown for descriptions, comments and articles, rendered and then sanitised.

markdown-it-py renders CommonMark with raw HTML switched off (typed HTML shows
as text) and refuses ``javascript:`` links; nh3 then keeps only an allow-list
of tags, attributes and URL schemes, so whatever slips past the renderer still
cannot run. Images are dropped: a remote image in a case would tell its host who
read the case and when.
"""

import re
from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "del", "s",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def sanitise(html: str) -> str:
    """Return `html` with every tag, attribute and URL scheme outside the allow-list removed."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )


def render_markdown(text: str) -> SafeString:
    """Return the markdown `text` as sanitised HTML, safe to put in a page."""
    plain = plain_paragraphs(text or "")
    if plain is not None:
        return mark_safe(plain)  # nosec B308 B703 - no character of markup or to escape in it
    # The HTML was just cleaned by nh3 against the allow-list above: safe to mark.
    html = sanitise(_renderer().render(text or ""))
    return mark_safe(html)  # nosec B308 B703 - sanitised by nh3 on the line above


# A character that may start inline markup, or that HTML escapes.
INLINE_MARKUP = re.compile(r"[\\`*_~\[\]!<>&|]")
# What may start a block (indented code, a list, a heading, a quote, an
# underline) at the start of a line, or make a line break at its end.
BLOCK_MARKUP = re.compile(r"^[ \d#=+>-]|[ ]$", re.MULTILINE)


def plain_paragraphs(text: str) -> str | None:
    """
    Return what `render_markdown` makes of `text` if it is plain paragraphs, else None.

    Most comments are a few lines of prose: markdown would make each run of
    lines a paragraph and change nothing else, at a cost greater than the rest
    of their event. Text with any character that could mean markup, need
    escaping or be read as other white space than a space is left to markdown.
    tests/test_portal_markdown.py checks this agrees with markdown.
    """
    if INLINE_MARKUP.search(text) or BLOCK_MARKUP.search(text):
        return None
    lines = text.split("\n")
    # isprintable() is False for tabs, carriage returns, no-break and other
    # spaces, and invisible characters.
    if not all(line.isprintable() for line in lines):
        return None
    html = []
    paragraph: list[str] = []
    for line in [*lines, ""]:
        if line:
            paragraph.append(line)
        elif paragraph:
            html.append("<p>" + "\n".join(paragraph) + "</p>\n")
            paragraph = []
    return "".join(html)
