"""Resolved cases with no customer reply close by themselves after 14 days."""

import datetime
import io
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.models import Case, CaseEvent, Resolution, Status
from notifications.models import WebhookDelivery, WebhookSubscription
from tests import factories

DAY = datetime.timedelta(days=1)


@pytest.fixture
def case(customer: User) -> Case:
    """A case filed three weeks ago."""
    return factories.file_case(reporter=customer, at=timezone.now() - 21 * DAY)


def resolve_days_ago(case: Case, support: User, days: int) -> Case:
    return services.resolve_case(
        case=case, by=support, resolution=Resolution.ANSWERED, at=timezone.now() - days * DAY
    )


def test_a_case_resolved_15_days_ago_without_reply_closes_with_an_event(
    case: Case, support: User
) -> None:
    resolve_days_ago(case, support, 15)
    out = io.StringIO()

    call_command("close_resolved_cases", stdout=out)

    assert Case.objects.get(pk=case.pk).status == Status.CLOSED
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.transition, event.actor, event.is_public) == ("close", None, True)
    assert "automatically" in event.reason
    assert "Closed 1 case(s)" in out.getvalue()


def test_a_case_resolved_13_days_ago_stays_resolved(case: Case, support: User) -> None:
    resolve_days_ago(case, support, 13)

    assert services.close_resolved_cases() == 0
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED


def test_a_customer_reply_after_resolution_keeps_the_case_open_for_support(
    case: Case, customer: User, support: User
) -> None:
    case = resolve_days_ago(case, support, 20)
    services.add_comment(case=case, by=customer, body="It came back.", at=timezone.now() - 18 * DAY)

    assert services.close_resolved_cases() == 0
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED


def test_closing_automatically_emails_no_one_but_tells_the_webhooks(
    case: Case, support: User, django_capture_on_commit_callbacks: Any
) -> None:
    WebhookSubscription.objects.create(
        name="crm", url="http://127.0.0.1:9/", event_kinds=["case.status_changed"]
    )
    resolve_days_ago(case, support, 15)
    WebhookDelivery.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=False):
        services.close_resolved_cases()

    assert mail.outbox == []
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.case_event is not None
    assert delivery.case_event.transition == "close"
