"""The API of cases: authentication, error mapping, filing, editing, reclassifying, moving."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from cases import services
from cases.models import Case, CaseEvent, CaseType, Channel, EventKind, Status
from cases.serializers import CaseSerializer
from tests import factories

ClientFor = Callable[[User | None], APIClient]

# SPEC section 3, written out rather than derived from the code under test.
RECLASSIFICATIONS = {
    "issue": {"bug", "enhancement"},
    "bug": {"issue", "enhancement"},
    "enhancement": {"issue", "bug"},
    "question": {"bug", "enhancement"},
}
PAIRS = [(a, b) for a in CaseType.values for b in CaseType.values]


def url(case: Case, suffix: str = "") -> str:
    return f"/api/v1/cases/{case.number}/{suffix}"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


# Authentication ------------------------------------------------------------


def test_request_without_credentials_is_401_in_the_error_shape(api_client: ClientFor) -> None:
    response = api_client(None).get("/api/v1/cases/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_refused(api_client: ClientFor) -> None:
    client = api_client(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer cb_not-a-real-token")
    assert_error(client.get("/api/v1/cases/"), 401, "authentication_failed")


def test_revoked_token_is_refused(customer: User) -> None:
    token, key = ApiToken.issue(user=customer, name="CRM")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/me/").status_code == 200
    token.revoked_at = token.created_at
    token.save()
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_token_of_a_deactivated_user_is_refused(customer: User) -> None:
    _, key = ApiToken.issue(user=customer, name="CRM")
    customer.is_active = False
    customer.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_token_use_sets_last_used_at_and_stores_only_a_hash(customer: User) -> None:
    token, key = ApiToken.issue(user=customer, name="CRM")
    assert token.last_used_at is None
    assert key not in token.key_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_create_api_token_command_prints_a_working_token_once(
    customer: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_api_token", customer.email, "--name", "CRM")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=customer)
    assert token.name == "CRM"
    assert token.key_hash == ApiToken.hash_key(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/me/").json()["email"] == customer.email


def test_me_describes_the_tokens_user(api_client: ClientFor, customer: User) -> None:
    body = api_client(customer).get("/api/v1/me/").json()
    assert body["email"] == customer.email
    assert body["role"] == "customer"
    assert body["organization"]["slug"] == customer.organization.slug  # type: ignore[union-attr]


def test_unknown_api_url_is_a_json_404(api_client: ClientFor, customer: User) -> None:
    assert_error(api_client(customer).get("/api/v1/nothing-here/"), 404, "not_found")


# Filing ------------------------------------------------------------------


def test_customer_files_a_case_through_the_api(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/",
        {"subject": "Login fails", "description": "Since the upgrade.", "type": "issue"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get()
    assert body["number"] == case.number
    assert body["type"] == "issue"
    assert body["status"] == "new"
    assert body["channel"] == Channel.API
    assert body["reporter"]["email"] == customer.email
    assert response["ETag"] == f'"{case.version}"'


def test_filing_without_a_type_names_the_field(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/", {"subject": "Login fails", "description": "x"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert set(body["errors"]) == {"type"}
    assert not Case.objects.exists()


def test_filing_with_a_status_is_400_and_files_nothing(
    api_client: ClientFor, customer: User
) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/",
        {"subject": "S", "description": "D", "type": "bug", "status": "resolved"},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert "status" in body["errors"]
    assert not Case.objects.exists()


def test_blank_subject_gets_the_services_message(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/", {"subject": "   ", "description": "D", "type": "bug"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "subject" in body["errors"]


def test_support_files_for_a_customer_from_a_phone_call(
    api_client: ClientFor, support: User, customer: User
) -> None:
    response = api_client(support).post(
        "/api/v1/cases/",
        {
            "subject": "Called about login",
            "description": "Customer phoned.",
            "type": "question",
            "reporter": customer.email,
            "channel": "phone",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert case.reporter == customer
    assert case.organization == customer.organization
    assert case.channel == Channel.PHONE


def test_support_must_name_the_reporter(api_client: ClientFor, support: User) -> None:
    response = api_client(support).post(
        "/api/v1/cases/", {"subject": "S", "description": "D", "type": "bug"}, format="json"
    )
    assert "reporter" in assert_error(response, 400, "invalid")["errors"]


def test_customer_cannot_file_in_someone_elses_name(
    api_client: ClientFor, customer: User, other_customer: User
) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/",
        {"subject": "S", "description": "D", "type": "bug", "reporter": other_customer.email},
        format="json",
    )
    assert_error(response, 403, "permission_denied")
    assert not Case.objects.exists()


def test_engineering_may_not_file_cases(
    api_client: ClientFor, engineer: User, customer: User
) -> None:
    response = api_client(engineer).post(
        "/api/v1/cases/",
        {"subject": "S", "description": "D", "type": "bug", "reporter": customer.email},
        format="json",
    )
    assert_error(response, 403, "permission_denied")


def test_malformed_json_is_a_400_parse_error(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_unsupported_method_is_405_in_the_error_shape(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    assert_error(api_client(customer).put(url(case), {}, format="json"), 405, "method_not_allowed")


# Reading and editing ------------------------------------------------------


def test_retrieve_returns_the_case_with_its_etag(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).get(url(case))
    assert response.status_code == 200
    assert response.json()["number"] == case.number
    assert response.json()["organization"]["name"] == case.organization.name
    assert response["ETag"] == f'"{case.version}"'


def test_malformed_number_is_404(api_client: ClientFor, customer: User) -> None:
    assert_error(api_client(customer).get("/api/v1/cases/CASE-abc/"), 404, "not_found")


def test_customer_edits_the_subject_and_the_version_moves(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).patch(url(case), {"subject": "Sharper"}, format="json")
    assert response.status_code == 200, response.content
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.subject == "Sharper"
    assert fresh.version == case.version + 1
    assert response["ETag"] == f'"{fresh.version}"'


@pytest.mark.parametrize(("field", "value"), [("type", "bug"), ("status", "resolved")])
def test_patch_naming_type_or_status_is_400_and_changes_nothing(
    api_client: ClientFor, support: User, case: Case, field: str, value: str
) -> None:
    response = api_client(support).patch(
        url(case), {field: value, "subject": "Changed"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert field in body["errors"]
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.type, fresh.status, fresh.subject) == (case.type, case.status, case.subject)


def test_patch_with_an_invalid_severity_names_the_field(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).patch(url(case), {"severity": 9}, format="json")
    assert "severity" in assert_error(response, 400, "invalid")["errors"]


def test_engineering_may_not_edit_a_case(api_client: ClientFor, engineer: User, case: Case) -> None:
    response = api_client(engineer).patch(url(case), {"subject": "Mine"}, format="json")
    assert_error(response, 403, "permission_denied")


# Reclassification -------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_reclassification_pairs_through_the_api(
    api_client: ClientFor, support: User, customer: User, source: str, target: str
) -> None:
    case = factories.file_case(reporter=customer, type=source)
    response = api_client(support).post(
        url(case, "reclassify/"), {"to": target, "reason": "Triage"}, format="json"
    )
    fresh = Case.objects.get(pk=case.pk)
    if target in RECLASSIFICATIONS[source]:
        assert response.status_code == 200, response.content
        assert response.json()["type"] == target
        assert fresh.type == target
        event = CaseEvent.objects.get(case=case, kind=EventKind.RECLASSIFIED)
        assert (event.from_value, event.to_value, event.reason) == (source, target, "Triage")
    else:
        body = assert_error(response, 409, "transition_not_allowed")
        assert set(body["allowed"]) == RECLASSIFICATIONS[source]
        assert fresh.type == source
        assert not CaseEvent.objects.filter(case=case, kind=EventKind.RECLASSIFIED).exists()


def test_exactly_eight_reclassifications_are_allowed() -> None:
    assert sum(len(targets) for targets in RECLASSIFICATIONS.values()) == 8
    assert len(PAIRS) == 16


def test_customer_reclassify_is_403(api_client: ClientFor, customer: User, case: Case) -> None:
    response = api_client(customer).post(
        url(case, "reclassify/"), {"to": "bug", "reason": "I think so"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert Case.objects.get(pk=case.pk).type == CaseType.ISSUE


def test_reclassify_without_a_reason_names_the_field(
    api_client: ClientFor, support: User, case: Case
) -> None:
    response = api_client(support).post(
        url(case, "reclassify/"), {"to": "bug", "reason": " "}, format="json"
    )
    assert "reason" in assert_error(response, 400, "invalid")["errors"]


def test_reclassify_to_an_unknown_type_names_the_field(
    api_client: ClientFor, support: User, case: Case
) -> None:
    response = api_client(support).post(
        url(case, "reclassify/"), {"to": "feature", "reason": "x"}, format="json"
    )
    assert "to" in assert_error(response, 400, "invalid")["errors"]


# Status transitions -----------------------------------------------------


def test_available_transitions_for_support_on_a_new_case(
    api_client: ClientFor, support: User, case: Case
) -> None:
    body = api_client(support).get(url(case, "transitions/")).json()
    assert set(body["types"]) == {"bug", "enhancement"}
    names = {t["name"] for t in body["transitions"]}
    assert names == {"acknowledge", "request_info", "resolve"}
    resolve = next(t for t in body["transitions"] if t["name"] == "resolve")
    assert "resolution" in resolve["needs"]


def test_available_transitions_for_a_customer_on_a_new_case_are_none(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    body = api_client(customer).get(url(case, "transitions/")).json()
    assert body == {"types": [], "transitions": []}


def test_support_acknowledges_a_case(api_client: ClientFor, support: User, case: Case) -> None:
    response = api_client(support).post(url(case, "transitions/acknowledge/"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.OPEN
    event = CaseEvent.objects.get(case=case, kind=EventKind.STATUS_CHANGED)
    assert (event.transition, event.actor) == ("acknowledge", support)


def test_customer_may_not_acknowledge(api_client: ClientFor, customer: User, case: Case) -> None:
    response = api_client(customer).post(url(case, "transitions/acknowledge/"), {}, format="json")
    assert_error(response, 403, "permission_denied")


def test_refused_transition_is_409_with_the_allowed_moves(
    api_client: ClientFor, support: User, case: Case
) -> None:
    response = api_client(support).post(url(case, "transitions/escalate/"), {}, format="json")
    body = assert_error(response, 409, "transition_not_allowed")
    assert set(body["allowed"]) == {"acknowledge", "request_info", "resolve"}
    assert Case.objects.get(pk=case.pk).status == Status.NEW


def test_unknown_transition_name_is_400(api_client: ClientFor, support: User, case: Case) -> None:
    response = api_client(support).post(url(case, "transitions/teleport/"), {}, format="json")
    assert "name" in assert_error(response, 400, "invalid")["errors"]


def test_resolve_needs_a_resolution_allowed_for_the_type(
    api_client: ClientFor, support: User, case: Case
) -> None:
    client = api_client(support)
    missing = client.post(url(case, "transitions/resolve/"), {}, format="json")
    assert "resolution" in assert_error(missing, 400, "invalid")["errors"]
    wrong = client.post(
        url(case, "transitions/resolve/"), {"resolution": "kb_article"}, format="json"
    )
    assert "resolution" in assert_error(wrong, 400, "invalid")["errors"]
    right = client.post(
        url(case, "transitions/resolve/"), {"resolution": "workaround"}, format="json"
    )
    assert right.status_code == 200, right.content
    assert right.json()["resolution"] == "workaround"


def test_question_resolved_by_a_published_article(
    api_client: ClientFor, support: User, customer: User
) -> None:
    case = factories.file_case(reporter=customer, type="question")
    article = factories.KnowledgeArticleFactory.create()
    response = api_client(support).post(
        url(case, "transitions/resolve/"),
        {"resolution": "kb_article", "knowledge_article": article.slug},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["knowledge_article"] == article.slug


def test_schedule_fix_into_a_release_then_customer_closes_after_publication(
    api_client: ClientFor, support: User, customer: User
) -> None:
    case = factories.file_case(reporter=customer, type="bug")
    release = factories.ReleaseFactory.create()
    staff = api_client(support)
    for name in ("acknowledge", "escalate"):
        assert staff.post(url(case, f"transitions/{name}/"), {}, format="json").status_code == 200
    scheduled = staff.post(
        url(case, "transitions/schedule_fix/"), {"release": release.version}, format="json"
    )
    assert scheduled.json()["target_release"] == release.version
    published = staff.post(f"/api/v1/releases/{release.version}/publish/")
    assert published.json()["resolved_cases"] == [case.number]
    closed = api_client(customer).post(url(case, "transitions/close/"), {}, format="json")
    assert closed.json()["status"] == Status.CLOSED


def test_reopen_needs_a_reason(api_client: ClientFor, customer: User, support: User) -> None:
    case = factories.file_case(reporter=customer)
    api_client(support).post(
        url(case, "transitions/resolve/"), {"resolution": "answered"}, format="json"
    )
    client = api_client(customer)
    response = client.post(url(case, "transitions/reopen/"), {}, format="json")
    assert "reason" in assert_error(response, 400, "invalid")["errors"]
    response = client.post(url(case, "transitions/reopen/"), {"reason": "Back"}, format="json")
    assert response.json()["status"] == Status.OPEN


# Tenant isolation -----------------------------------------------------------

CASE_URLS = [
    ("get", ""),
    ("patch", ""),
    ("post", "reclassify/"),
    ("get", "transitions/"),
    ("post", "transitions/acknowledge/"),
    ("post", "transitions/close/"),
    ("get", "comments/"),
    ("post", "comments/"),
    ("get", "events/"),
    ("get", "attachments/1/"),
]


@pytest.mark.parametrize(("method", "suffix"), CASE_URLS)
def test_every_case_url_answers_404_for_another_organizations_case(
    api_client: ClientFor,
    other_customer: User,
    case: Case,
    method: str,
    suffix: str,
) -> None:
    client = api_client(other_customer)
    before = (case.version, CaseEvent.objects.count())
    response = getattr(client, method)(
        url(case, suffix), {"to": "bug", "reason": "x", "body": "hi"}, format="json"
    )
    body = assert_error(response, 404, "not_found")
    assert case.number not in body["detail"]
    assert case.subject not in response.content.decode()
    after = Case.objects.get(pk=case.pk)
    assert (after.version, CaseEvent.objects.count()) == before


def test_a_missing_case_and_another_organizations_case_look_the_same(
    api_client: ClientFor, other_customer: User, case: Case
) -> None:
    client = api_client(other_customer)
    theirs = client.get(url(case))
    missing = client.get("/api/v1/cases/CASE-999999/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_customer_lists_only_their_organizations_cases(
    api_client: ClientFor, customer: User, other_customer: User
) -> None:
    mine = factories.file_case(reporter=customer)
    factories.file_case(reporter=other_customer)
    numbers = [c["number"] for c in api_client(customer).get("/api/v1/cases/").json()["results"]]
    assert numbers == [mine.number]


def test_token_added_in_the_admin_is_issued_and_shown_once(customer: User) -> None:
    from django.test import Client

    admin = User.objects.create_superuser(email="root@example.com", password="pw")
    browser = Client()
    browser.force_login(admin)
    response = browser.post(
        "/admin/accounts/apitoken/add/",
        {"user": customer.pk, "name": "Chat bot"},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=customer)
    shown = [str(m) for m in response.context["messages"]]
    key = shown[0].rsplit(" ", 1)[-1]
    assert token.key_hash == ApiToken.hash_key(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/me/").json()["email"] == customer.email


# The representation ----------------------------------------------------------


def test_a_case_is_shown_with_exactly_the_declared_fields(
    case: Case, customer: User, support: User
) -> None:
    release = factories.ReleaseFactory.create()
    services.assign_case(case=case, by=support, assignee=support)
    services.reclassify_case(case=case, by=support, to=CaseType.BUG, reason="A defect.")
    services.transition_case(case=case, by=support, name="acknowledge")
    services.transition_case(case=case, by=support, name="escalate")
    services.transition_case(case=case, by=support, name="schedule_fix", release=release)
    services.add_comment(case=case, by=customer, body="Still broken.")
    services.add_comment(case=case, by=support, body="Looking.", public=False)
    shown = Case.objects.select_related(
        "organization", "reporter", "assignee", "target_release", "knowledge_article"
    ).get(pk=case.pk)

    # DRF's own rendering of the declared fields, which the schema documents.
    declared = serializers.Serializer.to_representation(CaseSerializer(), shown)
    assert CaseSerializer(shown, context={"staff": True}).data == declared
    assert declared["comment_count"] == 2
    assert declared["target_release"] == release.version
    assert CaseSerializer(shown).data == {**declared, "comment_count": 1}


def test_the_comment_count_is_what_the_user_may_read(
    api_client: ClientFor, case: Case, customer: User, support: User
) -> None:
    services.add_comment(case=case, by=customer, body="Hello.")
    services.add_comment(case=case, by=support, body="Internal.", public=False)
    services.add_comment(case=case, by=support, body="Answer.")

    for user, expected in ((customer, 2), (support, 3)):
        client = api_client(user)
        assert client.get(url(case)).json()["comment_count"] == expected
        assert client.get("/api/v1/cases/").json()["results"][0]["comment_count"] == expected


def test_the_list_and_the_case_page_show_a_case_as_the_serializer_declares(
    api_client: ClientFor, case: Case, customer: User, support: User
) -> None:
    # The list and the case are read as rows, not instances (case_representation).
    bare = factories.file_case(reporter=customer)
    release = factories.ReleaseFactory.create()
    services.assign_case(case=case, by=support, assignee=support)
    services.reclassify_case(case=case, by=support, to=CaseType.BUG, reason="A defect.")
    services.transition_case(case=case, by=support, name="acknowledge")
    services.transition_case(case=case, by=support, name="escalate")
    services.transition_case(case=case, by=support, name="schedule_fix", release=release)
    services.add_comment(case=case, by=support, body="Looking.", public=False)
    related = ("organization", "reporter", "assignee", "target_release", "knowledge_article")

    for user in (customer, support):
        client = api_client(user)
        listed = {row["number"]: row for row in client.get("/api/v1/cases/").json()["results"]}
        for shown in Case.objects.select_related(*related).filter(pk__in=[case.pk, bare.pk]):
            declared = serializers.Serializer.to_representation(CaseSerializer(), shown)
            if not user.is_staff:
                declared["comment_count"] = shown.public_comment_count
            assert client.get(url(shown)).json() == declared
            assert listed[shown.number] == declared


# The writes take a fixed number of queries -----------------------------------

# Each write, with the database queue (as in production) and no webhook
# subscription. The test's transaction turns the view's into a savepoint: its
# BEGIN and COMMIT show here as SAVEPOINT and RELEASE, two of each count.
# Who hears of the change is the worker's question (notifications.dispatch):
# the write itself only queues the task that asks it.
#
# File (customer): the token with its user, their organization and their
# permissions; the case, its event, the task. Staff filing for a customer also
# read the reporter (with organization) by email.
CREATE_QUERIES = {"customer": 6, "support": 7}
# Comment: the token (with user and permissions), the case (locked, with its
# assignee), the comment, its event, the task, the case's counters and times.
COMMENT_QUERIES = {"customer": 8, "support": 8}
# Reclassify: the token (with user and permissions), the case (locked, with
# everything the answer embeds), the event, the task, the case's new type.
RECLASSIFY_QUERIES = 7


@pytest.fixture
def assigned_case(customer: User, support: User, settings: Any) -> Case:
    settings.TASKS = {"default": {"BACKEND": "notifications.backends.DatabaseBackend"}}
    case = factories.file_case(reporter=customer)
    services.assign_case(case=case, by=support, assignee=support)
    services.transition_case(case=case, by=support, name="acknowledge")
    return case


def warm_client(api_client: ClientFor, user: User) -> APIClient:
    client = api_client(user)
    client.get("/api/v1/me/")  # the token's first use writes last_used_at once
    return client


@pytest.mark.parametrize("role", ["customer", "support"])
@pytest.mark.parametrize("comments", [1, 50])
def test_filing_takes_a_fixed_number_of_queries(
    api_client: ClientFor,
    assigned_case: Case,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
    role: str,
    comments: int,
) -> None:
    for n in range(comments):
        services.add_comment(case=assigned_case, by=support, body=f"Update {n}")
    user = customer if role == "customer" else support
    body = {"subject": "Timeouts", "description": "Every request.", "type": "issue"}
    if role == "support":
        body["reporter"] = customer.email
    client = warm_client(api_client, user)
    with django_assert_num_queries(CREATE_QUERIES[role]):
        response = client.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["reporter"]["email"] == customer.email


@pytest.mark.parametrize("role", ["customer", "support"])
@pytest.mark.parametrize("comments", [1, 50])
def test_commenting_takes_a_fixed_number_of_queries(
    api_client: ClientFor,
    assigned_case: Case,
    customer: User,
    support: User,
    django_assert_num_queries: Any,
    role: str,
    comments: int,
) -> None:
    for n in range(comments):
        services.add_comment(case=assigned_case, by=support, body=f"Update {n}")
    client = warm_client(api_client, customer if role == "customer" else support)
    with django_assert_num_queries(COMMENT_QUERIES[role]):
        response = client.post(url(assigned_case, "comments/"), {"body": "Hi."}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["attachments"] == []
    assert assigned_case.comments.count() == comments + 1


@pytest.mark.parametrize("comments", [1, 50])
def test_reclassifying_takes_a_fixed_number_of_queries(
    api_client: ClientFor,
    assigned_case: Case,
    support: User,
    django_assert_num_queries: Any,
    comments: int,
) -> None:
    for n in range(comments):
        services.add_comment(case=assigned_case, by=support, body=f"Update {n}")
    client = warm_client(api_client, support)
    with django_assert_num_queries(RECLASSIFY_QUERIES):
        response = client.post(
            url(assigned_case, "reclassify/"), {"to": "bug", "reason": "A defect."}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["type"] == "bug"
    assert response.json()["assignee"]["email"] == support.email
