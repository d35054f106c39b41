"""Template helpers of the customer portal: markdown, labels and badges for types and statuses."""

from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from cases.markdown import render_markdown
from cases.models import (
    SEVERITY_DESCRIPTIONS,
    TYPE_DESCRIPTIONS,
    CaseType,
    Channel,
    Resolution,
    Severity,
    Status,
)

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """Render markdown `text` as sanitised HTML."""
    return render_markdown(text)


def _label(choices: type, value: object) -> str:
    try:
        return str(choices(value).label)  # type: ignore[operator]
    except ValueError:
        return str(value)


@register.filter
def type_label(value: str) -> str:
    return _label(CaseType, value)


@register.filter
def status_label(value: str) -> str:
    return _label(Status, value)


@register.filter
def resolution_label(value: str) -> str:
    return _label(Resolution, value)


@register.filter
def channel_label(value: str) -> str:
    return _label(Channel, value)


@register.filter
def type_description(value: str) -> str:
    """Return one plain sentence on what the type `value` means for the customer."""
    try:
        return TYPE_DESCRIPTIONS[CaseType(value)]
    except ValueError:
        return ""


@register.filter
def severity_description(value: int | str) -> str:
    try:
        return SEVERITY_DESCRIPTIONS[Severity(int(value))]
    except ValueError:
        return ""


@register.filter
def severity_label(value: int | str) -> str:
    try:
        return str(Severity(int(value)).label)
    except ValueError:
        return str(value)


def _badge(kind: str, value: object, label: object) -> str:
    """Return the markup of a badge: a value shown as colour and text."""
    value, label = escape(str(value)), escape(str(label))
    return f'<span class="badge badge-{kind} {kind}-{value}">{label}</span>'


class Badges(dict[str, str]):
    """The badges of every value of some choices, written once; an unknown value shows as is."""

    def __init__(self, kind: str, choices: list[tuple[Any, str]]) -> None:
        super().__init__({str(value): _badge(kind, value, label) for value, label in choices})
        self.kind = kind

    def __missing__(self, value: str) -> str:
        return _badge(self.kind, value, value)

    def of(self, value: object) -> SafeString:
        return mark_safe(self[str(value)])  # nosec B308 B703 - escaped by _badge


TYPE_BADGES = Badges("type", CaseType.choices)
STATUS_BADGES = Badges("status", Status.choices)
SEVERITY_BADGES = Badges("severity", Severity.choices)


@register.simple_tag
def status_badge(value: str) -> SafeString:
    """A status shown as colour and text."""
    return STATUS_BADGES.of(value)


@register.simple_tag
def type_badge(value: str) -> SafeString:
    """A type shown as colour and text."""
    return TYPE_BADGES.of(value)


@register.simple_tag
def severity_badge(value: int) -> SafeString:
    return SEVERITY_BADGES.of(value)


@register.filter
def filesize(size: int) -> str:
    """Return `size` bytes as a short human figure (kB and MB in powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / (1024 * 1024):.1f} MB"


@register.simple_tag
def max_attachment_size() -> str:
    """Return the largest attachment accepted, as people read sizes."""
    return filesizeformat(settings.CASEBOOK_MAX_ATTACHMENT_BYTES)


@register.simple_tag
def fixed_url(name: str) -> str:
    """
    Return the address of the page named `name`, one that takes no arguments.

    What ``{% url name %}`` returns, reversed once per URLconf and script
    prefix: every page's header names six of these, and reversing them cost
    more than the rest of the header.
    """
    return _reversed(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@lru_cache(maxsize=256)
def _reversed(name: str, urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)
