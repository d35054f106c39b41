"""Filters of the API's case list."""

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
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
    """django-filter's backend, which builds no filter form for a request that names no filter."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
