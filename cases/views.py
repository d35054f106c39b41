"""
The customer portal's pages.

Every page finds its case with `visible_case`, which decides as
``Case.objects.visible_to(user)`` does, so a case of another organization is a
404 wherever it is asked for. Every change goes through `cases.services`;
`run_service` turns what a service refuses into form errors, in one place for
all pages.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable
from html import escape
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, Q, Subquery
from django.forms import Form
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
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
from cases.markdown import render_markdown
from cases.models import (
    Attachment,
    Case,
    EventKind,
    KnowledgeArticle,
    Status,
    case_visibility,
)
from cases.page_queries import read_case, read_history
from cases.search import search_articles, search_cases, suggest_articles
from cases.templatetags.casebook import (
    SEVERITY_BADGES,
    STATUS_BADGES,
    TYPE_BADGES,
    channel_label,
    filesize,
    resolution_label,
    type_description,
)
from notifications.dispatch import follow_case, unfollow_case


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
    """
    Return the case numbered `number` if the signed-in user may see it, else raise 404.

    The case comes with its people, organization, release and article, and
    whether the user follows it (`is_followed`), in one query. Whom it is
    visible to is decided as ``Case.objects.visible_to(user)`` decides.
    """
    user = _user(request)
    pk = Case.pk_from_number(number)
    sees_cases, organization_id = case_visibility(user)
    case = (
        read_case(pk, organization_id=organization_id, user=user)
        if pk is not None and sees_cases
        else None
    )
    if case is None:
        raise Http404("No such case.")
    return case


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# The case list ------------------------------------------------------------


class CappedCount(Subquery):
    """
    How many rows `queryset` has, counting no further than `cap` + 1.

    The rows are counted in `queryset`'s order: PostgreSQL then walks the index
    the page itself uses and stops after `cap` + 1 entries, where without an
    order it may read the table from the start until it has found as many.
    """

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()

    def __init__(self, queryset: Any, cap: int) -> None:
        super().__init__(queryset.values("pk")[: cap + 1])


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def encode_cursor(case: Case) -> str:
    """Return the position of `case` in the list's order, for a "newer" or "older" link."""
    # Whole microseconds: exact, where a float of seconds may round.
    return f"{(case.updated_at - EPOCH) // MICROSECOND}_{case.pk}"


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int] | None:
    """Return the (last activity, pk) a cursor names, or None if it is not one."""
    micros, _, pk = cursor.partition("_")
    if not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in (micros, pk)):
        return None
    try:
        return EPOCH + int(micros) * MICROSECOND, int(pk)
    except OverflowError:
        return None


# One row of the list, with the badges of cases.templatetags.casebook. Written here
# because 25 to 100 rows of template tags cost more than all the rest of the page.
CASE_ROW = """<tr>
      <td class="nowrap"><a href="{url}">{number}</a></td>
      <td class="subject"><a href="{url}" dir="auto">{subject}</a></td>
      <td data-label="Type">{type}</td>
      <td data-label="Status">{status}</td>
      <td data-label="Severity">{severity}</td>
      <td data-label="Filed by"><bdi>{reporter}</bdi></td>
      <td data-label="Last activity" class="nowrap"><time datetime="{at}">{at_text}</time></td>
    </tr>"""


def case_row(case: Case, url_prefix: str) -> SafeString:
    """Return the list's table row of `case`; `url_prefix` is escaped already."""
    # The standard library's escape (which Django's wraps) on the two free texts;
    # the number, the badges and the times hold nothing to escape.
    at = timezone.localtime(case.updated_at)
    number = case.number
    row = CASE_ROW.format(
        url=f"{url_prefix}{number}/",
        number=number,
        subject=escape(case.subject),
        type=TYPE_BADGES[case.type],
        status=STATUS_BADGES[case.status],
        severity=SEVERITY_BADGES[str(case.severity)],
        reporter=escape(case.reporter.get_full_name()),
        at=at.isoformat(),
        at_text=at.strftime("%Y-%m-%d %H:%M"),
    )
    return mark_safe(row)  # nosec B308 B703 - the free texts are escaped above


class CaseListView(LoginRequiredMixin, View):
    """
    The cases the user may see, most recent activity first, a page at a time.

    Pages are keyset pages: "older" and "newer" links carry the position of the
    last (or first) row shown, so any page costs one index range scan however
    deep it is, and no page counts the organization's cases: the count shown
    stops at `COUNT_CAP`, inside the page's own query.
    """

    template_name = "cases/case_list.html"
    COUNT_CAP = 1000

    def get(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        filter_form = CaseFilterForm(request.GET or None)
        filters = filter_form.filters()
        cases = self.filter_cases(Case.objects.visible_to(user), filters, user).order_by(
            "-updated_at", "-id"
        )
        size = int(filters.get("per_page", DEFAULT_PAGE_SIZE))
        after = decode_cursor(request.GET.get("after", ""))
        before = None if after else decode_cursor(request.GET.get("before", ""))
        page, newer, older = self.page(cases, size, after=after, before=before)
        if page:
            total = page[0].matching  # type: ignore[attr-defined]
            if user.organization_id == page[0].organization_id:
                # The page header names the user's organization: the rows brought it along.
                user.organization = page[0].organization
        elif after or before:
            # A link past the last case (they moved meanwhile): count apart.
            total = cases.order_by().values("pk")[: self.COUNT_CAP + 1].count()
        else:
            total = 0
        filtered = any(key in filters for key in ("q", "type", "status", "severity", "scope"))
        # The address of case "0" less its "0/": each row adds its own number.
        url_prefix = escape(reverse("cases:detail", kwargs={"number": "0"})[:-2])
        context = {
            "cases": page,
            "rows": [case_row(case, url_prefix) for case in page],
            "filter_form": filter_form,
            "filtered": filtered,
            "total": min(total, self.COUNT_CAP),
            "more": total > self.COUNT_CAP,
            "newer_url": self.link(request.GET, "before", newer),
            "older_url": self.link(request.GET, "after", older),
            # Only shown on an empty page reached by a link.
            "first_url": self.link(request.GET, None, None) if after or before else None,
        }
        return render(request, self.template_name, context)

    @staticmethod
    def filter_cases(cases: Any, filters: dict[str, Any], user: User) -> Any:
        """Return `cases` narrowed by the list's filters."""
        if "type" in filters:
            cases = cases.filter(type=filters["type"])
        status = filters.get("status")
        if status == "active":
            cases = cases.exclude(status=Status.CLOSED)
        elif status:
            cases = cases.filter(status=status)
        if "severity" in filters:
            cases = cases.filter(severity=filters["severity"])
        if filters.get("scope") == SCOPE_MINE:
            cases = cases.filter(reporter=user)
        return search_cases(cases, filters.get("q", ""))

    def page(
        self,
        cases: Any,
        size: int,
        *,
        after: tuple[datetime.datetime, int] | None,
        before: tuple[datetime.datetime, int] | None,
    ) -> tuple[list[Case], Case | None, Case | None]:
        """
        Return one page of `cases` and the cases its "newer" and "older" links start from.

        The primary key last in the order keeps pages exact when many cases share a time.
        """
        rows = (
            cases.select_related("reporter", "organization")
            .only(*LIST_FIELDS)
            .annotate(matching=CappedCount(cases, self.COUNT_CAP))
        )
        if before:
            at, pk = before
            # The first condition is implied by the second; it lets the index
            # start its scan at the cursor.
            rows = rows.filter(
                Q(updated_at__gte=at), Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=pk)
            )
            page = list(rows.order_by("updated_at", "id")[: size + 1])[::-1]
            has_newer = len(page) > size
            page = page[-size:]
            return page, page[0] if has_newer else None, page[-1] if page else None
        if after:
            at, pk = after
            rows = rows.filter(
                Q(updated_at__lte=at), Q(updated_at__lt=at) | Q(updated_at=at, pk__lt=pk)
            )
        page = list(rows.order_by("-updated_at", "-id")[: size + 1])
        has_older = len(page) > size
        page = page[:size]
        return page, page[0] if after and page else None, page[-1] if has_older else None

    @staticmethod
    def link(query: QueryDict, direction: str | None, case: Case | None) -> str | None:
        """
        Return the query string of the cases `direction` ("after" or "before") of `case`.

        None if there is no case to start from; the first page if `direction` is None.
        """
        if case is None and direction is not None:
            return None
        params = query.copy()
        for key in ("after", "before", "page"):
            params.pop(key, None)
        if direction is not None and case is not None:
            params[direction] = encode_cursor(case)
        return "?" + params.urlencode()


LIST_FIELDS = (
    "organization__name",
    "organization__slug",
    "organization__domain",
    "type",
    "status",
    "subject",
    "severity",
    "updated_at",
    "reporter__name",
    "reporter__email",
)


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


# The files of a comment or of the case, written here rather than in a
# template: an include per comment cost more than the rest of its event.
ATTACHMENTS = '<ul class="attachments" aria-label="Attachments">\n{items}</ul>'
ATTACHMENT = (
    '    <li><a href="{url}" download><bdi>{name}</bdi></a>'
    ' <span class="file-size">({size})</span></li>\n'
)


def attachment_list(files: list[tuple[str, str, int]]) -> SafeString:
    """Return the markup listing `files` (address, name, size), each a download link."""
    items = "".join(
        ATTACHMENT.format(url=escape(url), name=escape(name), size=filesize(size))
        for url, name, size in files
    )
    return mark_safe(ATTACHMENTS.format(items=items))  # nosec B308 B703 - escaped above


REASON = (
    '<blockquote class="reason" dir="auto"><span class="visually-hidden">Reason: </span>'
    "{}</blockquote>"
)


def event_body(event: dict[str, Any], case: Case) -> str:
    """Return what the history says of `event` under its actor and time, as HTML."""
    kind = event["kind"]
    data = event["data"] if isinstance(event["data"], dict) else {}
    reason = REASON.format(linebreaksbr(event["reason"])) if event["reason"] else ""
    badges = STATUS_BADGES if kind == EventKind.STATUS_CHANGED else TYPE_BADGES
    if kind == EventKind.FILED:
        channel = escape(channel_label(data.get("channel") or case.channel))
        return f"<p>Filed the case as {badges[event['to_value']]} through {channel}.</p>"
    if kind == EventKind.COMMENTED:
        body = render_markdown(event["comment__body"] or "")
        files = event["files"] or ""
        return f'<div class="markdown comment-body" dir="auto">{body}</div>{files}'
    if kind == EventKind.RECLASSIFIED:
        meaning = escape(type_description(event["to_value"]))
        return (
            f"<p>Reclassified the case from {badges[event['from_value']]}"
            f" to {badges[event['to_value']]}.</p>"
            f'{reason}<p class="type-meaning">What this means for you: {meaning}</p>'
        )
    if kind == EventKind.STATUS_CHANGED:
        resolution = data.get("resolution")
        release = data.get("release")
        return (
            f"<p>Status {badges[event['from_value']]} → {badges[event['to_value']]}"
            + (f", resolution: {escape(resolution_label(resolution))}" if resolution else "")
            + (f", release {escape(str(release))}" if release else "")
            + f".</p>{reason}"
        )
    if kind == EventKind.ASSIGNED:
        return f"<p>Assigned to {escape(event['to_value'] or 'nobody')}.</p>"
    return ""


# One event of the history, as the page's template wrote it; written here since
# a dozen template tags an event cost more than the rest of the page.
EVENT = """<li class="event event-{kind}{internal}" id="event-{id}">
        <p class="event-meta">
          <span class="event-actor"><bdi>{actor}</bdi></span>
          <time datetime="{at}">{at_text}</time>
          {internal_badge}
        </p>
        {body}
      </li>"""


INTERNAL_BADGE = '<span class="badge badge-internal">Internal</span>'


def timeline(case: Case, user: User) -> tuple[SafeString, SafeString | None]:
    """
    Return the history of `case` that `user` may read, and the list of the case's own files.

    One query whatever the size of the history: the events and every file of
    the case, as plain values (the page needs no model instance of them).
    Each event is written here, once, rather than by template tags.
    """
    # The events CaseEvent.objects.visible_to(user) gives: staff read internal ones too.
    events, files = read_history(case, public_only=not user.is_staff)
    # Internal comments are events that are not public already; checking the
    # comment too means a mis-recorded event still cannot leak a note.
    shown_events = [
        event
        for event in events
        if event["comment_id"] is None or event["comment__is_public"] or user.is_staff
    ]
    # The files of the case itself and of the comments shown: those of an
    # internal note never reach a customer's page.
    shown = {None} | {event["comment_id"] for event in shown_events}
    by_comment: dict[int | None, list[tuple[str, str, int]]] = defaultdict(list)
    # The download address of every file from one reverse(): file 0's, less its "0/".
    url = reverse("cases:attachment", kwargs={"number": case.number, "pk": 0})[:-2]
    for pk, comment_id, name, size in files:
        if comment_id in shown:
            by_comment[comment_id].append((f"{url}{pk}/", name, size))
    items = []
    for event in shown_events:
        comment_files = by_comment.get(event["comment_id"]) if event["comment_id"] else None
        event["files"] = attachment_list(comment_files) if comment_files else None
        at = timezone.localtime(event["at"])
        public = event["is_public"]
        items.append(
            EVENT.format(
                kind=escape(event["kind"]),
                internal="" if public else " event-internal",
                id=event["id"],
                # User.get_full_name(), or the system when nobody acted.
                actor=escape(event["actor__name"] or event["actor__email"] or "Casebook"),
                at=at.isoformat(),
                at_text=at.strftime("%Y-%m-%d %H:%M"),
                internal_badge="" if public else INTERNAL_BADGE,
                body=event_body(event, case),
            )
        )
    history = mark_safe("\n      ".join(items))  # nosec B308 B703 - escaped as written
    case_files = by_comment.get(None)
    return history, attachment_list(case_files) if case_files else None


def render_case(
    request: HttpRequest, case: Case, *, status: int = 200, **forms: Form
) -> HttpResponse:
    """Render the case page, with any bound forms an action re-shows."""
    user = _user(request)
    if user.organization_id == case.organization_id:
        # The page header names the user's organization: the case brought it along.
        user.organization = case.organization
    allowed = services.allowed_status_transitions(case, user)
    # The status first: a closed case asks no permission.
    can_reply = (case.status != Status.CLOSED or user.is_staff) and user.has_perm(
        "cases.comment_case"
    )
    history, case_files = timeline(case, user)
    filed_at = timezone.localtime(case.created_at)
    context = {
        "case": case,
        "type_badge": TYPE_BADGES.of(case.type),
        "status_badge": STATUS_BADGES.of(case.status),
        "severity_badge": SEVERITY_BADGES.of(case.severity),
        "history": history,
        "filed_at_iso": filed_at.isoformat(),
        "filed_at_text": filed_at.strftime("%Y-%m-%d %H:%M"),
        "case_attachments": case_files,
        "reply_form": forms.get("reply_form") or (CaseReplyForm() if can_reply else None),
        "close_form": forms.get("close_form") or (CaseCloseForm() if "close" in allowed else None),
        "reopen_form": forms.get("reopen_form")
        or (CaseReopenForm() if "reopen" in allowed else None),
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
