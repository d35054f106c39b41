"""
The customer portal's pages.

Every page finds its case with ``Case.objects.visible_to(user).by_number(number)``,
so a case of another organization is a 404 wherever it is asked for. Every
change goes through `cases.services`; `run_service` turns what a service
refuses into form errors, in one place for all pages.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from accounts.models import User
from cases import services
from cases.exceptions import CaseError
from cases.forms import (
    DEFAULT_PAGE_SIZE,
    SCOPE_MINE,
    CaseCloseForm,
    CaseFileForm,
    CaseFilterForm,
    CaseReopenForm,
    CaseReplyForm,
)
from cases.models import (
    Attachment,
    Case,
    CaseEvent,
    EventKind,
    KnowledgeArticle,
    Status,
)
from cases.search import search_articles, search_cases, suggest_articles
from notifications.dispatch import follow_case, unfollow_case
from notifications.models import CaseFollower


def run_service(form: Form, action: Callable[[], Any]) -> int | None:
    """
    Run `action` (a call to a service); return None, or the HTTP status of its refusal.

    A refused transition or a stale case becomes a form-wide error, a
    ValidationError becomes errors on the fields it names. PermissionDenied is
    left to propagate: Django answers it with a 403.
    """
    try:
        action()
    except CaseError as error:
        form.add_error(None, error.message)
        return error.http_status
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, field_messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_messages)
        else:
            form.add_error(None, error.messages)
        return 400
    return None


def visible_case(request: HttpRequest, number: str) -> Case:
    """Return the case numbered `number` if the signed-in user may see it, else raise 404."""
    cases = Case.objects.visible_to(request.user).by_number(number)  # type: ignore[arg-type]
    # Whether the user follows the case, for its page, in the same query.
    followed = CaseFollower.objects.filter(case=OuterRef("pk"), user=_user(request))
    return get_object_or_404(
        cases.select_related(
            "reporter", "assignee", "organization", "target_release", "knowledge_article"
        ).annotate(is_followed=Exists(followed))
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# The case list ------------------------------------------------------------


class CaseListView(LoginRequiredMixin, ListView[Case]):
    template_name = "cases/case_list.html"
    context_object_name = "cases"

    def get_queryset(self) -> Any:
        self.filter_form = CaseFilterForm(self.request.GET or None)
        self.filters = self.filter_form.filters()
        user = _user(self.request)
        cases = (
            Case.objects.visible_to(user)
            .select_related("reporter", "assignee")
            .defer("description")
        )
        if "type" in self.filters:
            cases = cases.filter(type=self.filters["type"])
        status = self.filters.get("status")
        if status == "active":
            cases = cases.exclude(status=Status.CLOSED)
        elif status:
            cases = cases.filter(status=status)
        if "severity" in self.filters:
            cases = cases.filter(severity=self.filters["severity"])
        if self.filters.get("scope") == SCOPE_MINE:
            cases = cases.filter(reporter=user)
        cases = search_cases(cases, self.filters.get("q", ""))
        # The primary key last keeps pages stable when many cases share a time.
        return cases.order_by("-updated_at", "-id")

    def get_paginate_by(self, queryset: Any) -> int:
        return int(self.filters.get("per_page", DEFAULT_PAGE_SIZE))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        context["filtered"] = any(
            key in self.filters for key in ("q", "type", "status", "severity", "scope")
        )
        return context


# Filing -------------------------------------------------------------------


class CaseCreateView(LoginRequiredMixin, FormView[CaseFileForm]):
    template_name = "cases/case_form.html"
    form_class = CaseFileForm

    def form_valid(self, form: CaseFileForm) -> HttpResponse:
        data = form.cleaned_data
        filed: list[Case] = []
        refused = run_service(
            form,
            lambda: filed.append(
                services.file_case(
                    by=_user(self.request),
                    subject=data["subject"],
                    description=data["description"],
                    type=data["type"],
                    severity=data["severity"],
                    product_version=data["product_version"],
                    attachments=data["attachments"],
                )
            ),
        )
        if refused:
            return self.render_to_response(self.get_context_data(form=form), status=refused)
        case = filed[0]
        messages.success(self.request, f"Case {case.number} is filed. Support will answer here.")
        return HttpResponseRedirect(case.get_absolute_url())

    def form_invalid(self, form: CaseFileForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


# The case page and its actions ----------------------------------------------


def timeline(case: Case, user: User) -> tuple[list[CaseEvent], list[Attachment]]:
    """
    Return the events of `case` that `user` may read, and the files filed with the case.

    Each comment event gets its files as `files`. Two queries whatever the
    size of the history: the events, then every file of the case.
    """
    events = list(
        CaseEvent.objects.visible_to(user)
        .filter(case=case)
        .select_related("actor", "comment")
        .order_by("at", "id")
    )
    # Internal comments are events that are not public already; checking the
    # comment too means a mis-recorded event still cannot leak a note.
    events = [e for e in events if e.comment is None or e.comment.is_public or user.is_staff]
    files = case.attachments.order_by("id")
    if not user.is_staff:
        files = files.filter(Q(comment__isnull=True) | Q(comment__is_public=True))
    by_comment: dict[int | None, list[Attachment]] = defaultdict(list)
    for attachment in files:
        by_comment[attachment.comment_id].append(attachment)
    for event in events:
        event.files = by_comment.get(event.comment_id, []) if event.comment_id else []  # type: ignore[attr-defined]
    return events, by_comment.get(None, [])


def render_case(
    request: HttpRequest, case: Case, *, status: int = 200, **forms: Form
) -> HttpResponse:
    """Render the case page, with any bound forms an action re-shows."""
    user = _user(request)
    allowed = services.allowed_status_transitions(case, user)
    can_reply = user.has_perm("cases.comment_case") and (
        case.status != Status.CLOSED or user.is_staff
    )
    events, case_files = timeline(case, user)
    context = {
        "case": case,
        "events": events,
        "case_attachments": case_files,
        "reply_form": forms.get("reply_form") or (CaseReplyForm() if can_reply else None),
        "close_form": forms.get("close_form") or (CaseCloseForm() if "close" in allowed else None),
        "reopen_form": forms.get("reopen_form")
        or (CaseReopenForm() if "reopen" in allowed else None),
        "EventKind": EventKind,
        # The reporter gets every email anyway; other people of the organization may follow.
        "can_follow": user.organization_id == case.organization_id and user.pk != case.reporter_id,
    }
    return render(request, "cases/case_detail.html", context, status=status)


class CaseDetailView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, number: str) -> HttpResponse:
        return render_case(request, visible_case(request, number))


class CaseActionView(LoginRequiredMixin, View):
    """A form posted from the case page: on success back to the case, else the page with errors."""

    form_class: type[Form]
    form_name: str
    success_message: str

    def act(self, case: Case, user: User, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        case = visible_case(request, number)
        form = self.form_class(request.POST, request.FILES)
        if not form.is_valid():
            return render_case(request, case, status=400, **{self.form_name: form})
        refused = run_service(form, lambda: self.act(case, _user(request), form.cleaned_data))
        if refused:
            case = visible_case(request, number)
            return render_case(request, case, status=refused, **{self.form_name: form})
        messages.success(request, self.success_message)
        return HttpResponseRedirect(case.get_absolute_url())


class CaseReplyView(CaseActionView):
    form_class = CaseReplyForm
    form_name = "reply_form"
    success_message = "Your reply is added."

    def act(self, case: Case, user: User, data: dict[str, Any]) -> None:
        services.add_comment(case=case, by=user, body=data["body"], attachments=data["attachments"])


class CaseCloseView(CaseActionView):
    form_class = CaseCloseForm
    form_name = "close_form"
    success_message = "The case is closed."

    def act(self, case: Case, user: User, data: dict[str, Any]) -> None:
        services.close_case(case=case, by=user)


class CaseReopenView(CaseActionView):
    form_class = CaseReopenForm
    form_name = "reopen_form"
    success_message = "The case is reopened; support will look at it again."

    def act(self, case: Case, user: User, data: dict[str, Any]) -> None:
        services.reopen_case(case=case, by=user, reason=data["reason"])


class CaseFollowView(LoginRequiredMixin, View):
    """Follow a case of one's organization (`follow=1`) or stop following it (`follow=0`)."""

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        case = visible_case(request, number)
        user = _user(request)
        wanted = request.POST.get("follow")
        if wanted == "1":
            try:
                follow_case(case=case, user=user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return HttpResponseRedirect(case.get_absolute_url())
            messages.success(request, f"You follow {case.number}: its emails come to you too.")
        elif wanted == "0":
            unfollow_case(case=case, user=user)
            messages.success(request, f"You no longer follow {case.number}.")
        else:
            return HttpResponse("Say follow=1 or follow=0.", status=400, content_type="text/plain")
        return HttpResponseRedirect(case.get_absolute_url())


class AttachmentDownloadView(LoginRequiredMixin, View):
    """Hand out a file only through the case's access check, always as a download."""

    def get(self, request: HttpRequest, number: str, pk: int) -> FileResponse:
        case = visible_case(request, number)
        attachment = get_object_or_404(
            Attachment.objects.select_related("comment"), case=case, pk=pk
        )
        if not attachment.is_public and not _user(request).is_staff:
            raise Http404("No such attachment.")
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing.") from None
        # Never rendered by the browser: a generic type, no sniffing, a
        # download with the original name (RFC 5987 encoded by Django).
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.name,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# Knowledge base -----------------------------------------------------------


class KnowledgeListView(LoginRequiredMixin, ListView[KnowledgeArticle]):
    template_name = "cases/kb_list.html"
    context_object_name = "articles"
    paginate_by = 25

    def get_queryset(self) -> Any:
        self.query = self.request.GET.get("q", "").strip()[:200]
        articles = KnowledgeArticle.objects.published().only("slug", "title", "updated_at")
        return search_articles(articles, self.query).order_by("title", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(query=self.query, **kwargs)


class KnowledgeDetailView(LoginRequiredMixin, DetailView[KnowledgeArticle]):
    template_name = "cases/kb_detail.html"
    context_object_name = "article"

    def get_queryset(self) -> Any:
        return KnowledgeArticle.objects.published()


class KnowledgeSuggestView(LoginRequiredMixin, View):
    """An HTML fragment of articles matching the subject being typed (for htmx)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        subject = request.GET.get("subject", "")[:200]
        articles = suggest_articles(KnowledgeArticle.objects.published(), subject)
        return render(request, "cases/_kb_suggestions.html", {"articles": articles})
