"""The background tasks: who hears of an event, one email, one webhook attempt."""

import logging

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from cases.models import CaseEvent
from notifications.emails import build_message
from notifications.models import NotificationPreference, OutboundEmail, WebhookDelivery
from notifications.webhooks import attempt_delivery

logger = logging.getLogger(__name__)


@task
def plan_notifications(event_id: int) -> str:
    """Write the emails and webhook deliveries of case event `event_id` and queue their sending."""
    from notifications.dispatch import plan_event

    with transaction.atomic():
        event = (
            CaseEvent.objects.select_related("case__assignee", "actor", "comment")
            .filter(pk=event_id)
            .first()
        )
        if event is None:
            return "no such event"
        # A task run again (a worker stopped before recording that it finished)
        # must not plan the event twice.
        if (
            OutboundEmail.objects.filter(event=event).exists()
            or WebhookDelivery.objects.filter(case_event=event).exists()
        ):
            return "planned already"
        plan_event(event)
    return "planned"


@task
def send_notification_email(email_id: int) -> str:
    """Send the notification email `email_id` unless it went already or its kind was turned off."""
    email = (
        OutboundEmail.objects.select_related(
            "case__organization", "case__reporter", "recipient", "event__comment__author"
        )
        .filter(pk=email_id)
        .first()
    )
    if email is None or email.state != OutboundEmail.State.PENDING:
        return "not pending"
    if NotificationPreference.objects.filter(
        user=email.recipient, kind=email.kind, enabled=False
    ).exists():
        email.state = OutboundEmail.State.SKIPPED
        email.save(update_fields=["state"])
        return "turned off"
    message = build_message(email)
    message.send()
    email.state = OutboundEmail.State.SENT
    email.subject = str(message.subject)
    email.sent_at = timezone.now()
    email.save(update_fields=["state", "subject", "sent_at"])
    return "sent"


@task
def deliver_webhook(delivery_id: int) -> str:
    """Make one attempt of webhook delivery `delivery_id`; a failure schedules the next."""
    delivery = attempt_delivery(delivery_id)
    if delivery is None:
        return "not due"
    logger.info(
        "webhook %s to %s: attempt %s, status %s, %s",
        delivery.kind,
        delivery.subscription.url,
        delivery.attempt_count,
        delivery.last_status_code,
        delivery.state,
    )
    return str(delivery.state)
