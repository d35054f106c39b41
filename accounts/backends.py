"""
The permission backend: Django's ModelBackend, with a user's permissions read
in the same query as the user.

ModelBackend asks twice per request that checks a permission (once for the
user's own permissions, once for their groups'), after the query that loaded
the user. Here the user arrives with their permissions: `with_permissions`
adds them to the query that loads the user, for a session
(`PermissionBackend.get_user`) and for an API token
(accounts.authentication).

With the database session backend the user is read even earlier, in the query
that reads the session (accounts.sessions); `get_user` then takes that user
instead of asking again (`read_with_session`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from accounts.models import User

# Where `with_permissions` puts the permissions: "app_label.codename" joined by commas.
PERMISSION_CODES = "permission_codes"


def with_permissions[M: Model](queryset: QuerySet[M], user_column: str) -> QuerySet[M]:
    """
    Annotate each row of `queryset` with the permissions of a user.

    `user_column` is the quoted column holding the user's id in the query, e.g.
    ``"accounts_user"."id"``. The subquery is written out: the ORM took longer
    to compile the same subquery than PostgreSQL took to run it, and an OR
    across the two join paths left PostgreSQL no index to use.
    """
    vendor = connections[queryset.db].vendor
    aggregate = "group_concat" if vendor == "sqlite" else "string_agg"
    user_permissions = User.user_permissions.through._meta.db_table
    user_groups = User.groups.through._meta.db_table
    sql = (
        f"SELECT {aggregate}(ct.app_label || '.' || p.codename, ',') "  # nosec B608 - table names from the models, a column named by our callers
        f"FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN ("
        f"SELECT permission_id FROM {user_permissions} WHERE user_id = {user_column} "
        f"UNION SELECT gp.permission_id FROM {Group.permissions.through._meta.db_table} gp "
        f"JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = {user_column})"
    )
    return queryset.annotate(**{PERMISSION_CODES: RawSQL(sql, (), output_field=TextField())})  # nosec B611 - no request data in the SQL


# The user read with the request's session, while django.contrib.auth.get_user runs.
_read_with_session: ContextVar[User | None] = ContextVar("read_with_session", default=None)


@contextmanager
def read_with_session(user: User | None) -> Iterator[None]:
    """
    Let `PermissionBackend.get_user` take `user` instead of reading it, inside this block.

    `user` is the user read with the session (with `PERMISSION_CODES`); it is
    taken only when it is the user the session names. Everything else
    django.contrib.auth.get_user checks (the backend, the session's hash, that
    the user may sign in) is checked as always.
    """
    token = _read_with_session.set(user)
    try:
        yield
    finally:
        _read_with_session.reset(token)


def remember_permissions(user: User, codes: str | None) -> None:
    """Keep the permissions read by `with_permissions` on `user` for this request."""
    # A superuser has every permission, whatever was granted: ModelBackend's own rule.
    if not user.is_superuser:
        user._perm_cache = set(codes.split(",")) if codes else set()  # type: ignore[attr-defined]


class PermissionBackend(ModelBackend):
    """ModelBackend, with a user's own and their groups' permissions read together."""

    def get_user(self, user_id: Any) -> User | None:
        user = _read_with_session.get()
        if user is None or user.pk != user_id:
            users = with_permissions(User._default_manager.all(), f'"{User._meta.db_table}"."id"')
            user = users.filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_permissions(user, getattr(user, PERMISSION_CODES))
        return user

    async def aget_user(self, user_id: Any) -> User | None:
        return await sync_to_async(self.get_user)(user_id)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            pairs = permissions.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in pairs}
        return user_obj._perm_cache  # type: ignore[no-any-return]
