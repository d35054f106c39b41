"""
Full-text search over cases (subject, description, public comments) and articles.

On PostgreSQL it is real full-text search. Cases and comments keep their
search document in a generated column, `search_document`, indexed with GIN
(migrations 0002 and 0006); articles are searched by the expression their
index of migration 0002 is built on. On SQLite it falls back to a
case-insensitive substring match, which is enough for development and tests.

A search for a word found in many cases and one for a rare word want
different plans: the list's page of the newest matches is found soonest by
checking the visible cases in list order when matches are common, and by
gathering the matches from the indexes and sorting them when they are rare.
`search_cases` chooses by how common PostgreSQL's statistics say the words
searched for are; each process keeps what they said of a search for a
minute (see `_is_common`).
"""

import re
import time
from typing import Any, Self

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, SearchVectorField
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, Func, Q, QuerySet
from django.db.models.expressions import Col
from django.db.models.sql.compiler import SQLCompiler

from cases.models import CaseQuerySet, Comment, KnowledgeArticle, KnowledgeArticleQuerySet

CONFIG = "english"
# The cases of the lists' first page.
PAGE = 25


class Document(Expression):
    """The `search_document` column PostgreSQL keeps for each row of the model searched."""

    output_field = SearchVectorField()

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: set[str] | None = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:
        # The column is not a model field (SQLite has none): refer to it as a
        # field of the query's own table would be, so that the reference
        # follows the table when the query becomes a subquery.
        field = SearchVectorField()
        field.set_attributes_from_name("search_document")
        field.model = query.model
        return Col(query.get_initial_alias(), field)


class AnyOf(Func):
    """`value = ANY(array)`: whether the array holds the value."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


class Walked(Expression):
    """
    Whether a case's search document or one of its public comments match the search.

    Written out, as the condition of the walk is on every request for a common
    word, and building it from querysets cost more than the rest of the list.
    The comment is found by a scalar subquery, run case by case, which stops
    at the first matching comment; an EXISTS would be turned into a hash of
    every matching comment of the table, built before the first case is checked.
    The words' query is read in a subquery, run once per search: the plan then
    does not depend on the words, so a connection plans the statement once
    (PostgreSQL keeps a generic plan) instead of on every search.
    """

    output_field = BooleanField()
    # The search's words are parameters; the case's columns are compiled.
    template = (
        "(%(document)s @@ (SELECT websearch_to_tsquery(%%s::regconfig, %%s)) OR ("
        'SELECT comment_."id" FROM "cases_comment" comment_ '
        'WHERE comment_."is_public" AND comment_."case_id" = %(case_pk)s '
        'AND comment_."search_document" @@ (SELECT websearch_to_tsquery(%%s::regconfig, %%s)) '
        "LIMIT 1) IS NOT NULL)"
    )

    def __init__(self, text: str, document: Any = None, case_pk: Any = None) -> None:
        super().__init__()
        self.text = text
        self.document = document
        self.case_pk = case_pk

    def get_source_expressions(self) -> list[Any]:
        return [self.document, self.case_pk]

    def set_source_expressions(self, exprs: Any) -> None:
        self.document, self.case_pk = exprs

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: set[str] | None = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:
        resolved = self.copy()
        resolved.document = Document().resolve_expression(query)
        resolved.case_pk = F("pk").resolve_expression(query, allow_joins, reuse, summarize)
        return resolved

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        document, document_params = compiler.compile(self.document)
        case_pk, case_pk_params = compiler.compile(self.case_pk)
        # nosec B608 - the SQL is the template's, the columns Django's, the text a parameter
        sql = self.template % {"document": document, "case_pk": case_pk}
        params = (*document_params, CONFIG, self.text, *case_pk_params, CONFIG, self.text)
        return sql, params


class WalkedCases(CaseQuerySet):
    """
    The cases matching a common word, found by checking the cases in list order.

    Counting them that way would check every case; a count also requires the
    case to be among the matches gathered from the indexes, which changes
    nothing in the answer and lets PostgreSQL count from those.
    """

    searched: tuple[CaseQuerySet, str] | None = None

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone.searched = self.searched
        return clone

    def count(self) -> int:
        if self.searched is None or self._result_cache is not None:
            return super().count()
        return CaseQuerySet.count(self.filter(pk__in=_matches(*self.searched)))


def _uses_postgres() -> bool:
    return connection.vendor == "postgresql"


def _matches(cases: CaseQuerySet, text: str) -> QuerySet[Any]:
    """Return the ids of the cases of `cases` matching `text`, gathered from the indexes."""
    query = SearchQuery(text, config=CONFIG, search_type="websearch")
    matching = cases.alias(document=Document()).filter(document=query)
    public_comments = Comment.objects.filter(is_public=True).alias(document=Document())
    # Both sides are limited to the cases searched (a customer's organization),
    # so a word does not gather matches from every organization first.
    in_comments = (
        public_comments.filter(document=query, case__in=cases.order_by().values("pk"))
        .order_by()
        .values("case_id")
    )
    # One set of ids from both indexes: an OR of the two conditions would
    # make PostgreSQL scan every visible case instead.
    return matching.order_by().values("pk").union(in_comments).order_by()


def search_cases(cases: CaseQuerySet, text: str) -> CaseQuerySet:
    """Return the cases of `cases` whose subject, description or a public comment match `text`."""
    text = text.strip()
    if not text:
        return cases
    if _uses_postgres():
        # Either way the cases are those of `cases` whose document or one of
        # whose public comments match, so a choice made on stale statistics
        # is only slower.
        if not _is_common(text):
            # Gathered once, then read by primary key: as `pk__in` the matches
            # would be joined after the tables the list's cases join, in the
            # order Django writes them (portal.settings), which reads every
            # visible case first.
            return cases.filter(AnyOf(F("pk"), ArraySubquery(_matches(cases, text))))
        walked = cases.filter(Walked(text))
        # A new queryset of this call's own: it only changes class.
        walked.__class__ = WalkedCases  # type: ignore[assignment]
        walked.searched = (cases, text)  # type: ignore[attr-defined]
        return walked
    commented = Comment.objects.filter(is_public=True, body__icontains=text).values("case_id")
    return cases.filter(
        Q(subject__icontains=text) | Q(description__icontains=text) | Q(pk__in=commented)
    )


# The share of the cases and of the comments whose search document has every
# word searched for, as far as PostgreSQL's statistics of the column tell (a
# word they do not list counts as rare), and the number of rows.
SHARES = r"""
WITH searched AS (
    SELECT ARRAY(
        SELECT m[1] FROM regexp_matches(
            websearch_to_tsquery(%s::regconfig, %s)::text, '(?<!!)''((?:[^'']|'''')+)''', 'g'
        ) AS m
    ) AS lexemes
)
SELECT stats.tablename, table_.reltuples, (
    SELECT min(COALESCE(common.freq, 0))
    FROM unnest(searched.lexemes) AS wanted (lexeme)
    LEFT JOIN unnest(stats.most_common_elems::text::text[], stats.most_common_elem_freqs)
        AS common (lexeme, freq) USING (lexeme)
)
FROM searched, pg_stats AS stats JOIN pg_class AS table_ ON table_.relname = stats.tablename
WHERE stats.schemaname = current_schema() AND stats.attname = 'search_document'
    AND stats.tablename IN ('cases_case', 'cases_comment')
"""


# How long a process trusts what the statistics said of a search, in seconds,
# and how many searches it remembers.
STATISTICS_LIFETIME = 60.0
STATISTICS_KEPT = 1000
# {(database, text): (when it was asked, whether its matches are common)}
_common: dict[tuple[str, str], tuple[float, bool]] = {}


def _is_common(text: str) -> bool:
    """
    Return whether matches of `text` are common enough to find a page of them in list order.

    The answer only chooses the plan of `search_cases`, whose two plans find
    the same cases: an answer the statistics no longer give makes a search
    slower, never wrong. So it is kept for a while, and a search costs one
    query instead of two. The statistics themselves only change when
    PostgreSQL analyzes the tables.
    """
    key = (connection.settings_dict["NAME"], text)
    now = time.monotonic()
    known = _common.get(key)
    if known is not None and now - known[0] < STATISTICS_LIFETIME:
        return known[1]
    common = _statistics_say_common(text)
    if len(_common) >= STATISTICS_KEPT:
        _common.clear()
    _common[key] = (now, common)
    return common


def _statistics_say_common(text: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(SHARES, [CONFIG, text])
        rows = {table: (count, share) for table, count, share in cursor.fetchall()}
    cases, case_share = rows.get("cases_case", (0, None))
    comment_share = rows.get("cases_comment", (0, None))[1]
    if case_share is None or comment_share is None:
        return False
    # Walking the list reads about PAGE / share cases for a page; gathering
    # the matches reads share * cases of them. The walk wins above the share
    # where the two meet.
    share = case_share + comment_share
    return bool(share * share * cases >= PAGE)


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
