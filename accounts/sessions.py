"""
The database session backend, reading a session's user in the same query.

Django's database backend reads the session, then django.contrib.auth.get_user
reads the user it names (accounts.backends.PermissionBackend, with their
permissions): two queries before every signed-in page. Here the session's row
keeps the id of its user (accounts.models.Session), and reading the session
reads the user and their permissions with it. `AuthenticationMiddleware` hands
that user to django.contrib.auth.get_user, which checks it as always.

``SESSION_ENGINE = "accounts.sessions"``.
"""

import functools
import logging
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.backends import PERMISSION_CODES, with_permissions
from accounts.models import Session, User
from portal import rows


def user_id_of(data: dict[str, Any]) -> int | None:
    """Return the id of the user signed in to a session with `data`, if any."""
    value = data.get(SESSION_KEY)
    if value is None:
        return None
    try:
        return User._meta.pk.to_python(value)  # type: ignore[union-attr,no-any-return]
    except ValidationError:
        return None


@functools.cache
def _sessions() -> QuerySet[Session]:
    """
    Sessions with their user and the user's permissions.

    Read in one query, compiled once (portal.rows); the queryset is built once
    too, and only filtered per request.
    """
    sessions = Session.objects.select_related("user")
    return with_permissions(sessions, f'"{Session._meta.db_table}"."user_id"')


class SessionStore(DatabaseSessionStore):
    """Django's database session store, reading the session's user with it."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The user read with the session (with PERMISSION_CODES), once read.
        self._user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[Session]:
        return Session

    def _found(self, session: Session) -> Session:
        """Keep the user read with `session`, with their permissions."""
        user = session.user
        if user is not None:
            setattr(user, PERMISSION_CODES, getattr(session, PERMISSION_CODES))
        self._user = user
        return session

    def _not_found(self, error: Exception) -> None:
        """What Django's store does when the session is not found (or is suspicious)."""
        if isinstance(error, SuspiciousOperation):
            logger = logging.getLogger(f"django.security.{error.__class__.__name__}")
            logger.warning(str(error))
        self._session_key = None

    # Django's _get_session_from_db and _aget_session_from_db, with the user.
    def _get_session_from_db(self) -> Session | None:
        try:
            sessions = _sessions().filter(
                session_key=self.session_key, expire_date__gt=timezone.now()
            )
            return self._found(rows.get(sessions))
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            self._not_found(e)
            return None

    async def _aget_session_from_db(self) -> Session | None:
        try:
            return self._found(
                await _sessions().aget(session_key=self.session_key, expire_date__gt=timezone.now())
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            self._not_found(e)
            return None

    def read_user(self) -> User | None:
        """Return the user read with the session (reading it if not yet), or None."""
        if self.get(SESSION_KEY) is None:
            return None
        return self._user

    async def aread_user(self) -> User | None:
        """See read_user()."""
        if await self.aget(SESSION_KEY) is None:
            return None
        return self._user

    def create_model_instance(self, data: dict[str, Any]) -> Session:
        session: Session = super().create_model_instance(data)  # type: ignore[assignment]
        session.user_id = user_id_of(data)
        return session

    async def acreate_model_instance(self, data: dict[str, Any]) -> Session:
        session: Session = await super().acreate_model_instance(data)  # type: ignore[assignment]
        session.user_id = user_id_of(data)
        return session
