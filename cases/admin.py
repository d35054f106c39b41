"""
The staff workspace in the Django admin.

The list makes the next case obvious (waiting on us, severity, age); the case
page shows one button per move this user may make now. Every change of type,
status, assignment or comment goes through ``cases.services`` (see
``cases.admin_views``); the admin's own form edits only the descriptive fields.
"""

import functools
import html
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.forms import ModelForm
from django.forms.utils import flatatt
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, get_script_prefix, get_urlconf, path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import LazyObject, cached_property, empty
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from accounts.models import Organization, User
from cases import admin_list, admin_queries, dashboard, services
from cases.admin_list import CaseChangeList
from cases.admin_views import CaseWorkspaceAdmin, Outcome, run_service
from cases.exceptions import CaseError
from cases.models import Case, CaseQuerySet, KnowledgeArticle, Release, Status

admin.site.site_header = "Casebook staff"
admin.site.site_title = "Casebook staff"
admin.site.index_title = "Staff workspace"


class WaitingOnUsFilter(admin.SimpleListFilter):
    title = "waiting on us"
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes: the customer spoke last"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case] | None:
        if self.value() == "yes":
            return queryset.filter(dashboard.waiting_on_us())
        if self.value() == "no":
            return queryset.exclude(dashboard.waiting_on_us())
        return None


class AssigneeFilter(admin.SimpleListFilter):
    """Filter by assignee among staff (the default filter would list every customer too)."""

    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The active staff by name, read with SQL compiled once.
        staff = admin_queries.staff()
        return [("me", "Me"), ("none", "Nobody")] + [
            (str(pk), name or email) for pk, name, email in staff
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case] | None:
        value = self.value()
        if value == "me":
            return queryset.filter(assignee_id=request.user.pk)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        pk = admin_queries.filter_id(value)
        if pk is None:
            return None
        return queryset.filter(assignee_id=pk) if pk <= admin_queries.MAX_ID else queryset.none()


@functools.lru_cache(maxsize=64)
def _organization_select_attrs(
    name: str, language: str | None, script_prefix: str, urlconf: Any
) -> SafeString:
    """
    Return the organization filter's select attributes, once per process for each key.

    What they hold depends only on the language (select2's), the autocomplete
    view's URL (the script prefix and the URLconf) and the parameter's name.
    """
    select = AutocompleteSelect(Case._meta.get_field("organization"), admin.site)
    # select2 reads its options from data- attributes: as wide as the filter column.
    attrs = {"id": "cb-organization-filter", "name": name, "data-width": "100%"}
    return flatatt(select.build_attrs(attrs))


class OrganizationFilter(admin.SimpleListFilter):
    """
    Filter by organization, chosen by name with the admin's autocomplete.

    A link per organization would put every customer organization on every
    page of the list (thousands of them on a large install); this lists only
    the chosen one and finds the others by name as the user types.
    """

    title = "organization"
    # The parameter of the field filter this replaces, so that saved links still work.
    parameter_name = "organization__id__exact"
    template = "admin/cases/case/organization_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        chosen = admin_queries.filter_id(value)
        if chosen is None or chosen > admin_queries.MAX_ID:
            return []
        return [
            (str(pk), name)
            for pk, name in Organization.objects.filter(pk=chosen).values_list("pk", "name")
        ]

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case] | None:
        value = self.value()
        pk = admin_queries.filter_id(value)
        if pk is None:
            return None
        if pk > admin_queries.MAX_ID:
            return queryset.none()
        return queryset.filter(organization_id=pk)

    def choices(self, changelist: Any) -> Iterator[Any]:
        # The other filters, the search and the ordering, kept when an organization is chosen.
        self.kept = [
            (name, value)
            for name, values in sorted(changelist.filter_params.items())
            if name != self.parameter_name
            for value in values
        ]
        yield from super().choices(changelist)

    @cached_property
    def widget(self) -> str:
        # The select the admin's autocomplete.js turns into a search box; its one
        # option is the chosen organization, already read by lookups().
        options = format_html_join(
            "", '<option value="{}" selected>{}</option>', self.lookup_choices
        )
        return format_html(
            '<select{}><option value=""></option>{}</select>',
            _organization_select_attrs(
                self.parameter_name, get_language(), get_script_prefix(), get_urlconf()
            ),
            options,
        )

    media = AutocompleteSelect(Case._meta.get_field("organization"), admin.site).media


@functools.cache
def _annotated_cases() -> CaseQuerySet:
    return cast(CaseQuerySet, dashboard.annotate_waiting(Case.objects.all()))


class CappedCountPaginator(Paginator):
    """
    Count the matching cases only up to a cap, so a page never counts the whole table.

    Past the cap the list says "more than 1,000 cases" and its page links reach
    about the first thousand: staff narrow a list that long with its filters
    and search, not by paging.
    Counting further cost every page of the list, at every size of the table,
    more than reading the page's cases.
    """

    cap = 1_000

    def _check_object_list_is_ordered(self) -> None:
        # The case list's queryset, built only if something reads it, is ordered.
        object_list = self.object_list
        if isinstance(object_list, LazyObject) and object_list._wrapped is empty:  # type: ignore[attr-defined]
            return
        super()._check_object_list_is_ordered()  # type: ignore[misc]

    def more_than(self) -> str:
        """Return "more than 1,000" where the count stopped at the cap, else ""."""
        if self.count <= self.cap:
            return ""
        return f"more than {number_format(self.cap, force_grouping=True)}"

    @cached_property
    def count(self) -> int:
        # A sliced queryset counts through LIMIT: at most cap + 1 rows are read,
        # in no order (kept, the list's ordering would sort every case first), and
        # only their ids, so that PostgreSQL can read them from an index alone.
        ids = self.object_list.order_by().values("pk")  # type: ignore[attr-defined]
        return ids[: self.cap + 1].count()  # type: ignore[no-any-return]


class BulkOutcome:
    """The result of running one service on each selected case, for one message per refusal."""

    def __init__(self) -> None:
        self.done: list[Case] = []
        self.refused: list[tuple[Case, str]] = []

    def run(self, case: Case, action: Callable[[], Case]) -> None:
        try:
            self.done.append(action())
        except (CaseError, PermissionDenied) as error:
            self.refused.append((case, str(error) or "You may not do this on this case."))
        except ValidationError as error:
            self.refused.append((case, " ".join(error.messages)))


@admin.register(Case)
class CaseAdmin(CaseWorkspaceAdmin):
    list_display = [
        "number",
        "subject",
        "organization",
        "type",
        "status",
        "severity",
        "assignee",
        "age",
        "customer_waiting",
    ]
    list_display_links = ["number", "subject"]
    list_filter = [
        WaitingOnUsFilter,
        "type",
        "status",
        "severity",
        OrganizationFilter,
        AssigneeFilter,
        "channel",
    ]
    list_select_related = ["organization", "assignee"]
    # The list in its default order (admin_queries.ordering()) is read with SQL
    # compiled once, for the filters admin_queries knows.
    compiled_list = True
    # What the columns above show (and the case's name in each row's checkbox
    # label); the list reads nothing else.
    list_fields = [
        "subject",
        "organization__name",
        "type",
        "status",
        "severity",
        "assignee__name",
        "assignee__email",
        "created_at",
        "last_customer_message_at",
    ]
    # Every other list in Casebook pages by 25.
    list_per_page = 25
    search_fields = ["subject", "organization__name", "reporter__email", "=external_id"]
    search_help_text = (
        "A number (CASE-000123 or 123), words of the subject, an organization "
        "or a reporter's email."
    )
    show_full_result_count = False
    paginator = CappedCountPaginator
    # The customer's page belongs to the portal; staff work here.
    view_on_site = False
    actions = ["acknowledge_selected", "assign_selected_to_me", "request_info_selected"]
    readonly_fields = [
        "number",
        "type",
        "status",
        "organization",
        "reporter",
        "assignee",
        "channel",
        "target_release",
        "resolution",
        "knowledge_article",
        "external_id",
        "created_at",
        "updated_at",
        "resolved_at",
        "last_customer_message_at",
        "last_staff_message_at",
        "version",
    ]
    fieldsets = [
        (None, {"fields": ["number", ("type", "status"), "subject", "description"]}),
        (
            "Details",
            {
                "fields": [
                    ("severity", "product_version"),
                    ("organization", "reporter", "channel"),
                    "assignee",
                    ("target_release", "resolution", "knowledge_article"),
                ]
            },
        ),
        (
            "Times",
            {
                "fields": [
                    ("created_at", "updated_at", "resolved_at"),
                    ("last_customer_message_at", "last_staff_message_at"),
                    ("version", "external_id"),
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        user = request.user
        assert isinstance(user, User)
        # The annotated queryset is built once per process, never run: each page
        # gets its own copy (.all()), filtered to what the user may see.
        return _annotated_cases().all().visible_to(user)

    def get_actions(
        self,
        request: HttpRequest,
        action_location: admin.ActionLocation = admin.ActionLocation.CHANGE_LIST,
    ) -> dict[str, Any]:
        # Asked for three times a page (the checkbox column, the action form, the
        # changelist's own check): worked out once per request.
        known: dict[Any, dict[str, Any]] = request.__dict__.setdefault("_case_actions", {})
        if action_location not in known:
            known[action_location] = super().get_actions(request, action_location)  # type: ignore[call-arg]
        return dict(known[action_location])

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[CaseChangeList]:
        return CaseChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The organization filter's autocomplete (select2) loads with the list's own scripts.
        media = self.media + OrganizationFilter.media
        response = super().changelist_view(request, {"media": media, **(extra_context or {})})
        context = getattr(response, "context_data", None) or {}
        more_than = context["cl"].paginator.more_than() if "cl" in context else ""
        if more_than:
            # Django's note counts the cap and one more; the action runs on every match.
            context["selection_note_all"] = f"All of the {more_than} selected"
        return response

    def action_checkbox(self, case: Case) -> SafeString:
        return admin_list.action_checkbox(case)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # The oldest unanswered severity-1 case first; finished cases last.
        return admin_queries.ordering()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Case], search_term: str
    ) -> tuple[QuerySet[Case], bool]:
        # search_fields above say what is searched; search_cases() searches it
        # without a join, so that PostgreSQL can use an index for each field.
        found = admin_list.search_cases(queryset, search_term)
        pk = Case.pk_from_number(search_term.strip()) if search_term.strip() else None
        if pk is not None:
            found = found | queryset.filter(pk=pk)
        return found, False

    @admin.display(description="Number", ordering="pk")
    def number(self, case: Case) -> str:
        return case.number

    @admin.display(description="Age", ordering="created_at")
    def age(self, case: Case) -> str:
        return admin_list.age(case.created_at)

    @admin.display(description="Customer waiting", ordering="last_customer_message_at")
    def customer_waiting(self, case: Case) -> str:
        if not getattr(case, "waiting_on_us", False) or case.last_customer_message_at is None:
            return "-"
        # format_html, without its general-purpose steps: one value, escaped.
        return mark_safe(  # nosec B308 B703 - the age is escaped
            '<span class="cb-waiting" title="The customer spoke last">'
            f"{html.escape(admin_list.age(case.last_customer_message_at))}</span>"
        )

    # Editing the descriptive fields -----------------------------------------

    def has_delete_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Case, form: ModelForm[Case], change: bool
    ) -> None:
        # Write only what the form changed, under the row lock, and bump the version
        # so that a page showing the old version cannot then move the case.
        if not change:
            raise PermissionDenied("Cases are filed through the phone form.")
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=obj.pk)
            changed = [name for name in form.changed_data if name in form.fields]
            if not changed:
                return
            for name in changed:
                setattr(locked, name, getattr(obj, name))
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=[*changed, "version", "updated_at"])
            obj.version, obj.updated_at = locked.version, locked.updated_at

    # Bulk actions: the service once per case, every refusal reported ---------

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.acknowledge_case")

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.assign_case")

    def has_request_info_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.request_info_case")

    def _bulk(
        self,
        request: HttpRequest,
        queryset: QuerySet[Case],
        verb: str,
        action: Callable[[Case, User], Case],
    ) -> None:
        user = request.user
        assert isinstance(user, User)
        outcome = BulkOutcome()
        for case in queryset.order_by("pk"):
            outcome.run(case, lambda case=case: action(case, user))  # type: ignore[misc]
        for case in outcome.done:
            self.log_change(request, case, f"{verb} (bulk action).")
        if outcome.done:
            messages.success(
                request,
                f"{verb}: {len(outcome.done)} case{'s' if len(outcome.done) != 1 else ''} "
                f"({', '.join(c.number for c in outcome.done)}).",
            )
        for case, reason in outcome.refused:
            messages.error(request, f"{case.number} refused: {reason}")

    @admin.action(description="Acknowledge", permissions=["acknowledge"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._bulk(
            request,
            queryset,
            "Acknowledged",
            lambda case, user: services.acknowledge_case(case=case, by=user),
        )

    @admin.action(description="Assign to me", permissions=["assign"])
    def assign_selected_to_me(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._bulk(
            request,
            queryset,
            "Assigned to you",
            lambda case, user: services.assign_case(case=case, by=user, assignee=user),
        )

    @admin.action(description="Request information from the customer", permissions=["request_info"])
    def request_info_selected(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._bulk(
            request,
            queryset,
            "Asked the customer for information",
            lambda case, user: services.request_info(case=case, by=user),
        )


# Releases -------------------------------------------------------------------


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin[Release]):
    list_display = ["version", "released_on", "scheduled", "resolved"]
    search_fields = ["version"]
    readonly_fields = ["released_on"]
    actions = ["publish_selected"]
    change_form_template = "admin/cases/release/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Release]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                scheduled_count=Count("cases", filter=Q(cases__status=Status.FIX_SCHEDULED)),
                resolved_count=Count(
                    "cases", filter=Q(cases__status__in=[Status.RESOLVED, Status.CLOSED])
                ),
            )
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return [F("released_on").desc(nulls_first=True), "-version", "pk"]

    @admin.display(description="Cases scheduled", ordering="scheduled_count")
    def scheduled(self, release: Release) -> int:
        return getattr(release, "scheduled_count", 0)

    @admin.display(description="Cases resolved", ordering="resolved_count")
    def resolved(self, release: Release) -> int:
        return getattr(release, "resolved_count", 0)

    def has_delete_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return False

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.publish_release")

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="cases_release_publish",
            ),
            *super().get_urls(),
        ]

    def _publish(self, request: HttpRequest, release: Release) -> bool:
        """Publish `release` through the service; say how many cases it resolved."""
        user = request.user
        assert isinstance(user, User)
        outcome, resolved = run_service(
            request, lambda: services.publish_release(release=release, by=user)
        )
        if outcome is not Outcome.DONE or resolved is None:
            return False
        self.log_change(request, release, f"Published; {len(resolved)} cases resolved.")
        numbers = ", ".join(case.number for case in resolved)
        messages.success(
            request,
            f"Release {release.version} published: {len(resolved)} "
            f"case{'s' if len(resolved) != 1 else ''} resolved"
            + (f" ({numbers})." if numbers else "."),
        )
        return True

    @admin.action(
        description="Publish (resolves every case scheduled into it)", permissions=["publish"]
    )
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        for release in queryset.order_by("version"):
            self._publish(request, release)

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_publish_permission(request):
            raise PermissionDenied
        release = self.get_object(request, object_id)
        if release is None:
            return HttpResponseRedirect(reverse("admin:cases_release_changelist"))
        change_url = reverse("admin:cases_release_change", args=[release.pk])
        if request.method == "POST":
            self._publish(request, release)
            return HttpResponseRedirect(change_url)
        scheduled = (
            Case.objects.filter(target_release=release, status=Status.FIX_SCHEDULED)
            .select_related("organization")
            .order_by("pk")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Publish release {release.version}",
            "release": release,
            "scheduled": scheduled,
            "change_url": change_url,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/cases/release/publish.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "may_publish": self.has_publish_permission(request),
            "publish_url": reverse("admin:cases_release_publish", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)


# Knowledge articles -----------------------------------------------------------


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin[KnowledgeArticle]):
    list_display = ["title", "slug", "is_published", "source_case_number", "updated_at"]
    list_filter = ["is_published"]
    list_select_related = ["source_case"]
    search_fields = ["title", "body", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["source_case_link", "author", "created_at", "updated_at"]
    fields = [
        "title",
        "slug",
        "body",
        "is_published",
        "source_case_link",
        "author",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="From case")
    def source_case_number(self, article: KnowledgeArticle) -> str:
        return article.source_case.number if article.source_case else "-"

    @admin.display(description="Written from case")
    def source_case_link(self, article: KnowledgeArticle) -> str:
        if article.source_case_id is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:cases_case_change", args=[article.source_case_id]),
            article.source_case.number if article.source_case else "",
        )

    def save_model(
        self,
        request: HttpRequest,
        obj: KnowledgeArticle,
        form: ModelForm[KnowledgeArticle],
        change: bool,
    ) -> None:
        if not change:
            obj.author = request.user  # type: ignore[assignment]
            obj.created_at = timezone.now()
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
