"""Notification emails: subject, threading headers and the text and HTML bodies."""

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch

from cases.markdown import render_markdown
from cases.models import (
    SEVERITY_DESCRIPTIONS,
    TYPE_DESCRIPTIONS,
    Case,
    CaseType,
    KnowledgeArticle,
    Resolution,
    Severity,
)
from notifications.dispatch import thread_id
from notifications.models import EmailKind, OutboundEmail

CASE_TAG = re.compile(r"\[\s*CASE-(\d{1,18})\s*\]", re.IGNORECASE)
# Reply and forward prefixes of common mail clients, in a few languages.
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|rif|r)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def clean_subject(subject: str) -> str:
    """Return `subject` without case tags and reply prefixes, however many rounds it went."""
    previous = None
    while previous != subject:
        previous = subject
        subject = CASE_TAG.sub(" ", subject)
        subject = _PREFIX.sub("", subject)
        subject = " ".join(subject.split())
    return subject


def email_subject(case: Case) -> str:
    """Return `[CASE-000123] subject`: exactly one tag, whatever the case's subject holds."""
    return f"[{case.number}] {clean_subject(case.subject) or case.number}"


def case_url(case: Case) -> str:
    try:
        path = case.get_absolute_url()
    except NoReverseMatch:
        path = f"/cases/{case.number}/"
    return settings.CASEBOOK_BASE_URL + path


def _context(email: OutboundEmail) -> dict[str, object]:
    case = email.case
    event = email.event
    context: dict[str, object] = {
        "case": case,
        "recipient": email.recipient,
        "event": event,
        "case_url": case_url(case),
        "kind": email.kind,
        "severity_description": SEVERITY_DESCRIPTIONS.get(Severity(case.severity), ""),
        "auto_close_days": settings.CASEBOOK_AUTO_CLOSE_DAYS,
    }
    if event is None:
        return context
    if event.comment is not None:
        context["comment"] = event.comment
        context["comment_html"] = render_markdown(event.comment.body)
        context["attachments"] = list(event.comment.attachments.all())
    if email.kind == EmailKind.RECLASSIFIED:
        context["from_type"] = CaseType(event.from_value).label
        context["to_type"] = CaseType(event.to_value).label
        context["type_description"] = TYPE_DESCRIPTIONS[CaseType(event.to_value)]
    if email.kind == EmailKind.RESOLVED:
        resolution = event.data.get("resolution", case.resolution)
        context["resolution"] = Resolution(resolution).label if resolution else ""
        context["release"] = event.data.get("release", "")
        slug = event.data.get("knowledge_article")
        if slug:
            article = KnowledgeArticle.objects.filter(slug=slug).first()
            context["article"] = article
            context["article_url"] = f"{settings.CASEBOOK_BASE_URL}/kb/{slug}/"
    return context


def build_message(email: OutboundEmail) -> EmailMultiAlternatives:
    """Return the message for `email`, threaded under its case."""
    context = _context(email)
    subject = email_subject(email.case)
    text = render_to_string(f"notifications/email/{email.kind}.txt", context)
    html = render_to_string(f"notifications/email/{email.kind}.html", context)
    root = thread_id(email.case)
    headers = {"Message-ID": email.message_id}
    if email.message_id != root:
        headers["In-Reply-To"] = root
        headers["References"] = root
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.recipient.email],
        reply_to=[settings.CASEBOOK_REPLY_TO_EMAIL],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
