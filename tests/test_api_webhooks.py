"""The API of webhook subscriptions and their delivery log: staff only, secret write-only."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role, User
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests import factories

ClientFor = Callable[[User | None], APIClient]

SECRET = "s3cret-shared-with-the-receiver"


@pytest.fixture
def subscription(db: None) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name="Tracker",
        url="https://tracker.example.com/hooks",
        secret=SECRET,
        event_kinds=["case.created"],
    )


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


def test_support_adds_a_subscription_and_gets_the_generated_secret_once(
    api_client: ClientFor, support: User
) -> None:
    client = api_client(support)
    response = client.post(
        "/api/v1/webhooks/",
        {"name": "CI", "url": "https://ci.example.com/in", "event_kinds": ["case.commented"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert body["secret"] == stored.secret
    assert len(stored.secret) >= 32
    assert stored.event_kinds == ["case.commented"]
    assert stored.organization is None
    again = client.get(f"/api/v1/webhooks/{stored.pk}/")
    assert again.status_code == 200
    assert "secret" not in again.json()
    assert stored.secret not in again.content.decode()


def test_a_given_secret_is_kept_and_never_returned_on_reads(
    api_client: ClientFor, support: User, customer: User
) -> None:
    client = api_client(support)
    assert customer.organization is not None
    response = client.post(
        "/api/v1/webhooks/",
        {
            "name": "Customer CRM",
            "url": "http://crm.example.com/hook",
            "secret": SECRET,
            "event_kinds": ["case.created", "case.status_changed"],
            "organization": customer.organization.slug,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    stored = WebhookSubscription.objects.get()
    assert stored.secret == SECRET
    assert stored.organization == customer.organization
    listing = client.get("/api/v1/webhooks/")
    assert listing.status_code == 200
    assert [row["name"] for row in listing.json()["results"]] == ["Customer CRM"]
    assert listing.json()["results"][0]["organization"] == customer.organization.slug
    assert SECRET not in listing.content.decode()


@pytest.mark.parametrize("url", ["ftp://files.example.com/x", "javascript:alert(1)", "no url"])
def test_a_url_that_is_not_http_is_a_400_naming_the_field(
    api_client: ClientFor, support: User, url: str
) -> None:
    response = api_client(support).post(
        "/api/v1/webhooks/",
        {"name": "Bad", "url": url, "event_kinds": ["case.created"]},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert list(body["errors"]) == ["url"]
    assert not WebhookSubscription.objects.exists()


def test_an_unknown_event_kind_is_a_400_naming_the_field(
    api_client: ClientFor, support: User
) -> None:
    response = api_client(support).post(
        "/api/v1/webhooks/",
        {"name": "Bad", "url": "https://x.example.com/", "event_kinds": ["case.deleted"]},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert all(name.startswith("event_kinds") for name in body["errors"])
    assert body["errors"]
    assert not WebhookSubscription.objects.exists()


def test_an_empty_list_of_events_is_refused(api_client: ClientFor, support: User) -> None:
    response = api_client(support).post(
        "/api/v1/webhooks/",
        {"name": "Mute", "url": "https://x.example.com/", "event_kinds": []},
        format="json",
    )
    assert "event_kinds" in assert_error(response, 400, "invalid")["errors"]


def test_support_edits_a_subscription_and_may_replace_its_secret(
    api_client: ClientFor, support: User, subscription: WebhookSubscription
) -> None:
    response = api_client(support).patch(
        f"/api/v1/webhooks/{subscription.pk}/",
        {"is_active": False, "secret": "a-brand-new-secret-value"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    assert "secret" not in response.json()
    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert subscription.secret == "a-brand-new-secret-value"
    assert subscription.name == "Tracker"


def test_an_edit_with_a_bad_url_changes_nothing(
    api_client: ClientFor, support: User, subscription: WebhookSubscription
) -> None:
    response = api_client(support).patch(
        f"/api/v1/webhooks/{subscription.pk}/",
        {"url": "file:///etc/passwd", "name": "Renamed"},
        format="json",
    )
    assert list(assert_error(response, 400, "invalid")["errors"]) == ["url"]
    subscription.refresh_from_db()
    assert subscription.name == "Tracker"


def test_support_removes_a_subscription(
    api_client: ClientFor, support: User, subscription: WebhookSubscription
) -> None:
    response = api_client(support).delete(f"/api/v1/webhooks/{subscription.pk}/")
    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert_error(api_client(support).get(f"/api/v1/webhooks/{subscription.pk}/"), 404, "not_found")


def test_the_delivery_log_shows_each_attempt_and_its_status_code(
    api_client: ClientFor, support: User, subscription: WebhookSubscription
) -> None:
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id="6f1c2a8e-9d4b-4c37-8a55-0c2f3e7d9b10",
        kind="case.created",
        occurred_at="2026-12-01T10:00:00Z",
        state=WebhookDelivery.State.SUCCEEDED,
        attempt_count=3,
        last_status_code=200,
    )
    for number, code in enumerate([500, 500, 200], start=1):
        WebhookAttempt.objects.create(delivery=delivery, number=number, status_code=code)
    other = WebhookSubscription.objects.create(
        name="Other", url="https://o.example.com/", event_kinds=["case.created"]
    )
    WebhookDelivery.objects.create(
        subscription=other,
        event_id="6f1c2a8e-9d4b-4c37-8a55-0c2f3e7d9b11",
        kind="case.created",
        occurred_at="2026-12-01T10:00:00Z",
    )
    response = api_client(support).get(f"/api/v1/webhooks/{subscription.pk}/deliveries/")
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert row["state"] == "succeeded"
    assert row["last_status_code"] == 200
    assert [a["status_code"] for a in row["attempts"]] == [500, 500, 200]
    assert [a["number"] for a in row["attempts"]] == [1, 2, 3]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "{pk}/"),
        ("patch", "{pk}/"),
        ("delete", "{pk}/"),
        ("get", "{pk}/deliveries/"),
    ],
)
def test_a_customer_gets_404_on_every_webhook_url(
    api_client: ClientFor,
    customer: User,
    subscription: WebhookSubscription,
    method: str,
    suffix: str,
) -> None:
    path = "/api/v1/webhooks/" + suffix.format(pk=subscription.pk)
    response = getattr(api_client(customer), method)(path, {"name": "x"}, format="json")
    body = assert_error(response, 404, "not_found")
    assert subscription.url not in response.content.decode()
    assert "Tracker" not in str(body)
    assert WebhookSubscription.objects.get().name == "Tracker"


def test_staff_without_the_webhook_permissions_get_403(
    api_client: ClientFor, engineer: User, subscription: WebhookSubscription
) -> None:
    client = api_client(engineer)
    assert_error(client.get("/api/v1/webhooks/"), 403, "permission_denied")
    assert_error(
        client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"name": "x"}, format="json"),
        403,
        "permission_denied",
    )


def test_an_anonymous_request_is_401(api_client: ClientFor, db: None) -> None:
    assert_error(api_client(None).get("/api/v1/webhooks/"), 401, "not_authenticated")


def test_the_support_group_holds_the_webhook_permissions(db: None) -> None:
    granted = set(
        Group.objects.get(name=Role.SUPPORT)
        .permissions.filter(content_type__app_label="notifications")
        .values_list("codename", flat=True)
    )
    assert {
        "view_webhooksubscription",
        "add_webhooksubscription",
        "change_webhooksubscription",
        "delete_webhooksubscription",
    } <= granted
    assert factories.SupportFactory.create().has_perm("notifications.add_webhooksubscription")


def test_the_schema_documents_the_404_of_the_webhook_collection(db: None) -> None:
    schema = Client().get("/api/v1/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/webhooks/"]
    assert "404" in operations["get"]["responses"]
    assert "404" in operations["post"]["responses"]
    created = operations["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/WebhookSubscriptionCreated")
    read = schema["components"]["schemas"]["WebhookSubscription"]["properties"]
    assert "secret" not in read
