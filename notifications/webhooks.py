"""
Webhooks: the JSON body of an event, its signature, and one delivery attempt.

Signature: ``X-Casebook-Signature: sha256=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the subscription's secret, of the bytes
``<timestamp>.<body>``; ``<timestamp>`` (Unix seconds) is sent in
``X-Casebook-Timestamp``. Receivers recompute it with the secret alone and
reject a timestamp older than a few minutes.
"""

import datetime
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases.models import Case, CaseEvent, EventKind
from notifications.models import WebhookAttempt, WebhookDelivery

USER_AGENT = "Casebook-Webhooks/1"


def _iso(value: datetime.datetime | datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_payload(case: Case) -> dict[str, Any]:
    """Return `case` as the REST API shows it (counting public comments only)."""
    from cases.serializers import CaseSerializer

    shown = Case.objects.select_related(
        "organization", "reporter", "assignee", "target_release", "knowledge_article"
    ).get(pk=case.pk)
    return dict(CaseSerializer(shown).data)


def _event_data(event: CaseEvent) -> dict[str, Any]:
    if event.kind == EventKind.COMMENTED and event.comment is not None:
        comment = event.comment
        return {
            "comment": {
                "id": comment.pk,
                "author": comment.author.email,
                "body": comment.body,
                "public": comment.is_public,
                "attachments": [a.name for a in comment.attachments.all()],
                "created_at": _iso(comment.created_at),
            }
        }
    data: dict[str, Any] = {
        "from": event.from_value or None,
        "to": event.to_value or None,
        "reason": event.reason,
        "actor": event.actor.email if event.actor else None,
    }
    if event.kind == EventKind.STATUS_CHANGED:
        data["transition"] = event.transition
        data.update(event.data)
    return data


def build_body(delivery: WebhookDelivery) -> str:
    """Return the JSON body of `delivery`: event id, kind, time, and the case or the release."""
    body: dict[str, Any] = {
        "id": str(delivery.event_id),
        "kind": delivery.kind,
        "occurred_at": _iso(delivery.occurred_at),
    }
    if delivery.case_event is not None:
        event = delivery.case_event
        body["case"] = case_payload(Case.objects.get(pk=event.case_id))
        body["data"] = _event_data(event)
    elif delivery.release is not None:
        release = delivery.release
        cases = Case.objects.filter(target_release=release).order_by("pk")
        if delivery.subscription.organization_id is not None:
            cases = cases.filter(organization_id=delivery.subscription.organization_id)
        body["release"] = {
            "version": release.version,
            "released_on": _iso(release.released_on),
            "cases": [c.number for c in cases],
        }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value of `body` sent at `timestamp`."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retry_delay(attempts_made: int) -> float:
    """Return the seconds to wait before the next attempt, after `attempts_made` failed ones."""
    return float(
        settings.CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS
        * settings.CASEBOOK_WEBHOOK_RETRY_FACTOR ** (attempts_made - 1)
    )


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """POST and return (status code or None, response excerpt, error)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return None, "", "Only http and https webhook URLs are called."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        # The scheme was checked just above: no file: or custom scheme is opened.
        with urllib.request.urlopen(  # nosec B310 - http(s) only, checked above
            request, timeout=settings.CASEBOOK_WEBHOOK_TIMEOUT_SECONDS
        ) as response:
            return response.status, response.read(500).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as error:
        return error.code, error.read(500).decode("utf-8", "replace"), ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, "", f"{type(error).__name__}: {reason}"


def attempt_delivery(delivery_id: int) -> WebhookDelivery | None:
    """
    Make one attempt of a delivery; return it, or None if it was not due.

    The delivery is claimed with a conditional update, so that two workers
    never send it at once, and no transaction is held open during the request.
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.RETRYING]
    ).update(state=WebhookDelivery.State.SENDING, attempt_count=F("attempt_count") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related(
        "subscription", "case_event__comment__author", "case_event__actor", "release"
    ).get(pk=delivery_id)
    if not delivery.body:
        delivery.body = build_body(delivery)
        delivery.save(update_fields=["body"])
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Casebook-Event": delivery.kind,
        "X-Casebook-Event-Id": str(delivery.event_id),
        "X-Casebook-Delivery": str(delivery.pk),
        "X-Casebook-Timestamp": str(timestamp),
        "X-Casebook-Signature": sign(delivery.subscription.secret, timestamp, body),
    }
    started = time.monotonic()
    status_code, excerpt, error = _post(delivery.subscription.url, body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    now = timezone.now()

    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            at=now,
            status_code=status_code,
            error=error,
            response_excerpt=excerpt,
            duration_ms=duration_ms,
        )
        delivery.last_status_code = status_code
        if status_code is not None and 200 <= status_code < 300:
            delivery.state = WebhookDelivery.State.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        else:
            _schedule_retry(delivery, now)
        delivery.save(
            update_fields=["state", "last_status_code", "delivered_at", "next_attempt_at"]
        )
    return delivery


def _schedule_retry(delivery: WebhookDelivery, now: datetime.datetime) -> None:
    from notifications import tasks
    from notifications.dispatch import enqueue

    delay = retry_delay(delivery.attempt_count)
    next_at = now + datetime.timedelta(seconds=delay)
    window_end = delivery.created_at + datetime.timedelta(
        seconds=settings.CASEBOOK_WEBHOOK_RETRY_WINDOW_SECONDS
    )
    if delivery.attempt_count >= settings.CASEBOOK_WEBHOOK_MAX_ATTEMPTS or next_at > window_end:
        delivery.state = WebhookDelivery.State.FAILED
        delivery.next_attempt_at = None
        return
    delivery.state = WebhookDelivery.State.RETRYING
    delivery.next_attempt_at = next_at
    task = tasks.deliver_webhook
    if delay > 0 and task.get_backend().supports_defer:
        task = task.using(run_after=next_at)
    enqueue(task, delivery.pk)


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send `delivery`'s event again, with the same body and event id, as a new delivery."""
    from notifications import tasks
    from notifications.dispatch import enqueue

    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            subscription=delivery.subscription,
            event_id=delivery.event_id,
            kind=delivery.kind,
            case_event=delivery.case_event,
            release=delivery.release,
            occurred_at=delivery.occurred_at,
            body=delivery.body,
            redelivery_of=delivery,
        )
        enqueue(tasks.deliver_webhook, again.pk)
    return again
