"""The API's case list: cursor pagination, ordering, filters and a fixed number of queries."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from cases import services
from cases.filters import CaseFilter, _only
from cases.models import Case, Channel
from tests import factories
from tests.test_api_cases import assert_error

ClientFor = Callable[[User | None], APIClient]

# The token with its user and their permissions, then the page of cases with
# everything it embeds (comments are counted on the case), for everyone.
LIST_QUERIES = {"customer": 2, "support": 2}


def all_pages(client: APIClient, query: str) -> list[dict[str, Any]]:
    """Follow the `next` links from the first page; return every row once per appearance."""
    rows: list[dict[str, Any]] = []
    link: str | None = f"/api/v1/cases/?{query}"
    pages = 0
    while link:
        response = client.get(link)
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        link = body["next"]
        pages += 1
        assert pages < 50, "pagination does not end"
    return rows


@pytest.fixture
def same_second_cases(customer: User) -> list[Case]:
    at = timezone.now().replace(microsecond=0)
    return [
        factories.file_case(reporter=customer, subject=f"Case {i}", severity=1 + i % 4, at=at)
        for i in range(25)
    ]


@pytest.mark.parametrize("ordering", ["", "-updated_at", "created_at", "severity", "-number"])
def test_paging_through_cases_filed_in_the_same_second_returns_each_once(
    api_client: ClientFor, customer: User, same_second_cases: list[Case], ordering: str
) -> None:
    rows = all_pages(api_client(customer), f"page_size=10&ordering={ordering}")
    numbers = [row["number"] for row in rows]
    assert len(numbers) == 25
    assert set(numbers) == {case.number for case in same_second_cases}


def test_default_order_is_most_recently_updated_first(
    api_client: ClientFor, customer: User, support: User
) -> None:
    first = factories.file_case(reporter=customer)
    second = factories.file_case(reporter=customer)
    services.add_comment(case=first, by=support, body="Touch")
    rows = all_pages(api_client(customer), "")
    assert [row["number"] for row in rows] == [first.number, second.number]


def test_a_case_filed_while_paging_does_not_shift_the_pages(
    api_client: ClientFor, customer: User, same_second_cases: list[Case]
) -> None:
    client = api_client(customer)
    first = client.get("/api/v1/cases/?page_size=10").json()
    factories.file_case(reporter=customer, subject="Newer")
    second = client.get(first["next"]).json()
    seen = [r["number"] for r in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("cursor=not-a-cursor", "cursor"),
        ("ordering=subject", "ordering"),
        ("type=feature", "type"),
        ("updated_after=yesterday", "updated_after"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(
    api_client: ClientFor, customer: User, query: str, field: str
) -> None:
    response = api_client(customer).get(f"/api/v1/cases/?{query}")
    assert field in assert_error(response, 400, "invalid")["errors"]


def numbers(client: APIClient, query: str) -> set[str]:
    return {row["number"] for row in all_pages(client, query)}


def test_filters_by_type_status_severity_channel_and_search(
    api_client: ClientFor, customer: User, support: User
) -> None:
    bug = factories.file_case(reporter=customer, type="bug", severity=1, subject="Crash on save")
    question = factories.file_case(
        reporter=customer, type="question", severity=4, description="How do I export?"
    )
    services.transition_case(case=question, by=support, name="acknowledge")
    phone = factories.file_case(reporter=customer, channel=Channel.PHONE)
    client = api_client(customer)
    assert numbers(client, "type=bug") == {bug.number}
    assert numbers(client, "status=open") == {question.number}
    assert numbers(client, "severity=4") == {question.number}
    assert numbers(client, "channel=phone") == {phone.number}
    assert numbers(client, "q=crash") == {bug.number}
    assert numbers(client, "q=EXPORT") == {question.number}
    assert numbers(client, "type=bug&severity=4") == set()


def test_a_filtered_list_builds_only_the_filters_it_names(db: None) -> None:
    filterset_class = _only(CaseFilter, ("status", "q"), Case)

    filterset = filterset_class(data={"status": "open"}, queryset=Case.objects.none())

    assert list(filterset.filters) == ["status", "q"]
    assert list(filterset.form.fields) == ["status", "q"]
    assert list(CaseFilter.base_filters)[:2] == ["type", "status"]


def test_filters_by_assignee_and_by_unassigned(
    api_client: ClientFor, customer: User, support: User
) -> None:
    mine = factories.file_case(reporter=customer)
    other = factories.file_case(reporter=customer)
    services.assign_case(case=mine, by=support, assignee=support)
    client = api_client(support)
    assert numbers(client, f"assignee={support.email}") == {mine.number}
    assert numbers(client, "assignee=none") == {other.number}


def test_staff_filter_by_organization_and_customers_stay_in_theirs(
    api_client: ClientFor, customer: User, other_customer: User, support: User
) -> None:
    mine = factories.file_case(reporter=customer)
    theirs = factories.file_case(reporter=other_customer)
    other_slug = other_customer.organization.slug  # type: ignore[union-attr]
    assert numbers(api_client(support), f"organization={other_slug}") == {theirs.number}
    assert numbers(api_client(customer), f"organization={other_slug}") == set()
    assert numbers(api_client(customer), "") == {mine.number}


def test_updated_after_returns_cases_changed_since(
    api_client: ClientFor, customer: User, support: User
) -> None:
    past = timezone.now() - datetime.timedelta(days=3)
    old = factories.file_case(reporter=customer, at=past)
    recent = factories.file_case(reporter=customer)
    since = (past + datetime.timedelta(days=1)).isoformat()
    client = api_client(customer)
    assert numbers(client, f"updated_after={since.replace('+', '%2B')}") == {recent.number}
    services.add_comment(case=old, by=support, body="Update")
    assert numbers(client, f"updated_after={since.replace('+', '%2B')}") == {
        old.number,
        recent.number,
    }


# A fixed number of queries ---------------------------------------------------


def file_cases(customer: User, support: User, count: int, comments: int) -> None:
    release = factories.ReleaseFactory.create()
    for i in range(count):
        case = factories.file_case(reporter=customer, type="bug", subject=f"Case {i}")
        services.assign_case(case=case, by=support, assignee=support)
        services.transition_case(case=case, by=support, name="acknowledge")
        services.transition_case(case=case, by=support, name="escalate")
        services.transition_case(case=case, by=support, name="schedule_fix", release=release)
        for n in range(comments):
            services.add_comment(case=case, by=support, body=f"Update {n}")


@pytest.mark.parametrize("role", ["customer", "support"])
@pytest.mark.parametrize(
    ("count", "page_size", "comments"), [(10, 10, 1), (100, 100, 1), (10, 10, 50)]
)
def test_case_list_takes_the_same_number_of_queries_whatever_the_page(
    api_client: ClientFor,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
    count: int,
    page_size: int,
    comments: int,
    role: str,
) -> None:
    file_cases(customer, support, count, comments)
    client = api_client(customer if role == "customer" else support)
    client.get("/api/v1/me/")  # the token's first use writes last_used_at once
    with django_assert_num_queries(LIST_QUERIES[role]):
        response = client.get(f"/api/v1/cases/?page_size={page_size}")
    rows = response.json()["results"]
    assert len(rows) == page_size
    assert {row["comment_count"] for row in rows} == {comments}
    assert {row["assignee"]["email"] for row in rows} == {support.email}
    assert {row["target_release"] for row in rows} != {None}
    assert {row["organization"]["name"] for row in rows} == {customer.organization.name}  # type: ignore[union-attr]
