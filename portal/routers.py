"""
Reads of list and search pages from a PostgreSQL read replica.

When ``DATABASE_REPLICA_URL`` is set, the ``replica`` alias exists and GET
requests to the views named in ``CASEBOOK_REPLICA_VIEWS`` read case data from
it. Everything else (writes, sessions, users, every other page) uses
``default``, so a replica that lags by a second never signs anyone out or
hides what they just wrote on the page they are sent to after writing.
"""

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponseBase

REPLICA = "replica"
# Only these apps' tables are read from the replica.
REPLICA_APPS = frozenset({"cases"})

_reading_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "reading_from_replica", default=False
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Read case data from the replica (if one is configured) inside this block."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


class ReplicaRouter:
    """Send reads of case data to the replica inside `replica_reads`; all else to default."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        if (
            _reading_from_replica.get()
            and model._meta.app_label in REPLICA_APPS
            and replica_configured()
        ):
            return REPLICA
        return None

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        # The replica is a copy of default: rows from either may relate.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA


class ReplicaReadsMiddleware:
    """Serve GET requests to the views of CASEBOOK_REPLICA_VIEWS with replica reads.

    The switch stays on until the response is rendered, since list templates
    evaluate their querysets while rendering.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.get_response(request)
        finally:
            token = getattr(request, "_replica_token", None)
            if token is not None:
                _reading_from_replica.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        match = request.resolver_match
        if (
            request.method in ("GET", "HEAD")
            and replica_configured()
            and match is not None
            and match.view_name in settings.CASEBOOK_REPLICA_VIEWS
        ):
            request._replica_token = _reading_from_replica.set(True)  # type: ignore[attr-defined]
