"""
Answers that hold under faults: a Permissions-Policy on every response, and a
clean 503 (with Retry-After) instead of a 500 while the database is away.
"""

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.html import escape
from django.views import defaults

from cases.uploads import UploadTooLarge

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30

_UNAVAILABLE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Casebook is briefly unavailable</title></head>
<body><h1>Casebook is briefly unavailable</h1>
<p>We cannot reach our database right now. Nothing you sent was half-saved:
please try again in a minute.</p></body></html>
"""


def wants_json(request: HttpRequest) -> bool:
    """Return whether the client is a program (the API, or one that asks for JSON)."""
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """Return the 503 answer for a request the database could not serve.

    Built without templates or the session: both may need the database.
    """
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(
            {
                "code": "service_unavailable",
                "detail": "The database is unavailable; nothing was changed. Try again shortly.",
            },
            status=503,
        )
    else:
        response = HttpResponse(_UNAVAILABLE_HTML, status=503, content_type="text/html")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class PermissionsPolicyMiddleware:
    """Add the Permissions-Policy header: the portal uses no camera, microphone, etc."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.CASEBOOK_PERMISSIONS_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection raised by a view into a 503 with Retry-After.

    Errors raised by other middleware never reach a middleware as exceptions;
    `server_error` (the project's handler500) answers those the same way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            logger.warning("Database unavailable for %s: %s", request.path, exception)
            return service_unavailable(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """Handle an uncaught exception: 503 when the database is away, else Django's 500."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return service_unavailable(request)
    if wants_json(request):
        return JsonResponse({"code": "server_error", "detail": "Something went wrong."}, status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a request Django refused (an upload too large, a malformed body) with 400.

    The refusal of an upload carries a sentence meant for the person; other
    refusals keep Django's terse page.
    """
    message = exception.user_message if isinstance(exception, UploadTooLarge) else ""
    if wants_json(request):
        return JsonResponse(
            {"code": "bad_request", "detail": message or "The request could not be read."},
            status=400,
        )
    if message:
        return HttpResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Not accepted</title></head><body><h1>Not accepted</h1><p>"
            + escape(message)
            + "</p></body></html>",
            status=400,
            content_type="text/html",
        )
    return defaults.bad_request(request, exception)
