"""Filters of the API's case list."""

import functools
from typing import Any, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters import utils
from django_filters.filterset import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from cases.models import CaseQuerySet, CaseType, Channel, Severity, Status
from cases.search import search_cases


class CaseFilter(filters.FilterSet):
    type = filters.ChoiceFilter(choices=CaseType.choices)
    status = filters.ChoiceFilter(choices=Status.choices)
    severity = filters.TypedChoiceFilter(choices=Severity.choices, coerce=int)
    organization = filters.CharFilter(
        field_name="organization__slug", help_text="The organization's slug (staff)."
    )
    assignee = filters.CharFilter(
        method="filter_assignee", help_text="The assignee's email, or `none` for unassigned."
    )
    channel = filters.ChoiceFilter(choices=Channel.choices)
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text="ISO 8601 date and time."
    )
    q = filters.CharFilter(
        method="filter_q",
        help_text="Search the subject, description and public comments, as the portal does.",
    )

    def filter_assignee(self, queryset: CaseQuerySet, name: str, value: str) -> CaseQuerySet:
        if value.lower() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__email__iexact=value)

    def filter_q(self, queryset: CaseQuerySet, name: str, value: str) -> CaseQuerySet:
        return search_cases(queryset, value)


class CaseFilterBackend(DjangoFilterBackend):
    """
    django-filter's backend, building only the filters a request names.

    A FilterSet deep-copies every filter it declares, and its form builds a
    field for each, on every request; a list asked for by status needs one.
    A request that names no filter builds no filter set at all.
    """

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        names = tuple(name for name in filterset_class.base_filters if name in request.query_params)
        if not names:
            return queryset
        filterset = _only(filterset_class, names, cast(Any, queryset.model))(
            **self.get_filterset_kwargs(request, queryset, view)
        )
        if not filterset.is_valid():
            raise utils.translate_validation(filterset.errors)
        return filterset.qs  # type: ignore[no-any-return]


@functools.cache
def _only(filterset_class: type[FilterSet], names: tuple[str, ...], model: Any) -> type[FilterSet]:
    """Return `filterset_class` with only the filters `names`, and its form class built once."""
    subclass: Any = type(filterset_class.__name__, (filterset_class,), {})
    # Set after the class is made: its metaclass gathers every declared filter.
    subclass.base_filters = {name: filterset_class.base_filters[name] for name in names}
    form_class = subclass(queryset=model._default_manager.none()).get_form_class()
    subclass.get_form_class = lambda self: form_class
    return subclass  # type: ignore[no-any-return]
