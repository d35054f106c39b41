"""Webhooks: body, signature, retries with backoff, the delivery log, redelivery."""

import datetime
import json
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from cases import services
from cases.models import Case, CaseType
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from notifications.tasks import deliver_webhook
from notifications.webhooks import case_payload, retry_delay
from tests import factories
from tests.queue_support import plan_queued, verify_signature, webhook_receiver

WEBHOOK_TASK = "notifications.tasks.deliver_webhook"


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _fast_retries(settings: Any) -> None:
    settings.CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS = 0


def subscribe(url: str, *kinds: str, **fields: Any) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name="crm", url=url, event_kinds=list(kinds), **fields
    )


def test_the_body_names_the_event_and_shows_the_case(
    customer: User, support: User, committed: Any
) -> None:
    with webhook_receiver() as receiver:
        subscribe(receiver.url, "case.created")
        with committed():
            case = factories.file_case(reporter=customer, subject="Disk full")

    [received] = receiver.received
    body = json.loads(received.body)
    delivery = WebhookDelivery.objects.get()
    assert body["id"] == str(delivery.event_id) == received.headers["x-casebook-event-id"]
    assert body["kind"] == "case.created" == received.headers["x-casebook-event"]
    assert body["occurred_at"] == case.created_at.isoformat()
    assert body["case"] == case_payload(Case.objects.get(pk=case.pk))
    assert body["case"]["number"] == case.number
    assert body["case"]["organization"]["slug"] == case.organization.slug


def test_a_receiver_verifies_the_signature_with_the_secret_alone(
    case: Case, support: User, committed: Any
) -> None:
    with webhook_receiver() as receiver:
        subscription = subscribe(receiver.url, "case.reclassified")
        with committed():
            services.reclassify_case(case=case, by=support, to=CaseType.BUG, reason="A defect.")

    [received] = receiver.received
    assert verify_signature(subscription.secret, received.headers, received.body)
    tampered = received.body.replace(b"A defect.", b"A feature")
    assert not verify_signature(subscription.secret, received.headers, tampered)
    assert not verify_signature("another secret", received.headers, received.body)


def test_the_readme_verification_snippet_accepts_a_delivery_and_rejects_a_tampered_one(
    case: Case, support: User, committed: Any
) -> None:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    snippet = readme.split("To verify, with the secret alone:")[1].split("```python")[1]
    namespace: dict[str, Any] = {}
    exec(snippet.split("```")[0], namespace)
    with webhook_receiver() as receiver:
        subscription = subscribe(receiver.url, "case.commented")
        with committed():
            services.add_comment(case=case, by=support, body="Signed.")

    [received] = receiver.received
    headers = Message()
    for name, value in received.headers.items():
        headers[name] = value
    assert namespace["verify"](subscription.secret, headers, received.body)
    assert not namespace["verify"](subscription.secret, headers, received.body + b" ")


def test_a_receiver_failing_twice_gets_the_event_three_times_and_the_log_shows_them(
    case: Case, support: User, committed: Any
) -> None:
    with webhook_receiver(answers=[500, 500]) as receiver:
        subscribe(receiver.url, "case.commented")
        with committed():
            services.add_comment(case=case, by=support, body="Hello.")

    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    assert delivery.attempt_count == 3
    assert list(delivery.attempts.values_list("number", "status_code")) == [
        (1, 500),
        (2, 500),
        (3, 200),
    ]


def test_retries_back_off_exponentially_and_stop_within_a_day(settings: Any) -> None:
    settings.CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.CASEBOOK_WEBHOOK_RETRY_FACTOR = 4
    delays = [retry_delay(n) for n in range(1, 7)]
    assert delays == [60, 240, 960, 3840, 15360, 61440]
    assert sum(delays) < 24 * 3600 < sum(delays) + retry_delay(7)


def test_an_unreachable_receiver_is_given_up_after_the_attempts_allowed(
    case: Case, support: User, committed: Any, settings: Any
) -> None:
    settings.CASEBOOK_WEBHOOK_MAX_ATTEMPTS = 3
    subscribe("http://127.0.0.1:9/nobody-listens", "case.commented")
    with committed():
        services.add_comment(case=case, by=support, body="Hello.")

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.FAILED
    assert delivery.attempts.count() == 3
    assert all(a.status_code is None and a.error for a in delivery.attempts.all())


def test_a_retry_waits_in_the_queue_and_none_is_scheduled_past_a_day(
    case: Case, support: User, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "notifications.backends.DatabaseBackend"}}
    settings.CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS = 3600
    with webhook_receiver(answers=[503, 503]) as receiver:
        subscribe(receiver.url, "case.commented")
        services.add_comment(case=case, by=support, body="Hello.")
        # What the worker does with the queued tasks.
        plan_queued()
        delivery = WebhookDelivery.objects.get()
        deliver_webhook.call(delivery.pk)

        delivery.refresh_from_db()
        assert delivery.state == WebhookDelivery.State.RETRYING
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at - timezone.now() > datetime.timedelta(minutes=59)
        retry = DBTaskResult.objects.filter(task_path=WEBHOOK_TASK).latest("enqueued_at")
        assert retry.run_after == delivery.next_attempt_at

        # The same failure 23 hours after the event: the next try would fall past the day.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            created_at=timezone.now() - datetime.timedelta(hours=23)
        )
        deliver_webhook.call(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.FAILED
    assert [a.status_code for a in delivery.attempts.all()] == [503, 503]
    assert DBTaskResult.objects.filter(task_path=WEBHOOK_TASK).count() == 2


def test_internal_notes_reach_the_vendor_integration_but_never_a_customer_side_one(
    case: Case, customer: User, support: User, committed: Any
) -> None:
    with webhook_receiver() as staff_side, webhook_receiver() as customer_side:
        subscribe(staff_side.url, "case.commented")
        subscribe(customer_side.url, "case.commented", organization=customer.organization)
        with committed():
            services.add_comment(case=case, by=support, body="Internal: old agent.", public=False)
            services.add_comment(case=case, by=support, body="Please upgrade the agent.")

    assert [json.loads(r.body)["data"]["comment"]["public"] for r in staff_side.received] == [
        False,
        True,
    ]
    [received] = customer_side.received
    assert b"Internal" not in received.body
    assert json.loads(received.body)["data"]["comment"]["body"] == "Please upgrade the agent."


def test_a_customer_side_integration_hears_only_of_its_organization(
    customer: User, other_customer: User, committed: Any
) -> None:
    with webhook_receiver() as receiver:
        subscribe(receiver.url, "case.created", organization=customer.organization)
        with committed():
            factories.file_case(reporter=other_customer)
            mine = factories.file_case(reporter=customer)

    assert [json.loads(r.body)["case"]["number"] for r in receiver.received] == [mine.number]


def test_publishing_a_release_sends_release_published(
    customer: User, support: User, committed: Any
) -> None:
    case = factories.file_case(reporter=customer, type=CaseType.BUG)
    release = factories.ReleaseFactory.create(version="18.3.0")
    case = services.acknowledge_case(case=case, by=support)
    case = services.escalate_case(case=case, by=support)
    services.schedule_fix(case=case, by=support, release=release)
    with webhook_receiver() as receiver:
        subscribe(receiver.url, "release.published")
        with committed():
            services.publish_release(release=release, by=support)

    [received] = receiver.received
    body = json.loads(received.body)
    assert body["kind"] == "release.published"
    assert body["release"]["version"] == "18.3.0"
    assert body["release"]["cases"] == [case.number]


def test_redelivery_from_the_admin_sends_the_same_event_again(
    case: Case, support: User, committed: Any, client: Client
) -> None:
    admin_user = User.objects.create_superuser("root@casebook.example.com", "pw")
    client.force_login(admin_user)
    with webhook_receiver() as receiver:
        subscribe(receiver.url, "case.commented")
        with committed():
            services.add_comment(case=case, by=support, body="Hello.")
        first = WebhookDelivery.objects.get()
        with committed():
            response = client.post(
                "/admin/notifications/webhookdelivery/",
                {"action": "redeliver_selected", "_selected_action": [first.pk]},
            )

    assert response.status_code == 302
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    again = WebhookDelivery.objects.exclude(pk=first.pk).get()
    assert again.redelivery_of == first
    assert again.event_id == first.event_id
    assert again.state == WebhookDelivery.State.SUCCEEDED
    assert WebhookAttempt.objects.count() == 2


def test_the_subscription_admin_redelivers_its_failed_deliveries(
    case: Case, support: User, committed: Any, client: Client, settings: Any
) -> None:
    settings.CASEBOOK_WEBHOOK_MAX_ATTEMPTS = 1
    client.force_login(User.objects.create_superuser("root@casebook.example.com", "pw"))
    with webhook_receiver(answers=[500]) as receiver:
        subscription = subscribe(receiver.url, "case.commented")
        with committed():
            services.add_comment(case=case, by=support, body="Hello.")
        assert WebhookDelivery.objects.get().state == WebhookDelivery.State.FAILED
        with committed():
            client.post(
                "/admin/notifications/webhooksubscription/",
                {"action": "redeliver_failed", "_selected_action": [subscription.pk]},
            )

    assert len(receiver.received) == 2
    assert WebhookDelivery.objects.filter(state=WebhookDelivery.State.SUCCEEDED).count() == 1
