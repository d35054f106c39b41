"""
Tenant isolation, route by route.

The test walks the whole URL configuration. Every route must appear in CHECKS
(requests a customer makes for another organization's objects, with the answer
expected) or in PUBLIC (with the reason it holds no tenant data). A route added
without either fails the suite, so a new route cannot ship without this proof.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from cases import services
from cases.models import Attachment, Case, KnowledgeArticle, Release
from tests import factories


@dataclass
class World:
    customer: User
    own_case: Case
    foreign_case: Case
    foreign_attachment: Attachment
    foreign_note_attachment: Attachment
    draft_article: KnowledgeArticle
    draft_release: Release

    @property
    def foreign(self) -> str:
        return self.foreign_case.number


# Each check: (method, path, expected status). Admin paths answer a customer
# (who is not staff) with a redirect to the admin's sign-in page, whatever the id.
Check = tuple[str, str, int]
ADMIN = 302


def admin_object_routes(model: str, ident: Callable[[World], Any]) -> dict[str, Any]:
    base = f"admin/cases/{model}/<path:object_id>/"
    return {
        base + suffix: (
            lambda w, s=suffix: [("get", f"/admin/cases/{model}/{ident(w)}/{s}", ADMIN)]
        )
        for suffix in ("", "change/", "history/", "delete/")
    }


def foreign_webhook(w: World) -> int:
    """Return the id of a webhook subscription for the other organization's cases."""
    from notifications.models import WebhookSubscription

    subscription, _ = WebhookSubscription.objects.get_or_create(
        name="Foreign CRM",
        url="https://crm.example.com/hook",
        organization=w.foreign_case.organization,
        defaults={"event_kinds": ["case.created"]},
    )
    return subscription.pk


CHECKS: dict[str, Callable[[World], list[Check]]] = {
    # Portal
    "": lambda w: [("get", "/?q=Zyxwv", 200), ("get", "/?scope=all", 200)],
    "cases/new/": lambda w: [("get", "/cases/new/", 200)],
    "cases/<str:number>/": lambda w: [("get", f"/cases/{w.foreign}/", 404)],
    "cases/<str:number>/reply/": lambda w: [("post", f"/cases/{w.foreign}/reply/", 404)],
    "cases/<str:number>/close/": lambda w: [("post", f"/cases/{w.foreign}/close/", 404)],
    "cases/<str:number>/reopen/": lambda w: [("post", f"/cases/{w.foreign}/reopen/", 404)],
    "cases/<str:number>/follow/": lambda w: [
        ("post", f"/cases/{w.foreign}/follow/", 404),
    ],
    "accounts/notifications/": lambda w: [("get", "/accounts/notifications/", 200)],
    "cases/<str:number>/attachments/<int:pk>/": lambda w: [
        ("get", f"/cases/{w.foreign}/attachments/{w.foreign_attachment.pk}/", 404),
        # Another organization's file, asked for through one's own case.
        ("get", f"/cases/{w.own_case.number}/attachments/{w.foreign_attachment.pk}/", 404),
        (
            "get",
            f"/cases/{w.foreign}/attachments/{w.foreign_note_attachment.pk}/",
            404,
        ),
    ],
    "kb/": lambda w: [("get", "/kb/", 200)],
    "kb/suggest/": lambda w: [("get", "/kb/suggest/?q=Zyxwv", 200)],
    "kb/<slug:slug>/": lambda w: [("get", f"/kb/{w.draft_article.slug}/", 404)],
    # Admin: a customer never gets past the sign-in page.
    "admin/": lambda w: [("get", "/admin/", ADMIN)],
    "admin/password_change/": lambda w: [("get", "/admin/password_change/", ADMIN)],
    "admin/password_change/done/": lambda w: [("get", "/admin/password_change/done/", ADMIN)],
    "admin/autocomplete/": lambda w: [("get", "/admin/autocomplete/", ADMIN)],
    "admin/r/<path:content_type_id>/<path:object_id>/": lambda w: [
        ("get", f"/admin/r/1/{w.foreign_case.pk}/", ADMIN)
    ],
    "admin/cases/case/dashboard/": lambda w: [("get", "/admin/cases/case/dashboard/", ADMIN)],
    "admin/cases/case/": lambda w: [("get", "/admin/cases/case/", ADMIN)],
    "admin/cases/case/add/": lambda w: [("get", "/admin/cases/case/add/", ADMIN)],
    "admin/cases/case/<path:object_id>/reclassify/<str:to>/": lambda w: [
        ("post", f"/admin/cases/case/{w.foreign_case.pk}/reclassify/bug/", ADMIN)
    ],
    "admin/cases/case/<path:object_id>/transition/<str:name>/": lambda w: [
        ("post", f"/admin/cases/case/{w.foreign_case.pk}/transition/acknowledge/", ADMIN)
    ],
    "admin/cases/case/<path:object_id>/comment/": lambda w: [
        ("post", f"/admin/cases/case/{w.foreign_case.pk}/comment/", ADMIN)
    ],
    "admin/cases/case/<path:object_id>/assign/": lambda w: [
        ("post", f"/admin/cases/case/{w.foreign_case.pk}/assign/", ADMIN)
    ],
    "admin/cases/case/<path:object_id>/article/": lambda w: [
        ("get", f"/admin/cases/case/{w.foreign_case.pk}/article/", ADMIN)
    ],
    "admin/cases/case/<path:object_id>/attachment/<int:attachment_id>/": lambda w: [
        (
            "get",
            f"/admin/cases/case/{w.foreign_case.pk}/attachment/{w.foreign_attachment.pk}/",
            ADMIN,
        )
    ],
    **admin_object_routes("case", lambda w: w.foreign_case.pk),
    "admin/cases/release/": lambda w: [("get", "/admin/cases/release/", ADMIN)],
    "admin/cases/release/add/": lambda w: [("get", "/admin/cases/release/add/", ADMIN)],
    "admin/cases/release/<path:object_id>/publish/": lambda w: [
        ("post", "/admin/cases/release/1/publish/", ADMIN)
    ],
    **admin_object_routes("release", lambda w: 1),
    "admin/cases/knowledgearticle/": lambda w: [("get", "/admin/cases/knowledgearticle/", ADMIN)],
    "admin/cases/knowledgearticle/add/": lambda w: [
        ("get", "/admin/cases/knowledgearticle/add/", ADMIN)
    ],
    **admin_object_routes("knowledgearticle", lambda w: w.draft_article.pk),
    "admin/(?P<url>.*)$": lambda w: [("get", f"/admin/cases/comment/{w.foreign_case.pk}/", ADMIN)],
    # REST API
    "api/v1/": lambda w: [("get", "/api/v1/", 200)],
    "api/v1/^[\\s\\S]*$": lambda w: [("get", f"/api/v1/nothing/{w.foreign}/", 404)],
    "api/v1/me/": lambda w: [("get", "/api/v1/me/", 200)],
    "api/v1/^cases/$": lambda w: [
        ("get", "/api/v1/cases/?q=Zyxwv", 200),
        ("get", f"/api/v1/cases/?organization={w.foreign_case.organization_id}", 200),
    ],
    "api/v1/^cases/(?P<number>[^/]+)/$": lambda w: [
        ("get", f"/api/v1/cases/{w.foreign}/", 404),
        ("patch", f"/api/v1/cases/{w.foreign}/", 404),
    ],
    "api/v1/^cases/(?P<number>[^/]+)/attachments/(?P<attachment_id>[0-9]{1,18})/$": lambda w: [
        ("get", f"/api/v1/cases/{w.foreign}/attachments/{w.foreign_attachment.pk}/", 404),
        (
            "get",
            f"/api/v1/cases/{w.own_case.number}/attachments/{w.foreign_attachment.pk}/",
            404,
        ),
    ],
    "api/v1/^cases/(?P<number>[^/]+)/comments/$": lambda w: [
        ("get", f"/api/v1/cases/{w.foreign}/comments/", 404),
        ("post", f"/api/v1/cases/{w.foreign}/comments/", 404),
    ],
    "api/v1/^cases/(?P<number>[^/]+)/events/$": lambda w: [
        ("get", f"/api/v1/cases/{w.foreign}/events/", 404)
    ],
    "api/v1/^cases/(?P<number>[^/]+)/reclassify/$": lambda w: [
        ("post", f"/api/v1/cases/{w.foreign}/reclassify/", 404)
    ],
    "api/v1/^cases/(?P<number>[^/]+)/transitions/$": lambda w: [
        ("get", f"/api/v1/cases/{w.foreign}/transitions/", 404)
    ],
    "api/v1/^cases/(?P<number>[^/]+)/transitions/(?P<name>[^/.]+)/$": lambda w: [
        ("post", f"/api/v1/cases/{w.foreign}/transitions/close/", 404),
        ("post", f"/api/v1/cases/{w.foreign}/transitions/reopen/", 404),
    ],
    "api/v1/^articles/$": lambda w: [("get", "/api/v1/articles/", 200)],
    "api/v1/^articles/(?P<slug>[^/]+)/$": lambda w: [
        ("get", f"/api/v1/articles/{w.draft_article.slug}/", 404)
    ],
    "api/v1/^releases/$": lambda w: [("get", "/api/v1/releases/", 200)],
    "api/v1/^releases/(?P<version>[^/]+)/$": lambda w: [
        ("get", f"/api/v1/releases/{w.draft_release.version}/", 404)
    ],
    "api/v1/^releases/(?P<version>[^/]+)/publish/$": lambda w: [
        ("post", f"/api/v1/releases/{w.draft_release.version}/publish/", 404)
    ],
    # Webhook subscriptions may name any organization: customers are told nothing of them.
    "api/v1/^webhooks/$": lambda w: [
        ("get", "/api/v1/webhooks/", 404),
        ("post", "/api/v1/webhooks/", 404),
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/$": lambda w: [
        ("get", f"/api/v1/webhooks/{foreign_webhook(w)}/", 404),
        ("patch", f"/api/v1/webhooks/{foreign_webhook(w)}/", 404),
        ("delete", f"/api/v1/webhooks/{foreign_webhook(w)}/", 404),
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/deliveries/$": lambda w: [
        ("get", f"/api/v1/webhooks/{foreign_webhook(w)}/deliveries/", 404)
    ],
    # Email in: only the mail gateway, with its secret, may post here.
    "email/inbound/": lambda w: [("post", "/email/inbound/", 403)],
}

# Routes that take no tenant object, with the reason.
PUBLIC = {
    "admin/login/": "the admin's sign-in page",
    "admin/logout/": "signs the visitor out",
    "admin/jsi18n/": "the admin's translation catalogue",
    "accounts/login/": "the sign-in page",
    "accounts/logout/": "signs the visitor out",
    "accounts/password/": "the visitor's own password",
    "accounts/password/done/": "a confirmation page",
    "accounts/password/reset/": "asks for an email address; says the same for any address",
    "accounts/password/reset/sent/": "a confirmation page",
    "accounts/password/reset/<uidb64>/<token>/": "a signed link; an invalid one shows an error",
    "accounts/password/reset/complete/": "a confirmation page",
    "api/v1/schema/": "the OpenAPI schema: describes the API, holds no data",
    "api/v1/docs/": "the API's documentation page",
    "api/v1/redoc/": "the API's documentation page",
    "accounts/two-factor/enrol/": "the visitor's own second factor",
    "accounts/two-factor/verify/": "the visitor's own second factor",
    "healthz": "database, migrations and queue health; no customer data",
}

# Admin pages of models that hold no case data (accounts, queues, webhooks) are
# staff-only like every admin page: covered by one sample each.
ADMIN_PREFIXES_SAMPLED = (
    "admin/accounts/",
    "admin/auth/",
    "admin/notifications/",
    "admin/django_tasks_database/",
    "admin/axes/",
    "admin/otp_totp/",
    "admin/^(?P<app_label>",
)


def walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def all_routes() -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns)))


def test_every_route_has_an_isolation_check_or_a_reason() -> None:
    missing = [
        route
        for route in all_routes()
        if route not in CHECKS
        and route not in PUBLIC
        and not route.startswith(ADMIN_PREFIXES_SAMPLED)
    ]
    assert missing == [], (
        "Routes without a tenant-isolation check: add them to CHECKS (or to PUBLIC "
        f"with a reason) in {__file__}: {missing}"
    )
    stale = [route for route in [*CHECKS, *PUBLIC] if route not in all_routes()]
    assert stale == [], f"Checks for routes that no longer exist: {stale}"


@pytest.fixture
def world(db: None) -> World:
    customer = factories.CustomerFactory.create()
    stranger = factories.CustomerFactory.create()
    support = factories.SupportFactory.create()
    own_case = factories.file_case(reporter=customer, subject="Our own load balancer")
    foreign_case = factories.file_case(reporter=stranger, subject="Zyxwv confidential outage")
    reply = services.add_comment(
        case=foreign_case,
        by=stranger,
        body="Logs attached.",
        attachments=[SimpleUploadedFile("secret.log", b"password=hunter2")],
    )
    note = services.add_comment(
        case=foreign_case,
        by=support,
        body="Internal.",
        public=False,
        attachments=[SimpleUploadedFile("note.txt", b"internal")],
    )
    services.resolve_case(case=foreign_case, by=support, resolution="answered")
    return World(
        customer=customer,
        own_case=own_case,
        foreign_case=foreign_case,
        foreign_attachment=reply.attachments.get(),
        foreign_note_attachment=note.attachments.get(),
        draft_article=factories.KnowledgeArticleFactory.create(is_published=False),
        draft_release=factories.ReleaseFactory.create(),
    )


def test_a_customer_reaches_no_object_of_another_organization(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    client = Client()
    client.force_login(world.customer)
    covered = []
    for route, make_checks in sorted(CHECKS.items()):
        for method, path, expected in make_checks(world):
            response = getattr(client, method)(path)
            assert response.status_code == expected, (route, method, path)
            if expected == ADMIN:
                assert response["Location"].startswith("/admin/login/"), (route, path)
            body = response.content.decode(errors="replace")
            assert world.foreign_case.subject not in body, (route, path)
            assert world.foreign_case.number not in body, (route, path)
            covered.append(f"{method.upper()} {path} -> {expected}  [{route or '/'}]")
    with capsys.disabled():
        print(f"\nTenant isolation: {len(covered)} requests over {len(CHECKS)} routes")
        for line in covered:
            print("  " + line)


def test_sampled_admin_pages_are_staff_only(world: World) -> None:
    client = Client()
    client.force_login(world.customer)
    for prefix in ADMIN_PREFIXES_SAMPLED:
        routes = [r for r in all_routes() if r.startswith(prefix) and "<" not in r]
        for route in [*routes, "admin/cases/", "admin/accounts/"]:
            response = client.get("/" + route)
            assert response.status_code == ADMIN, route
            assert response["Location"].startswith("/admin/login/"), route
