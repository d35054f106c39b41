"""
What Casebook tells the outside world about cases, and what it hears back.

Every row here that stands for something to send (an email, a webhook
delivery) is written in the same transaction as the case change it reports:
it exists exactly when the change does, and a background task ships it.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class EmailKind(models.TextChoices):
    CASE_FILED = "case_filed", "Case filed"
    SUPPORT_REPLY = "support_reply", "Reply from support"
    RECLASSIFIED = "reclassified", "Case reclassified"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Support waits on you"
    RESOLVED = "resolved", "Case resolved"
    REOPENED = "reopened", "Case reopened"
    CUSTOMER_REPLY = "customer_reply", "Customer reply (to the assignee)"


class CaseFollower(models.Model):
    """A customer of the case's organization who gets its emails besides the reporter."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_cases"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="one_follow_per_user_and_case")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.case.number}"

    def clean(self) -> None:
        if self.user.organization_id is None or self.user.organization_id != (
            self.case.organization_id
        ):
            raise ValidationError(
                {"user": "Only customers of the case's organization may follow it."}
            )


class NotificationPreference(models.Model):
    """One kind of email a person turned off (or back on); no row means on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"


class OutboundEmail(models.Model):
    """One notification email to one person, written with the change it reports."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(
        "cases.CaseEvent", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    message_id = models.CharField(max_length=250, unique=True)
    subject = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.state})"


def _new_secret() -> str:
    return secrets.token_hex(32)


class WebhookEventKind(models.TextChoices):
    CASE_CREATED = "case.created", "case.created"
    CASE_COMMENTED = "case.commented", "case.commented"
    CASE_RECLASSIFIED = "case.reclassified", "case.reclassified"
    CASE_STATUS_CHANGED = "case.status_changed", "case.status_changed"
    RELEASE_PUBLISHED = "release.published", "release.published"


class WebhookSubscription(models.Model):
    """An integration's URL, told of the events it chose, signed with its secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200,
        default=_new_secret,
        help_text="Shared with the receiver, which checks each delivery's signature with it.",
    )
    event_kinds = models.JSONField(
        default=list, help_text="The events sent to this URL (case.created, ...)."
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text=(
            "For a customer-side integration: only this organization's cases, and never an "
            "internal note or internal event. Empty for the vendor's own integrations."
        ),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = set(self.event_kinds or []) - set(WebhookEventKind.values)
        if unknown:
            raise ValidationError({"event_kinds": f"Unknown events: {', '.join(sorted(unknown))}."})

    @property
    def is_customer_side(self) -> bool:
        return self.organization_id is not None


class WebhookDelivery(models.Model):
    """One event for one subscription, with its attempts."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Given up"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(
        help_text="The same for every subscription and every redelivery of one event."
    )
    kind = models.CharField(max_length=30, choices=WebhookEventKind.choices)
    case_event = models.ForeignKey(
        "cases.CaseEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    release = models.ForeignKey(
        "cases.Release", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    # Frozen at the first attempt, so that retries and redeliveries send the same body.
    body = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_state_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.subscription} ({self.state})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"Attempt {self.number}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class InboundEmail(models.Model):
    """A message received by email in, and what became of it."""

    class Outcome(models.TextChoices):
        COMMENTED = "commented", "Added as a comment"
        FILED = "filed", "Filed as a new case"
        REFUSED = "refused", "Refused"

    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=250, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        "cases.Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raw_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject} ({self.outcome})"
