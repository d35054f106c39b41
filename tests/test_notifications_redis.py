"""The Redis backend (django-tasks-rq), for workers on many machines; run by `.ci/run`."""

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction

from accounts.models import User
from cases import services
from cases.models import Case
from notifications.models import WebhookDelivery, WebhookSubscription
from tests.queue_support import webhook_receiver

pytestmark = pytest.mark.redis


@pytest.fixture
def queue(settings: Any) -> Any:
    """The Redis queue, emptied; skips when no Redis answers."""
    redis = pytest.importorskip("redis")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    import django_rq

    rq_queue = django_rq.get_queue("default")
    try:
        rq_queue.connection.ping()
    except redis.exceptions.ConnectionError:
        if django_settings.CASEBOOK_TASKS_BACKEND == "rq":
            raise  # asked for explicitly (as `.ci/run` does): a missing Redis is a failure
        pytest.skip("needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0)")
    rq_queue.empty()
    yield rq_queue
    rq_queue.empty()


def run_worker(queue: Any) -> None:
    """Run an RQ worker in this process until the queue is empty."""
    from django_tasks_rq import Job
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)


def test_a_rolled_back_change_puts_nothing_on_the_redis_queue(
    queue: Any, case: Case, support: User, django_capture_on_commit_callbacks: Any
) -> None:
    WebhookSubscription.objects.create(
        name="crm", url="http://127.0.0.1:9/", event_kinds=["case.commented"]
    )

    def answer_then_fail() -> None:
        with transaction.atomic():
            services.add_comment(case=case, by=support, body="Never sent.")
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        answer_then_fail()

    assert queue.count == 0


def test_a_committed_change_is_queued_in_redis_and_delivered_by_an_rq_worker(
    queue: Any,
    case: Case,
    customer: User,
    support: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with webhook_receiver() as receiver:
        WebhookSubscription.objects.create(
            name="crm", url=receiver.url, event_kinds=["case.commented"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.add_comment(case=case, by=support, body="Over Redis.")

        assert queue.count == 2  # the reporter's email and the webhook
        run_worker(queue)

    [received] = receiver.received
    assert json.loads(received.body)["data"]["comment"]["body"] == "Over Redis."
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.SUCCEEDED
    assert [m.to for m in mail.outbox] == [[customer.email]]
