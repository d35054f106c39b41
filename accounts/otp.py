"""
Two-factor sign-in for staff: a TOTP code after the password.

A staff member may enrol an authenticator app (a django-otp TOTP device). Once
they have one, every session of theirs must confirm a code before it reaches
the admin, the pages or the session-authenticated API. In production a
superuser without a device is sent to enrol one first
(``CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS``). Customers are not concerned.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django_otp import user_has_device

# Paths a staff member may reach before confirming a code.
EXEMPT_PREFIXES = ("/accounts/two-factor/", "/admin/logout/", "/accounts/logout/", "/healthz")


# Whether the signed-in person has a confirmed device, remembered for the session
# (a sign-in starts a new session, so a device enrolled later counts from then on;
# confirming a code through the views verifies the session anyway).
HAS_DEVICE_KEY = "casebook_otp_has_device"


def has_device(request: HttpRequest, user: object) -> bool:
    """Return whether `user` has a confirmed device, asking the database once a session."""
    known = request.session.get(HAS_DEVICE_KEY)
    if known is None:
        known = bool(user_has_device(user, confirmed=True))
        request.session[HAS_DEVICE_KEY] = known
    return bool(known)


def needs_code(request: HttpRequest, user: object) -> bool:
    """Return whether this signed-in staff member has a device and has not confirmed a code."""
    return bool(
        getattr(user, "is_staff", False)
        and not user.is_verified()  # type: ignore[attr-defined]
        and has_device(request, user)
    )


def needs_enrolment(request: HttpRequest, user: object) -> bool:
    """Return whether this superuser must enrol a device before doing anything."""
    return bool(
        settings.CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS
        and getattr(user, "is_superuser", False)
        and not has_device(request, user)
    )


class StaffTwoFactorMiddleware:
    """Send staff who owe a second factor to confirm (or enrol) it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path.startswith(EXEMPT_PREFIXES) or request.path.startswith(
            "/" + settings.STATIC_URL.lstrip("/")
        ):
            # Decided before touching the user, which costs a session read.
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            if needs_code(request, user):
                return self._redirect(request, "two_factor:verify")
            if needs_enrolment(request, user):
                return self._redirect(request, "two_factor:enrol")
        return self.get_response(request)

    def _redirect(self, request: HttpRequest, name: str) -> HttpResponseBase:
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "two_factor_required",
                    "detail": "Confirm your sign-in code in the browser first.",
                },
                status=403,
            )
        return HttpResponseRedirect(
            reverse(name) + "?" + urlencode({"next": request.get_full_path()}, safe="/")
        )
