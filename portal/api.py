"""
The REST API's plumbing: its one exception handler, cursor pagination,
ordering, throttles, schema generation and the router under ``/api/v1/``.

Every error leaves the API as ``{"code": ..., "detail": ...}``, with ``errors``
(per field) for a 400 and ``allowed`` for a refused transition (409).
"""

import base64
import binascii
import json
import logging
import math
from collections import OrderedDict
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from cases.exceptions import CaseError, TransitionNotAllowed

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = "non_field_errors"


# Errors -------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer[Any]):
    """The one shape of every error the API answers."""

    code = serializers.CharField(help_text="A stable machine code, e.g. `transition_not_allowed`.")
    detail = serializers.CharField(help_text="A sentence for a person.")
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For 400: the messages of each invalid field (`non_field_errors` for the rest).",
    )
    allowed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For 409 `transition_not_allowed`: the moves this user may make now.",
    )


def error_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Return the API's error response."""
    return Response({"code": code, "detail": detail, **extra}, status=status, headers=headers)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Return DRF's (possibly nested) error detail as {field path: [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = NON_FIELD_ERRORS if key in ("__all__", NON_FIELD_ERRORS) and not prefix else key
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or NON_FIELD_ERRORS: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or NON_FIELD_ERRORS: [str(detail)]}


def _invalid(errors: dict[str, list[str]]) -> Response:
    messages = [message for field_messages in errors.values() for message in field_messages]
    if len(messages) == 1:
        detail = messages[0]
    else:
        fields = ", ".join(name for name in errors if name != NON_FIELD_ERRORS)
        detail = f"Some fields are invalid: {fields}." if fields else " ".join(messages)
    return error_response(400, "invalid", detail, errors=errors)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every error the API may meet to one JSON shape; None leaves a logged 500."""
    if isinstance(exc, TransitionNotAllowed):
        return error_response(exc.http_status, exc.code, exc.message, allowed=exc.allowed)
    if isinstance(exc, CaseError):
        return error_response(exc.http_status, exc.code, exc.message)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return _invalid(_flatten(exc.message_dict))
        return _invalid({NON_FIELD_ERRORS: list(exc.messages)})
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(403, "permission_denied", str(exc) or "You may not do this.")
    if isinstance(exc, Http404):
        return error_response(404, "not_found", str(exc) or "Not found.")
    if isinstance(exc, exceptions.ValidationError):
        return _invalid(_flatten(exc.detail))
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        code = exc.get_codes()
        return error_response(
            exc.status_code,
            code if isinstance(code, str) else exc.default_code,
            str(exc.detail),
            headers=headers,
        )
    return None


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was used for a different request. Use a new key for a new request."
    )


class PreconditionFailed(exceptions.APIException):
    """An If-Match header that names no version of the case."""

    status_code = 412
    default_code = "case_changed"
    default_detail = "The If-Match header does not match this case's ETag. Reload it and try again."


class ThrottledFirst:
    """
    Count a request against the throttles before judging its credentials.

    DRF checks permissions first, so requests without credentials or with a
    wrong token would never be throttled: token guessing would be free.
    """

    def perform_authentication(self, request: Request) -> None:
        try:
            request.user  # noqa: B018 (authenticates the request)
        except exceptions.AuthenticationFailed:
            self.check_throttles(request)
            raise

    def check_permissions(self, request: Request) -> None:
        self.check_throttles(request)
        super().check_permissions(request)  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        if getattr(request, "_throttles_checked", False):
            return
        request._throttles_checked = True  # type: ignore[attr-defined]
        super().check_throttles(request)  # type: ignore[misc]


class ApiNotFoundView(APIView):
    """Answer an unknown URL under the API with the API's 404, not an HTML page."""

    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    schema = None

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound("There is no such URL in the API.")

    post = put = patch = delete = get


# Ordering and cursor pagination -------------------------------------------


class OrderingFilter:
    """Order by `?ordering=field` or `-field`, among the view's `ordering_fields` {name: field}."""

    param = "ordering"

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        choices: dict[str, str] = getattr(view, "ordering_fields", {})
        value = request.query_params.get(self.param)
        if not value:
            return queryset
        name = value.removeprefix("-")
        if name not in choices:
            options = ", ".join(f"{n}, -{n}" for n in choices)
            raise exceptions.ValidationError({self.param: [f"Order by one of {options}."]})
        return queryset.order_by(("-" if value.startswith("-") else "") + choices[name])

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        choices = list(getattr(view, "ordering_fields", {}))
        return [
            {
                "name": self.param,
                "required": False,
                "in": "query",
                "description": "Order by this field; a leading `-` for descending.",
                "schema": {"type": "string", "enum": choices + [f"-{n}" for n in choices]},
            }
        ]


class CursorPagination(BasePagination):
    """
    Keyset pagination over the queryset's first ordering field and the primary key.

    The cursor holds the last row's (value, pk), so rows that share a value (25
    cases updated in the same second) are each returned exactly once, and a row
    added meanwhile never shifts a page.
    """

    page_size = 25
    max_page_size = 100
    cursor_param = "cursor"
    page_size_param = "page_size"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        size = self._page_size(request)
        order = queryset.query.order_by or queryset.model._meta.ordering
        first = str(order[0]) if order else "pk"
        descending = first.startswith("-")
        field = first.removeprefix("-")
        if field in ("id", queryset.model._meta.pk.name):
            field = "pk"
        queryset = queryset.order_by(
            *[("-" if descending else "") + name for name in dict.fromkeys([field, "pk"])]
        )
        cursor = self._decode(request.query_params.get(self.cursor_param), queryset.model, field)
        if cursor is not None:
            value, pk = cursor
            op = "lt" if descending else "gt"
            if field == "pk":
                queryset = queryset.filter(**{f"pk__{op}": pk})
            else:
                # The first condition is implied by the second; it is there for the
                # index: PostgreSQL starts the scan at the cursor instead of reading
                # (and filtering out) every row of the pages before it.
                queryset = queryset.filter(
                    Q(**{f"{field}__{op}e": value}),
                    Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk}),
                )
        rows = list(queryset[: size + 1])
        self.next_cursor: str | None = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            if isinstance(last, dict):  # a page read with values()
                self.next_cursor = self._encode(last[field if field != "pk" else "id"], last["id"])
            else:
                self.next_cursor = self._encode(getattr(last, field), last.pk)
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response(OrderedDict([("next", self._next_link()), ("results", data)]))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last one.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_param,
                "required": False,
                "in": "query",
                "description": "The `next` link's cursor; absent for the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {self.max_page_size} ({self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_param: [f"A page has 1 to {self.max_page_size} rows."]}
            )
        return int(raw)

    def _next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_param, self.next_cursor)

    @staticmethod
    def _encode(value: Any, pk: Any) -> str:
        raw = value.isoformat() if hasattr(value, "isoformat") else value
        return base64.urlsafe_b64encode(json.dumps([raw, pk]).encode()).decode().rstrip("=")

    @staticmethod
    def _decode(cursor: str | None, model: type[Model], field: str) -> tuple[Any, Any] | None:
        if not cursor:
            return None
        invalid = exceptions.ValidationError({"cursor": ["This cursor is not valid."]})
        try:
            raw, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            model_field = model._meta.pk if field == "pk" else model._meta.get_field(field)
            value = model_field.to_python(raw)  # type: ignore[union-attr]
            pk = model._meta.pk.to_python(pk)  # type: ignore[union-attr]
        except (ValueError, TypeError, binascii.Error, DjangoValidationError) as error:
            raise invalid from error
        if value is None or pk is None:
            raise invalid
        return value, pk


# Schema --------------------------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "Invalid input: `errors` names each field.",
    401: "No valid credentials (`not_authenticated`, `authentication_failed`).",
    403: "The user may not do this (`permission_denied`).",
    404: "No such object, or one this user may not see (`not_found`).",
    409: "Refused by the rules now (`transition_not_allowed` with `allowed`).",
    412: "The case changed since the ETag sent in If-Match (`case_changed`).",
    422: "The Idempotency-Key was used for a different request (`idempotency_key_reused`).",
    429: "Too many requests (`throttled`); retry after `Retry-After` seconds.",
}


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A Casebook API token."}


class CasebookAutoSchema(AutoSchema):
    """Document the API's error responses on every operation, in the one error shape."""

    def error_statuses(self) -> list[int]:
        statuses = [400, 401, 403, 406, 429]
        if "{" in self.path:
            statuses.append(404)
        extra = getattr(self.view, "error_statuses", {})
        action = getattr(self.view, "action", None)
        statuses.extend(extra.get(action, ()))
        if self.method == "POST" and action in getattr(self.view, "idempotent_actions", ()):
            statuses.append(422)
        return sorted(set(statuses))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        bodies: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            description = ERROR_DESCRIPTIONS.get(status, "Not acceptable.")
            bodies.setdefault(
                str(status),
                self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description),
                    str(status),
                    direction=direction,
                ),
            )
        if self.method in ("POST", "PATCH", "PUT"):
            bodies.setdefault(
                "415",
                self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description="Unsupported media type."),
                    "415",
                    direction=direction,
                ),
            )
        return bodies


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The case's ETag as read: the change is refused with 412 if it changed since.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description=(
        "A unique key per intended request (e.g. a UUID): a retry with the same key and body "
        "returns the first response and creates nothing new."
    ),
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The case's version; send it back in If-Match.",
)


# URLs ----------------------------------------------------------------------


def urlpatterns() -> list[URLPattern | URLResolver]:
    """Return the URL patterns of the API, mounted under /api/v1/."""
    # Imported here: these modules read DEFAULT_SCHEMA_CLASS, which names this module.
    from drf_spectacular.utils import extend_schema
    from drf_spectacular.views import (
        SpectacularAPIView,
        SpectacularRedocView,
        SpectacularSwaggerSplitView,
    )
    from rest_framework.routers import DefaultRouter

    from cases import api as cases_api
    from notifications import api as notifications_api

    class ApiDocsView(SpectacularSwaggerSplitView):
        """Swagger UI from local files, keeping the site's opener policy (no OAuth pop-ups)."""

        @extend_schema(exclude=True)
        def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            response: Response = super().get(request, *args, **kwargs)
            if "Cross-Origin-Opener-Policy" in response:
                del response["Cross-Origin-Opener-Policy"]
            return response

    # JSON only: no `.json` suffix routes, whose extra `format` argument our views do not take.
    router = DefaultRouter()
    router.include_format_suffixes = False
    router.register("cases", cases_api.CaseViewSet, basename="case")
    router.register("releases", cases_api.ReleaseViewSet, basename="release")
    router.register("articles", cases_api.KnowledgeArticleViewSet, basename="article")
    router.register("webhooks", notifications_api.WebhookSubscriptionViewSet, basename="webhook")
    return [
        path("me/", cases_api.MeView.as_view(), name="api-me"),
        path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
        # The split view serves its script from a URL of its own: our Content Security
        # Policy allows no inline script.
        path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
        path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
        path("", include(router.urls)),
        # Any path under the API, newlines included, gets the API's JSON 404.
        re_path(r"^[\s\S]*$", ApiNotFoundView.as_view()),
    ]
