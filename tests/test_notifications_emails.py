"""Notification emails: who gets which, what they say, and how they thread."""

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import User
from cases import notifications, services
from cases.models import TYPE_DESCRIPTIONS, Case, CaseType, Resolution
from notifications.dispatch import follow_case
from notifications.models import EmailKind, NotificationPreference, OutboundEmail
from tests import factories


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the on-commit callbacks (the immediate task backend enqueues on commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def colleague(customer: User) -> User:
    """Another customer of the reporter's organization."""
    return factories.CustomerFactory.create(organization=customer.organization)


def thread_root(case: Case) -> str:
    return f"<{case.number.lower()}@{settings.CASEBOOK_EMAIL_DOMAIN}>"


def html_of(message: mail.EmailMessage) -> str:
    assert isinstance(message, mail.EmailMultiAlternatives)
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def test_filing_a_case_emails_the_reporter_its_number_and_what_happens_next(
    customer: User, committed: Any
) -> None:
    with committed():
        case = factories.file_case(reporter=customer, subject="Export hangs")

    [message] = mail.outbox
    assert message.to == [customer.email]
    assert message.subject == f"[{case.number}] Export hangs"
    assert case.number in message.body
    assert "What happens next" in message.body
    assert "What happens next" in html_of(message)
    assert message.extra_headers["Message-ID"] == thread_root(case)


def test_a_support_reply_emails_the_reporter_and_followers_threaded_under_the_case(
    case: Case, customer: User, colleague: User, support: User, committed: Any
) -> None:
    follow_case(case=case, user=colleague)
    with committed():
        services.add_comment(case=case, by=support, body="Try **restarting** the agent.")

    assert sorted(m.to[0] for m in mail.outbox) == sorted([customer.email, colleague.email])
    for message in mail.outbox:
        assert message.subject == f"[{case.number}] {case.subject}"
        assert "Try **restarting** the agent." in message.body
        assert "<strong>restarting</strong>" in html_of(message)
        root = thread_root(case)
        assert message.extra_headers["In-Reply-To"] == root
        assert message.extra_headers["References"] == root
        assert message.extra_headers["Message-ID"] != root
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 2


def test_an_internal_note_sends_no_email(case: Case, support: User, committed: Any) -> None:
    case = services.assign_case(case=case, by=support, assignee=support)
    with committed():
        services.add_comment(case=case, by=support, body="Customer is on 18.1.", public=False)

    assert mail.outbox == []
    assert not OutboundEmail.objects.exclude(kind=EmailKind.CASE_FILED).exists()


def test_a_customer_reply_emails_the_assignee_only(
    case: Case, customer: User, support: User, committed: Any
) -> None:
    case = services.assign_case(case=case, by=support, assignee=support)
    with committed():
        services.add_comment(case=case, by=customer, body="Here are the logs.")

    [message] = mail.outbox
    assert message.to == [support.email]
    assert "Here are the logs." in message.body


def test_reclassification_email_gives_the_reason_and_what_the_new_type_means(
    case: Case, customer: User, support: User, committed: Any
) -> None:
    with committed():
        services.reclassify_case(
            case=case, by=support, to=CaseType.BUG, reason="The export loses rows: a defect."
        )

    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "The export loses rows: a defect." in message.body
    assert TYPE_DESCRIPTIONS[CaseType.BUG] in message.body
    assert TYPE_DESCRIPTIONS[CaseType.BUG] in html_of(message)


def test_waiting_on_customer_and_reopen_emails_say_so(
    case: Case, customer: User, support: User, committed: Any
) -> None:
    with committed():
        services.request_info(case=case, by=support, reason="Which agent version runs?")
    [waiting] = mail.outbox
    assert "Which agent version runs?" in waiting.body
    assert "reply to this email" in waiting.body

    case = services.resolve_case(
        case=Case.objects.get(pk=case.pk), by=support, resolution=Resolution.ANSWERED
    )
    mail.outbox.clear()
    with committed():
        services.reopen_case(case=case, by=support, reason="The customer still sees timeouts.")
    [reopened] = mail.outbox
    assert "reopened" in reopened.body
    assert "The customer still sees timeouts." in reopened.body


def test_resolved_email_names_the_knowledge_article(
    customer: User, support: User, committed: Any
) -> None:
    case = factories.file_case(reporter=customer, type=CaseType.QUESTION)
    article = factories.KnowledgeArticleFactory.create(title="Rotating the agent keys")
    with committed():
        services.resolve_case(
            case=case, by=support, resolution=Resolution.KB_ARTICLE, article=article
        )

    [message] = mail.outbox
    assert "Rotating the agent keys" in message.body
    assert f"/kb/{article.slug}/" in message.body
    assert f"/kb/{article.slug}/" in html_of(message)


def test_resolved_email_names_the_release_that_carries_the_fix(
    customer: User, support: User, committed: Any
) -> None:
    case = factories.file_case(reporter=customer, type=CaseType.BUG)
    release = factories.ReleaseFactory.create(version="18.2.0")
    case = services.acknowledge_case(case=case, by=support)
    case = services.escalate_case(case=case, by=support)
    case = services.schedule_fix(case=case, by=support, release=release)
    with committed():
        services.publish_release(release=release, by=support)

    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "18.2.0" in message.body


def test_a_kind_turned_off_is_not_sent_and_others_still_are(
    case: Case, customer: User, support: User, committed: Any
) -> None:
    NotificationPreference.objects.create(
        user=customer, kind=EmailKind.SUPPORT_REPLY, enabled=False
    )
    with committed():
        services.add_comment(case=case, by=support, body="An answer.")
        services.request_info(case=case, by=support, reason="Which version?")

    [message] = mail.outbox
    assert "Which version?" in message.body


def test_the_actor_is_not_emailed_about_their_own_change(
    case: Case, customer: User, colleague: User, committed: Any, support: User
) -> None:
    follow_case(case=case, user=colleague)
    case = services.resolve_case(case=case, by=support, resolution=Resolution.ANSWERED)
    with committed():
        services.reopen_case(case=case, by=customer, reason="Still broken.")

    assert [m.to for m in mail.outbox] == [[colleague.email]]


def test_only_customers_of_the_case_organization_may_follow_it(
    case: Case, other_customer: User, support: User
) -> None:
    with pytest.raises(ValidationError):
        follow_case(case=case, user=other_customer)
    with pytest.raises(ValidationError):
        follow_case(case=case, user=support)


def test_the_subject_carries_one_tag_even_when_the_case_subject_has_some(
    customer: User, committed: Any
) -> None:
    with committed():
        case = factories.file_case(reporter=customer, subject="Re: [CASE-000014] Fwd: Slow login")

    assert mail.outbox[0].subject == f"[{case.number}] Slow login"


def test_changes_recorded_while_silenced_send_nothing(customer: User, committed: Any) -> None:
    with committed(), notifications.silenced():
        factories.file_case(reporter=customer)

    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()
