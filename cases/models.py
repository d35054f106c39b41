"""
Cases and their two state machines.

A case has a *type* (what kind of problem it is) and a *status* (where it is in
its life). Both are protected ``FSMField``s: the only way to change them is a
transition method below, and the only callers of those methods are the
services in ``cases.services``, which lock the row, check permission, save and
write history.
"""

import datetime
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, transition

if TYPE_CHECKING:
    from accounts.models import User

NUMBER_PREFIX = "CASE-"


class CaseType(models.TextChoices):
    ISSUE = "issue", "Issue"
    BUG = "bug", "Bug"
    ENHANCEMENT = "enhancement", "Enhancement"
    QUESTION = "question", "Question"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    IN_ENGINEERING = "in_engineering", "In engineering"
    FIX_SCHEDULED = "fix_scheduled", "Fix scheduled"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class Severity(models.IntegerChoices):
    PRODUCTION_DOWN = 1, "1 - Production down"
    DEGRADED = 2, "2 - Production degraded"
    NOT_URGENT = 3, "3 - Not urgent"
    QUESTION = 4, "4 - General question"


class Channel(models.TextChoices):
    PORTAL = "portal", "Portal"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    API = "api", "API"


class Resolution(models.TextChoices):
    ANSWERED = "answered", "Answered"
    WORKAROUND = "workaround", "Workaround"
    DUPLICATE = "duplicate", "Duplicate"
    WONT_FIX = "wont_fix", "Won't fix"
    KB_ARTICLE = "kb_article", "Knowledge article"
    FIXED_IN_RELEASE = "fixed_in_release", "Fixed in release"


TYPE_DESCRIPTIONS = {
    CaseType.ISSUE: "You have trouble with the product and support helps you resolve it.",
    CaseType.BUG: (
        "A defect in the product. Engineering fixes it, and the case is resolved "
        "when the release with the fix is published."
    ),
    CaseType.ENHANCEMENT: (
        "A feature request. Engineering builds it, and the case is resolved when "
        "the release that has it is published."
    ),
    CaseType.QUESTION: (
        "A question about a feature, configuration or the documentation; support "
        "answers it, sometimes with a knowledge article."
    ),
}

SEVERITY_DESCRIPTIONS = {
    Severity.PRODUCTION_DOWN: "Production is down or unusable; no workaround.",
    Severity.DEGRADED: "Production works but is seriously degraded.",
    Severity.NOT_URGENT: "A problem that does not stop production.",
    Severity.QUESTION: "A general question or a request.",
}

# Resolutions `resolve` accepts for each type. `fixed_in_release` is reached only
# through the publication of the release (the `release_published` transition).
RESOLUTIONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    CaseType.ISSUE: (
        Resolution.ANSWERED,
        Resolution.WORKAROUND,
        Resolution.DUPLICATE,
        Resolution.WONT_FIX,
    ),
    CaseType.QUESTION: (Resolution.ANSWERED, Resolution.KB_ARTICLE, Resolution.DUPLICATE),
    CaseType.BUG: (Resolution.WORKAROUND, Resolution.DUPLICATE, Resolution.WONT_FIX),
    CaseType.ENHANCEMENT: (Resolution.DUPLICATE, Resolution.WONT_FIX),
}

ENGINEERING_TYPES = (CaseType.BUG, CaseType.ENHANCEMENT)
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED)
ENGINEERING_STATUSES = (Status.IN_ENGINEERING, Status.FIX_SCHEDULED)


class Release(models.Model):
    """A product release; cases scheduled into it are resolved when it is published."""

    version = models.CharField(max_length=50, unique=True)
    released_on = models.DateField(
        null=True, blank=True, help_text="Empty until the release is published."
    )

    class Meta:
        ordering = ["-released_on", "-version"]

    def __str__(self) -> str:
        return self.version

    @property
    def is_published(self) -> bool:
        return self.released_on is not None

    def is_published_at(self, at: datetime.datetime) -> bool:
        """Return whether the release had been published at the moment `at`."""
        return self.released_on is not None and self.released_on <= at.date()


class KnowledgeArticleQuerySet(models.QuerySet["KnowledgeArticle"]):
    def published(self) -> "KnowledgeArticleQuerySet":
        return self.filter(is_published=True)


class KnowledgeArticle(models.Model):
    """An answer written once for everyone: a question's case may end in one."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    is_published = models.BooleanField(default=True)
    source_case = models.ForeignKey(
        "Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The case this article was written from; never shown to customers.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[KnowledgeArticleQuerySet] = KnowledgeArticleQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


def case_visibility(user: "User") -> tuple[bool, int | None]:
    """
    Return whether `user` may see cases, and the organization they are limited to.

    The organization is None when they may see every organization's cases.
    """
    if not user.is_authenticated or not user.is_active:
        return False, None
    # A customer sees their organization's cases, whatever permissions they
    # were given; deciding it needs no query.
    if user.organization_id is not None:
        return True, user.organization_id
    return user.has_perm("cases.view_all_cases"), None


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: "User") -> "CaseQuerySet":
        """Return the cases `user` may see: all for staff, their organization's for a customer."""
        sees_cases, organization_id = case_visibility(user)
        if not sees_cases:
            return self.none()
        if organization_id is not None:
            return self.filter(organization_id=organization_id)
        return self

    def by_number(self, number: str) -> "CaseQuerySet":
        """Filter to the case numbered `number` (``CASE-000123``); empty if malformed."""
        pk = Case.pk_from_number(number)
        return self.filter(pk=pk) if pk is not None else self.none()


def _has(perm: str) -> Any:
    """Return a django-fsm permission check: `user` has `perm`, and a customer acts on
    their own organization's case."""

    def check(case: "Case", user: "User") -> bool:
        if not user.is_active or not user.has_perm(perm):
            return False
        return user.organization_id is None or user.organization_id == case.organization_id

    check.__name__ = f"has_{perm.replace('.', '_')}"
    return check


def _automatic(case: Any, user: Any) -> bool:
    """Nobody runs this transition by hand: the services take it when its event happens."""
    return False


class Case(models.Model):
    """A support case."""

    type = FSMField(max_length=20, choices=CaseType.choices, protected=True)
    status = FSMField(max_length=30, choices=Status.choices, default=Status.NEW, protected=True)

    subject = models.CharField(max_length=200)
    description = models.TextField(help_text="Markdown.")
    severity = models.PositiveSmallIntegerField(
        choices=Severity.choices, default=Severity.NOT_URGENT
    )
    product_version = models.CharField(max_length=50, blank=True)
    # Served by case_org_activity and case_org_status_activity, which lead with
    # it: a third index would only be one more to write on every change.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    target_release = models.ForeignKey(
        Release, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    knowledge_article = models.ForeignKey(
        KnowledgeArticle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved_cases",
    )
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The last public message of each side: "waiting on us" is a customer
    # message newer than support's last answer.
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_staff_message_at = models.DateTimeField(null=True, blank=True)
    # Kept by services.add_comment under the case's lock, so that no list has
    # to count comments: every comment, and the public ones a customer sees.
    comment_count = models.PositiveIntegerField(default=0, editable=False)
    public_comment_count = models.PositiveIntegerField(default=0, editable=False)
    # Bumped by every change made through the services; a client that read
    # version N may only change the case while it is still at N.
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[CaseQuerySet] = CaseQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("view_all_cases", "Can see the cases of every organization"),
            ("file_for_customer", "Can file a case on a customer's behalf"),
            ("reclassify_case", "Can reclassify a case"),
            ("acknowledge_case", "Can acknowledge a case"),
            ("request_info_case", "Can ask the customer for information"),
            ("escalate_case", "Can escalate a case to engineering"),
            ("schedule_fix_case", "Can schedule a fix into a release"),
            ("resolve_case", "Can resolve a case"),
            ("close_case", "Can close a resolved case"),
            ("reopen_case", "Can reopen a resolved case"),
            ("assign_case", "Can assign a case"),
            ("comment_case", "Can comment publicly on a case"),
            ("add_internal_note", "Can write internal notes"),
            ("publish_release", "Can publish a release"),
        ]
        indexes = [
            models.Index(fields=["organization", "-updated_at", "-id"], name="case_org_activity"),
            models.Index(fields=["-updated_at", "-id"], name="case_activity"),
            # The lists filtered by status, for a customer and for staff, in list order.
            models.Index(
                fields=["organization", "status", "-updated_at", "-id"],
                name="case_org_status_activity",
            ),
            models.Index(fields=["status", "-updated_at", "-id"], name="case_status_activity"),
            models.Index(fields=["status", "severity"], name="case_status_severity"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=4), name="case_severity_1_to_4"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("cases:detail", kwargs={"number": self.number})

    @property
    def number(self) -> str:
        return f"{NUMBER_PREFIX}{self.pk:06d}" if self.pk else ""

    @staticmethod
    def pk_from_number(number: str) -> int | None:
        digits = number.upper().removeprefix(NUMBER_PREFIX)
        if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
            return None
        return int(digits)

    # Conditions -----------------------------------------------------------

    def is_unfinished(self) -> bool:
        """The case is neither resolved nor closed."""
        return self.status not in FINISHED_STATUSES

    def is_engineering_type(self) -> bool:
        """The case is a bug or an enhancement."""
        return self.type in ENGINEERING_TYPES

    def is_in_engineering_work(self) -> bool:
        """Engineering has the case (in engineering or fix scheduled)."""
        return self.status in ENGINEERING_STATUSES

    # Type: the eight reclassifications ------------------------------------

    @transition(
        field=type,
        source=[CaseType.BUG, CaseType.ENHANCEMENT],
        target=CaseType.ISSUE,
        conditions=[is_unfinished],  # type: ignore[list-item]
        permission=_has("cases.reclassify_case"),
        custom={"label": "Reclassify as issue"},
    )
    def to_issue(self) -> None:
        # Not a product change after all: engineering lets go of it.
        if self.is_in_engineering_work():
            self.return_to_support()

    @transition(
        field=type,
        source=[CaseType.ISSUE, CaseType.ENHANCEMENT, CaseType.QUESTION],
        target=CaseType.BUG,
        conditions=[is_unfinished],  # type: ignore[list-item]
        permission=_has("cases.reclassify_case"),
        custom={"label": "Reclassify as bug"},
    )
    def to_bug(self) -> None:
        pass

    @transition(
        field=type,
        source=[CaseType.ISSUE, CaseType.BUG, CaseType.QUESTION],
        target=CaseType.ENHANCEMENT,
        conditions=[is_unfinished],  # type: ignore[list-item]
        permission=_has("cases.reclassify_case"),
        custom={"label": "Reclassify as enhancement"},
    )
    def to_enhancement(self) -> None:
        pass

    # Status: the lifecycle -------------------------------------------------

    @transition(
        field=status,
        source=Status.NEW,
        target=Status.OPEN,
        permission=_has("cases.acknowledge_case"),
        custom={"label": "Acknowledge"},
    )
    def acknowledge(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.NEW, Status.OPEN, Status.IN_ENGINEERING],
        target=Status.WAITING_ON_CUSTOMER,
        permission=_has("cases.request_info_case"),
        custom={"label": "Request information"},
    )
    def request_info(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.WAITING_ON_CUSTOMER,
        target=Status.OPEN,
        permission=_automatic,
        custom={"label": "Customer replied", "automatic": True},
    )
    def customer_replied(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.IN_ENGINEERING,
        conditions=[is_engineering_type],  # type: ignore[list-item]
        permission=_has("cases.escalate_case"),
        custom={"label": "Escalate to engineering"},
    )
    def escalate(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.IN_ENGINEERING,
        target=Status.FIX_SCHEDULED,
        conditions=[is_engineering_type],  # type: ignore[list-item]
        permission=_has("cases.schedule_fix_case"),
        custom={"label": "Schedule fix", "needs": ["release"]},
    )
    def schedule_fix(self, *, release: Release, at: datetime.datetime) -> None:
        if release.is_published_at(at):
            raise InvalidTransitionInput(
                "release",
                f"Release {release.version} is already published; choose one that is not.",
            )
        self.target_release = release

    @transition(
        field=status,
        source=[Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.IN_ENGINEERING],
        target=Status.RESOLVED,
        permission=_has("cases.resolve_case"),
        custom={"label": "Resolve", "needs": ["resolution", "knowledge_article"]},
    )
    def resolve(
        self,
        *,
        resolution: str,
        at: datetime.datetime,
        article: KnowledgeArticle | None = None,
    ) -> None:
        allowed = RESOLUTIONS_BY_TYPE[self.type]
        if resolution not in allowed:
            kind = self.get_type_display().lower()  # type: ignore[attr-defined]
            raise InvalidTransitionInput(
                "resolution",
                f"{'An' if kind[0] in 'aeiou' else 'A'} {kind} can be resolved as "
                + ", ".join(allowed)
                + f"; not as {resolution}.",
            )
        if resolution == Resolution.KB_ARTICLE:
            if article is None or not article.is_published:
                raise InvalidTransitionInput(
                    "knowledge_article", "Name a published knowledge article."
                )
            self.knowledge_article = article
        elif article is not None:
            raise InvalidTransitionInput(
                "knowledge_article", "Only a knowledge-article resolution names an article."
            )
        self.resolution = resolution
        self.resolved_at = at

    @transition(
        field=status,
        source=Status.FIX_SCHEDULED,
        target=Status.RESOLVED,
        permission=_automatic,
        custom={"label": "Release published", "automatic": True},
    )
    def release_published(self, *, at: datetime.datetime) -> None:
        if self.target_release is None or not self.target_release.is_published_at(at):
            raise InvalidTransitionInput(
                "release", "The fix is resolved only once its release is published."
            )
        self.resolution = Resolution.FIXED_IN_RELEASE
        self.resolved_at = at

    @transition(
        field=status,
        source=Status.RESOLVED,
        target=Status.CLOSED,
        permission=_has("cases.close_case"),
        custom={"label": "Close"},
    )
    def close(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.RESOLVED,
        target=Status.OPEN,
        permission=_has("cases.reopen_case"),
        custom={"label": "Reopen", "needs": ["reason"]},
    )
    def reopen(self) -> None:
        self.resolution = ""
        self.resolved_at = None
        self.knowledge_article = None

    @transition(
        field=status,
        source=[Status.IN_ENGINEERING, Status.FIX_SCHEDULED],
        target=Status.OPEN,
        permission=_automatic,
        custom={"label": "Back to support", "automatic": True},
    )
    def return_to_support(self) -> None:
        self.target_release = None


class InvalidTransitionInput(Exception):
    """A transition was allowed but what it was given was not (a field and a message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name is random: the original name is kept in a column and
    # never used to build a path or a URL.
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Comment(models.Model):
    """A message on a case: public (the customer sees it) or an internal note."""

    # Indexed by comment_case_time, which leads with it.
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField(help_text="Markdown.")
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at", "id"], name="comment_case_time")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.case.number}"


class Attachment(models.Model):
    """A file attached to a case, usually through a comment."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    name = models.CharField(max_length=255, help_text="The original file name.")
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.comment is None or self.comment.is_public


class EventKind(models.TextChoices):
    FILED = "filed", "Filed"
    COMMENTED = "commented", "Commented"
    RECLASSIFIED = "reclassified", "Reclassified"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"


class CaseEventQuerySet(models.QuerySet["CaseEvent"]):
    def public(self) -> "CaseEventQuerySet":
        return self.filter(is_public=True)

    def visible_to(self, user: "User") -> "CaseEventQuerySet":
        if user.is_staff:
            return self
        return self.public()


class CaseEvent(models.Model):
    """One line of a case's history. Append-only: written by the services, never changed."""

    # Indexed by event_case_time, which leads with it.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (a release was published, a case closed itself).",
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    transition = models.CharField(max_length=30, blank=True)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    objects: ClassVar[CaseEventQuerySet] = CaseEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at", "id"], name="event_case_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.from_value}→{self.to_value}"
