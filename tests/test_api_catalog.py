"""The API of releases and knowledge articles."""

from collections.abc import Callable

from rest_framework.test import APIClient

from accounts.models import User
from cases import services
from cases.models import Case, KnowledgeArticle, Release, Status
from tests import factories
from tests.test_api_cases import assert_error, url

ClientFor = Callable[[User | None], APIClient]


def test_staff_add_a_release(api_client: ClientFor, engineer: User) -> None:
    response = api_client(engineer).post("/api/v1/releases/", {"version": "31.0"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"version": "31.0", "released_on": None, "published": False}
    assert Release.objects.filter(version="31.0").exists()


def test_duplicate_release_version_names_the_field(api_client: ClientFor, support: User) -> None:
    factories.ReleaseFactory.create(version="31.0")
    response = api_client(support).post("/api/v1/releases/", {"version": "31.0"}, format="json")
    assert "version" in assert_error(response, 400, "invalid")["errors"]


def test_customer_may_not_add_a_release(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post("/api/v1/releases/", {"version": "31.0"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert not Release.objects.exists()


def test_customers_see_published_releases_only(
    api_client: ClientFor, customer: User, support: User
) -> None:
    published = factories.ReleaseFactory.create(released_on="2026-01-05")
    planned = factories.ReleaseFactory.create()
    mine = [r["version"] for r in api_client(customer).get("/api/v1/releases/").json()["results"]]
    staff = [r["version"] for r in api_client(support).get("/api/v1/releases/").json()["results"]]
    assert mine == [published.version]
    assert staff == [planned.version, published.version]
    assert_error(api_client(customer).get(f"/api/v1/releases/{planned.version}/"), 404, "not_found")


def test_publishing_resolves_the_scheduled_cases(
    api_client: ClientFor, support: User, customer: User
) -> None:
    release = factories.ReleaseFactory.create()
    case = factories.file_case(reporter=customer, type="bug")
    services.transition_case(case=case, by=support, name="acknowledge")
    services.transition_case(case=case, by=support, name="escalate")
    services.transition_case(case=case, by=support, name="schedule_fix", release=release)
    response = api_client(support).post(f"/api/v1/releases/{release.version}/publish/")
    assert response.status_code == 200, response.content
    assert response.json()["published"] is True
    assert response.json()["resolved_cases"] == [case.number]
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED
    again = api_client(support).post(f"/api/v1/releases/{release.version}/publish/")
    assert_error(again, 409, "release_already_published")


def test_customer_may_not_publish_a_release(api_client: ClientFor, customer: User) -> None:
    release = factories.ReleaseFactory.create(released_on=None)
    # Customers do not even see unpublished releases.
    response = api_client(customer).post(f"/api/v1/releases/{release.version}/publish/")
    assert_error(response, 404, "not_found")
    assert not Release.objects.get(pk=release.pk).is_published


def test_customers_read_published_articles_only(
    api_client: ClientFor, customer: User, support: User
) -> None:
    public = factories.KnowledgeArticleFactory.create(title="A: configure SSO")
    draft = factories.KnowledgeArticleFactory.create(title="B: draft", is_published=False)
    client = api_client(customer)
    assert [a["slug"] for a in client.get("/api/v1/articles/").json()["results"]] == [public.slug]
    assert client.get(f"/api/v1/articles/{public.slug}/").json()["title"] == public.title
    assert_error(client.get(f"/api/v1/articles/{draft.slug}/"), 404, "not_found")
    staff = api_client(support).get("/api/v1/articles/").json()["results"]
    assert [a["slug"] for a in staff] == [public.slug, draft.slug]


def test_support_writes_an_article_from_a_case(
    api_client: ClientFor, support: User, case: Case
) -> None:
    response = api_client(support).post(
        "/api/v1/articles/",
        {"title": "Reset a password", "body": "Click **reset**.", "source_case": case.number},
        format="json",
    )
    assert response.status_code == 201, response.content
    article = KnowledgeArticle.objects.get()
    assert response.json()["slug"] == article.slug == "reset-a-password"
    assert article.source_case == case
    assert article.author == support


def test_customer_may_not_write_an_article(api_client: ClientFor, customer: User) -> None:
    response = api_client(customer).post(
        "/api/v1/articles/", {"title": "Mine", "body": "Text"}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_article_from_an_unknown_case_names_the_field(api_client: ClientFor, support: User) -> None:
    response = api_client(support).post(
        "/api/v1/articles/",
        {"title": "T", "body": "B", "source_case": "CASE-999999"},
        format="json",
    )
    assert "source_case" in assert_error(response, 400, "invalid")["errors"]


def test_reading_another_url_of_a_case_keeps_the_detail_generic(
    api_client: ClientFor, other_customer: User, case: Case
) -> None:
    body = assert_error(api_client(other_customer).get(url(case, "events/")), 404, "not_found")
    assert body["detail"] == "No such case."
