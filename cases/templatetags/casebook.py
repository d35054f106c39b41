"""Template helpers of the customer portal: markdown, labels and badges for types and statuses."""

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.safestring import SafeString

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


@register.inclusion_tag("cases/_badge.html")
def status_badge(value: str) -> dict[str, str]:
    """A status shown as colour and text."""
    return {"kind": "status", "value": value, "label": _label(Status, value)}


@register.inclusion_tag("cases/_badge.html")
def type_badge(value: str) -> dict[str, str]:
    """A type shown as colour and text."""
    return {"kind": "type", "value": value, "label": _label(CaseType, value)}


@register.inclusion_tag("cases/_badge.html")
def severity_badge(value: int) -> dict[str, str]:
    return {"kind": "severity", "value": str(value), "label": severity_label(value)}


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
