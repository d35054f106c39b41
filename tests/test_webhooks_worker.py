"""The real worker against the real queue: nothing lost, nothing sent twice."""

import json
from collections import Counter
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from cases import services
from cases.models import Case
from notifications.models import WebhookDelivery, WebhookSubscription
from tests.queue_support import PLAN_TASK, ensure_roles, webhook_receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _database_queue(settings: Any) -> None:
    ensure_roles()
    settings.TASKS = {"default": {"BACKEND": "notifications.backends.DatabaseBackend"}}
    settings.CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS = 0
    with connection.cursor() as cursor:
        # This test commits hundreds of times; waiting for the disk each time only slows it.
        cursor.execute("SET synchronous_commit TO off")


def run_worker() -> None:
    """Run the worker until the queue is empty, as `manage.py db_worker --batch` does."""
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0
    )


def test_with_the_worker_stopped_100_changes_queue_100_events_delivered_once_each(
    case: Case, customer: User, support: User
) -> None:
    with webhook_receiver() as receiver:
        WebhookSubscription.objects.create(
            name="crm", url=receiver.url, event_kinds=["case.commented"]
        )
        DBTaskResult.objects.all().delete()  # the filing's, to count only these
        for n in range(100):
            # Internal notes: webhooks only, no email, to keep the queue to the deliveries.
            services.add_comment(case=case, by=support, body=f"Note {n}.", public=False)

        assert DBTaskResult.objects.filter(task_path=PLAN_TASK).count() == 100
        assert receiver.received == []

        run_worker()

    event_ids = Counter(json.loads(r.body)["id"] for r in receiver.received)
    assert len(event_ids) == 100
    assert set(event_ids.values()) == {1}
    assert sorted(json.loads(r.body)["data"]["comment"]["body"] for r in receiver.received) == (
        sorted(f"Note {n}." for n in range(100))
    )
    assert WebhookDelivery.objects.filter(state=WebhookDelivery.State.SUCCEEDED).count() == 100
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()


def test_the_worker_retries_a_failing_receiver_until_it_answers(case: Case, support: User) -> None:
    with webhook_receiver(answers=[500, 500]) as receiver:
        WebhookSubscription.objects.create(
            name="crm", url=receiver.url, event_kinds=["case.commented"]
        )
        services.add_comment(case=case, by=support, body="Hello.")
        run_worker()

    assert [m.subject for m in mail.outbox] == [f"[{case.number}] {case.subject}"] * 2

    assert len(receiver.received) == 3
    delivery = WebhookDelivery.objects.get()
    assert [a.status_code for a in delivery.attempts.all()] == [500, 500, 200]
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
