"""Case search on PostgreSQL: the two ways of finding matches give the same cases."""

from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from cases import search, services
from cases.models import Case
from cases.search import search_cases
from tests import factories

pytestmark = pytest.mark.postgres


def found(cases: object) -> list[str]:
    return [c.subject for c in cases]  # type: ignore[attr-defined]


@pytest.fixture
def cases(customer: User, other_customer: User, support: User) -> None:
    factories.file_case(reporter=customer, subject="Timeouts on the gateway")
    factories.file_case(
        reporter=customer, subject="Slow", description="Every request hits the timeout."
    )
    replied = factories.file_case(reporter=customer, subject="Replied", description="Hm.")
    services.add_comment(case=replied, by=support, body="Raise the gateway timeout.")
    noted = factories.file_case(reporter=customer, subject="Noted", description="Hm.")
    services.add_comment(case=noted, by=support, body="A timeout, privately.", public=False)
    factories.file_case(reporter=customer, subject="Unrelated", description="Hm.")
    factories.file_case(reporter=other_customer, subject="Their timeout")


@pytest.mark.parametrize("common", [False, True])
@pytest.mark.usefixtures("cases")
def test_search_finds_cases_by_text_and_public_comments_whatever_the_plan(
    customer: User, monkeypatch: pytest.MonkeyPatch, common: bool
) -> None:
    monkeypatch.setattr(search, "_is_common", lambda text: common)

    matches = search_cases(Case.objects.visible_to(customer), "timeout")

    # Stemming matches "Timeouts"; an internal note and another
    # organization's case do not count.
    assert found(matches.order_by("-updated_at", "-id")) == [
        "Replied",
        "Slow",
        "Timeouts on the gateway",
    ]
    assert matches.count() == 3


@pytest.mark.usefixtures("cases")
def test_a_common_word_is_searched_in_list_order(
    customer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "_is_common", lambda text: True)
    with connection.cursor() as cursor:
        # As on a large table, where sorting every match costs more.
        cursor.execute("SET LOCAL enable_sort = off")

    matches = search_cases(Case.objects.visible_to(customer), "timeout")

    assert isinstance(matches, search.WalkedCases)
    assert "case_org_activity" in matches.order_by("-updated_at", "-id")[:25].explain()


@pytest.mark.usefixtures("cases")
def test_the_matches_of_a_rare_word_are_gathered_before_the_cases_are_read(
    customer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "_is_common", lambda text: False)
    with connection.cursor() as cursor:
        # As on a large table, where reading every visible case costs more.
        cursor.execute("SET LOCAL enable_seqscan = off")

    matches = search_cases(Case.objects.visible_to(customer), "timeout")

    plan = matches.select_related("reporter").order_by("-updated_at", "-id")[:25].explain()
    # The matches are one array, found before the first case is read.
    assert "InitPlan" in plan
    assert "id = ANY" in plan
    assert 'Sort Key: "V0".created_at' not in plan


@pytest.mark.usefixtures("cases")
def test_without_statistics_a_word_counts_as_rare(customer: User) -> None:
    assert not search._is_common("timeout")


@pytest.mark.usefixtures("cases")
def test_a_process_asks_the_statistics_of_a_search_once_in_a_while(
    monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        assert not search._is_common("timeout")
    with django_assert_num_queries(0):
        assert not search._is_common("timeout")
    with django_assert_num_queries(1):
        assert not search._is_common("gateway")
    monkeypatch.setattr(search, "STATISTICS_LIFETIME", 0.0)
    with django_assert_num_queries(1):
        assert not search._is_common("timeout")


def test_search_documents_follow_edits(customer: User, support: User) -> None:
    case = factories.file_case(reporter=customer, subject="Printer jam")
    Case.objects.filter(pk=case.pk).update(subject="Scanner jam")

    assert found(search_cases(Case.objects.all(), "scanner")) == ["Scanner jam"]
    assert found(search_cases(Case.objects.all(), "printer")) == []
