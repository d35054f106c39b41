"""
Failed-sign-in limiting with django-axes, per account and per address.

Axes records every failed ``authenticate(request=..., ...)`` and counts the
failures of the account and of the address separately. Each has its own limit:
30 wrong passwords lock one account (whatever address they come from), and many
more from one address lock that address (so a colleague behind the same office
proxy is not locked out by someone else's typos). A locked client waits for the
cool-off time even with the right password, and is told so.

Any view that signs people in works with this, as long as it calls
``django.contrib.auth.authenticate(request, ...)`` with the request (Django's
``LoginView`` and ``AuthenticationForm`` do).
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from portal.middleware import wants_json


class SignInLimitBackend(AxesStandaloneBackend):
    """Axes' lockout check, skipped only for a call without a request.

    A program calling ``authenticate()`` without a request (a management
    command, a test's ``client.login()``) is not a sign-in from the web; Axes
    would refuse it outright. Every sign-in view passes the request.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """Return the account a sign-in is for: `username` or `email`, case-folded."""
    value: Any = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None:
        data: Any = getattr(request, "data", request.POST)
        value = data.get("username") or data.get("email")
    return str(value).strip().lower() if value else None


def failures(request: HttpRequest, credentials: dict[str, Any] | None) -> tuple[int, int]:
    """Return the recent failed sign-ins of (this account, this address)."""
    by_account, by_address = (
        sum(attempt.failures_since_start for attempt in attempts)
        for attempts in AxesDatabaseHandler().get_user_attempts(request, credentials)
    )
    return by_account, by_address


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Return the limit Axes compares with the larger of the two counts.

    Axes has one limit for all its lockout parameters; this turns it into one
    limit each: it answers 1 (locked) when either count passed its own limit,
    and a number above both counts otherwise.
    """
    by_account, by_address = failures(request, credentials)
    if (
        by_account >= settings.CASEBOOK_SIGNIN_LIMIT_PER_ACCOUNT
        or by_address >= settings.CASEBOOK_SIGNIN_LIMIT_PER_ADDRESS
    ):
        return 1
    return max(by_account, by_address) + 1


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """Tell a locked-out client what happened and how long to wait (429, Retry-After)."""
    cool_off = get_cool_off(request)
    minutes = max(1, int(cool_off.total_seconds() // 60)) if cool_off else 0
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}" if minutes else ""
    message = (
        "Too many failed sign-ins for this account or from this address, so sign-in "
        f"is locked for now. {wait}{' or ' if wait else ''}ask your administrator to unlock it. "
        "Even the right password is refused until then."
    )
    response: HttpResponse
    if wants_json(request) or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        response = JsonResponse(
            {
                "code": "signin_locked",
                "detail": message,
                "retry_after_seconds": int(cool_off.total_seconds()) if cool_off else None,
            },
            status=429,
        )
    else:
        response = HttpResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Sign-in locked</title></head><body><h1>Sign-in locked</h1>"
            f"<p>{escape(message)}</p></body></html>",
            status=429,
            content_type="text/html",
        )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
