"""The customer portal's case pages: list, filing, the case page and its actions."""

import re
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import get_script_prefix, reverse, set_script_prefix

from accounts.models import User
from cases import services
from cases.forms import CaseReplyForm
from cases.models import Case, CaseEvent, CaseType, EventKind, Resolution, Severity, Status
from cases.templatetags.casebook import fixed_url
from cases.views import CaseListView
from tests import factories
from tests.portal_helpers import upload

UNICODE_SUBJECT = "Zahlung fehlgeschlagen – €50 — 日本語テスト 🚀"  # noqa: RUF001 (the dashes are the point)


@pytest.fixture
def customer_client(client: Client, customer: User) -> Client:
    client.force_login(customer)
    return client


@pytest.fixture
def other_client(client: Client, other_customer: User) -> Client:
    client.force_login(other_customer)
    return client


def resolved(case: Case, support: User) -> Case:
    return services.resolve_case(case=case, by=support, resolution=Resolution.ANSWERED)


def detail_url(case: Case) -> str:
    return reverse("cases:detail", kwargs={"number": case.number})


def action_url(case: Case, action: str) -> str:
    return reverse(f"cases:{action}", kwargs={"number": case.number})


# Signing in is required ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/cases/new/", "/cases/CASE-000001/", "/kb/", "/kb/suggest/?subject=vpn"],
)
def test_anonymous_visitor_is_sent_to_sign_in(client: Client, db: None, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


# The list --------------------------------------------------------------------


def test_list_shows_own_organization_cases_newest_activity_first(
    customer_client: Client, customer: User
) -> None:
    older = factories.file_case(reporter=customer, subject="Older case")
    colleague = factories.CustomerFactory.create(organization=customer.organization)
    newer = factories.file_case(reporter=colleague, subject="Newer case")

    response = customer_client.get("/")

    assert response.status_code == 200
    assert list(response.context["cases"]) == [newer, older]


def test_list_never_shows_another_organizations_case(
    customer_client: Client, customer: User, other_customer: User
) -> None:
    factories.file_case(reporter=customer, subject="Ours")
    factories.file_case(reporter=other_customer, subject="Theirs, secret")

    response = customer_client.get("/")

    assert [c.subject for c in response.context["cases"]] == ["Ours"]
    assert "Theirs, secret" not in response.text


def test_search_never_finds_another_organizations_case(
    customer_client: Client, customer: User, other_customer: User
) -> None:
    theirs = factories.file_case(reporter=other_customer, subject="Firewall drops packets")
    services.add_comment(case=theirs, by=other_customer, body="firewall logs attached")

    response = customer_client.get("/", {"q": "firewall"})

    assert list(response.context["cases"]) == []
    assert "Firewall drops packets" not in response.text


def test_unicode_subject_is_stored_and_shown_exactly(
    customer_client: Client, customer: User
) -> None:
    response = customer_client.post(
        "/cases/new/",
        {
            "subject": UNICODE_SUBJECT,
            "description": "Die Zahlung schlägt fehl.",
            "type": CaseType.ISSUE,
            "severity": Severity.DEGRADED,
        },
    )
    case = Case.objects.get()
    assert case.subject == UNICODE_SUBJECT
    assert response["Location"] == detail_url(case)

    assert UNICODE_SUBJECT in customer_client.get("/").text
    assert UNICODE_SUBJECT in customer_client.get(detail_url(case)).text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "bug"}, {"bug-sev2"}),
        ({"status": "resolved"}, {"issue-resolved"}),
        ({"status": "active"}, {"bug-sev2", "issue-resolved", "question-mine"}),
        ({"severity": "2"}, {"bug-sev2"}),
        ({"scope": "mine"}, {"question-mine"}),
        ({"type": "nonsense"}, {"bug-sev2", "issue-resolved", "question-mine"}),
    ],
)
def test_list_filters_by_type_status_severity_and_scope(
    customer_client: Client,
    customer: User,
    support: User,
    params: dict[str, str],
    expected: set[str],
) -> None:
    colleague = factories.CustomerFactory.create(organization=customer.organization)
    factories.file_case(
        reporter=colleague, subject="bug-sev2", type=CaseType.BUG, severity=Severity.DEGRADED
    )
    resolved(factories.file_case(reporter=colleague, subject="issue-resolved"), support)
    factories.file_case(reporter=customer, subject="question-mine", type=CaseType.QUESTION)

    response = customer_client.get("/", params)

    assert response.status_code == 200
    assert {c.subject for c in response.context["cases"]} == expected


def test_search_matches_subject_description_and_public_comments_only(
    customer_client: Client, customer: User, support: User
) -> None:
    by_subject = factories.file_case(reporter=customer, subject="Certificate expired")
    by_description = factories.file_case(
        reporter=customer, subject="Login fails", description="The certificate chain is broken."
    )
    by_comment = factories.file_case(reporter=customer, subject="Slow dashboard")
    services.add_comment(case=by_comment, by=customer, body="Maybe the certificate again?")
    by_note = factories.file_case(reporter=customer, subject="Disk full")
    services.add_comment(case=by_note, by=support, body="certificate unrelated", public=False)
    factories.file_case(reporter=customer, subject="Unrelated")

    response = customer_client.get("/", {"q": "certificate"})

    assert set(response.context["cases"]) == {by_subject, by_description, by_comment}


def test_pagination_is_stable_when_cases_share_a_time(
    customer_client: Client, customer: User
) -> None:
    cases = [factories.file_case(reporter=customer, subject=f"case {i}") for i in range(23)]
    Case.objects.update(updated_at=cases[0].updated_at)

    seen: list[Case] = []
    response = customer_client.get("/", {"per_page": 10})
    seen.extend(response.context["cases"])
    while response.context["older_url"]:
        response = customer_client.get("/" + response.context["older_url"])
        seen.extend(response.context["cases"])

    assert len(seen) == 23
    assert set(seen) == set(cases)
    assert [c.pk for c in seen] == sorted((c.pk for c in cases), reverse=True)


def test_newer_and_older_links_walk_the_list_both_ways_and_keep_the_filters(
    customer_client: Client, customer: User
) -> None:
    cases = [factories.file_case(reporter=customer, subject=f"case {i}") for i in range(25)]
    newest_first = [c.pk for c in reversed(cases)]

    first = customer_client.get("/", {"per_page": "10", "type": "issue"})
    assert first.context["newer_url"] is None
    assert "type=issue" in first.context["older_url"]
    second = customer_client.get("/" + first.context["older_url"])
    third = customer_client.get("/" + second.context["older_url"])
    assert third.context["older_url"] is None
    back = customer_client.get("/" + third.context["newer_url"])
    back_to_first = customer_client.get("/" + back.context["newer_url"])

    assert [c.pk for c in second.context["cases"]] == newest_first[10:20]
    assert [c.pk for c in third.context["cases"]] == newest_first[20:]
    assert [c.pk for c in back.context["cases"]] == newest_first[10:20]
    assert [c.pk for c in back_to_first.context["cases"]] == newest_first[:10]
    assert back_to_first.context["newer_url"] is None
    assert 'rel="next">Older' in second.text
    assert 'rel="prev">' in second.text


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "1e400_1", "12.5_3", "12_x", "_", "-5_3", "1_" + "9" * 30, "9" * 18 + "_1"],
)
def test_a_malformed_cursor_shows_the_first_page(
    customer_client: Client, customer: User, cursor: str
) -> None:
    case = factories.file_case(reporter=customer)

    response = customer_client.get("/", {"after": cursor})

    assert response.status_code == 200
    assert list(response.context["cases"]) == [case]


def test_a_link_past_the_last_case_says_so_and_leads_back(
    customer_client: Client, customer: User
) -> None:
    factories.file_case(reporter=customer)

    response = customer_client.get("/", {"after": "1_1", "status": "new"})

    assert list(response.context["cases"]) == []
    assert "1 case matches the filters." in response.text
    assert 'href="?status=new">Back to the first page' in response.text


def test_the_count_stops_at_the_cap(
    customer_client: Client, customer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CaseListView, "COUNT_CAP", 3)
    for i in range(4):
        factories.file_case(reporter=customer, subject=f"case {i}")

    assert "More than 3 cases." in customer_client.get("/").text
    assert "More than 3 cases match the filters." in customer_client.get("/", {"severity": 3}).text
    Case.objects.filter(pk=Case.objects.order_by("pk")[0].pk).update(severity=2)
    assert "3 cases match the filters." in customer_client.get("/", {"severity": 3}).text


@pytest.mark.parametrize("per_page", [10, 100])
@pytest.mark.parametrize("comments", [1, 50])
def test_list_runs_a_fixed_number_of_queries(
    customer_client: Client,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
    comments: int,
    per_page: int,
) -> None:
    staff_member = factories.SupportFactory.create()
    colleague = factories.CustomerFactory.create(organization=customer.organization)
    for i in range(12):
        case = factories.file_case(reporter=colleague if i % 2 else customer, subject=f"case {i}")
        services.assign_case(case=case, by=support, assignee=staff_member)
        for j in range(comments if i < 2 else 1):
            services.add_comment(case=case, by=customer, body=f"comment {j}")

    # session with its user, the page with the count of the matching cases
    # (capped) and the user's organization for the page header, in one query
    with django_assert_num_queries(2):
        response = customer_client.get("/", {"per_page": per_page})
    with django_assert_num_queries(2):
        customer_client.get("/" + response.context["older_url"] if per_page == 10 else "/")

    assert len(response.context["cases"]) == min(12, per_page)
    assert "12 cases." in response.text


def test_an_empty_list_reads_the_organization_apart(
    customer_client: Client, customer: User, django_assert_num_queries: Any
) -> None:
    # session with its user, the (empty) page, the user's organization (page header)
    with django_assert_num_queries(3):
        response = customer_client.get("/")

    organization = customer.organization
    assert organization is not None
    assert f"Cases of <bdi>{organization.name}</bdi>" in response.text
    assert "No cases yet." in response.text


# Filing ----------------------------------------------------------------------


def test_new_case_form_explains_types_and_severities(customer_client: Client) -> None:
    response = customer_client.get("/cases/new/")

    assert response.status_code == 200
    text = response.text
    assert "Not sure? Choose Issue" in text
    assert "resolved when the release with the fix is published" in text
    assert "Production is down or unusable" in text
    assert 'hx-get="/kb/suggest/"' in text


def test_filing_a_case_goes_through_the_service_with_the_portal_channel(
    customer_client: Client, customer: User
) -> None:
    response = customer_client.post(
        "/cases/new/",
        {
            "subject": "VPN drops every hour",
            "description": "Since **18.1.2**.",
            "type": CaseType.QUESTION,
            "severity": Severity.NOT_URGENT,
            "product_version": "18.1.2",
        },
    )

    case = Case.objects.get()
    assert response.status_code == 302
    assert (case.reporter, case.organization, case.channel) == (
        customer,
        customer.organization,
        "portal",
    )
    assert (case.type, case.status, case.product_version) == ("question", "new", "18.1.2")
    assert CaseEvent.objects.filter(case=case, kind=EventKind.FILED).count() == 1


def test_filing_with_missing_fields_shows_field_errors_and_stores_nothing(
    customer_client: Client,
) -> None:
    response = customer_client.post("/cases/new/", {"subject": "", "type": "issue"})

    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"subject", "description", "severity"}
    assert Case.objects.count() == 0


def test_filing_is_refused_with_403_without_the_permission(client: Client, db: None) -> None:
    organization = factories.OrganizationFactory.create()
    no_role = factories.UserFactory.create(organization=organization)
    client.force_login(no_role)

    response = client.post(
        "/cases/new/",
        {"subject": "x", "description": "y", "type": "issue", "severity": "3"},
    )

    assert response.status_code == 403
    assert Case.objects.count() == 0


# The case page -------------------------------------------------------------


def test_case_page_shows_the_facts_of_the_case(
    customer_client: Client, customer: User, support: User
) -> None:
    case = factories.file_case(reporter=customer, product_version="18.1.2")
    services.assign_case(case=case, by=support, assignee=support)

    response = customer_client.get(detail_url(case))

    assert response.status_code == 200
    text = response.text
    for fact in (case.number, case.subject, "Issue", "New", "3 - Not urgent", "18.1.2"):
        assert fact in text
    assert customer.name in text
    assert support.name in text


def test_case_of_another_organization_is_404_on_every_route(
    other_client: Client, case: Case
) -> None:
    assert other_client.get(detail_url(case)).status_code == 404
    assert other_client.post(action_url(case, "reply"), {"body": "hi"}).status_code == 404
    assert other_client.post(action_url(case, "close")).status_code == 404
    assert other_client.post(action_url(case, "reopen"), {"reason": "x"}).status_code == 404
    assert case.comments.count() == 0


@pytest.mark.parametrize("number", ["CASE-999999", "garbage", "CASE-١٢٣"])
def test_unknown_or_malformed_case_number_is_404(customer_client: Client, number: str) -> None:
    assert customer_client.get(f"/cases/{number}/").status_code == 404


def test_timeline_shows_reclassification_with_reason_and_what_the_type_means(
    customer_client: Client, case: Case, support: User
) -> None:
    services.reclassify_case(
        case=case, by=support, to=CaseType.BUG, reason="Reproduced in our lab on 18.1.2."
    )

    text = customer_client.get(detail_url(case)).text

    assert "Reproduced in our lab on 18.1.2." in text
    assert "Reclassified the case from" in text
    assert "resolved when the release with the fix is published" in text


def test_timeline_never_shows_internal_notes_to_customers(
    customer_client: Client, case: Case, support: User
) -> None:
    services.add_comment(case=case, by=support, body="Public answer for you.")
    services.add_comment(
        case=case, by=support, body="Internal: customer is difficult", public=False
    )

    text = customer_client.get(detail_url(case)).text

    assert "Public answer for you." in text
    assert "customer is difficult" not in text
    assert "Internal" not in text


def test_staff_see_internal_notes_on_the_case_page(
    client: Client, case: Case, support: User
) -> None:
    services.add_comment(case=case, by=support, body="Internal: check the logs", public=False)
    client.force_login(support)

    text = client.get(detail_url(case)).text

    assert "Internal: check the logs" in text


def test_timeline_shows_status_changes_with_resolution(
    customer_client: Client, case: Case, support: User
) -> None:
    resolved(case, support)

    response = customer_client.get(detail_url(case))

    assert "status-resolved" in response.text
    assert "resolution: Answered" in response.text


@pytest.mark.parametrize("follower", [False, True])
@pytest.mark.parametrize(("comments", "reclassify"), [(1, False), (50, True)])
def test_case_page_runs_a_fixed_number_of_queries(
    client: Client,
    case: Case,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
    comments: int,
    reclassify: bool,
    follower: bool,
) -> None:
    services.assign_case(case=case, by=support, assignee=support)
    for i in range(comments):
        author = support if i % 2 else customer
        services.add_comment(
            case=case,
            by=author,
            body=f"comment {i}",
            attachments=[upload(f"log-{i}.txt", b"x" * 10)],
        )
    if reclassify:
        services.reclassify_case(case=case, by=support, to=CaseType.BUG, reason="A defect.")
    # The reporter, or a colleague who may follow the case.
    reader = (
        factories.CustomerFactory.create(organization=customer.organization)
        if follower
        else customer
    )
    client.force_login(reader)

    # session with its user and their permissions, the case (with its
    # organization for the page header, its people, release, article and whether
    # the user follows it), the events with the case's files
    with django_assert_num_queries(3):
        response = client.get(detail_url(case))

    assert response.status_code == 200
    assert ("Follow this case" in response.text) is follower
    assert response.text.count('class="event event-commented') == comments


def test_a_closed_case_page_asks_no_permission(
    customer_client: Client,
    case: Case,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
) -> None:
    services.close_case(case=resolved(case, support), by=customer)

    # session with its user, the case, the events with the case's files
    with django_assert_num_queries(3):
        response = customer_client.get(detail_url(case))

    assert "Send reply" not in response.text


def test_the_empty_reply_form_is_written_as_its_fields_render(
    customer_client: Client, case: Case
) -> None:
    """The case page writes the empty reply form out by hand: it must stay what Django renders."""
    form = CaseReplyForm()
    expected = render_to_string("cases/_field.html", {"field": form["body"]}) + render_to_string(
        "cases/_field.html", {"field": form["attachments"]}
    )

    text = customer_client.get(detail_url(case)).text

    def squeeze(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    reply = text[text.index('<section class="reply"') :].split("</section>")[0]
    assert squeeze(expected) in squeeze(reply)


# Replying ------------------------------------------------------------------


def test_customer_reply_is_added_and_moves_a_waiting_case_back_to_open(
    customer_client: Client, case: Case, support: User
) -> None:
    services.request_info(case=case, by=support)

    response = customer_client.post(action_url(case, "reply"), {"body": "Here are the logs."})

    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.status == Status.OPEN
    assert case.comments.get().body == "Here are the logs."


def test_empty_reply_is_a_field_error(customer_client: Client, case: Case) -> None:
    response = customer_client.post(action_url(case, "reply"), {"body": "  "})

    assert response.status_code == 400
    assert "body" in response.context["reply_form"].errors
    assert case.comments.count() == 0


def test_reply_on_a_closed_case_is_refused_with_the_services_reason(
    customer_client: Client, case: Case, customer: User, support: User
) -> None:
    services.close_case(case=resolved(case, support), by=customer)

    response = customer_client.post(action_url(case, "reply"), {"body": "One more thing"})

    assert response.status_code == 400
    assert "This case is closed" in response.text
    assert case.comments.count() == 0


def test_reply_without_the_permission_is_403(client: Client, case: Case) -> None:
    colleague_without_role = factories.UserFactory.create(organization=case.organization)
    client.force_login(colleague_without_role)

    response = client.post(action_url(case, "reply"), {"body": "hello"})

    assert response.status_code == 403


# Closing and reopening -------------------------------------------------------


def test_customer_closes_a_resolved_case(
    customer_client: Client, case: Case, support: User
) -> None:
    resolved(case, support)
    assert "Close the case" in customer_client.get(detail_url(case)).text

    response = customer_client.post(action_url(case, "close"))

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_closing_an_unresolved_case_is_a_409_with_the_reason(
    customer_client: Client, case: Case
) -> None:
    response = customer_client.post(action_url(case, "close"))

    assert response.status_code == 409
    assert "not possible while the case is new" in response.text
    assert Case.objects.get(pk=case.pk).status == Status.NEW


def test_customer_reopens_a_resolved_case_with_a_reason(
    customer_client: Client, case: Case, support: User
) -> None:
    resolved(case, support)

    response = customer_client.post(action_url(case, "reopen"), {"reason": "Still broken."})

    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.status == Status.OPEN
    assert case.events.filter(transition="reopen").get().reason == "Still broken."
    assert "Still broken." in customer_client.get(detail_url(case)).text


def test_reopening_without_a_reason_is_a_field_error(
    customer_client: Client, case: Case, support: User
) -> None:
    resolved(case, support)

    response = customer_client.post(action_url(case, "reopen"), {"reason": ""})

    assert response.status_code == 400
    assert "reason" in response.context["reopen_form"].errors
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED


def test_reopening_a_closed_case_is_a_409(
    customer_client: Client, case: Case, customer: User, support: User
) -> None:
    services.close_case(case=resolved(case, support), by=customer)

    response = customer_client.post(action_url(case, "reopen"), {"reason": "Again"})

    assert response.status_code == 409
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_close_and_reopen_are_offered_only_on_a_resolved_case(
    customer_client: Client, case: Case
) -> None:
    text = customer_client.get(detail_url(case)).text

    assert "Close the case" not in text
    assert "Reopen the case" not in text


# Markdown in pages -----------------------------------------------------------


def test_html_in_a_description_is_shown_as_text(customer_client: Client, customer: User) -> None:
    case = factories.file_case(
        reporter=customer,
        description="<script>alert(1)</script> <img src=x onerror=alert(1)> **bold**",
    )

    text = customer_client.get(detail_url(case)).text

    assert "<script>alert(1)" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<strong>bold</strong>" in text


def test_list_shows_25_cases_a_page_by_default_and_says_so(
    customer_client: Client, customer: User
) -> None:
    for i in range(26):
        factories.file_case(reporter=customer, subject=f"case {i}")

    response = customer_client.get("/", {"type": "issue"})

    assert len(response.context["cases"]) == 25
    assert '<option value="25" selected>' in response.text


@pytest.mark.parametrize("prefix", ["/", "/support/"])
def test_fixed_url_is_what_url_reverses(prefix: str) -> None:
    """The page header's addresses, reversed once, follow the script prefix as {% url %} does."""
    names = ["cases:list", "cases:new", "kb:list", "accounts:notifications", "accounts:logout"]
    previous = get_script_prefix()
    set_script_prefix(prefix)
    try:
        for name in names:
            assert fixed_url(name) == reverse(name)
            assert reverse(name).startswith(prefix)
    finally:
        set_script_prefix(previous)
