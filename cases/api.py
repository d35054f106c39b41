"""
The REST API of cases, releases and knowledge articles.

Each view parses its input with an input serializer, calls one service of
``cases.services`` and renders the result with an output serializer; errors
are mapped in ``portal.api.exception_handler``. Cases are looked up among
``Case.objects.visible_to(user)`` by number, so a case of another organization
is a 404 on every URL.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import ForeignKey, QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import IdempotencyKey, User
from cases import services
from cases.filters import CaseFilter, CaseFilterBackend
from cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseQuerySet,
    Channel,
    Comment,
    KnowledgeArticle,
    Release,
)
from cases.serializers import (
    CASE_VALUES,
    AvailableTransitionsSerializer,
    CaseCreateSerializer,
    CaseSerializer,
    CaseUpdateSerializer,
    CommentCreateSerializer,
    CommentSerializer,
    EventSerializer,
    KnowledgeArticleCreateSerializer,
    KnowledgeArticleSerializer,
    MeSerializer,
    PublishedReleaseSerializer,
    ReclassifySerializer,
    ReleaseCreateSerializer,
    ReleaseSerializer,
    TransitionSerializer,
    case_representation,
)
from portal import rows
from portal.api import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    CursorPagination,
    IdempotencyKeyReused,
    OrderingFilter,
    PreconditionFailed,
    ThrottledFirst,
)

# Helpers ------------------------------------------------------------------


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def etag(case: Case) -> str:
    """Return the ETag of `case`: its version, which every change through the services bumps."""
    return f'"{case.version}"'


def expected_version(request: Request) -> int | None:
    """Return the case version named by the If-Match header, or None without one."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")]
    if len(tags) != 1 or not tags[0].isdigit():
        raise PreconditionFailed()
    return int(tags[0])


def request_fingerprint(request: Request) -> str:
    """Return a hash of the request's method, path and body that ignores multipart boundaries."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    if hasattr(data, "lists"):
        for name, values in sorted(data.lists()):
            for value in values:
                digest.update(f"{name}=".encode())
                if isinstance(value, UploadedFile):
                    digest.update(f"file:{value.name}:{value.size}:".encode())
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(str(value).encode())
                digest.update(b"\n")
    else:
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {"Idempotent-Replayed": "true"}
    body = stored.response_body
    if isinstance(body, dict) and "version" in body and "number" in body:
        headers["ETag"] = f'"{body["version"]}"'
    return Response(body, status=stored.response_status, headers=headers)


def idempotent(request: Request, create: Callable[[], Response]) -> Response:
    """
    Run `create` once per Idempotency-Key of the user.

    The new object and the stored response commit together: a retry either
    finds both or neither. A failed request stores nothing and may be retried.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return create()
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationError({"Idempotency-Key": "Send a key of 1 to 255 characters."})
    user = _user(request)
    fingerprint = request_fingerprint(request)
    stored = IdempotencyKey.objects.filter(user=user, key=key).first()
    if stored is not None:
        return _replay(stored, fingerprint)
    try:
        with transaction.atomic():
            response = create()
            if status.is_success(response.status_code):
                IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)),
                )
    except IntegrityError:
        # A concurrent request with the same key committed first; this one created nothing.
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    return response


class DownloadRenderer(renderers.BaseRenderer):
    """Lets a download be asked for as `application/octet-stream`; errors still render as JSON."""

    media_type = "application/octet-stream"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return renderers.JSONRenderer().render(data)


def paginate(view: viewsets.GenericViewSet[Any], queryset: QuerySet[Any]) -> list[Any]:
    """Return the page of `queryset` that the request asks for (any model, unlike the view's)."""
    assert view.paginator is not None
    return view.paginator.paginate_queryset(queryset, view.request, view=view) or []


def _transition_choice(case: Case, name: str) -> dict[str, Any]:
    meta = getattr(case, name)._django_fsm
    custom = meta.get_transition(case.status).custom
    return {"name": name, "label": custom.get("label", name), "needs": custom.get("needs", [])}


# Cases --------------------------------------------------------------------

# What a case embeds in the API (CaseSerializer).
CASE_RELATIONS = ("organization", "reporter", "assignee", "target_release", "knowledge_article")
# The rows the list and a case's page are read as (see case_representation),
# set up once: the joins and columns of 25 values take longer to set up than
# the rest of a case's query. Never read itself, only narrowed per request.
CASE_ROWS = cast(CaseQuerySet, Case.objects.values(*CASE_VALUES))


def _relations_at_hand(case: Case) -> bool:
    """Say whether every related row the API embeds is loaded with `case` (or empty)."""
    for name in CASE_RELATIONS:
        field = cast(ForeignKey[Any, Any], Case._meta.get_field(name))
        if not field.is_cached(case) and getattr(case, field.attname) is not None:
            return False
    return True


def _user_by_email(email: str) -> User | None:
    """Return the user whose email is `email` in any case (the first if several), or None."""
    users = User.objects.select_related("organization").filter(email__iexact=email)
    try:
        return rows.get(users)
    except User.DoesNotExist:
        return None
    except User.MultipleObjectsReturned:
        return users.first()


CASE_NUMBER = OpenApiParameter(
    "number", str, OpenApiParameter.PATH, description="The case number, e.g. CASE-000123."
)


class CaseViewSet(ThrottledFirst, viewsets.GenericViewSet[Case]):
    """Cases: file, list, read, edit, reclassify, move, comment, and read the history."""

    serializer_class = CaseSerializer
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    pagination_class = CursorPagination
    filter_backends = [CaseFilterBackend, OrderingFilter]
    filterset_class = CaseFilter
    ordering_fields = {
        "updated_at": "updated_at",
        "created_at": "created_at",
        "severity": "severity",
        "number": "id",
    }
    parser_classes = [JSONParser]
    # Read by portal.api.CasebookAutoSchema to document the error answers.
    idempotent_actions = ("create", "comments")
    error_statuses = {
        "partial_update": (412,),
        "reclassify": (409, 412),
        "transition": (409, 412),
    }

    def get_queryset(self) -> CaseQuerySet:
        return Case.objects.visible_to(_user(self.request)).select_related(*CASE_RELATIONS)

    def get_serializer_context(self) -> dict[str, Any]:
        # Staff count internal notes among a case's comments.
        return {**super().get_serializer_context(), "staff": _user(self.request).is_staff}

    def get_case(self) -> Case:
        """Return the case named in the URL among those this user may see, or 404."""
        try:
            return self.get_queryset().by_number(self.kwargs["number"]).get()
        except Case.DoesNotExist:
            raise Http404("No such case.") from None

    def lock_case(self, cases: CaseQuerySet | None = None) -> Case:
        """
        Return the case named in the URL, as `get_case`, with its row locked for a change.

        The lock is held until the transaction around the call ends; `cases`
        narrows or widens what is read along (the view's queryset by default).
        """
        if cases is None:
            cases = self.get_queryset()
        try:
            return services.lock_case(cases.by_number(self.kwargs["number"]))
        except Case.DoesNotExist:
            raise Http404("No such case.") from None

    def case_response(self, case: Case, status_code: int = status.HTTP_200_OK) -> Response:
        """
        Answer with `case` as a service left it.

        The services keep the related rows this request read while they are
        still the case's; it is read again only if one changed to a row not at hand.
        """
        if not _relations_at_hand(case):
            case = self.get_queryset().get(pk=case.pk)
        data = CaseSerializer(case, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers={"ETag": etag(case)})

    @extend_schema(summary="List the cases this user may see")
    def list(self, request: Request) -> Response:
        # Rows, not model instances: a page is 25 to 100 cases and the five rows
        # each embeds (see case_representation).
        queryset = self.filter_queryset(CASE_ROWS.visible_to(_user(request)))
        staff = _user(request).is_staff
        page = [case_representation(row, staff=staff) for row in paginate(self, queryset)]
        return self.get_paginated_response(page)

    @extend_schema(
        summary="File a case",
        request=CaseCreateSerializer,
        responses={201: CaseSerializer},
        parameters=[IDEMPOTENCY_KEY, ETAG],
    )
    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._file(request))

    def _file(self, request: Request) -> Response:
        user = _user(request)
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reporter = None
        email = data.pop("reporter", None)
        if user.is_customer:
            if email is not None and email.lower() != user.email.lower():
                raise PermissionDenied("A customer files cases in their own name.")
            if data["channel"] != Channel.API:
                raise ValidationError(
                    {"channel": "Cases filed through the API by customers are api."}
                )
        elif email is not None:
            reporter = _user_by_email(email)
            if reporter is None:
                raise ValidationError({"reporter": f"No customer has the email {email}."})
        case = services.file_case(by=user, reporter=reporter, **data)
        return self.case_response(case, status.HTTP_201_CREATED)

    @extend_schema(summary="Read a case", parameters=[CASE_NUMBER, ETAG])
    def retrieve(self, request: Request, number: str) -> Response:
        # A row, not model instances, as for the list (see case_representation).
        cases = CASE_ROWS.visible_to(_user(request)).by_number(number)
        row = cast(dict[str, Any] | None, cases.first())
        if row is None:
            raise Http404("No such case.")
        data = case_representation(row, staff=_user(request).is_staff)
        return Response(data, headers={"ETag": f'"{row["version"]}"'})

    @extend_schema(
        summary="Edit a case's subject, description, severity or product version",
        description=(
            "Support edits any case that is not closed; a customer edits their "
            "organization's cases. `type` and `status` are read-only here (400)."
        ),
        request=CaseUpdateSerializer,
        responses={200: CaseSerializer},
        parameters=[CASE_NUMBER, IF_MATCH, ETAG],
    )
    def partial_update(self, request: Request, number: str) -> Response:
        case = self.get_case()
        serializer = CaseUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.update_case(
            case=case,
            by=_user(request),
            changes=dict(serializer.validated_data),
            expected_version=expected_version(request),
        )
        return self.case_response(updated)

    @extend_schema(
        summary="Reclassify a case (support)",
        request=ReclassifySerializer,
        responses={200: CaseSerializer},
        parameters=[CASE_NUMBER, IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["post"])
    def reclassify(self, request: Request, number: str) -> Response:
        with transaction.atomic():
            case = self.lock_case()
            serializer = ReclassifySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            updated = services.reclassify_case(
                case=case,
                by=_user(request),
                to=serializer.validated_data["to"],
                reason=serializer.validated_data["reason"],
                expected_version=expected_version(request),
            )
        return self.case_response(updated)

    @extend_schema(
        summary="What this user may do to the case now",
        responses={200: AvailableTransitionsSerializer},
        parameters=[CASE_NUMBER],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="transitions",
        url_name="transitions",
        filter_backends=[],
    )
    def available_transitions(self, request: Request, number: str) -> Response:
        case = self.get_case()
        user = _user(request)
        data = {
            "types": services.allowed_types(case, user),
            "transitions": [
                _transition_choice(case, name)
                for name in services.allowed_status_transitions(case, user)
            ],
        }
        return Response(AvailableTransitionsSerializer(data).data)

    @extend_schema(
        summary="Run a status transition",
        description=(
            "`schedule_fix` needs `release`; `resolve` needs `resolution` (and "
            "`knowledge_article` for `kb_article`); `reopen` needs `reason`."
        ),
        request=TransitionSerializer,
        responses={200: CaseSerializer},
        parameters=[
            CASE_NUMBER,
            OpenApiParameter(
                "name", str, OpenApiParameter.PATH, enum=[*services.STATUS_TRANSITIONS]
            ),
            IF_MATCH,
            ETAG,
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<name>[^/.]+)",
        url_name="transition",
    )
    def transition(self, request: Request, number: str, name: str) -> Response:
        case = self.get_case()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        updated = services.transition_case(
            case=case,
            by=_user(request),
            name=name,
            reason=data["reason"],
            release=data.get("release"),
            resolution=data.get("resolution", ""),
            article=data.get("knowledge_article"),
            expected_version=expected_version(request),
        )
        return self.case_response(updated)

    @extend_schema(
        methods=["GET"],
        summary="List the case's comments (customers see public ones)",
        responses={200: CommentSerializer(many=True)},
        parameters=[CASE_NUMBER],
    )
    @extend_schema(
        methods=["POST"],
        summary="Comment, with attachments as multipart",
        description="`public: false` writes an internal note (staff only).",
        request={
            "application/json": CommentCreateSerializer,
            "multipart/form-data": CommentCreateSerializer,
        },
        responses={201: CommentSerializer},
        parameters=[CASE_NUMBER, IDEMPOTENCY_KEY],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[JSONParser, MultiPartParser],
        filter_backends=[],
    )
    def comments(self, request: Request, number: str) -> Response:
        user = _user(request)
        if request.method == "POST":
            with transaction.atomic():
                # The answer, a comment, shows none of the case's related rows;
                # the emails of a customer's reply go to the assignee, those of
                # staff's to customers, whom the case's own columns name.
                cases = Case.objects.visible_to(user)
                if user.is_customer:
                    cases = cases.select_related("assignee")
                case = self.lock_case(cases)
                context = {**self.get_serializer_context(), "case": case}
                return idempotent(request, lambda: self._comment(request, case, context))
        case = self.get_case()
        context = {**self.get_serializer_context(), "case": case}
        comments = (
            Comment.objects.filter(case=case)
            .select_related("author")
            .prefetch_related("attachments")
            .order_by("created_at", "id")
        )
        if not user.is_staff:
            comments = comments.filter(is_public=True)
        page = paginate(self, comments)
        return self.get_paginated_response(CommentSerializer(page, many=True, context=context).data)

    def _comment(self, request: Request, case: Case, context: dict[str, Any]) -> Response:
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        comment = services.add_comment(
            case=case,
            by=_user(request),
            body=data["body"],
            public=data["public"],
            attachments=data["attachments"],
        )
        return Response(
            CommentSerializer(comment, context=context).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="The case's history (customers see public events)",
        responses={200: EventSerializer(many=True)},
        parameters=[CASE_NUMBER],
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, number: str) -> Response:
        case = self.get_case()
        events = (
            CaseEvent.objects.visible_to(_user(request))
            .filter(case=case)
            .select_related("actor")
            .order_by("at", "id")
        )
        page = paginate(self, events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        summary="Download an attachment",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment."
            )
        },
        parameters=[
            CASE_NUMBER,
            OpenApiParameter("attachment_id", int, OpenApiParameter.PATH),
            OpenApiParameter("format", exclude=True),
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]{1,18})",
        url_name="attachment",
        filter_backends=[],
        renderer_classes=[renderers.JSONRenderer, DownloadRenderer],
    )
    def attachment(self, request: Request, number: str, attachment_id: str) -> FileResponse:
        case = self.get_case()
        attachment = (
            Attachment.objects.select_related("comment")
            .filter(case=case, pk=int(attachment_id))
            .first()
        )
        if attachment is None or not (attachment.is_public or _user(request).is_staff):
            raise Http404("No such attachment.")
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type="application/octet-stream",
        )
        # Never let a browser run an uploaded file as a page of ours.
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# Releases -----------------------------------------------------------------

RELEASE_VERSION = OpenApiParameter("version", str, OpenApiParameter.PATH)


class ReleaseViewSet(ThrottledFirst, viewsets.GenericViewSet[Release]):
    """Releases: everyone reads the published ones; staff see all, add and publish them."""

    serializer_class = ReleaseSerializer
    lookup_field = "version"
    lookup_value_regex = "[^/]+"
    pagination_class = CursorPagination
    parser_classes = [JSONParser]
    error_statuses = {"publish": (409,)}

    def get_queryset(self) -> QuerySet[Release]:
        releases = Release.objects.order_by("-pk")
        if _user(self.request).has_perm("cases.view_release"):
            return releases
        return releases.filter(released_on__isnull=False)

    def get_release(self) -> Release:
        release = self.get_queryset().filter(version=self.kwargs["version"]).first()
        if release is None:
            raise Http404("No such release.")
        return release

    @extend_schema(summary="List releases, newest first")
    def list(self, request: Request) -> Response:
        page = paginate(self, self.get_queryset())
        return self.get_paginated_response(ReleaseSerializer(page, many=True).data)

    @extend_schema(summary="Read a release", parameters=[RELEASE_VERSION])
    def retrieve(self, request: Request, version: str) -> Response:
        return Response(ReleaseSerializer(self.get_release()).data)

    @extend_schema(
        summary="Add a release (staff)",
        request=ReleaseCreateSerializer,
        responses={201: ReleaseSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = ReleaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = services.create_release(
            by=_user(request), version=serializer.validated_data["version"]
        )
        return Response(ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Publish a release and resolve the cases scheduled into it (staff)",
        request=None,
        responses={200: PublishedReleaseSerializer},
        parameters=[RELEASE_VERSION],
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, version: str) -> Response:
        release = self.get_release()
        resolved = services.publish_release(release=release, by=_user(request))
        release.refresh_from_db()
        data = {
            "version": release.version,
            "released_on": release.released_on,
            "is_published": release.is_published,
            "resolved_cases": [case.number for case in resolved],
        }
        return Response(PublishedReleaseSerializer(data).data)


# Knowledge articles -------------------------------------------------------

ARTICLE_SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH)


class KnowledgeArticleViewSet(ThrottledFirst, viewsets.GenericViewSet[KnowledgeArticle]):
    """Knowledge articles: customers read the published ones; support writes them."""

    serializer_class = KnowledgeArticleSerializer
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    pagination_class = CursorPagination
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[KnowledgeArticle]:
        articles = KnowledgeArticle.objects.order_by("title", "pk")
        if _user(self.request).has_perm("cases.view_knowledgearticle"):
            return articles
        return articles.filter(is_published=True)

    @extend_schema(summary="List knowledge articles by title")
    def list(self, request: Request) -> Response:
        page = paginate(self, self.get_queryset())
        return self.get_paginated_response(KnowledgeArticleSerializer(page, many=True).data)

    @extend_schema(summary="Read a knowledge article", parameters=[ARTICLE_SLUG])
    def retrieve(self, request: Request, slug: str) -> Response:
        article = self.get_queryset().filter(slug=slug).first()
        if article is None:
            raise Http404("No such article.")
        return Response(KnowledgeArticleSerializer(article).data)

    @extend_schema(
        summary="Write a knowledge article (support)",
        request=KnowledgeArticleCreateSerializer,
        responses={201: KnowledgeArticleSerializer},
    )
    def create(self, request: Request) -> Response:
        user = _user(request)
        serializer = KnowledgeArticleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        source_case = None
        number = data.pop("source_case", None)
        if number is not None:
            source_case = Case.objects.visible_to(user).by_number(number).first()
            if source_case is None:
                raise ValidationError({"source_case": "No such case."})
        article = services.create_knowledge_article(
            by=user,
            title=data["title"],
            body=data["body"],
            slug=data["slug"],
            published=data["published"],
            source_case=source_case,
        )
        return Response(KnowledgeArticleSerializer(article).data, status=status.HTTP_201_CREATED)


# The signed-in user -------------------------------------------------------


class MeView(ThrottledFirst, APIView):
    """The user the request acts as (the token's user)."""

    @extend_schema(summary="The user this token acts as", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_user(request)).data)
