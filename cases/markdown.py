"""
Markdown for descriptions, comments and articles, rendered and then sanitised.

markdown-it-py renders CommonMark with raw HTML switched off (typed HTML shows
as text) and refuses ``javascript:`` links; nh3 then keeps only an allow-list
of tags, attributes and URL schemes, so whatever slips past the renderer still
cannot run. Images are dropped: a remote image in a case would tell its host who
read the case and when.
"""

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
    # The HTML was just cleaned by nh3 against the allow-list above: safe to mark.
    html = sanitise(_renderer().render(text or ""))
    return mark_safe(html)  # nosec B308 B703 - sanitised by nh3 on the line above
