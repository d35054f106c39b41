"""Safe retries and races over the API: Idempotency-Key, ETag and If-Match, throttling."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import IdempotencyKey, User
from cases.models import Attachment, Case, CaseEvent, Comment, EventKind
from tests import factories
from tests.races import race
from tests.test_api_cases import assert_error, url

ClientFor = Callable[[User | None], APIClient]

NEW_CASE = {"subject": "Export hangs", "description": "At 99%.", "type": "issue"}


# Idempotency-Key --------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response_and_files_one_case(
    api_client: ClientFor, customer: User
) -> None:
    client = api_client(customer)
    first = client.post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


def test_same_key_with_another_body_is_422_and_files_nothing(
    api_client: ClientFor, customer: User
) -> None:
    client = api_client(customer)
    client.post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = {**NEW_CASE, "subject": "Something else"}
    response = client.post("/api/v1/cases/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(response, 422, "idempotency_key_reused")
    assert Case.objects.count() == 1


def test_other_keys_and_other_users_file_new_cases(
    api_client: ClientFor, customer: User, other_customer: User
) -> None:
    api_client(customer).post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="a")
    api_client(customer).post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="b")
    theirs = api_client(other_customer).post(
        "/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="a"
    )
    assert theirs.status_code == 201
    assert theirs.json()["reporter"]["email"] == other_customer.email
    assert Case.objects.count() == 3


def test_a_failed_request_stores_nothing_and_its_key_can_be_retried(
    api_client: ClientFor, customer: User
) -> None:
    client = api_client(customer)
    bad = {**NEW_CASE, "type": "feature"}
    failed = client.post("/api/v1/cases/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert failed.status_code == 400
    assert not IdempotencyKey.objects.exists()
    fixed = client.post("/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert fixed.status_code == 201


def test_comment_retry_with_the_same_files_adds_one_comment(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    client = api_client(customer)

    def post(content: bytes) -> Any:
        return client.post(
            url(case, "comments/"),
            {"body": "Logs", "attachments": [SimpleUploadedFile("a.log", content)]},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="c-1",
        )

    first, again = post(b"one"), post(b"one")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert Comment.objects.count() == Attachment.objects.count() == 1
    assert_error(post(b"two"), 422, "idempotency_key_reused")
    assert CaseEvent.objects.filter(kind=EventKind.COMMENTED).count() == 1


def test_overlong_idempotency_key_is_400(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/cases/", NEW_CASE, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert "Idempotency-Key" in assert_error(response, 400, "invalid")["errors"]


# ETag and If-Match ------------------------------------------------------------


def test_patch_with_the_current_etag_succeeds_and_a_stale_one_is_412(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    client = api_client(customer)
    read = client.get(url(case))
    tag = read["ETag"]
    ok = client.patch(url(case), {"subject": "First"}, format="json", HTTP_IF_MATCH=tag)
    assert ok.status_code == 200
    assert ok["ETag"] != tag
    stale = client.patch(url(case), {"subject": "Second"}, format="json", HTTP_IF_MATCH=tag)
    assert_error(stale, 412, "case_changed")
    assert Case.objects.get(pk=case.pk).subject == "First"


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("reclassify/", {"to": "bug", "reason": "Defect"}),
        ("transitions/acknowledge/", {}),
    ],
)
def test_state_change_with_a_stale_etag_is_412_and_changes_nothing(
    api_client: ClientFor,
    support: User,
    customer: User,
    case: Case,
    suffix: str,
    body: dict[str, str],
) -> None:
    staff = api_client(support)
    tag = staff.get(url(case))["ETag"]
    api_client(customer).patch(url(case), {"severity": 1}, format="json")
    response = staff.post(url(case, suffix), body, format="json", HTTP_IF_MATCH=tag)
    assert_error(response, 412, "case_changed")
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.type, fresh.status) == (case.type, case.status)
    current = staff.post(
        url(case, suffix), body, format="json", HTTP_IF_MATCH=f"W/{staff.get(url(case))['ETag']}"
    )
    assert current.status_code == 200, current.content


def test_if_match_that_is_no_etag_of_ours_is_412(
    api_client: ClientFor, support: User, case: Case
) -> None:
    response = api_client(support).post(
        url(case, "transitions/acknowledge/"), {}, format="json", HTTP_IF_MATCH='"abc"'
    )
    assert_error(response, 412, "case_changed")


def test_if_match_star_means_any_version(api_client: ClientFor, support: User, case: Case) -> None:
    response = api_client(support).post(
        url(case, "transitions/acknowledge/"), {}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200


# Throttling -------------------------------------------------------------------


def test_too_many_requests_per_token_is_429_with_retry_after(
    api_client: ClientFor, customer: User, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "anonymous": "1/minute"},
    }
    first_token, second_token = api_client(customer), api_client(customer)
    assert first_token.get("/api/v1/me/").status_code == 200
    assert first_token.get("/api/v1/me/").status_code == 200
    refused = first_token.get("/api/v1/me/")
    assert_error(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another token of the same user has its own allowance.
    assert second_token.get("/api/v1/me/").status_code == 200


def test_too_many_anonymous_requests_per_address_is_429(
    api_client: ClientFor, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100/minute", "anonymous": "1/minute"},
    }
    anonymous = api_client(None)
    assert anonymous.get("/api/v1/me/").status_code == 401
    refused = anonymous.get("/api/v1/me/")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1
    other_address = anonymous.get("/api/v1/me/", REMOTE_ADDR="192.0.2.7")
    assert other_address.status_code == 401


# Races (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("targets", "statuses"),
    [
        (("bug", "bug"), [200, 409]),
        (("bug", "enhancement"), [200, 200]),
    ],
)
def test_two_reclassify_requests_at_once(
    api_client: ClientFor,
    customer: User,
    support: User,
    targets: tuple[str, str],
    statuses: list[int],
) -> None:
    case = factories.file_case(reporter=customer, type="issue")
    clients = [api_client(support), api_client(factories.SupportFactory.create())]
    responses = race(
        *[
            (
                lambda client=client, to=to: client.post(
                    url(case, "reclassify/"), {"to": to, "reason": f"As {to}"}, format="json"
                )
            )
            for client, to in zip(clients, targets, strict=True)
        ]
    )
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert sorted(r.status_code for r in responses) == statuses
    refused = [r for r in responses if r.status_code == 409]
    for response in refused:
        assert response.json()["code"] == "transition_not_allowed"
        assert set(response.json()["allowed"]) == {"issue", "enhancement"}
    moves = list(
        CaseEvent.objects.filter(case=case, kind=EventKind.RECLASSIFIED)
        .order_by("at", "id")
        .values_list("from_value", "to_value")
    )
    assert len(moves) == statuses.count(200)
    assert moves[0][0] == "issue"
    for (_, first_to), (second_from, _) in itertools.pairwise(moves):
        assert second_from == first_to
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.type == moves[-1][1]
    assert fresh.version == 1 + len(moves)


def test_wrong_tokens_are_throttled_per_address(api_client: ClientFor, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100/minute", "anonymous": "2/minute"},
    }
    guesser = api_client(None)
    guesser.credentials(HTTP_AUTHORIZATION="Bearer cb_guess")
    assert guesser.get("/api/v1/cases/").status_code == 401
    assert guesser.get("/api/v1/cases/").status_code == 401
    assert_error(guesser.get("/api/v1/cases/"), 429, "throttled")
