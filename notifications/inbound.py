"""
Email in: a customer's reply becomes a comment on its case; a new message files a case.

A message names a case by the tag in its subject (``[CASE-000123]``) or by the
Message-ID of one of our notifications in ``In-Reply-To``/``References``. It
is accepted only from a known, active customer whose organization owns that
case; anything else is refused, logged and recorded, and never attached to a
case of someone else.
"""

import email
import email.policy
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils.html import strip_tags

from accounts.models import User
from cases import services
from cases.models import NUMBER_PREFIX, Case, CaseType, Channel
from notifications.emails import CASE_TAG, clean_subject
from notifications.models import InboundEmail, OutboundEmail

logger = logging.getLogger(__name__)

_QUOTE_HEADER = re.compile(
    r"^(On\s.+wrote:|Am\s.+schrieb.+:|Le\s.+a écrit\s?:|-{2,}\s*Original Message\s*-{2,}|"
    r"_{10,}|From:\s.+|Von:\s.+)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(--\s?|Sent from my .+|Get Outlook for .+)$", re.IGNORECASE)


class Refused(Exception):
    """The message is not taken; the reason is logged and recorded."""


@dataclass
class Parsed:
    sender: str
    subject: str
    message_id: str
    body: str
    attachments: list[SimpleUploadedFile]
    references: list[str]


def parse(raw: bytes) -> Parsed:
    """Read an RFC 822 message: sender, subject, ids, the new text and the attachments."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    references = re.findall(
        r"<[^<>\s]+>", f"{message.get('In-Reply-To', '')} {message.get('References', '')}"
    )
    text = ""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is not None:
        content = part.get_content()
        text = strip_tags(content) if part.get_content_subtype() == "html" else content
    attachments = []
    for attachment in message.iter_attachments():
        payload = attachment.get_payload(decode=True)
        if isinstance(payload, bytes):
            attachments.append(
                SimpleUploadedFile(
                    attachment.get_filename() or "attachment",
                    payload,
                    attachment.get_content_type(),
                )
            )
    return Parsed(
        sender=sender,
        subject=str(message.get("Subject", "")),
        message_id=str(message.get("Message-ID", "")).strip(),
        body=strip_quoted(text),
        attachments=attachments,
        references=references,
    )


def strip_quoted(text: str) -> str:
    """Return only what the sender wrote: no quoted reply, no signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE_HEADER.match(line.strip()) or _SIGNATURE.match(line.rstrip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def case_number(parsed: Parsed) -> str | None:
    """Return the number of the case the message names, if any."""
    tag = CASE_TAG.search(parsed.subject)
    if tag:
        return f"{NUMBER_PREFIX}{int(tag.group(1)):06d}"
    ours = re.compile(
        rf"<case-(\d+)[.@][^>]*@?{re.escape(settings.CASEBOOK_EMAIL_DOMAIN)}>", re.IGNORECASE
    )
    for reference in reversed(parsed.references):
        match = ours.fullmatch(reference)
        if match:
            return f"{NUMBER_PREFIX}{int(match.group(1)):06d}"
    known = (
        OutboundEmail.objects.filter(message_id__in=parsed.references)
        .select_related("case")
        .first()
    )
    return known.case.number if known else None


def ingest(raw: bytes) -> InboundEmail:
    """Take one raw message in; return the record of what became of it."""
    record = InboundEmail(raw_size=len(raw))
    try:
        parsed = parse(raw)
        record.sender = parsed.sender[:254]
        record.subject = parsed.subject[:300]
        record.message_id = parsed.message_id[:250]
        # All or nothing: a case filed without its attachments would be half a message.
        with transaction.atomic():
            _accept(parsed, record)
    except Refused as refusal:
        record.outcome = InboundEmail.Outcome.REFUSED
        record.reason = str(refusal)
        logger.warning(
            "Refused inbound email from %s (%s): %s",
            record.sender or "?",
            record.message_id or "no Message-ID",
            record.reason,
        )
    except (ValueError, LookupError, UnicodeError) as error:
        record.outcome = InboundEmail.Outcome.REFUSED
        record.reason = f"Unreadable message: {error}"
        logger.warning("Refused unreadable inbound email: %s", error)
    record.save()
    return record


def _accept(parsed: Parsed, record: InboundEmail) -> None:
    if not parsed.sender:
        raise Refused("No sender address.")
    if (
        parsed.message_id
        and InboundEmail.objects.filter(message_id=parsed.message_id)
        .exclude(outcome=InboundEmail.Outcome.REFUSED)
        .exists()
    ):
        raise Refused("This message was received already.")
    user = User.objects.filter(email__iexact=parsed.sender, is_active=True).first()
    if user is None or not user.is_customer:
        raise Refused(f"{parsed.sender} is not a known customer.")
    number = case_number(parsed)
    try:
        if number is not None:
            # Another organization's case and a case that does not exist look the same.
            case = Case.objects.visible_to(user).by_number(number).first()
            if case is None:
                raise Refused(f"{number} is not a case of {parsed.sender}'s organization.")
            if not parsed.body:
                raise Refused("The reply has no text of its own.")
            record.comment = services.add_comment(
                case=case, by=user, body=parsed.body, attachments=parsed.attachments
            )
            record.case = case
            record.outcome = InboundEmail.Outcome.COMMENTED
        else:
            subject = clean_subject(parsed.subject)[:200] or "(no subject)"
            record.case = services.file_case(
                by=user,
                subject=subject,
                description=parsed.body or subject,
                type=CaseType.ISSUE,
                channel=Channel.EMAIL,
            )
            if parsed.attachments:
                record.comment = services.add_comment(
                    case=record.case,
                    by=user,
                    body="Attached to the email that filed this case.",
                    attachments=parsed.attachments,
                )
            record.outcome = InboundEmail.Outcome.FILED
    except ValidationError as error:
        raise Refused(" ".join(error.messages)) from error
    except PermissionDenied as error:
        raise Refused(str(error) or "Not allowed.") from error
