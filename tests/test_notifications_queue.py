"""The queue is a table of our database: tasks exist exactly when the change they report does."""

from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from cases import services
from cases.models import Case
from notifications.dispatch import follow_case
from notifications.models import OutboundEmail, WebhookDelivery, WebhookSubscription
from tests import factories
from tests.queue_support import PLAN_TASK, ensure_roles, plan_queued

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAIL_TASK = "notifications.tasks.send_notification_email"
WEBHOOK_TASK = "notifications.tasks.deliver_webhook"


@pytest.fixture(autouse=True)
def _database_queue(settings: Any) -> None:
    ensure_roles()
    settings.TASKS = {"default": {"BACKEND": "notifications.backends.DatabaseBackend"}}


def queued() -> Counter[str]:
    return Counter(DBTaskResult.objects.values_list("task_path", flat=True))


def subscribe(*kinds: str, **fields: Any) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name="crm", url="http://127.0.0.1:9/hook", event_kinds=list(kinds), **fields
    )


class Boom(Exception):
    pass


def test_a_change_rolled_back_enqueues_nothing(case: Case, support: User) -> None:
    subscribe("case.commented")
    DBTaskResult.objects.all().delete()

    def answer_then_fail() -> None:
        with transaction.atomic():
            services.add_comment(case=case, by=support, body="An answer that never was.")
            raise Boom

    with pytest.raises(Boom):
        answer_then_fail()

    assert queued() == Counter()
    assert not WebhookDelivery.objects.exists()
    assert not OutboundEmail.objects.filter(kind="support_reply").exists()


def test_a_committed_change_enqueues_exactly_its_emails_and_webhooks(
    case: Case, customer: User, support: User
) -> None:
    follow_case(
        case=case, user=factories.CustomerFactory.create(organization=customer.organization)
    )
    subscribe("case.commented")
    subscribe("case.created")  # not this event
    subscribe("case.commented", organization=factories.OrganizationFactory.create())  # not this org
    subscribe("case.commented", organization=customer.organization)
    subscribe("case.commented", is_active=False)
    DBTaskResult.objects.all().delete()

    services.add_comment(case=case, by=support, body="An answer.")
    # The change queues one task; the worker decides who hears of it.
    assert queued() == Counter({PLAN_TASK: 1})
    assert not WebhookDelivery.objects.exists()

    plan_queued()
    assert queued() == Counter({PLAN_TASK: 1, EMAIL_TASK: 2, WEBHOOK_TASK: 2})
    assert WebhookDelivery.objects.count() == 2
    assert OutboundEmail.objects.filter(kind="support_reply").count() == 2


def test_a_planning_task_run_twice_plans_the_event_once(
    case: Case, customer: User, support: User
) -> None:
    subscribe("case.commented")
    DBTaskResult.objects.all().delete()
    services.add_comment(case=case, by=support, body="An answer.")

    plan_queued()
    plan_queued()  # a worker stopped before it recorded that the task finished

    assert queued() == Counter({PLAN_TASK: 1, EMAIL_TASK: 1, WEBHOOK_TASK: 1})
    assert OutboundEmail.objects.filter(kind="support_reply").count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_an_event_nobody_hears_of_queues_nothing(case: Case, support: User) -> None:
    DBTaskResult.objects.all().delete()

    services.assign_case(case=case, by=support, assignee=support)

    assert queued() == Counter()


def test_an_internal_note_queues_no_email_and_no_customer_side_webhook(
    case: Case, customer: User, support: User
) -> None:
    staff_side = subscribe("case.commented")
    subscribe("case.commented", organization=customer.organization)
    DBTaskResult.objects.all().delete()

    services.add_comment(case=case, by=support, body="Looks like the old agent.", public=False)
    plan_queued()

    assert queued() == Counter({PLAN_TASK: 1, WEBHOOK_TASK: 1})
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.subscription == staff_side
