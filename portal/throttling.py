"""
The API's throttles, per API token (or signed-in user) and per anonymous address.

Kept out of ``portal.api``: DRF imports throttle classes while it defines its
views, so this module must not import them.
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken


class _Throttle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at each request, not at import, so tests and the environment can change it.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope or "")  # type: ignore[no-any-return]


class TokenRateThrottle(_Throttle):
    """Requests per API token (or per signed-in user without one)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        else:
            ident = f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_Throttle):
    """Requests per address from clients that are not signed in."""

    scope = "anonymous"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
