"""Identifiers that are not ids (too large, not numbers) are a 404, never a 500."""

import pytest
from django.test import Client

from accounts.models import User
from cases.models import Case

HUGE = "9" * 30


@pytest.mark.parametrize("who", ["customer", "support"])
def test_identifiers_too_large_for_the_database_are_not_found(
    client: Client, case: Case, who: str, request: pytest.FixtureRequest
) -> None:
    user: User = case.reporter if who == "customer" else request.getfixturevalue("support")
    client.force_login(user)
    paths = [
        f"/cases/{case.number}/attachments/{HUGE}/",
        f"/cases/CASE-{HUGE}/",
        f"/api/v1/cases/{case.number}/attachments/{HUGE}/",
        f"/api/v1/cases/CASE-{HUGE}/",
        f"/api/v1/webhooks/{HUGE}/",
        "/api/v1/webhooks/true/",
        "/api/v1/webhooks/o/deliveries/",
    ]
    for path in paths:
        assert client.get(path).status_code == 404, path


def test_any_path_under_the_api_is_a_json_404_even_with_a_newline(
    client: Client, support: User
) -> None:
    client.force_login(support)
    response = client.get("/api/v1/webhooks/%0A/deliveries/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_admin_pages_answer_bad_ids_without_a_server_error(client: Client, support: User) -> None:
    client.force_login(support)
    case_pages = ["change/", "reclassify/bug/", "transition/acknowledge/", "comment/", "assign/"]
    paths = [f"/admin/cases/case/{HUGE}/{page}" for page in case_pages] + [
        "/admin/cases/case/abc/reclassify/bug/",
        f"/admin/cases/case/1/attachment/{HUGE}/",
        f"/admin/cases/release/{HUGE}/publish/",
    ]
    for path in paths:
        for method in ("get", "post"):
            # The admin answers a missing object with 404 or a redirect to its list.
            assert getattr(client, method)(path).status_code in (302, 404), (method, path)
