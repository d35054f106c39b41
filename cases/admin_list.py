"""
The staff case list's rows, written in Python.

Django's generic ``result_list`` tag looks every cell up through
``lookup_field``, renders each row's action checkbox through the form renderer
and reverses the change URL (and re-resolves it to add the preserved filters)
for every link: most of the list's time. Here the way to show each column is
worked out once per page and each row is written in one pass, with the markup
Django writes (the same cells, classes, links and checkbox), which the admin's
CSS and its actions JavaScript rely on.
"""

import contextvars
import dataclasses
import datetime
import html
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import items_for_result, result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value, quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import InvalidPage
from django.db import models
from django.db.models import Q, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.html import avoid_wrapping, escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import smart_split, unescape_string_literal
from django.utils.timesince import TIME_STRINGS, timesince
from django.utils.timezone import is_aware
from django.utils.translation import get_language, gettext

from accounts.models import Organization, User
from cases import admin_queries
from cases.models import Case

# A word naming more organizations or reporters than this is looked up by a
# subquery rather than a list of ids: it matches too many cases for an index to help.
NAMED_IDS_LIMIT = 1000


def search_cases(queryset: QuerySet[Case], search_term: str) -> QuerySet[Case]:
    """
    Return the cases of `queryset` that each word of `search_term` finds.

    A word finds a case by its subject, its organization's name, its reporter's
    email (all "contains", in any case) or its external id (exactly): what the
    admin's own search does with ``search_fields``. The admin's search joins the
    organization and the reporter and tests every case; here one query first
    finds the organizations and reporters each word names, so that every
    condition is on the case's own columns and PostgreSQL can answer from their
    indexes (migration 0007) instead of reading every case.
    """
    words = [
        unescape_string_literal(bit) if bit.startswith(('"', "'")) and bit[0] == bit[-1] else bit
        for bit in smart_split(search_term)
    ]
    if not words:
        return queryset
    named = _named_by(words)
    for index, word in enumerate(words):
        organizations = named.get((index, "organization"), [])
        reporters = named.get((index, "reporter"), [])
        queryset = queryset.filter(
            Q(subject__icontains=word)
            | Q(
                organization__in=organizations
                if len(organizations) <= NAMED_IDS_LIMIT
                else Organization.objects.filter(name__icontains=word).values("pk")
            )
            | Q(
                reporter__in=reporters
                if len(reporters) <= NAMED_IDS_LIMIT
                else User.objects.filter(email__icontains=word).values("pk")
            )
            | Q(external_id__iexact=word)
        )
    return queryset


def _named_by(words: list[str]) -> dict[tuple[int, str], list[int]]:
    """Return the ids of the organizations and users each word names, in one query."""
    parts: list[QuerySet[Any, Any]] = []
    for index, word in enumerate(words):
        for kind, model, field in (
            ("organization", Organization, "name"),
            ("reporter", User, "email"),
        ):
            parts.append(
                model.objects.filter(**{f"{field}__icontains": word})  # type: ignore[attr-defined]
                .order_by()
                .annotate(word=Value(index), kind=Value(kind))
                .values_list("pk", "word", "kind")
            )
    named: dict[tuple[int, str], list[int]] = {}
    # Ordered by a column of the union: the models' own ordering is no column of it.
    for pk, index, kind in parts[0].union(*parts[1:], all=True).order_by("word"):
        named.setdefault((index, kind), []).append(pk)
    return named


_MISSING = object()

# A pk no case has, replaced by each row's own in the change URL worked out once.
_PK_MARK = "9876543210987654321"

Cell = Callable[[Case], str]


def _escape(value: Any) -> str:
    """Return `value` escaped for HTML unless it is safe already: ``conditional_escape``."""
    if type(value) is int:
        return str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def action_checkbox(obj: Any, label: str | None = None) -> SafeString:
    """
    Return the checkbox ``ModelAdmin.action_checkbox`` renders, without the form renderer.

    `label` is the translated "Select this object ..." text, if the caller has it.
    """
    return format_html(
        '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
        ACTION_CHECKBOX_NAME,
        obj.pk,
        format_html(label or gettext("Select this object for an action - {}"), str(obj)),
    )


# The units of ``timesince`` below a month, largest first, with their seconds.
_CHUNKS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60))

_AGE_TEXTS: dict[tuple[str | None, str, int], str] = {}


def _age_text(language: str | None, name: str, num: int) -> str:
    """Return ``timesince``'s text for `num` of unit `name` ("3\xa0days"), once per language."""
    key = (language, name, num)
    text = _AGE_TEXTS.get(key)
    if text is None:
        text = str(avoid_wrapping(str(TIME_STRINGS[name] % {"num": num})))
        if len(_AGE_TEXTS) >= 4096:
            _AGE_TEXTS.clear()
        _AGE_TEXTS[key] = text
    return text


# The language and the time of the rows being written (CaseChangeList.rows), for age().
_PAGE: contextvars.ContextVar[tuple[str | None, datetime.datetime] | None] = contextvars.ContextVar(
    "case_list_page", default=None
)


def age(when: datetime.datetime, now: datetime.datetime | None = None) -> str:
    """
    Return ``timesince(when, now, depth=1)``: "3 days", "7 years".

    The same steps as Django's for its one unit (the first that is not zero),
    without its pivot date, its list of every unit and its lazy strings.
    """
    if not isinstance(when, datetime.datetime) or not is_aware(when):
        return timesince(when, now, depth=1)
    page = _PAGE.get()
    if now is None and page is not None:
        language, now = page
        now = now.astimezone(when.tzinfo)
    else:
        if now is None:
            now = datetime.datetime.now(when.tzinfo)
        elif not is_aware(now):
            return timesince(when, now, depth=1)
        else:
            now = now.astimezone(when.tzinfo)
        language = get_language()
    delta = now - when
    since = delta.days * 86400 + delta.seconds  # microseconds ignored
    if since <= 0:
        return _age_text(language, "minute", 0)
    months = (now.year - when.year) * 12 + (now.month - when.month)
    if when.day > now.day or (when.day == now.day and when.time() > now.time()):
        months -= 1
    if months >= 12:
        return _age_text(language, "year", months // 12)
    if months:
        return _age_text(language, "month", months)
    for name, seconds in _CHUNKS:
        if since >= seconds:
            return _age_text(language, name, since // seconds)
    return _age_text(language, "minute", 0)


# Each query-string parameter, quoted: the filters' links quote the same few hundred.
_QUOTED: dict[tuple[str, str], str] = {}


@dataclasses.dataclass(frozen=True)
class CompiledPlan:
    """The page's read with the SQL compiled once: its query and its conditions."""

    db: str
    query: admin_queries.PageQuery
    conditions: list[str]
    params: list[Any]


class CaseChangeList(ChangeList):
    """The case list: reads only the columns it shows and writes its rows in one pass."""

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        lookup_params: dict[str, Any] = super().get_filters_params(params)
        # A number beyond any id the database can hold (SQLite refuses to take
        # it at all) is a lookup no list can answer: the admin's "?e=1" page.
        for values in lookup_params.values():
            for value in values if isinstance(values, list) else [values]:
                pk = admin_queries.filter_id(value) if isinstance(value, str) else None
                if pk is not None and pk > admin_queries.MAX_ID:
                    raise IncorrectLookupParameters(f"No row has the id {value}.")
        return lookup_params

    def get_query_string(
        self, new_params: dict[str, Any] | None = None, remove: Iterable[str] | None = None
    ) -> str:
        # Django's, with each parameter quoted once per page rather than once per
        # link (the filters ask for some hundred links a page).
        params = self.filter_params
        if not params and not remove and new_params and len(new_params) == 1:
            # The list without parameters: each filter's link to one of its choices.
            ((key, value),) = new_params.items()
            return "?" if value is None else "?" + self._quote(key, value)
        kept = self.__dict__.get("_quoted_params")
        if kept is None or kept[0] != params:
            snapshot = {k: list(v) if isinstance(v, list) else v for k, v in params.items()}
            kept = (snapshot, {k: self._quote(k, v) for k, v in params.items()})
            self._quoted_params = kept
        quoted = kept[1].copy()
        for prefix in remove or ():
            for key in list(quoted):
                if key.startswith(prefix):
                    del quoted[key]
        for key, value in (new_params or {}).items():
            if value is None:
                quoted.pop(key, None)
            else:
                quoted[key] = self._quote(key, value)
        return "?" + "&".join([quoted[key] for key in sorted(quoted) if quoted[key]])

    @staticmethod
    def _quote(key: str, value: Any) -> str:
        """Return ``urlencode([(key, value)], doseq=True)``, once per process for strings."""
        if type(value) is int:  # a page number: urlencode writes it as str() does
            value = str(value)
        if type(key) is not str or type(value) is not str:
            return urlencode([(key, value)], doseq=True)
        pair = (key, value)
        text = _QUOTED.get(pair)
        if text is None:
            text = urlencode([pair], doseq=True)
            if len(_QUOTED) >= 4096:
                _QUOTED.clear()
            _QUOTED[pair] = text
        return text

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Case]:
        if exclude_parameters is not None or "_plan" in self.__dict__:
            return super().get_queryset(request, exclude_parameters)
        # The first call, from __init__: the list is read with the compiled SQL if
        # it can be, and then its queryset is built only if something reads it.
        self._plan = self._compiled_plan(request)
        if self._plan is None:
            return super().get_queryset(request)
        (
            self.filter_specs,
            self.has_filters,
            remaining,
            may_have_duplicates,
            self.has_active_filters,
        ) = self.get_filters(request)
        if remaining or may_have_duplicates:  # a lookup no filter took: Django's way
            self._plan = None
            return super().get_queryset(request)
        self.clear_all_filters_qs = self.get_query_string(
            new_params=remaining, remove=self.get_filters_params()
        )

        def build() -> QuerySet[Case]:
            # ChangeList.get_queryset() with these filters, no other lookup, no search.
            queryset = self.root_queryset
            for spec in self.filter_specs:
                filtered = spec.queryset(request, queryset)
                if filtered is not None:
                    queryset = filtered
            if not queryset.query.select_related:
                queryset = self.apply_select_related(queryset)
            return queryset.order_by(*self.get_ordering(request, queryset))

        return cast(QuerySet[Case], SimpleLazyObject(build))

    def _compiled_plan(self, request: HttpRequest) -> CompiledPlan | None:
        """
        Return how to read the page with the SQL compiled once (``cases.admin_queries``).

        None unless the list is shown in its default order, without a search,
        with only the filters the compiled SQL knows.
        """
        model_admin = self.model_admin
        shown = getattr(model_admin, "list_fields", None)
        related = self.list_select_related
        if (
            request.method != "GET"
            or not shown
            or not getattr(model_admin, "compiled_list", False)
            or self.query
            or self.show_all
            or self.is_popup
            or self.to_field
            or self.list_editable
            or self.add_facets
            or self.date_hierarchy
            or model_admin.show_full_result_count
            or isinstance(related, bool)
            or not isinstance(request.user, User)
        ):
            return None
        db = admin_queries.db()
        where = admin_queries.conditions(self.filter_params, request.user, db)
        if where is None:
            return None
        query = admin_queries.page_query(db, tuple(related or ()), tuple(shown))
        if query is None:
            return None
        return CompiledPlan(db, query, *where)

    def get_results(self, request: HttpRequest) -> None:
        plan = self.__dict__.get("_plan")
        if plan is not None:
            self._get_compiled_results(request, plan)
            return
        # The page reads only what its columns show (not the description, nor the
        # users' password hashes); the queryset the actions run on is not this one.
        shown = getattr(self.model_admin, "list_fields", None)
        if shown:
            self.queryset = self.queryset.only(*shown)
        super().get_results(request)

    def _get_compiled_results(self, request: HttpRequest, plan: CompiledPlan) -> None:
        """What ``ChangeList.get_results`` does, with the SQL compiled once."""
        paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        cap = paginator.cap  # type: ignore[attr-defined]
        result_count = admin_queries.count(plan.conditions, plan.params, cap, plan.db)
        paginator.__dict__["count"] = result_count  # the paginator's cached_property
        multi_page = result_count > self.list_per_page
        offset = 0
        if multi_page:
            try:
                offset = (paginator.validate_number(self.page_num) - 1) * self.list_per_page
            except InvalidPage as error:
                raise IncorrectLookupParameters from error
        self.result_list = admin_queries.page(
            plan.query, plan.conditions, plan.params, offset, self.list_per_page, plan.db
        )
        self.result_count = result_count
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.full_result_count = None
        self.can_show_all = result_count <= self.list_max_show_all
        self.multi_page = multi_page
        self.paginator = paginator

    @cached_property
    def result_headers(self) -> list[dict[str, Any]]:
        return list(result_headers(self))

    @cached_property
    def num_sorted_fields(self) -> int:
        return sum(1 for h in self.result_headers if h["sortable"] and h["sorted"])

    @cached_property
    def rows(self) -> list[SafeString]:
        """Return each case of the page as a ``<tr>`` of the admin's result list."""
        cells = self._cells()
        if cells is None:  # a column this writer does not know: Django's own way
            return [
                mark_safe("<tr>" + "".join(items_for_result(self, case, None)) + "</tr>")  # nosec B308 B703 - Django's own escaped cells
                for case in self.result_list
            ]
        # The rows' ages all from the same time, with the language looked up once.
        page = _PAGE.set((get_language(), datetime.datetime.now(datetime.UTC)))
        try:
            return [
                mark_safe("<tr>" + "".join([cell(case) for cell in cells]) + "</tr>")  # nosec B308 B703 - each cell escapes its values
                for case in self.result_list
            ]
        finally:
            _PAGE.reset(page)

    def _change_url(self) -> Callable[[Case], str]:
        url = reverse(
            f"{self.model_admin.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[quote(_PK_MARK)],
        )
        url = add_preserved_filters(
            {"preserved_filters": self.preserved_filters, "opts": self.opts}, url
        )
        before, after = escape(url).split(_PK_MARK, 1)
        return lambda case: f"{before}{quote(case.pk)}{after}"

    def _cells(self) -> list[Cell] | None:
        if self.is_popup or self.formset is not None or self.to_field:
            return None
        links = set(self.list_display_links or ())
        if not links:
            return None
        change_url = self._change_url()
        empty = str(self.model_admin.get_empty_value_display())
        cells: list[Cell] = []
        first_link = True
        for name in self.list_display:
            if name == "action_checkbox":
                cells.append(self._checkbox_cell())
                continue
            show = self._show(name, empty, avoid_link=name in links)
            if show is None:
                return None
            show_value, nowrap = show
            css = f"field-{name}" + (" nowrap" if nowrap else "")
            if name in links:
                tag = "th" if first_link else "td"
                first_link = False
                cells.append(self._link_cell(tag, css, show_value, change_url))
            else:
                cells.append(self._cell(css, show_value))
        return cells

    @staticmethod
    def _cell(css: str, show: Cell) -> Cell:
        # `show` gives the cell's text escaped.
        return lambda case: f'<td class="{css}">{show(case)}</td>'

    @staticmethod
    def _link_cell(tag: str, css: str, show: Cell, url: Callable[[Case], str]) -> Cell:
        start, end = f'<{tag} class="{css}"><a href="', f"</a></{tag}>"
        return lambda case: f'{start}{url(case)}">{show(case)}{end}'

    @staticmethod
    def _checkbox_cell() -> Cell:
        # action_checkbox(), written with the page's label and no format_html per row.
        label = gettext("Select this object for an action - {}")
        start = f'<td class="action-checkbox"><input type="checkbox" name="{ACTION_CHECKBOX_NAME}"'
        return lambda case: (
            f'{start} value="{_escape(case.pk)}" class="action-select" '
            f'aria-label="{label.format(_escape(case))}"></td>'
        )

    def _show(self, name: Any, empty: str, avoid_link: bool) -> tuple[Cell, bool] | None:
        """Return how to show column `name` of a case, escaped, and whether it is ``nowrap``."""
        if not isinstance(name, str):
            return None
        try:
            field = self.opts.get_field(name)
        except FieldDoesNotExist:
            method = getattr(self.model_admin, name, None)
            if method is None or not callable(method) or getattr(method, "boolean", False):
                return None
            empty = str(getattr(method, "empty_value_display", empty))
            return _method_cell(method, empty), False
        if not isinstance(field, models.Field) or not field.concrete:
            return None
        escaped_empty = _escape(empty)
        if isinstance(field, models.ForeignKey):
            attname = field.name

            def related(case: Case) -> str:
                # The related object the page's query read, else the descriptor's way.
                value = case._state.fields_cache.get(attname, _MISSING)
                if value is _MISSING:
                    value = getattr(case, attname)
                return escaped_empty if value is None else _escape(str(value))

            return related, True
        nowrap = isinstance(field, models.DateField | models.TimeField)
        if getattr(field, "flatchoices", None):
            labels = {value: _escape(str(label)) for value, label in field.flatchoices}
            attname = field.attname
            return (lambda case: labels.get(getattr(case, attname), escaped_empty)), nowrap
        if type(field) is models.CharField:
            attname = field.attname
            return (lambda case: _escape((getattr(case, attname) or "").strip() or empty)), nowrap
        return (
            lambda case: _escape(
                display_for_field(getattr(case, field.attname), field, empty, avoid_link=avoid_link)
            )
        ), nowrap


def _method_cell(method: Callable[[Case], Any], empty: str) -> Cell:
    """Return a cell showing `method(case)` escaped, as ``display_for_value`` shows it."""

    def show(case: Case) -> str:
        value = method(case)
        if type(value) is str:  # display_for_value's first steps for a plain string
            value = value.strip()
            return html.escape(value) if value else _escape(empty)
        if type(value) is SafeString:
            return str(value) if value else _escape(empty)
        return _escape(display_for_value(value, empty))

    return show
