"""
Django's AuthenticationMiddleware, taking the user read with the session.

With accounts.sessions the user was read in the query that read the session.
`request.user` is still django.contrib.auth.get_user's answer, with all its
checks (the session's backend, its hash against the user's password and the
fallback secrets, that the user may sign in); only PermissionBackend.get_user
takes the user already read instead of asking the database again
(accounts.backends.read_with_session). With any other session backend nothing
is read with the session and this is Django's middleware.
"""

from functools import partial

from django.contrib import auth
from django.contrib.auth import middleware
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.backends import read_with_session


def get_user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    if not hasattr(request, "_cached_user"):
        read = getattr(request.session, "read_user", None)
        with read_with_session(read() if read is not None else None):
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined,no-any-return]


async def auser(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    if not hasattr(request, "_acached_user"):
        read = getattr(request.session, "aread_user", None)
        with read_with_session(await read() if read is not None else None):
            request._acached_user = await auth.aget_user(request)  # type: ignore[attr-defined]
    return request._acached_user  # type: ignore[attr-defined,no-any-return]


class AuthenticationMiddleware(middleware.AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # Checks that the session middleware ran.
        request.user = SimpleLazyObject(lambda: get_user(request))  # type: ignore[assignment]
        request.auser = partial(auser, request)  # type: ignore[assignment]
