"""Filters of the API's case list."""

from django.db.models import Q
from django_filters import rest_framework as filters

from cases.models import CaseQuerySet, CaseType, Channel, Severity, Status


def search_cases(queryset: CaseQuerySet, query: str) -> CaseQuerySet:
    """Return the cases of `queryset` whose subject or description has every word of `query`."""
    for word in query.split():
        queryset = queryset.filter(Q(subject__icontains=word) | Q(description__icontains=word))
    return queryset


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
    q = filters.CharFilter(method="filter_q", help_text="Words in the subject or description.")

    def filter_assignee(self, queryset: CaseQuerySet, name: str, value: str) -> CaseQuerySet:
        if value.lower() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__email__iexact=value)

    def filter_q(self, queryset: CaseQuerySet, name: str, value: str) -> CaseQuerySet:
        return search_cases(queryset, value)
