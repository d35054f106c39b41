"""
The staff workspace's own admin views: every button of the case page lands here.

Each view parses a small form, calls one service of ``cases.services`` and maps
its errors in one place (``run_service``): a refused or stale move becomes an
error message and changes nothing, invalid input becomes form errors, and a
missing permission stays a ``PermissionDenied`` (403). The django-fsm admin
mixin is not used: it would skip the services' lock, permission check and
history.
"""

import enum
from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import User
from cases import dashboard, services
from cases.admin_forms import (
    TRANSITION_FIELDS,
    CaseArticleForm,
    CaseAssignForm,
    CaseCommentForm,
    CaseFileForm,
    CaseReclassifyForm,
    CaseTransitionForm,
)
from cases.exceptions import CaseError
from cases.models import Attachment, Case, CaseEvent, CaseType, Channel, Comment, EventKind, Status


class Outcome(enum.Enum):
    DONE = "done"
    REFUSED = "refused"
    INVALID = "invalid"


def run_service[T](
    request: HttpRequest, action: Callable[[], T], form: forms.Form | None = None
) -> tuple[Outcome, T | None]:
    """
    Call `action` (one service call) and map the domain's errors for the admin.

    A refused or stale move (any ``CaseError``) becomes an error message; a
    ``ValidationError`` becomes errors on `form` (or a message without one).
    ``PermissionDenied`` is left to propagate: Django answers it with a 403.
    """
    try:
        return Outcome.DONE, action()
    except CaseError as error:
        messages.error(request, error.message)
        return Outcome.REFUSED, None
    except ValidationError as error:
        for field, errors in _error_items(error):
            if form is not None and field in form.fields:
                form.add_error(field, errors)
            elif form is not None:
                form.add_error(None, [f"{field}: {e}" if field else e for e in errors])
            else:
                messages.error(request, " ".join(errors))
        return Outcome.INVALID, None


def _error_items(error: ValidationError) -> list[tuple[str | None, list[str]]]:
    if hasattr(error, "error_dict"):
        return [
            (field, list(ValidationError(errs).messages))
            for field, errs in error.error_dict.items()
        ]
    return [(None, list(error.messages))]


def transition_label(name: str) -> str:
    """Return the human label django-fsm carries for the transition `name`."""
    meta = getattr(getattr(Case, name, None), "_django_fsm", None)
    if meta is None:
        return name.replace("_", " ").capitalize()
    first = next(iter(meta.transitions.values()))
    return str(first.custom.get("label", name.replace("_", " ").capitalize()))


# The permission each status transition needs; used only to answer a request for
# a form the user may never submit with a 403. The service checks again.
def _transition_permission(name: str) -> str:
    return f"cases.{name}_case"


class CaseWorkspaceAdmin(admin.ModelAdmin[Case]):
    """The case page's workflow: transitions, comments, assignment, phone cases, articles."""

    change_form_template = "admin/cases/case/change_form.html"

    # URLs -------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"

        def wrap(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
            return self.admin_site.admin_view(view)

        ours = [
            path("dashboard/", wrap(self.dashboard_view), name=f"{prefix}_dashboard"),
            path(
                "<path:object_id>/reclassify/<str:to>/",
                wrap(self.reclassify_view),
                name=f"{prefix}_reclassify",
            ),
            path(
                "<path:object_id>/transition/<str:name>/",
                wrap(self.transition_view),
                name=f"{prefix}_transition",
            ),
            path("<path:object_id>/comment/", wrap(self.comment_view), name=f"{prefix}_comment"),
            path("<path:object_id>/assign/", wrap(self.assign_view), name=f"{prefix}_assign"),
            path("<path:object_id>/article/", wrap(self.article_view), name=f"{prefix}_article"),
            path(
                "<path:object_id>/attachment/<int:attachment_id>/",
                wrap(self.attachment_view),
                name=f"{prefix}_attachment",
            ),
        ]
        return ours + super().get_urls()

    def _url(self, name: str, *args: Any) -> str:
        return reverse(f"{self.admin_site.name}:cases_case_{name}", args=args)

    def _case_url(self, case: Case) -> str:
        return self._url("change", case.pk)

    def _get_case(self, request: HttpRequest, object_id: str) -> Case:
        """Return the case `object_id` if `request.user` may see it; 404 otherwise."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        return case

    def _render(
        self, request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            **context,
        }
        return TemplateResponse(request, template, context, status=status)

    def _done(self, request: HttpRequest, case: Case, message: str, log: str) -> HttpResponse:
        self.log_change(request, case, log)
        messages.success(request, message)
        return HttpResponseRedirect(self._case_url(case))

    # The case page ------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        case = self.get_object(request, unquote(object_id)) if object_id else None
        if case is not None and self.has_view_or_change_permission(request, case):
            extra_context = {**(extra_context or {}), **self.workspace_context(request, case)}
        return super().change_view(request, object_id, form_url, extra_context)

    def workspace_context(self, request: HttpRequest, case: Case) -> dict[str, Any]:
        """Return what the case page shows beside the fields: buttons, timeline, forms."""
        user = request.user
        assert isinstance(user, User)
        version = case.version
        type_moves = [
            {
                "to": to,
                "label": f"Reclassify as {CaseType(to).label.lower()}",
                "url": f"{self._url('reclassify', case.pk, to)}?version={version}",
            }
            for to in services.allowed_types(case, user)
        ]
        status_moves = [
            {
                "name": name,
                "label": transition_label(name),
                "url": f"{self._url('transition', case.pk, name)}?version={version}",
                "direct": not TRANSITION_FIELDS[name],
            }
            for name in services.allowed_status_transitions(case, user)
        ]
        may_reply = user.has_perm("cases.comment_case")
        may_note = user.has_perm("cases.add_internal_note")
        return {
            "show_save_and_add_another": False,
            "case": case,
            "case_version": version,
            "type_moves": type_moves,
            "status_moves": status_moves,
            "timeline": self.timeline(case),
            "comment_form": CaseCommentForm(may_reply=may_reply) if may_reply or may_note else None,
            "comment_url": self._url("comment", case.pk),
            "may_assign": user.has_perm("cases.assign_case"),
            "assign_form": CaseAssignForm(initial={"assignee": case.assignee_id}),
            "assign_url": self._url("assign", case.pk),
            "assigned_to_me": case.assignee_id == user.pk,
            "may_write_article": case.type == CaseType.QUESTION
            and user.has_perm("cases.add_knowledgearticle"),
            "article_url": self._url("article", case.pk),
        }

    def timeline(self, case: Case) -> list[dict[str, Any]]:
        """Return the case's history, comments included, oldest first."""
        events = (
            CaseEvent.objects.filter(case=case)
            .select_related("actor", "comment", "comment__author")
            .prefetch_related(
                Prefetch("comment__attachments", queryset=Attachment.objects.order_by("pk"))
            )
            .order_by("at", "id")
        )
        return [
            {
                "event": event,
                "title": event_title(event),
                "internal": not event.is_public,
                "comment": event.comment,
                "attachments": [
                    (attachment, self._url("attachment", case.pk, attachment.pk))
                    for attachment in event.comment.attachments.all()
                ]
                if event.comment
                else [],
            }
            for event in events
        ]

    # Transitions ------------------------------------------------------------

    def reclassify_view(self, request: HttpRequest, object_id: str, to: str) -> HttpResponse:
        case = self._get_case(request, object_id)
        if to not in CaseType.values:
            raise Http404("No such type.")
        if not request.user.has_perm("cases.reclassify_case"):
            raise PermissionDenied
        user = request.user
        assert isinstance(user, User)
        if request.method == "POST":
            form = CaseReclassifyForm(request.POST)
            if form.is_valid():
                outcome, moved = run_service(
                    request,
                    lambda: services.reclassify_case(
                        case=case,
                        by=user,
                        to=to,
                        reason=form.cleaned_data["reason"],
                        expected_version=form.cleaned_data["version"],
                    ),
                    form,
                )
                if outcome is Outcome.REFUSED:
                    return HttpResponseRedirect(self._case_url(case))
                if outcome is Outcome.DONE and moved is not None:
                    return self._done(
                        request,
                        moved,
                        f"{moved.number} is now {CaseType(moved.type).label.lower()}.",
                        f"Reclassified from {case.type} to {moved.type}: "
                        f"{form.cleaned_data['reason']}",
                    )
        else:
            form = CaseReclassifyForm(initial={"version": _version_param(request, case)})
        return self._render(
            request,
            "admin/cases/case/transition_form.html",
            {
                "title": f"Reclassify {case.number} as {CaseType(to).label.lower()}",
                "case": case,
                "form": form,
                "submit_label": f"Reclassify as {CaseType(to).label.lower()}",
            },
        )

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        case = self._get_case(request, object_id)
        if name not in services.STATUS_TRANSITIONS:
            raise Http404("No such transition.")
        if not request.user.has_perm(_transition_permission(name)):
            raise PermissionDenied
        user = request.user
        assert isinstance(user, User)
        label = transition_label(name)
        if request.method == "POST":
            form = CaseTransitionForm(request.POST, case=case, name=name)
            if form.is_valid():
                data = form.cleaned_data
                outcome, moved = run_service(
                    request,
                    lambda: services.transition_case(
                        case=case,
                        by=user,
                        name=name,
                        reason=data.get("reason", ""),
                        release=data.get("release"),
                        resolution=data.get("resolution", ""),
                        article=data.get("knowledge_article"),
                        expected_version=data["version"],
                    ),
                    form,
                )
                if outcome is Outcome.REFUSED:
                    return HttpResponseRedirect(self._case_url(case))
                if outcome is Outcome.DONE and moved is not None:
                    status = moved.get_status_display().lower()  # type: ignore[attr-defined]
                    detail = "; ".join(
                        f"{key}: {value}"
                        for key, value in data.items()
                        if key != "version" and value not in (None, "")
                    )
                    return self._done(
                        request,
                        moved,
                        f"{label}: {moved.number} is now {status}.",
                        f"{label} ({case.status} → {moved.status})"
                        + (f"; {detail}" if detail else ""),
                    )
        else:
            form = CaseTransitionForm(
                initial={"version": _version_param(request, case)}, case=case, name=name
            )
        return self._render(
            request,
            "admin/cases/case/transition_form.html",
            {
                "title": f"{label}: {case.number}",
                "case": case,
                "form": form,
                "submit_label": label,
            },
        )

    # Comments and assignment ------------------------------------------------

    def comment_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self._get_case(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._case_url(case))
        user = request.user
        assert isinstance(user, User)
        # Both kinds are accepted here: the service refuses a public reply from
        # someone who may only write notes (403), like any crafted post.
        form = CaseCommentForm(request.POST, request.FILES)
        if form.is_valid():
            public = form.cleaned_data["visibility"] == "public"
            outcome, comment = run_service(
                request,
                lambda: services.add_comment(
                    case=case,
                    by=user,
                    body=form.cleaned_data["body"],
                    public=public,
                    attachments=form.cleaned_data["attachments"],
                ),
                form,
            )
            if outcome is Outcome.DONE and comment is not None:
                what = "Public reply" if public else "Internal note"
                return self._done(request, comment.case, f"{what} added.", f"{what} added.")
            if outcome is Outcome.REFUSED:
                return HttpResponseRedirect(self._case_url(case))
        # Show the message again with its errors rather than lose what was typed.
        return self._render(
            request,
            "admin/cases/case/transition_form.html",
            {
                "title": f"Comment on {case.number}",
                "case": case,
                "form": form,
                "submit_label": "Add comment",
            },
            status=400,
        )

    def assign_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self._get_case(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._case_url(case))
        if not request.user.has_perm("cases.assign_case"):
            raise PermissionDenied
        user = request.user
        assert isinstance(user, User)
        assignee: User | None
        if "assign_to_me" in request.POST:
            assignee = user
        else:
            form = CaseAssignForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose an active staff member to assign the case to.")
                return HttpResponseRedirect(self._case_url(case))
            assignee = form.cleaned_data["assignee"]
        outcome, moved = run_service(
            request, lambda: services.assign_case(case=case, by=user, assignee=assignee)
        )
        if outcome is Outcome.DONE and moved is not None:
            who = assignee.email if assignee else "nobody"
            return self._done(
                request, moved, f"{moved.number} is assigned to {who}.", f"Assigned to {who}."
            )
        return HttpResponseRedirect(self._case_url(case))

    # Knowledge article from a question ----------------------------------------

    def article_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self._get_case(request, object_id)
        if not request.user.has_perm("cases.add_knowledgearticle"):
            raise PermissionDenied
        if case.type != CaseType.QUESTION:
            messages.error(request, "Only a question's case becomes a knowledge article.")
            return HttpResponseRedirect(self._case_url(case))
        user = request.user
        assert isinstance(user, User)
        if request.method == "POST":
            form = CaseArticleForm(request.POST)
            if form.is_valid():
                outcome, article = run_service(
                    request,
                    lambda: services.create_knowledge_article(
                        by=user,
                        title=form.cleaned_data["title"],
                        body=form.cleaned_data["body"],
                        published=form.cleaned_data["published"],
                        source_case=case,
                    ),
                    form,
                )
                if outcome is Outcome.DONE and article is not None:
                    self.log_change(
                        request,
                        case,
                        f"Knowledge article “{article.title}” written from this case.",
                    )
                    article_url = reverse(
                        f"{self.admin_site.name}:cases_knowledgearticle_change", args=[article.pk]
                    )
                    messages.success(
                        request,
                        format_html(
                            'Knowledge article <a href="{}">{}</a> written from {}.',
                            article_url,
                            article.title,
                            case.number,
                        ),
                    )
                    return HttpResponseRedirect(self._case_url(case))
        else:
            form = CaseArticleForm(initial=article_prefill(case))
        return self._render(
            request,
            "admin/cases/case/transition_form.html",
            {
                "title": f"Knowledge article from {case.number}",
                "case": case,
                "form": form,
                "submit_label": "Create article",
            },
        )

    # Attachments ----------------------------------------------------------------

    def attachment_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> HttpResponseBase:
        case = self._get_case(request, object_id)
        attachment = Attachment.objects.filter(case=case, pk=attachment_id).first()
        if attachment is None:
            raise Http404("No such attachment.")
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file of this attachment is missing.") from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.name,
            content_type="application/octet-stream",
        )

    # Phone cases: the admin's "add" page files through the service ------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.file_for_customer")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        user = request.user
        assert isinstance(user, User)
        if request.method == "POST":
            form = CaseFileForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                outcome, case = run_service(
                    request,
                    lambda: services.file_case(
                        by=user,
                        reporter=data["reporter"],
                        subject=data["subject"],
                        description=data["description"],
                        type=data["type"],
                        severity=data["severity"],
                        product_version=data["product_version"],
                        channel=Channel.PHONE,
                    ),
                    form,
                )
                if outcome is Outcome.DONE and case is not None:
                    self.log_addition(request, case, f"Filed by phone for {case.reporter.email}.")
                    messages.success(request, f"{case.number} filed for {case.reporter.email}.")
                    return HttpResponseRedirect(self._case_url(case))
        else:
            form = CaseFileForm()
        return self._render(
            request,
            "admin/cases/case/file_form.html",
            {"title": "File a case taken on the phone", "form": form, "add": True},
        )

    # Dashboard ------------------------------------------------------------------

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("cases.view_all_cases"):
            raise PermissionDenied
        return self._render(
            request,
            "admin/cases/case/dashboard.html",
            {
                "title": "Case dashboard",
                "changelist_url": self._url("changelist"),
                **dashboard.dashboard_context(),
            },
        )


def _type_label(value: str) -> str:
    return CaseType(value).label.lower() if value in CaseType.values else value


def _status_label(value: str) -> str:
    return Status(value).label.lower() if value in Status.values else value


def event_title(event: CaseEvent) -> str:
    """Return one line saying what happened in `event`, for the case page's timeline."""
    if event.kind == EventKind.FILED:
        channel = event.data.get("channel", "")
        return f"Filed as {_type_label(event.to_value)}" + (f" ({channel})" if channel else "")
    if event.kind == EventKind.COMMENTED:
        return "Public reply" if event.is_public else "Internal note"
    if event.kind == EventKind.RECLASSIFIED:
        return f"Reclassified from {_type_label(event.from_value)} to {_type_label(event.to_value)}"
    if event.kind == EventKind.ASSIGNED:
        return f"Assigned to {event.to_value}" if event.to_value else "Unassigned"
    title = (
        f"{transition_label(event.transition)}: {_status_label(event.from_value)} → "
        f"{_status_label(event.to_value)}"
    )
    details = [
        f"{key.replace('_', ' ')} {value}"
        for key, value in event.data.items()
        if key in ("release", "resolution", "knowledge_article")
    ]
    return title + (f" ({', '.join(details)})" if details else "")


def _version_param(request: HttpRequest, case: Case) -> int:
    """Return the case version the page that linked here showed (the current one if absent)."""
    value = request.GET.get("version", "")
    return int(value) if value.isdigit() else case.version


def article_prefill(case: Case) -> dict[str, Any]:
    """Return a draft article from a question: the question, then support's public answers."""
    answers: Sequence[Comment] = list(
        case.comments.filter(is_public=True, author__organization__isnull=True).order_by(
            "created_at", "id"
        )
    )
    body = f"## The question\n\n{case.description.strip()}\n"
    if answers:
        body += "\n## The answer\n\n" + "\n\n".join(c.body.strip() for c in answers) + "\n"
    return {"title": case.subject, "body": body, "published": True}
