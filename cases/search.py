"""
Full-text search over cases (subject, description, public comments) and articles.

On PostgreSQL it is real full-text search: the expressions below are the very
ones indexed by migration 0002 (GIN indexes on `to_tsvector`), so the planner
can use those indexes. On SQLite it falls back to a case-insensitive substring
match, which is enough for development and tests.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q

from cases.models import CaseQuerySet, Comment, KnowledgeArticle, KnowledgeArticleQuerySet

CONFIG = "english"


def case_vector() -> SearchVector:
    return SearchVector("subject", "description", config=CONFIG)


def comment_vector() -> SearchVector:
    return SearchVector("body", config=CONFIG)


def _uses_postgres() -> bool:
    return connection.vendor == "postgresql"


def search_cases(cases: CaseQuerySet, text: str) -> CaseQuerySet:
    """Return the cases of `cases` whose subject, description or a public comment match `text`."""
    text = text.strip()
    if not text:
        return cases
    if _uses_postgres():
        query = SearchQuery(text, config=CONFIG, search_type="websearch")
        # Both sides are limited to the cases searched (a customer's organization),
        # so a common word does not gather matches from every organization first.
        searched = cases.order_by().values("pk")
        in_comments = (
            Comment.objects.filter(is_public=True, case__in=searched)
            .alias(document=comment_vector())
            .filter(document=query)
            .values("case_id")
        )
        in_cases = (
            cases.order_by().alias(document=case_vector()).filter(document=query).values("pk")
        )
        # One set of ids from both indexes: an OR of the two conditions would
        # make PostgreSQL scan every visible case instead.
        return cases.filter(pk__in=in_cases.union(in_comments))
    commented = Comment.objects.filter(is_public=True, body__icontains=text).values("case_id")
    return cases.filter(
        Q(subject__icontains=text) | Q(description__icontains=text) | Q(pk__in=commented)
    )


def search_articles(articles: KnowledgeArticleQuerySet, text: str) -> KnowledgeArticleQuerySet:
    """Return the articles of `articles` whose title or body match `text`."""
    text = text.strip()
    if not text:
        return articles
    if _uses_postgres():
        query = SearchQuery(text, config=CONFIG, search_type="websearch")
        return articles.alias(document=SearchVector("title", "body", config=CONFIG)).filter(
            document=query
        )
    return articles.filter(Q(title__icontains=text) | Q(body__icontains=text))


def suggest_articles(
    articles: KnowledgeArticleQuerySet, subject: str, *, limit: int = 5
) -> list[KnowledgeArticle]:
    """Return up to `limit` articles sharing words with `subject`, best match first."""
    words = list(dict.fromkeys(w.casefold() for w in re.findall(r"\w{3,}", subject)))[:8]
    if not words:
        return []
    if _uses_postgres():
        # Any word may match ("or" in websearch syntax); the best ranked first.
        query = SearchQuery(" or ".join(words), config=CONFIG, search_type="websearch")
        vector = SearchVector("title", "body", config=CONFIG)
        return list(
            articles.alias(document=vector)
            .filter(document=query)
            .annotate(rank=SearchRank(vector, query))
            .order_by("-rank", "title", "id")
            .only("slug", "title")[:limit]
        )
    match = Q()
    for word in words:
        match |= Q(title__icontains=word) | Q(body__icontains=word)
    found = list(articles.filter(match).only("slug", "title")[:50])

    def score(article: KnowledgeArticle) -> int:
        title = article.title.casefold()
        return sum(1 for word in words if word in title)

    return sorted(found, key=lambda a: (-score(a), a.title, a.pk))[:limit]
