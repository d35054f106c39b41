"""
``/healthz`` for a load balancer: is this app server able to serve?

It answers 200 when the database is reachable and every migration is applied,
503 otherwise, with a small JSON body. It needs no sign-in and says nothing
about customers: only the state of the machinery and the task queue's backlog.
"""

from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.middleware import RETRY_AFTER_SECONDS

# django-tasks-db's queue, when the project uses it.
TASK_RESULT_MODEL = ("django_tasks_database", "DBTaskResult")


def _pending_migrations() -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _queue_backlog() -> int | None:
    """Return how many tasks wait in django-tasks-db's queue; None when it is not used."""
    try:
        task_result = apps.get_model(*TASK_RESULT_MODEL)
    except LookupError:
        return None
    return int(task_result.objects.filter(status="READY").count())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Return 200 with the checks when this server can serve, 503 when it cannot."""
    checks: dict[str, Any] = {"database": "ok", "migrations": "ok", "queue_backlog": None}
    healthy = True
    try:
        connections[DEFAULT_DB_ALIAS].ensure_connection()
        pending = _pending_migrations()
        if pending:
            checks["migrations"] = f"{pending} not applied"
            healthy = False
        checks["queue_backlog"] = _queue_backlog()
    except DatabaseError:
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
        healthy = False
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
