"""API token authentication: `Authorization: Bearer <token>`, checked against its stored hash."""

import datetime
import functools

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.backends import PERMISSION_CODES, remember_permissions, with_permissions
from accounts.models import ApiToken, User
from portal import rows

# Writing last_used_at on every request would turn each read into a write;
# a minute's precision is enough to see which tokens are still in use.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)

KEYWORDS = (b"bearer", b"token")


@functools.cache
def _tokens() -> QuerySet[ApiToken]:
    """
    Tokens with their user, their organization and their permissions.

    Read in one query, compiled once (portal.rows); the queryset is built once
    too, and only filtered per request.
    """
    tokens = ApiToken.objects.select_related("user", "user__organization")
    return with_permissions(tokens, f'"{ApiToken._meta.db_table}"."user_id"')


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticate a request as the user of an active API token."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as error:
            raise AuthenticationFailed("This token is not valid.") from error
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[User, ApiToken]:
        try:
            token = rows.get(_tokens().filter(key_hash=ApiToken.hash_key(key)))
        except ApiToken.DoesNotExist:
            token = None
        if token is None or not token.is_active or not token.user.is_active:
            # One message for unknown, revoked and disabled: it confirms nothing.
            raise AuthenticationFailed("This token is not valid.")
        remember_permissions(token.user, getattr(token, PERMISSION_CODES))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
