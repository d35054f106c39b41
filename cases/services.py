"""
The use cases of Casebook: every change of a case goes through one of these.

Each function runs in one transaction, locks the case row, checks that `by`
may do it (django-fsm's ``permission=`` is only advisory), runs the model's
transition, saves, appends ``CaseEvent`` rows and queues side effects for after
the commit. Pages, the admin, the API and the importer all call these.

The time of a change is read once the row is locked, so that the order of a
case's history by time is the order in which its changes were made.
"""

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import F, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django_fsm import can_proceed

from accounts.models import User
from cases import notifications, uploads
from cases.exceptions import ReleaseAlreadyPublished, StaleCase, TransitionNotAllowed
from cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseType,
    Channel,
    Comment,
    EventKind,
    InvalidTransitionInput,
    KnowledgeArticle,
    Release,
    Severity,
    Status,
)
from portal import rows

# The status transitions a person runs by name (the others are automatic).
STATUS_TRANSITIONS = (
    "acknowledge",
    "request_info",
    "escalate",
    "schedule_fix",
    "resolve",
    "close",
    "reopen",
)

_TRANSITIONS_TAKING_TIME = frozenset({"schedule_fix", "resolve", "release_published"})

_TYPE_METHODS = {
    CaseType.ISSUE: "to_issue",
    CaseType.BUG: "to_bug",
    CaseType.ENHANCEMENT: "to_enhancement",
}


# Helpers ------------------------------------------------------------------


def _now(at: datetime.datetime | None) -> datetime.datetime:
    return at if at is not None else timezone.now()


class _RowLock:
    """
    A commit hook that does nothing: while it is queued, the case row is locked.

    Django forgets the hooks of a transaction when it commits or rolls back,
    and those of a savepoint rolled back, whose row locks PostgreSQL releases.
    """

    def __call__(self) -> None:
        pass


def lock_case(cases: QuerySet[Case]) -> Case:
    """
    Return the one case of `cases` with its row locked until the transaction ends.

    For a caller that finds a case and locks it in one read (the API looks it
    up among the cases the user may see). A service given this case in the
    same transaction changes it as it is instead of reading it again, and joins
    that transaction: an error in the service rolls it back whole.
    """
    case = rows.get(cases.select_for_update(of=("self",)))
    case._row_lock = _RowLock()  # type: ignore[attr-defined]
    transaction.on_commit(case._row_lock)  # type: ignore[attr-defined]
    _remember_values(case)
    return case


def _holds_lock(case: Case) -> bool:
    row_lock = getattr(case, "_row_lock", None)
    if row_lock is None:
        return False
    return any(hook is row_lock for _, hook, _ in transaction.get_connection().run_on_commit)


def _atomic(case: Case) -> transaction.Atomic:
    """Return the transaction of a change of `case`; one its caller locked needs no savepoint."""
    return transaction.atomic(savepoint=not _holds_lock(case))


def _lock(case: Case, expected_version: int | None = None) -> Case:
    """
    Return a fresh copy of `case` with its row locked until the transaction ends.

    The related rows already read with `case` (its organization, reporter, ...)
    come along while the fresh row still points at them, so that the emails
    and the answer of the change do not read them again. A case from
    `lock_case` in this transaction is fresh and locked already.
    """
    if _holds_lock(case):
        locked = case
    else:
        locked = Case.objects.select_for_update().get(pk=case.pk)
        for field in Case._meta.concrete_fields:
            if (
                isinstance(field, models.ForeignKey)
                and field.is_cached(case)
                and getattr(case, field.attname) == getattr(locked, field.attname)
            ):
                field.set_cached_value(locked, field.get_cached_value(case))
        _remember_values(locked)
    if expected_version is not None and locked.version != expected_version:
        raise StaleCase(expected=expected_version, actual=locked.version)
    return locked


def _remember_values(case: Case) -> None:
    # What the row holds, so that saving the change writes only the columns it changed.
    case._row_values = {  # type: ignore[attr-defined]
        field.attname: getattr(case, field.attname) for field in Case._meta.concrete_fields
    }


def _transition_method(case: Case, name: str) -> Callable[..., Any]:
    return getattr(case, name)  # type: ignore[no-any-return]


def _transition_permission(case: Case, name: str) -> Callable[[Case, User], bool]:
    meta = _transition_method(case, name)._django_fsm  # type: ignore[attr-defined]
    return next(iter(meta.transitions.values())).permission  # type: ignore[no-any-return]


def _require(user: User, perm: str, message: str, case: Case | None = None) -> None:
    if not user.is_active or not user.has_perm(perm):
        raise PermissionDenied(message)
    if case is not None and user.organization_id not in (None, case.organization_id):
        raise PermissionDenied(message)


def _save(case: Case, at: datetime.datetime) -> None:
    case.updated_at = at
    case.version += 1
    row = getattr(case, "_row_values", None)
    if row is None:
        case.save()
        return
    changed = [name for name, value in row.items() if getattr(case, name) != value]
    rows.update(case, changed)
    _remember_values(case)


def _record(case: Case, *, at: datetime.datetime, by: User | None, **fields: Any) -> CaseEvent:
    event = CaseEvent(case=case, at=at, actor=by, **fields)
    rows.insert(event)
    # In the transaction, not on commit: the emails and webhook deliveries it
    # queues must exist exactly when the event does (see cases.notifications).
    notifications.event_recorded(event)
    return event


def allowed_types(case: Case, user: User) -> list[str]:
    """Return the types `user` may reclassify `case` as now."""
    return [t.target for t in case.get_available_user_type_transitions(user)]  # type: ignore[attr-defined]


def allowed_status_transitions(case: Case, user: User) -> list[str]:
    """Return the names of the status transitions `user` may run on `case` now."""
    return [
        t.name
        for t in case.get_available_user_status_transitions(user)  # type: ignore[attr-defined]
        if t.name in STATUS_TRANSITIONS
    ]


def _refusal(case: Case, name: str) -> str:
    """Return a sentence a customer understands on why transition `name` is refused now."""
    meta = _transition_method(case, name)._django_fsm  # type: ignore[attr-defined]
    current = meta.get_transition(case.status)
    any_transition = current or next(iter(meta.transitions.values()))
    action = any_transition.custom.get("label", name.replace("_", " "))
    if current is None:
        state = case.get_status_display().lower()  # type: ignore[attr-defined]
        return f"“{action}” is not possible while the case is {state}."
    unmet = [cond.__doc__ or cond.__name__ for cond in current.conditions if not cond(case)]
    return f"“{action}” is not possible now: " + " ".join(unmet)


# Filing and commenting ----------------------------------------------------


def file_case(
    *,
    by: User,
    subject: str,
    description: str,
    type: str,
    severity: int = Severity.NOT_URGENT,
    product_version: str = "",
    channel: str = Channel.PORTAL,
    reporter: User | None = None,
    at: datetime.datetime | None = None,
    external_id: str | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Case:
    """File a new case; staff file on a customer's behalf by naming the reporter."""
    at = _now(at)
    if by.is_customer:
        _require(by, "cases.add_case", "You may not file cases.")
        if reporter is not None and reporter != by:
            raise PermissionDenied("A customer files cases in their own name.")
        reporter = by
    else:
        _require(by, "cases.file_for_customer", "You may not file cases for customers.")
        if reporter is None:
            raise ValidationError({"reporter": "Choose the customer the case is for."})
    if not reporter.is_customer or not reporter.is_active:
        raise ValidationError({"reporter": "The reporter must be an active customer."})

    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = "Give the case a subject."
    elif len(subject) > 200:
        errors["subject"] = f"A subject has at most 200 characters (this one has {len(subject)})."
    if not description.strip():
        errors["description"] = "Describe the problem or the question."
    for name, text in (("subject", subject), ("description", description)):
        if "\x00" in text:
            errors[name] = "Remove the NUL character from the text."
    if type not in CaseType.values:
        errors["type"] = f"Choose one of {', '.join(CaseType.values)}."
    if severity not in Severity.values:
        errors["severity"] = "Severity is 1 (production down) to 4 (general question)."
    if channel not in Channel.values:
        errors["channel"] = f"Choose one of {', '.join(Channel.values)}."
    if len(product_version) > 50:
        errors["product_version"] = "A product version has at most 50 characters."
    if errors:
        raise ValidationError(errors)
    _validate_attachments(attachments)
    checked = uploads.check_uploads(attachments)

    with transaction.atomic():
        case = Case(
            type=type,
            status=Status.NEW,
            subject=subject,
            description=description,
            severity=severity,
            product_version=product_version,
            organization=reporter.organization,
            reporter=reporter,
            channel=channel,
            external_id=external_id,
            created_at=at,
            updated_at=at,
            last_customer_message_at=at,
        )
        rows.insert(case)
        _record(
            case,
            at=at,
            by=by,
            kind=EventKind.FILED,
            to_value=type,
            data={"channel": channel},
        )
        for upload in checked:
            _store_attachment(case, upload, by=by, at=at)
    return case


def _validate_attachments(files: Sequence[UploadedFile]) -> None:
    if not files:
        return
    limit = settings.CASEBOOK_MAX_ATTACHMENT_BYTES
    # A plain space: the message also goes to API clients and logs.
    readable_limit = filesizeformat(limit).replace("\xa0", " ")
    too_big = [f.name for f in files if (f.size or 0) > limit]
    if too_big:
        raise ValidationError(
            {
                "attachments": (
                    f"Each file may be at most {readable_limit}; too large: "
                    + ", ".join(str(name) for name in too_big)
                    + "."
                )
            }
        )


def _store_attachment(
    case: Case,
    upload: uploads.CheckedUpload,
    *,
    by: User,
    at: datetime.datetime,
    comment: Comment | None = None,
) -> Attachment:
    return Attachment.objects.create(
        case=case,
        comment=comment,
        file=upload.file,
        name=upload.name,
        size=upload.size,
        content_type=upload.content_type,
        uploaded_by=by,
        created_at=at,
    )


def add_comment(
    *,
    case: Case,
    by: User,
    body: str,
    public: bool = True,
    attachments: Sequence[UploadedFile] = (),
    at: datetime.datetime | None = None,
) -> Comment:
    """Add a public reply or an internal note; a customer's reply reopens a waiting case."""
    if public:
        _require(by, "cases.comment_case", "You may not comment on this case.", case)
    else:
        _require(by, "cases.add_internal_note", "You may not write internal notes.", case)
    if not body.strip():
        raise ValidationError({"body": "Write a message."})
    if "\x00" in body:
        raise ValidationError({"body": "Remove the NUL character from the text."})
    _validate_attachments(attachments)
    checked = uploads.check_uploads(attachments)

    with _atomic(case):
        case = _lock(case)
        at = _now(at)
        if case.status == Status.CLOSED and by.is_customer:
            raise ValidationError(
                {"body": "This case is closed. File a new case and mention this one."}
            )
        comment = Comment(case=case, author=by, body=body, is_public=public, created_at=at)
        rows.insert(comment)
        stored = [
            _store_attachment(case, upload, by=by, at=at, comment=comment) for upload in checked
        ]
        # These are all of the comment's attachments: its answer need not read them again.
        known = Attachment.objects.filter(comment=comment)
        known._result_cache = stored  # type: ignore[attr-defined]
        known._prefetch_done = True  # type: ignore[attr-defined]
        comment._prefetched_objects_cache = {"attachments": known}  # type: ignore[attr-defined]
        _record(case, at=at, by=by, kind=EventKind.COMMENTED, comment=comment, is_public=public)
        case.comment_count += 1
        if public:
            case.public_comment_count += 1
        if public and by.is_customer:
            case.last_customer_message_at = at
            if case.status == Status.WAITING_ON_CUSTOMER:
                _apply_status(case, by=by, name="customer_replied", at=at)
        elif public:
            case.last_staff_message_at = at
        _save(case, at)
    comment.case = case
    return comment


# Reclassification ---------------------------------------------------------


def reclassify_case(
    *,
    case: Case,
    by: User,
    to: str,
    reason: str,
    at: datetime.datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """Change the case's type along one of the eight allowed moves, with a reason."""
    _require(by, "cases.reclassify_case", "Only support may reclassify a case.", case)
    if to not in CaseType.values:
        raise ValidationError({"to": f"Choose one of {', '.join(CaseType.values)}."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the case is reclassified; the customer sees it."})

    with _atomic(case):
        case = _lock(case, expected_version)
        at = _now(at)
        previous_type, previous_status = case.type, case.status
        method_name = _TYPE_METHODS.get(CaseType(to))
        if method_name is None or not can_proceed(_transition_method(case, method_name)):
            raise TransitionNotAllowed(_type_refusal(case, to), allowed=allowed_types(case, by))
        _transition_method(case, method_name)()
        _record(
            case,
            at=at,
            by=by,
            kind=EventKind.RECLASSIFIED,
            from_value=previous_type,
            to_value=case.type,
            reason=reason,
        )
        if case.status != previous_status:
            _record(
                case,
                at=at,
                by=by,
                kind=EventKind.STATUS_CHANGED,
                transition="return_to_support",
                from_value=previous_status,
                to_value=case.status,
                reason=f"Reclassified as {case.type}: support takes the case back.",
            )
        _save(case, at)
    return case


def _type_refusal(case: Case, to: str) -> str:
    current = case.get_type_display().lower()  # type: ignore[attr-defined]
    if not case.is_unfinished():
        return (
            f"This case is {case.get_status_display().lower()}; it can no longer be reclassified."  # type: ignore[attr-defined]
        )
    if to == case.type:
        return f"This case is already {'an' if current[0] in 'aeiou' else 'a'} {current}."
    if to == CaseType.QUESTION:
        return "A case cannot become a question."
    return f"A {current} cannot become {'an' if to[0] in 'aeiou' else 'a'} {to}."


# Status -------------------------------------------------------------------


def _apply_status(
    case: Case,
    *,
    by: User | None,
    name: str,
    at: datetime.datetime,
    reason: str = "",
    **params: Any,
) -> CaseEvent:
    """Run status transition `name` on the locked `case` (no permission check) and record it."""
    previous = case.status
    if name in _TRANSITIONS_TAKING_TIME:
        params["at"] = at
    try:
        _transition_method(case, name)(**params)
    except InvalidTransitionInput as error:
        raise ValidationError({error.field: error.message}) from error
    data: dict[str, Any] = {}
    if case.target_release_id and name in ("schedule_fix", "release_published"):
        data["release"] = case.target_release.version  # type: ignore[union-attr]
    if name in ("resolve", "release_published"):
        data["resolution"] = case.resolution
        if case.knowledge_article_id:
            data["knowledge_article"] = case.knowledge_article.slug  # type: ignore[union-attr]
    return _record(
        case,
        at=at,
        by=by,
        kind=EventKind.STATUS_CHANGED,
        transition=name,
        from_value=previous,
        to_value=case.status,
        reason=reason,
        data=data,
    )


def transition_case(
    *,
    case: Case,
    by: User,
    name: str,
    at: datetime.datetime | None = None,
    reason: str = "",
    release: Release | None = None,
    resolution: str = "",
    article: KnowledgeArticle | None = None,
    expected_version: int | None = None,
    enforce_role: bool = True,
) -> Case:
    """
    Run the status transition `name` for `by`.

    `enforce_role=False` is for the importer alone: a status step that a corpus
    event implies (acknowledging before the first staff answer, escalating before
    a fix is scheduled) is recorded for the event's actor and judged by the
    rules of state and condition, but not by that actor's role.
    """
    if name not in STATUS_TRANSITIONS:
        raise ValidationError(
            {"name": f"Unknown transition; choose one of {', '.join(STATUS_TRANSITIONS)}."}
        )
    params: dict[str, Any] = {}
    if name == "schedule_fix":
        if release is None:
            raise ValidationError({"release": "Choose the release that will carry the fix."})
        params["release"] = release
    if name == "resolve":
        if not resolution:
            raise ValidationError({"resolution": "Choose a resolution."})
        params["resolution"] = resolution
        params["article"] = article
    if name == "reopen" and not reason.strip():
        raise ValidationError({"reason": "Say why the case is reopened."})

    with _atomic(case):
        case = _lock(case, expected_version)
        at = _now(at)
        if enforce_role and not _transition_permission(case, name)(case, by):
            raise PermissionDenied("You may not do this on this case.")
        if not can_proceed(_transition_method(case, name)):
            raise TransitionNotAllowed(
                _refusal(case, name), allowed=allowed_status_transitions(case, by)
            )
        event = _apply_status(case, by=by, name=name, at=at, reason=reason, **params)
        if not enforce_role:
            event.data["implied"] = True
            event.save(update_fields=["data"])
        _save(case, at)
    return case


def acknowledge_case(*, case: Case, by: User, **options: Any) -> Case:
    """Support has seen the new case and is working on it."""
    return transition_case(case=case, by=by, name="acknowledge", **options)


def request_info(*, case: Case, by: User, **options: Any) -> Case:
    """Ask the customer for something; the case waits on them."""
    return transition_case(case=case, by=by, name="request_info", **options)


def escalate_case(*, case: Case, by: User, **options: Any) -> Case:
    """Hand a bug or an enhancement to engineering."""
    return transition_case(case=case, by=by, name="escalate", **options)


def schedule_fix(*, case: Case, by: User, release: Release, **options: Any) -> Case:
    """Schedule the fix of a case in engineering into a release not yet published."""
    return transition_case(case=case, by=by, name="schedule_fix", release=release, **options)


def resolve_case(
    *,
    case: Case,
    by: User,
    resolution: str,
    article: KnowledgeArticle | None = None,
    **options: Any,
) -> Case:
    """Resolve the case with a resolution its type allows."""
    return transition_case(
        case=case, by=by, name="resolve", resolution=resolution, article=article, **options
    )


def close_case(*, case: Case, by: User, **options: Any) -> Case:
    """Close a resolved case for good."""
    return transition_case(case=case, by=by, name="close", **options)


def reopen_case(*, case: Case, by: User, reason: str, **options: Any) -> Case:
    """Reopen a resolved case, with a reason."""
    return transition_case(case=case, by=by, name="reopen", reason=reason, **options)


def assign_case(
    *, case: Case, by: User, assignee: User | None, at: datetime.datetime | None = None
) -> Case:
    """Give the case to a staff member (or to nobody)."""
    _require(by, "cases.assign_case", "You may not assign cases.", case)
    if assignee is not None and (not assignee.is_staff or not assignee.is_active):
        raise ValidationError({"assignee": "Cases are assigned to active staff only."})
    with _atomic(case):
        case = _lock(case)
        at = _now(at)
        if case.assignee_id == (assignee.pk if assignee else None):
            return case
        previous = case.assignee
        case.assignee = assignee
        _record(
            case,
            at=at,
            by=by,
            kind=EventKind.ASSIGNED,
            from_value=previous.email if previous else "",
            to_value=assignee.email if assignee else "",
            is_public=False,
        )
        _save(case, at)
    return case


# Releases and articles ----------------------------------------------------


def mark_fixed_in_release(*, case: Case, by: User | None, at: datetime.datetime) -> Case:
    """Resolve one case scheduled into a published release, as that release's publication."""
    with _atomic(case):
        case = _lock(case)
        if not can_proceed(case.release_published):
            raise TransitionNotAllowed(
                _refusal(case, "release_published"),
                allowed=allowed_status_transitions(case, by) if by else [],
            )
        _apply_status(case, by=by, name="release_published", at=at)
        _save(case, at)
    return case


def publish_release(
    *, release: Release, by: User, at: datetime.datetime | None = None
) -> list[Case]:
    """Publish `release` and resolve every case scheduled into it, all in one transaction."""
    _require(by, "cases.publish_release", "You may not publish releases.")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        at = _now(at)
        if release.is_published:
            raise ReleaseAlreadyPublished(
                f"Release {release.version} was published on {release.released_on}."
            )
        release.released_on = at.date()
        release.save(update_fields=["released_on"])
        notifications.release_published(release, at=at)
        scheduled = Case.objects.filter(
            target_release=release, status=Status.FIX_SCHEDULED
        ).order_by("pk")
        return [mark_fixed_in_release(case=case, by=by, at=at) for case in scheduled]


def create_release(*, by: User, version: str, released_on: datetime.date | None = None) -> Release:
    """Add a release; it is published later through `publish_release`."""
    _require(by, "cases.add_release", "You may not add releases.")
    version = version.strip()
    if not version:
        raise ValidationError({"version": "Give the release a version."})
    if Release.objects.filter(version=version).exists():
        raise ValidationError({"version": f"Release {version} exists already."})
    return Release.objects.create(version=version, released_on=released_on)


def _unique_slug(title: str) -> str:
    base = slugify(title)[:90] or "article"
    slug, n = base, 1
    while KnowledgeArticle.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_knowledge_article(
    *,
    by: User,
    title: str,
    body: str,
    slug: str = "",
    source_case: Case | None = None,
    published: bool = True,
    at: datetime.datetime | None = None,
) -> KnowledgeArticle:
    """Write a knowledge article, optionally from the case that prompted it."""
    at = _now(at)
    _require(by, "cases.add_knowledgearticle", "You may not write knowledge articles.")
    errors = {}
    if not title.strip() or len(title) > 200:
        errors["title"] = "A title has 1 to 200 characters."
    if not body.strip():
        errors["body"] = "Write the article."
    if slug and KnowledgeArticle.objects.filter(slug=slug).exists():
        errors["slug"] = f"An article with the key {slug} exists already."
    if errors:
        raise ValidationError(errors)
    return KnowledgeArticle.objects.create(
        slug=slug or _unique_slug(title),
        title=title,
        body=body,
        is_published=published,
        source_case=source_case,
        author=by,
        created_at=at,
        updated_at=at,
    )


def auto_close_case(*, case: Case, at: datetime.datetime | None = None) -> Case:
    """Close a resolved case on the system's behalf (no one acted)."""
    with _atomic(case):
        case = _lock(case)
        at = _now(at)
        if not can_proceed(case.close):
            raise TransitionNotAllowed(_refusal(case, "close"), allowed=[])
        if _customer_replied_since_resolved(case):
            raise TransitionNotAllowed(
                "The customer wrote after the case was resolved; support answers first.",
                allowed=[],
            )
        _apply_status(
            case,
            by=None,
            name="close",
            at=at,
            reason=(
                f"Closed automatically {settings.CASEBOOK_AUTO_CLOSE_DAYS} days after "
                "it was resolved."
            ),
        )
        _save(case, at)
    return case


def _customer_replied_since_resolved(case: Case) -> bool:
    return bool(
        case.resolved_at
        and case.last_customer_message_at
        and case.last_customer_message_at > case.resolved_at
    )


def close_resolved_cases(*, now: datetime.datetime | None = None) -> int:
    """Close every case resolved over CASEBOOK_AUTO_CLOSE_DAYS ago with no customer reply since."""
    now = _now(now)
    cutoff = now - datetime.timedelta(days=settings.CASEBOOK_AUTO_CLOSE_DAYS)
    closed = 0
    candidates = Case.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff).exclude(
        last_customer_message_at__gt=F("resolved_at")
    )
    for case in candidates:
        try:
            auto_close_case(case=case, at=now)
        except TransitionNotAllowed:
            continue  # someone reopened, closed or answered it meanwhile
        closed += 1
    return closed


# Editing ------------------------------------------------------------------

# The fields of a case that people edit directly; type, status and the rest
# change only through the transitions and the functions above.
EDITABLE_FIELDS = ("subject", "description", "severity", "product_version")


def update_case(
    *,
    case: Case,
    by: User,
    changes: dict[str, Any],
    at: datetime.datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """
    Edit the subject, description, severity or product version of an unclosed case.

    Support edits any case; a customer edits their organization's cases.
    """
    at = _now(at)
    if by.is_customer:
        _require(by, "cases.comment_case", "You may not edit this case.", case)
    else:
        _require(by, "cases.change_case", "You may not edit cases.")
    errors: dict[str, str] = {
        name: "This field cannot be changed here."
        for name in changes
        if name not in EDITABLE_FIELDS
    }
    subject = changes.get("subject")
    if subject is not None and not str(subject).strip():
        errors["subject"] = "Give the case a subject."
    elif subject is not None and len(subject) > 200:
        errors["subject"] = f"A subject has at most 200 characters (this one has {len(subject)})."
    if "description" in changes and not str(changes["description"]).strip():
        errors["description"] = "Describe the problem or the question."
    if "severity" in changes and changes["severity"] not in Severity.values:
        errors["severity"] = "Severity is 1 (production down) to 4 (general question)."
    if len(str(changes.get("product_version", ""))) > 50:
        errors["product_version"] = "A product version has at most 50 characters."
    if errors:
        raise ValidationError(errors)

    with _atomic(case):
        case = _lock(case, expected_version)
        if case.status == Status.CLOSED:
            raise ValidationError("This case is closed; it can no longer be edited.")
        changed = {name: value for name, value in changes.items() if getattr(case, name) != value}
        if not changed:
            return case
        for name, value in changed.items():
            setattr(case, name, value)
        _save(case, at)
    return case
