"""The staff workspace's case list and case page: buttons, transitions, refusals, permissions."""

import datetime
import re
from typing import Any

import pytest
from django.contrib.admin import ModelAdmin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import admin_page, admin_queries, services
from cases.admin import CappedCountPaginator, CaseAdmin
from cases.models import Case, CaseEvent, CaseType, Comment, EventKind, Severity, Status
from tests import factories

pytestmark = pytest.mark.django_db


def change_url(case: Case) -> str:
    return reverse("admin:cases_case_change", args=[case.pk])


def reclassify_url(case: Case, to: str) -> str:
    return reverse("admin:cases_case_reclassify", args=[case.pk, to])


def transition_url(case: Case, name: str) -> str:
    return reverse("admin:cases_case_transition", args=[case.pk, name])


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def support_client(client: Client, support: User) -> Client:
    client.force_login(support)
    return client


@pytest.fixture
def engineer_client(client: Client, engineer: User) -> Client:
    client.force_login(engineer)
    return client


# The list -------------------------------------------------------------------


def test_case_list_shows_number_subject_and_organization(
    support_client: Client, case: Case
) -> None:
    response = support_client.get(reverse("admin:cases_case_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert case.number in page
    assert case.subject in page
    assert case.organization.name in page


def test_case_list_finds_a_case_by_its_number(support_client: Client, customer: User) -> None:
    wanted = factories.file_case(reporter=customer, subject="Wanted one")
    factories.file_case(reporter=customer, subject="Another one")

    for term in (wanted.number, wanted.number.lower(), f" {wanted.number} "):
        response = support_client.get(reverse("admin:cases_case_changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [wanted], term
    # Bare digits find the case too, beside any text that has them.
    response = support_client.get(reverse("admin:cases_case_changelist"), {"q": str(wanted.pk)})
    assert wanted in response.context["cl"].result_list


def test_case_list_finds_cases_by_reporter_email_and_organization(
    support_client: Client,
) -> None:
    # Names that are not substrings of each other (the search matches parts of words).
    customer = factories.CustomerFactory.create(
        email="ingrid@fjell.example.com",
        organization=factories.OrganizationFactory.create(name="Fjellheim Kraft"),
    )
    other_customer = factories.CustomerFactory.create(
        email="tomas@delta.example.com",
        organization=factories.OrganizationFactory.create(name="Deltaport Logistik"),
    )
    mine = factories.file_case(reporter=customer)
    factories.file_case(reporter=other_customer)

    by_email = support_client.get(reverse("admin:cases_case_changelist"), {"q": customer.email})
    by_org = support_client.get(
        reverse("admin:cases_case_changelist"), {"q": mine.organization.name}
    )

    assert list(by_email.context["cl"].result_list) == [mine]
    assert list(by_org.context["cl"].result_list) == [mine]


def test_case_list_search_finds_cases_where_every_word_is_in_some_field(
    support_client: Client, django_assert_num_queries: Any
) -> None:
    fjell = factories.CustomerFactory.create(
        email="ingrid@fjell.example.com",
        organization=factories.OrganizationFactory.create(name="Fjellheim Kraft"),
    )
    delta = factories.CustomerFactory.create(
        email="tomas@delta.example.com",
        organization=factories.OrganizationFactory.create(name="Deltaport Logistik"),
    )
    wanted = factories.file_case(reporter=fjell, subject="Export drops rows")
    elsewhere = factories.file_case(reporter=delta, subject="Export drops rows")
    factories.file_case(reporter=fjell, subject="Login fails")
    url = reverse("admin:cases_case_changelist")
    support_client.get(url)  # warm the content-type and permission caches

    # The queries of the list, and one for the organizations and reporters the words name.
    with django_assert_num_queries(5):
        by_words = support_client.get(url, {"q": "fjell export"})
    by_phrase = support_client.get(url, {"q": '"drops rows"'})
    by_email_and_org = support_client.get(url, {"q": "tomas@delta deltaport"})

    assert list(by_words.context["cl"].result_list) == [wanted]
    assert set(by_phrase.context["cl"].result_list) == {wanted, elsewhere}
    assert list(by_email_and_org.context["cl"].result_list) == [elsewhere]


def test_waiting_on_us_filter_lists_cases_where_the_customer_spoke_last(
    support_client: Client, support: User, customer: User
) -> None:
    waiting = factories.file_case(reporter=customer, subject="Nobody answered")
    answered = factories.file_case(reporter=customer, subject="Answered")
    services.acknowledge_case(case=answered, by=support)
    services.add_comment(case=answered, by=support, body="Here is how.")

    response = support_client.get(reverse("admin:cases_case_changelist"), {"waiting": "yes"})

    assert list(response.context["cl"].result_list) == [waiting]


def test_default_order_puts_the_oldest_unanswered_severity_one_case_first(
    support_client: Client, support: User, customer: User
) -> None:
    now = timezone.now()
    newer_sev1 = factories.file_case(
        reporter=customer, severity=Severity.PRODUCTION_DOWN, at=now - datetime.timedelta(hours=1)
    )
    older_sev1 = factories.file_case(
        reporter=customer, severity=Severity.PRODUCTION_DOWN, at=now - datetime.timedelta(days=2)
    )
    older_sev3 = factories.file_case(
        reporter=customer, severity=Severity.NOT_URGENT, at=now - datetime.timedelta(days=5)
    )
    answered_sev1 = factories.file_case(
        reporter=customer, severity=Severity.PRODUCTION_DOWN, at=now - datetime.timedelta(days=9)
    )
    services.add_comment(case=answered_sev1, by=support, body="On it.")

    response = support_client.get(reverse("admin:cases_case_changelist"))

    assert list(response.context["cl"].result_list) == [
        older_sev1,
        newer_sev1,
        older_sev3,
        answered_sev1,
    ]


def _seed_cases(count: int, comments: int) -> None:
    support = factories.SupportFactory.create()
    cases = []
    for index in range(count):
        case = factories.file_case(severity=1 + index % 4)
        if index % 2:
            services.assign_case(case=case, by=support, assignee=support)
        cases.append(case)
    # Straight into the table: the list shows no comment, whatever their number.
    Comment.objects.bulk_create(
        Comment(case=case, author=support, body=f"Note {n}")
        for case in cases
        for n in range(comments)
    )


@pytest.mark.parametrize("comments", [1, 50])
@pytest.mark.parametrize("page_size", [10, 100])
def test_case_list_runs_a_fixed_number_of_queries_whatever_the_page_size(
    support_client: Client,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    page_size: int,
    comments: int,
) -> None:
    _seed_cases(101, comments)
    monkeypatch.setattr(CaseAdmin, "list_per_page", page_size)
    url = reverse("admin:cases_case_changelist")
    support_client.get(url)  # warm the content-type and permission caches

    # session with its user and their permissions (one query), the assignee
    # filter's staff, the page count (capped), the page itself (organizations and
    # assignees joined). The organization filter reads nothing until one is chosen.
    with django_assert_num_queries(4):
        response = support_client.get(url)

    assert len(response.context["cl"].result_list) == page_size


@pytest.mark.parametrize("search", ["", "virtual"])  # compiled SQL, and the ORM's
def test_a_list_longer_than_the_count_cap_says_more_than(
    support_client: Client, monkeypatch: pytest.MonkeyPatch, search: str
) -> None:
    _seed_cases(7, 0)
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CaseAdmin, "list_per_page", 2)
    url = reverse("admin:cases_case_changelist")
    query = {"q": search} if search else {}
    written = support_client.get(url, query).content.decode()
    # The same words where the admin's templates write the page.
    with monkeypatch.context() as templates_only:
        templates_only.setattr(admin_page, "can_render", lambda context: False)
        rendered = support_client.get(url, query).content.decode()
    for page in (written, rendered):
        assert "more than 5 cases" in page
        assert "Select all of the more than 5 cases" in page
        assert "All of the more than 5 selected" in page
        assert "6 cases" not in page
        assert "6 selected" not in page
        if search:
            assert "more than 5 results" in page
            assert "6 results" not in page
        # Counted up to the cap and one more: the pages of six cases, the last with one.
        assert "p=3" in page
        assert "p=4" not in page

    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    page = support_client.get(url, query).content.decode()
    assert "7 cases" in page
    assert "Select all 7 cases" in page
    assert "more than" not in page


def test_case_list_rows_are_the_markup_of_djangos_result_list(
    support_client: Client,
    support: User,
    customer: User,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factories.file_case(reporter=customer, subject='Quotes "and" <b>tags</b> & more')
    answered = factories.file_case(reporter=customer, severity=Severity.PRODUCTION_DOWN)
    services.assign_case(case=answered, by=support, assignee=support)
    services.add_comment(case=answered, by=support, body="On it.")

    # An ordering, kept in each row's links to the case.
    response = support_client.get(reverse("admin:cases_case_changelist"), {"o": "-1"})

    cl = response.context["cl"]
    page = response.content.decode()
    our_checkbox = CaseAdmin.action_checkbox
    monkeypatch.setattr(CaseAdmin, "action_checkbox", ModelAdmin.action_checkbox)
    with django_assert_num_queries(0):  # the page read every field its columns show
        expected = [
            "<tr>" + "".join(items_for_result(cl, case, None)) + "</tr>" for case in cl.result_list
        ]
    assert cl.rows == expected
    model_admin = cl.model_admin
    for case in cl.result_list:  # the checkbox of Django's own rows, if they are used
        assert our_checkbox(model_admin, case) == ModelAdmin.action_checkbox(model_admin, case)
    assert "_changelist_filters=o%3D-1" in expected[0]
    for row in cl.rows:
        assert row in page


def _same_markup(page: str) -> str:
    """`page` with its CSRF tokens (new each time) and the runs of whitespace made equal."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', page)
    return re.sub(r"\s+", " ", page)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"o": "-1.3"},
        {"o": "2.-6", "p": "2", "severity__exact": "1"},
        {"waiting": "yes", "status__exact": "new", "q": "one"},
        {"assignee": "me", "organization__id__exact": "1"},
        {"q": "nothing finds this"},
        {"_facets": "True"},
        {"all": ""},
    ],
)
def test_case_list_page_is_the_page_of_the_admins_templates(
    support_client: Client,
    support: User,
    customer: User,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, str],
) -> None:
    factories.file_case(reporter=customer, subject='Quotes "and" <b>tags</b> & more')
    for index in range(3):
        case = factories.file_case(reporter=customer, subject=f"Case one {index}")
        services.assign_case(case=case, by=support, assignee=support)
    monkeypatch.setattr(CaseAdmin, "list_per_page", 2)
    url = reverse("admin:cases_case_changelist")
    # A message, shown once by the page after the action.
    support_client.post(url, {"action": "acknowledge_selected", "index": "0"})

    pages: list[Any] = []
    render_page = admin_page.render_page

    def counted(context: Any) -> Any:
        pages.append(context)
        return render_page(context)

    monkeypatch.setattr(admin_page, "render_page", counted)
    written = support_client.get(url, query)
    assert written.status_code == 200
    assert len(pages) == 1  # written in Python
    monkeypatch.setattr(admin_page, "can_render", lambda context: False)
    support_client.post(url, {"action": "acknowledge_selected", "index": "0"})
    rendered = support_client.get(url, query)

    assert _same_markup(written.content.decode()) == _same_markup(rendered.content.decode())
    assert "messagelist" in written.content.decode()


def test_organization_filter_lists_only_the_chosen_organization(
    support_client: Client,
) -> None:
    mine = factories.file_case(
        reporter=factories.CustomerFactory.create(
            organization=factories.OrganizationFactory.create(name="Fjellheim Kraft")
        )
    )
    factories.file_case(
        reporter=factories.CustomerFactory.create(
            organization=factories.OrganizationFactory.create(name="Deltaport Logistik")
        )
    )
    url = reverse("admin:cases_case_changelist")

    every = support_client.get(url, {"status__exact": "new"})
    chosen = support_client.get(
        url, {"organization__id__exact": str(mine.organization_id), "status__exact": "new"}
    )

    def organization_filter(response: Any) -> Any:
        return next(s for s in response.context["cl"].filter_specs if s.title == "organization")

    assert organization_filter(every).lookup_choices == []
    assert organization_filter(every).kept == [("status__exact", "new")]
    assert list(chosen.context["cl"].result_list) == [mine]
    assert organization_filter(chosen).lookup_choices == [
        (str(mine.organization_id), "Fjellheim Kraft")
    ]
    page = chosen.content.decode()
    assert f'<option value="{mine.organization_id}" selected>Fjellheim Kraft</option>' in page
    assert 'class="admin-autocomplete"' in page


def test_organization_filter_finds_organizations_by_name(support_client: Client) -> None:
    wanted = factories.OrganizationFactory.create(name="Fjellheim Kraft")
    factories.OrganizationFactory.create(name="Deltaport Logistik")

    response = support_client.get(
        reverse("admin:autocomplete"),
        {"term": "fjell", "app_label": "cases", "model_name": "case", "field_name": "organization"},
    )

    assert response.status_code == 200
    assert response.json()["results"] == [{"id": str(wanted.pk), "text": "Fjellheim Kraft"}]


# The case page --------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["assignee", "organization__id__exact"])
def test_case_list_ignores_a_filter_value_that_is_no_number(
    support_client: Client, case: Case, parameter: str
) -> None:
    # "²" is a digit to str.isdigit() but no number to int(): no id, no filter.
    response = support_client.get(reverse("admin:cases_case_changelist"), {parameter: "\u00b2"})

    assert response.status_code == 200
    assert case.number in response.content.decode()


@pytest.mark.parametrize("parameter", ["assignee", "organization__id__exact", "organization"])
def test_case_list_refuses_an_id_beyond_what_the_database_holds(
    support_client: Client, case: Case, parameter: str
) -> None:
    # SQLite cannot even take such a number: the admin's "?e=1" page, not a 500.
    url = reverse("admin:cases_case_changelist")
    response = support_client.get(url, {parameter: "99999999999999999999"})

    assert response.status_code == 302
    assert response["Location"] == url + "?e=1"


def test_case_page_shows_one_button_per_move_support_may_make_now(
    support_client: Client, case: Case
) -> None:
    response = support_client.get(change_url(case))

    assert response.status_code == 200
    assert [m["to"] for m in response.context["type_moves"]] == ["bug", "enhancement"]
    assert [m["name"] for m in response.context["status_moves"]] == [
        "acknowledge",
        "request_info",
        "resolve",
    ]
    page = response.content.decode()
    assert "Reclassify as bug" in page
    assert "Reclassify as issue" not in page
    assert f"{reclassify_url(case, 'bug')}?version={case.version}" in page


def test_engineer_sees_no_reclassify_or_assign_button(
    engineer_client: Client, support: User, case: Case
) -> None:
    services.acknowledge_case(case=case, by=support)

    response = engineer_client.get(change_url(case))

    assert response.status_code == 200
    assert response.context["type_moves"] == []
    assert [m["name"] for m in response.context["status_moves"]] == ["request_info"]
    page = response.content.decode()
    assert "Reclassify as" not in page
    assert "Assign to me" not in page


def test_case_page_shows_type_and_status_read_only(support_client: Client, case: Case) -> None:
    response = support_client.get(change_url(case))

    form = response.context["adminform"].form
    assert "type" not in form.fields
    assert "status" not in form.fields
    assert "subject" in form.fields


def test_change_form_post_cannot_change_type_or_status(support_client: Client, case: Case) -> None:
    response = support_client.post(
        change_url(case),
        {
            "subject": "A better subject",
            "description": case.description,
            "severity": case.severity,
            "product_version": case.product_version,
            "type": "bug",
            "status": "closed",
            "version": 99,
        },
    )

    assert response.status_code == 302
    case_now = fresh(case)
    assert case_now.subject == "A better subject"
    assert (case_now.type, case_now.status) == (CaseType.ISSUE, Status.NEW)
    assert case_now.version == case.version + 1


# Transitions ----------------------------------------------------------------


def test_support_reclassifies_an_issue_as_bug_with_a_reason(
    support_client: Client, support: User, case: Case
) -> None:
    response = support_client.post(
        reclassify_url(case, "bug"),
        {"version": case.version, "reason": "The export drops rows: a defect."},
        follow=True,
    )

    assert response.status_code == 200
    case_now = fresh(case)
    assert case_now.type == CaseType.BUG
    events = CaseEvent.objects.filter(case=case, kind=EventKind.RECLASSIFIED)
    assert [(e.from_value, e.to_value, e.reason, e.is_public) for e in events] == [
        ("issue", "bug", "The export drops rows: a defect.", True)
    ]
    assert f"{case.number} is now bug." in messages_of(response)
    entry = LogEntry.objects.get(object_id=str(case.pk), action_flag=CHANGE)
    assert entry.user_id == support.pk
    assert "Reclassified from issue to bug" in entry.get_change_message()
    assert "Reclassify as issue" in response.content.decode()  # the page shows the new moves


def test_reclassification_needs_a_reason(support_client: Client, case: Case) -> None:
    response = support_client.post(
        reclassify_url(case, "bug"), {"version": case.version, "reason": "  "}
    )

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert fresh(case).type == CaseType.ISSUE


def test_engineer_posting_a_reclassification_by_hand_gets_403_and_nothing_changes(
    engineer_client: Client, case: Case
) -> None:
    response = engineer_client.post(
        reclassify_url(case, "bug"), {"version": case.version, "reason": "I think so."}
    )

    assert response.status_code == 403
    assert fresh(case).type == CaseType.ISSUE
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.RECLASSIFIED).exists()
    assert not LogEntry.objects.exists()


def test_staff_without_the_transition_permission_gets_403_on_a_crafted_status_post(
    engineer_client: Client, case: Case
) -> None:
    response = engineer_client.post(transition_url(case, "acknowledge"), {"version": 1})

    assert response.status_code == 403
    assert fresh(case).status == Status.NEW


def test_question_cannot_become_issue_and_nothing_else_submitted_is_kept(
    support_client: Client, customer: User
) -> None:
    question = factories.file_case(reporter=customer, type=CaseType.QUESTION)

    response = support_client.post(
        reclassify_url(question, "issue"),
        {"version": question.version, "reason": "Try", "subject": "Hijacked", "severity": 1},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == change_url(question)
    assert messages_of(response) == [
        "A question cannot become an issue. Allowed now: bug, enhancement."
    ]
    now = fresh(question)
    assert (now.type, now.subject, now.severity, now.version) == (
        CaseType.QUESTION,
        question.subject,
        question.severity,
        question.version,
    )
    assert CaseEvent.objects.filter(case=question).count() == 1  # only "filed"
    assert not LogEntry.objects.exists()


def test_a_move_on_a_closed_case_is_refused_with_a_message(
    support_client: Client, support: User, case: Case
) -> None:
    services.resolve_case(case=case, by=support, resolution="answered")
    closed = services.close_case(case=case, by=support)

    response = support_client.post(
        transition_url(closed, "reopen"),
        {"version": closed.version, "reason": "Still broken", "subject": "Hijacked"},
        follow=True,
    )

    assert "“Reopen” is not possible while the case is closed. No move is allowed now." in (
        messages_of(response)
    )
    now = fresh(closed)
    assert (now.status, now.subject, now.version) == (Status.CLOSED, case.subject, closed.version)


def test_a_stale_page_is_refused_and_changes_nothing(
    support_client: Client, support: User, case: Case
) -> None:
    shown_version = case.version
    someone_else = factories.SupportFactory.create()
    services.acknowledge_case(case=case, by=someone_else)
    moved = fresh(case)

    response = support_client.post(
        transition_url(case, "resolve"),
        {"version": shown_version, "resolution": "answered", "reason": "", "subject": "X"},
        follow=True,
    )

    assert messages_of(response) == [
        f"Someone changed this case since you loaded it (version {shown_version}, now "
        f"{moved.version}). Reload it and try again."
    ]
    now = fresh(case)
    assert (now.status, now.resolution, now.subject, now.version) == (
        Status.OPEN,
        "",
        case.subject,
        moved.version,
    )


def test_transition_form_carries_the_version_the_case_page_showed(
    support_client: Client, support: User, case: Case
) -> None:
    shown_version = case.version
    services.acknowledge_case(case=case, by=support)

    response = support_client.get(transition_url(case, "resolve") + f"?version={shown_version}")

    assert response.context["form"]["version"].value() == shown_version


def test_support_acknowledges_then_resolves_from_the_case_page(
    support_client: Client, support: User, case: Case
) -> None:
    support_client.post(transition_url(case, "acknowledge"), {"version": case.version})
    opened = fresh(case)
    response = support_client.post(
        transition_url(case, "resolve"),
        {"version": opened.version, "resolution": "workaround", "reason": "Restart nightly."},
    )

    assert response.status_code == 302
    resolved = fresh(case)
    assert (resolved.status, resolved.resolution) == (Status.RESOLVED, "workaround")
    steps = CaseEvent.objects.filter(case=case, kind=EventKind.STATUS_CHANGED)
    assert [(e.transition, e.actor_id) for e in steps] == [
        ("acknowledge", support.pk),
        ("resolve", support.pk),
    ]
    assert LogEntry.objects.filter(object_id=str(case.pk)).count() == 2


def test_a_resolution_the_type_does_not_allow_is_a_form_error(
    support_client: Client, customer: User
) -> None:
    question = factories.file_case(reporter=customer, type=CaseType.QUESTION)

    response = support_client.post(
        transition_url(question, "resolve"),
        {"version": question.version, "resolution": "wont_fix"},
    )

    assert response.status_code == 200
    assert "resolution" in response.context["form"].errors
    assert fresh(question).status == Status.NEW


def test_a_knowledge_article_resolution_needs_a_published_article(
    support_client: Client, customer: User
) -> None:
    question = factories.file_case(reporter=customer, type=CaseType.QUESTION)

    response = support_client.post(
        transition_url(question, "resolve"),
        {"version": question.version, "resolution": "kb_article"},
    )

    assert response.context["form"].errors == {
        "knowledge_article": ["Name a published knowledge article."]
    }
    assert fresh(question).status == Status.NEW


def test_reopen_needs_a_reason(support_client: Client, support: User, case: Case) -> None:
    resolved = services.resolve_case(case=case, by=support, resolution="answered")

    response = support_client.post(
        transition_url(case, "reopen"), {"version": resolved.version, "reason": ""}
    )

    assert "reason" in response.context["form"].errors
    assert fresh(case).status == Status.RESOLVED


def test_schedule_fix_offers_only_unpublished_releases(
    support_client: Client, support: User, customer: User
) -> None:
    bug = factories.file_case(reporter=customer, type=CaseType.BUG)
    services.acknowledge_case(case=bug, by=support)
    bug = services.escalate_case(case=bug, by=support)
    upcoming = factories.ReleaseFactory.create(version="31.0")
    shipped = factories.ReleaseFactory.create(version="30.9", released_on=datetime.date(2026, 1, 5))

    form_page = support_client.get(transition_url(bug, "schedule_fix"))
    refused = support_client.post(
        transition_url(bug, "schedule_fix"), {"version": bug.version, "release": shipped.pk}
    )

    assert list(form_page.context["form"].fields["release"].queryset) == [upcoming]
    assert "release" in refused.context["form"].errors
    assert fresh(bug).status == Status.IN_ENGINEERING


def test_unknown_transition_or_type_is_404(support_client: Client, case: Case) -> None:
    assert support_client.post(transition_url(case, "explode"), {"version": 1}).status_code == 404
    assert support_client.post(reclassify_url(case, "feature"), {"version": 1}).status_code == 404
    assert support_client.get(reverse("admin:cases_case_change", args=[999999])).status_code in (
        302,
        404,
    )


def test_a_missing_case_is_404_on_the_workflow_views(support_client: Client) -> None:
    missing = Case(pk=424242)

    assert support_client.post(transition_url(missing, "acknowledge"), {}).status_code == 404


def test_customers_cannot_reach_any_admin_route(client: Client, customer: User, case: Case) -> None:
    client.force_login(customer)

    for url in (
        reverse("admin:cases_case_changelist"),
        change_url(case),
        transition_url(case, "close"),
        reclassify_url(case, "bug"),
        reverse("admin:cases_case_dashboard"),
    ):
        response = client.post(url, {"version": case.version, "reason": "x"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert fresh(case).version == case.version


def test_staff_without_a_role_sees_no_case(client: Client, case: Case) -> None:
    nobody = factories.UserFactory.create(is_staff=True)
    client.force_login(nobody)

    assert client.get(reverse("admin:cases_case_changelist")).status_code == 403
    assert client.post(transition_url(case, "acknowledge"), {"version": 1}).status_code == 403


def test_case_list_sorts_by_every_column(support_client: Client, customer: User) -> None:
    factories.file_case(reporter=customer)
    factories.file_case(reporter=customer)

    for column in range(1, len(CaseAdmin.list_display) + 1):
        for order in (str(column), f"-{column}"):
            response = support_client.get(reverse("admin:cases_case_changelist"), {"o": order})
            assert response.status_code == 200, order
            assert len(response.context["cl"].result_list) == 2


def test_engineer_schedules_a_fix_from_the_case_page(
    engineer_client: Client, support: User, customer: User
) -> None:
    bug = factories.file_case(reporter=customer, type=CaseType.BUG)
    services.acknowledge_case(case=bug, by=support)
    bug = services.escalate_case(case=bug, by=support)
    release = factories.ReleaseFactory.create(version="31.2")

    page = engineer_client.get(change_url(bug))
    response = engineer_client.post(
        transition_url(bug, "schedule_fix"), {"version": bug.version, "release": release.pk}
    )

    assert [m["name"] for m in page.context["status_moves"]] == ["request_info", "schedule_fix"]
    assert response.status_code == 302
    scheduled = fresh(bug)
    assert (scheduled.status, scheduled.target_release_id) == (Status.FIX_SCHEDULED, release.pk)


def _app_list_summary(apps: list[dict[str, Any]]) -> list[Any]:
    return [
        (
            str(app["name"]),
            app["app_url"],
            [(str(m["name"]), m["admin_url"], m["add_url"], m["perms"]) for m in app["models"]],
        )
        for app in apps
    ]


def test_app_list_is_the_admin_sites_for_each_users_permissions(
    rf: Any, support: User, engineer: User, customer: User
) -> None:
    from django.contrib import admin
    from django.contrib.admin import AdminSite
    from django.contrib.auth.models import AnonymousUser, Permission

    from cases.admin_site import CasebookAdminSite

    assert isinstance(admin.site, CasebookAdminSite)
    superuser = factories.SupportFactory.create(is_superuser=True)
    seen = []
    for user in [support, engineer, customer, superuser, AnonymousUser(), support]:
        request = rf.get("/admin/")
        request.user = user
        apps = admin.site.get_app_list(request)
        assert _app_list_summary(apps) == _app_list_summary(
            AdminSite.get_app_list(admin.site, request)
        )
        assert _app_list_summary(admin.site.get_app_list(request, "cases")) == (
            _app_list_summary(AdminSite.get_app_list(admin.site, request, "cases"))
        )
        seen.append(_app_list_summary(apps))
    assert seen[0] == seen[-1]
    assert seen[0] != seen[3]

    # Another permission, another list; each page gets its own copy.
    support.user_permissions.add(Permission.objects.get(codename="add_organization"))
    granted = User.objects.get(pk=support.pk)
    request = rf.get("/admin/")
    request.user = granted
    apps = admin.site.get_app_list(request)
    assert _app_list_summary(apps) == _app_list_summary(AdminSite.get_app_list(admin.site, request))
    assert _app_list_summary(apps) != seen[0]
    apps[0]["models"].clear()
    assert admin.site.get_app_list(request)[0]["models"]


def test_age_is_timesince_to_one_unit() -> None:
    import random
    import zoneinfo

    from django.utils.timesince import timesince
    from django.utils.translation import override

    from cases.admin_list import age

    rng = random.Random(7)
    oslo = zoneinfo.ZoneInfo("Europe/Oslo")
    now = datetime.datetime(2026, 3, 31, 23, 30, 15, 500000, tzinfo=datetime.UTC)
    spans = [0, 1, 59, 60, 3599, 3600, 86399, 86400, 604800, 2419200, 31536000, -5]
    spans += [rng.randrange(-100, 10 * 365 * 86400) for _ in range(2000)]
    for language in ["en", "nb"]:
        with override(language):
            for span in spans:
                when = now - datetime.timedelta(seconds=span, microseconds=rng.randrange(10**6))
                for zone in [datetime.UTC, oslo]:
                    local = when.astimezone(zone)
                    assert age(local, now) == timesince(local, now, depth=1), (local, now)
    assert age(timezone.now()) == timesince(timezone.now(), depth=1)


def test_case_list_query_strings_are_djangos(support_client: Client, customer: User) -> None:
    from django.contrib.admin.views.main import ChangeList

    factories.file_case(reporter=customer)
    response = support_client.get(
        reverse("admin:cases_case_changelist"),
        {"status": "new", "q": "a b&c é", "o": "2.-3", "severity": "1", "waiting": "yes"},
    )
    cl = response.context["cl"]
    calls: list[tuple[Any, Any]] = [
        (None, None),
        ({"status": "open"}, None),
        ({"status": None}, ["severity"]),
        ({"q": "ø x"}, ["o", "status"]),
        ({"severity__in": ["1", "2"], "p": 3}, ["waiting"]),
        ({"assignee": "me", "new": []}, ["s"]),
        ({}, ["status", "severity", "q", "o", "waiting"]),
    ]
    for new_params, remove in calls * 2:
        assert cl.get_query_string(new_params, remove) == ChangeList.get_query_string(
            cl, new_params, remove
        )
    cl.filter_params["status"] = ["closed"]
    assert cl.get_query_string() == ChangeList.get_query_string(cl)


def _seed_list(support: User, customer: User) -> None:
    """Cases of every severity and two types, some assigned, some answered, one per other org."""
    for index in range(9):
        case = factories.file_case(
            reporter=customer if index % 3 else None,
            severity=1 + index % 4,
            type=CaseType.QUESTION if index % 4 == 3 else CaseType.ISSUE,
            subject=f"Case <{index}> & more",
        )
        if index % 2:
            services.assign_case(case=case, by=support, assignee=support)
        if index % 3 == 1:
            services.add_comment(case=case, by=support, body="On it.")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"p": "2"},
        {"p": "3"},
        {"waiting": "yes"},
        {"waiting": "maybe"},
        {"status__exact": "new", "severity__exact": "2"},
        {"type__exact": "question", "channel__exact": "portal"},
        {"assignee": "me"},
        {"assignee": "none", "p": "2"},
        {"assignee": "abc"},
        {"organization__id__exact": "ORG"},
        {"organization__id__exact": "x", "o": ""},
    ],
)
def test_case_list_read_by_compiled_sql_is_the_orms(
    support_client: Client,
    support: User,
    customer: User,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, str],
) -> None:
    _seed_list(support, customer)
    assert customer.organization_id is not None
    query = {k: str(customer.organization_id) if v == "ORG" else v for k, v in query.items()}
    monkeypatch.setattr(CaseAdmin, "list_per_page", 4)
    url = reverse("admin:cases_case_changelist")
    read: list[Any] = []
    page = admin_queries.page

    def counted(*args: Any, **kwargs: Any) -> Any:
        read.append(args)
        return page(*args, **kwargs)

    monkeypatch.setattr(admin_queries, "page", counted)
    compiled = support_client.get(url, query)
    assert len(read) == 1  # read by the compiled SQL
    monkeypatch.setattr(CaseAdmin, "compiled_list", False)
    by_orm = support_client.get(url, query)
    assert len(read) == 1

    ours, theirs = compiled.context["cl"], by_orm.context["cl"]
    assert ours.result_list, query
    assert [
        (c.pk, c.organization, c.assignee, c.waiting_on_us, c.created_at) for c in ours.result_list
    ] == [
        (c.pk, c.organization, c.assignee, c.waiting_on_us, c.created_at)
        for c in theirs.result_list
    ]
    assert (ours.result_count, ours.multi_page, ours.can_show_all) == (
        theirs.result_count,
        theirs.multi_page,
        theirs.can_show_all,
    )
    assert ours.rows == theirs.rows
    # The queryset the compiled read left unbuilt is the ORM's, once something reads it.
    assert [c.pk for c in ours.queryset] == [c.pk for c in theirs.queryset]
    assert compiled.content == by_orm.content.replace(
        _token(by_orm.content), _token(compiled.content)
    )


def _token(content: bytes) -> bytes:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]*)"', content)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    "query",
    [
        {"q": "case"},
        {"o": "2"},
        {"waiting": "no"},
        {"all": ""},
        {"status__exact": "nonsense"},
        {"subject__startswith": "Case"},
        {"assignee": ["me", "none"]},
    ],
)
def test_case_list_reads_by_the_orm_what_the_compiled_sql_does_not_know(
    support_client: Client,
    support: User,
    customer: User,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, Any],
) -> None:
    _seed_list(support, customer)
    monkeypatch.setattr(
        admin_queries, "page", lambda *args: pytest.fail("read by the compiled SQL")
    )
    response = support_client.get(reverse("admin:cases_case_changelist"), query)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("compiled", [True, False])
def test_case_list_page_out_of_range_is_djangos_error_page(
    support_client: Client,
    support: User,
    customer: User,
    monkeypatch: pytest.MonkeyPatch,
    compiled: bool,
) -> None:
    _seed_list(support, customer)
    monkeypatch.setattr(CaseAdmin, "list_per_page", 4)
    monkeypatch.setattr(CaseAdmin, "compiled_list", compiled)
    response = support_client.get(reverse("admin:cases_case_changelist"), {"p": "7"})
    assert response.status_code == 302
    assert "e=1" in response["Location"]


def test_page_strings_are_looked_up_in_each_pages_language() -> None:
    from django.utils import translation

    for language in ("fr", "de", "fr"):
        with translation.override(language):
            page = admin_page._PAGE_LANGUAGE.set((language,))
            try:
                assert admin_page._gettext("Filter") == translation.gettext("Filter")
            finally:
                admin_page._PAGE_LANGUAGE.reset(page)
    with translation.override("fr"):
        assert admin_page._gettext("Filter") == "Filtre"
