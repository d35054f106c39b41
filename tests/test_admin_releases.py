"""Releases and knowledge articles in the staff workspace."""

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.models import (
    Case,
    CaseType,
    KnowledgeArticle,
    Release,
    Resolution,
    Status,
)
from tests import factories

pytestmark = pytest.mark.django_db


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def scheduled_bug(support: User, release: Release) -> Case:
    case = factories.file_case(type=CaseType.BUG)
    services.acknowledge_case(case=case, by=support)
    services.escalate_case(case=case, by=support)
    return services.schedule_fix(case=case, by=support, release=release)


@pytest.fixture
def release() -> Release:
    return factories.ReleaseFactory.create(version="31.0")


def test_publishing_a_release_with_three_scheduled_cases_resolves_exactly_those_three(
    client: Client, support: User, release: Release
) -> None:
    scheduled = [scheduled_bug(support, release) for _ in range(3)]
    elsewhere = scheduled_bug(support, factories.ReleaseFactory.create(version="32.0"))
    untouched = factories.file_case()
    client.force_login(support)

    response = client.post(reverse("admin:cases_release_publish", args=[release.pk]), follow=True)

    numbers = ", ".join(c.number for c in scheduled)
    assert messages_of(response) == [f"Release 31.0 published: 3 cases resolved ({numbers})."]
    assert [(fresh(c).status, fresh(c).resolution) for c in scheduled] == [
        (Status.RESOLVED, Resolution.FIXED_IN_RELEASE)
    ] * 3
    assert fresh(elsewhere).status == Status.FIX_SCHEDULED
    assert fresh(untouched).status == Status.NEW
    release.refresh_from_db()
    assert release.released_on == timezone.now().date()
    assert LogEntry.objects.filter(object_id=str(release.pk)).count() == 1


def test_publish_page_lists_the_cases_it_will_resolve(
    client: Client, engineer: User, support: User, release: Release
) -> None:
    case = scheduled_bug(support, release)
    client.force_login(engineer)

    change_page = client.get(reverse("admin:cases_release_change", args=[release.pk]))
    confirm_page = client.get(reverse("admin:cases_release_publish", args=[release.pk]))

    assert reverse("admin:cases_release_publish", args=[release.pk]) in change_page.content.decode()
    assert list(confirm_page.context["scheduled"]) == [case]
    assert fresh(case).status == Status.FIX_SCHEDULED  # a GET changes nothing


def test_engineer_publishes_a_release_with_the_list_action(
    client: Client, engineer: User, support: User, release: Release
) -> None:
    case = scheduled_bug(support, release)
    client.force_login(engineer)

    response = client.post(
        reverse("admin:cases_release_changelist"),
        {"action": "publish_selected", ACTION_CHECKBOX_NAME: [release.pk]},
        follow=True,
    )

    assert messages_of(response) == [f"Release 31.0 published: 1 case resolved ({case.number})."]
    assert fresh(case).status == Status.RESOLVED


def test_publishing_twice_is_refused_with_a_message(
    client: Client, support: User, release: Release
) -> None:
    client.force_login(support)
    client.post(reverse("admin:cases_release_publish", args=[release.pk]), follow=True)

    response = client.post(reverse("admin:cases_release_publish", args=[release.pk]), follow=True)

    assert messages_of(response) == [f"Release 31.0 was published on {timezone.now().date()}."]
    assert LogEntry.objects.filter(object_id=str(release.pk)).count() == 1


def test_staff_without_the_publish_permission_gets_403(
    client: Client, support: User, release: Release
) -> None:
    viewer = factories.UserFactory.create(is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_release", "view_case", "view_all_cases"])
    )
    client.force_login(viewer)

    response = client.post(reverse("admin:cases_release_publish", args=[release.pk]))

    assert response.status_code == 403
    release.refresh_from_db()
    assert release.released_on is None


def test_release_list_counts_scheduled_cases(
    client: Client, support: User, release: Release
) -> None:
    scheduled_bug(support, release)
    scheduled_bug(support, release)
    client.force_login(support)

    response = client.get(reverse("admin:cases_release_changelist"))

    shown = {r.version: r.scheduled_count for r in response.context["cl"].result_list}
    assert shown == {"31.0": 2}


def test_published_date_is_set_only_by_publishing(
    client: Client, support: User, release: Release
) -> None:
    client.force_login(support)

    client.post(
        reverse("admin:cases_release_change", args=[release.pk]),
        {"version": "31.0.1", "released_on": "2026-01-01"},
    )

    release.refresh_from_db()
    assert (release.version, release.released_on) == ("31.0.1", None)


# Knowledge articles -----------------------------------------------------------


def test_article_from_a_question_is_prefilled_from_the_case_and_linked(
    client: Client, support: User, customer: User
) -> None:
    question = factories.file_case(
        reporter=customer,
        type=CaseType.QUESTION,
        subject="How do I rotate the API key?",
        description="Where is the setting?",
    )
    services.add_comment(case=question, by=support, body="Settings → Security → Rotate.")
    services.add_comment(case=question, by=support, body="Old key works 24 h.", public=False)
    client.force_login(support)
    article_url = reverse("admin:cases_case_article", args=[question.pk])

    form_page = client.get(article_url)
    initial = form_page.context["form"].initial
    response = client.post(
        article_url, {"title": initial["title"], "body": initial["body"], "published": "on"}
    )

    assert initial["title"] == "How do I rotate the API key?"
    assert "Where is the setting?" in initial["body"]
    assert "Settings → Security → Rotate." in initial["body"]
    assert "Old key works 24 h." not in initial["body"]  # internal notes stay internal
    assert response.status_code == 302
    article = KnowledgeArticle.objects.get()
    assert (article.source_case_id, article.author_id, article.is_published) == (
        question.pk,
        support.pk,
        True,
    )


def test_article_button_is_shown_only_on_questions(
    client: Client, support: User, customer: User, case: Case
) -> None:
    question = factories.file_case(reporter=customer, type=CaseType.QUESTION)
    client.force_login(support)

    on_question = client.get(reverse("admin:cases_case_change", args=[question.pk]))
    on_issue = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    refused = client.post(
        reverse("admin:cases_case_article", args=[case.pk]), {"title": "T", "body": "B"}
    )

    assert "Create article from this case" in on_question.content.decode()
    assert "Create article from this case" not in on_issue.content.decode()
    assert refused.status_code == 302
    assert not KnowledgeArticle.objects.exists()


def test_engineer_cannot_write_articles(client: Client, engineer: User, customer: User) -> None:
    question = factories.file_case(reporter=customer, type=CaseType.QUESTION)
    client.force_login(engineer)

    response = client.post(
        reverse("admin:cases_case_article", args=[question.pk]), {"title": "T", "body": "B"}
    )

    assert response.status_code == 403
    assert not KnowledgeArticle.objects.exists()


def test_support_writes_and_edits_an_article(client: Client, support: User) -> None:
    client.force_login(support)

    client.post(
        reverse("admin:cases_knowledgearticle_add"),
        {"title": "Proxy settings", "slug": "proxy-settings", "body": "Set HTTPS_PROXY."},
    )
    article = KnowledgeArticle.objects.get()
    client.post(
        reverse("admin:cases_knowledgearticle_change", args=[article.pk]),
        {
            "title": "Proxy settings",
            "slug": "proxy-settings",
            "body": "Set HTTPS_PROXY and NO_PROXY.",
            "is_published": "on",
        },
    )

    article.refresh_from_db()
    assert (article.author_id, article.body, article.is_published) == (
        support.pk,
        "Set HTTPS_PROXY and NO_PROXY.",
        True,
    )
    assert article.updated_at > article.created_at
