"""The knowledge base pages, the suggestions while filing, and search on PostgreSQL."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from cases.models import Case, KnowledgeArticle
from cases.search import search_articles, search_cases
from tests import factories


@pytest.fixture
def customer_client(client: Client, customer: User) -> Client:
    client.force_login(customer)
    return client


def article(**fields: object) -> KnowledgeArticle:
    return factories.KnowledgeArticleFactory.create(**fields)


def test_kb_lists_published_articles_only(customer_client: Client) -> None:
    article(title="Rotate the TLS certificate")
    article(title="Draft: secret roadmap", is_published=False)

    response = customer_client.get("/kb/")

    assert response.status_code == 200
    assert "Rotate the TLS certificate" in response.text
    assert "secret roadmap" not in response.text


def test_kb_search_finds_articles_by_title_and_body(customer_client: Client) -> None:
    by_title = article(title="Configure the VPN client", body="Steps.")
    by_body = article(title="Remote access", body="Install the VPN profile first.")
    article(title="Backups", body="Nightly.")

    response = customer_client.get("/kb/", {"q": "vpn"})

    assert set(response.context["articles"]) == {by_title, by_body}


def test_unpublished_article_page_is_404(customer_client: Client) -> None:
    draft = article(is_published=False)

    assert customer_client.get(f"/kb/{draft.slug}/").status_code == 404


def test_article_page_renders_markdown_and_says_nothing_about_its_source_case(
    customer_client: Client, customer: User, other_customer: User
) -> None:
    source = factories.file_case(reporter=other_customer, subject="Acme's outage in Berlin")
    published = article(
        title="Recover from a full disk",
        body="Run **cleanup** <script>x()</script>",
        source_case=source,
    )

    text = customer_client.get(f"/kb/{published.slug}/").text

    assert "<strong>cleanup</strong>" in text
    assert "<script>x()" not in text
    assert source.number not in text
    assert "Acme" not in text
    assert source.organization.name not in text


def test_suggestions_return_matching_published_articles_as_a_fragment(
    customer_client: Client,
) -> None:
    article(title="Certificate renewal fails", slug="cert-renewal")
    article(title="Certificate draft", slug="cert-draft", is_published=False)
    article(title="Backups", slug="backups")

    response = customer_client.get(
        "/kb/suggest/", {"subject": "renewal of certificate"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "/kb/cert-renewal/" in response.text
    assert "cert-draft" not in response.text
    assert "backups" not in response.text


def test_suggestions_for_a_short_subject_are_empty(customer_client: Client) -> None:
    article(title="Certificate renewal")

    response = customer_client.get("/kb/suggest/", {"subject": "a"})

    assert response.status_code == 200
    assert response.text.strip() == ""


@pytest.mark.postgres
def test_postgres_search_uses_full_text_matching(customer: User) -> None:
    factories.file_case(reporter=customer, subject="Connections are failing")
    factories.file_case(reporter=customer, subject="Unrelated")

    found = search_cases(Case.objects.all(), "connection failed")

    # Stemming: "connection failed" matches "Connections are failing".
    assert [c.subject for c in found] == ["Connections are failing"]


@pytest.mark.postgres
def test_postgres_case_search_is_backed_by_the_gin_indexes(customer: User) -> None:
    factories.file_case(reporter=customer, subject="Connections are failing")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = search_cases(Case.objects.all(), "connection").explain()

    assert "case_search" in plan
    assert "comment_public_search" in plan


@pytest.mark.postgres
def test_postgres_article_search_is_backed_by_its_gin_index(db: None) -> None:
    article(title="Connections are failing")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = search_articles(KnowledgeArticle.objects.published(), "connection").explain()

    assert "article_search" in plan
