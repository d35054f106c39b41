"""
Put the benchmark's database back as it was seeded, once a run is over.

A run files cases, comments on a few hundred of the customer's open cases and
reclassifies others. Left in place, those writes change what the next run
measures: after a few runs each of those cases carries dozens of comments and
sits first in the customer's list, and a search that walks the list checks
every one of those comments before it finds a match (search at 10,000 cases
fell from 97% of the floor to 74% over a day of runs). So a run remembers the
cases it may change and the last row of each table it writes, and afterwards
deletes what it added, puts the cases back and vacuums, as autovacuum would.
One run at a time: a run holds a lock on the database while it writes.
"""

import contextlib
import datetime
import os
from collections.abc import Iterable, Iterator

import psycopg
from django.db import connection, models
from django.utils import timezone

from cases.models import Case, CaseEvent, Comment
from notifications.models import OutboundEmail, WebhookDelivery

SNAPSHOT = "bench_restore_cases"
# Children first: each table's rows point at rows of the tables after it.
ADDED = (OutboundEmail, WebhookDelivery, CaseEvent, Comment, Case)


def _columns() -> list[str]:
    """The columns of a case that can be written (its search document is generated)."""
    return [
        connection.ops.quote_name(str(field.column))
        for field in Case._meta.concrete_fields
        if not getattr(field, "generated", False) and field.column != "id"
    ]


# Held by a run while it writes: two runs on one database at once would undo
# each other's writes (and share the snapshot table).
LOCK = "casebook benchmark run"


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """Hold the database's benchmark lock, or stop if another run holds it."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as holder:
        locked = holder.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [LOCK]).fetchone()
        if not locked or not locked[0]:
            raise SystemExit(
                "Another benchmark run (python -m bench or bench.cpu) is using this "
                "database; run one at a time."
            )
        yield


@contextlib.contextmanager
def writes_undone(cases: Iterable[int]) -> Iterator[None]:
    """Undo, on leaving, the run's writes to `cases` and every row it added."""
    with alone(), _undone(cases):
        yield


@contextlib.contextmanager
def _undone(cases: Iterable[int]) -> Iterator[None]:
    began = timezone.now() - datetime.timedelta(seconds=1)
    with connection.cursor() as cursor:
        last: dict[type[models.Model], int] = {}
        for model in ADDED:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")  # nosec B608 - a table name of ours
            last[model] = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
        cursor.execute(
            f"CREATE TABLE {SNAPSHOT} AS SELECT * FROM {Case._meta.db_table} WHERE id = ANY(%s)",  # nosec B608 - names of ours
            [sorted(set(cases))],
        )
    try:
        yield
    finally:
        connection.close()  # the run may have left this connection broken or idle for long
        restore(last, began)


def restore(last: dict[type[models.Model], int], began: datetime.datetime) -> None:
    columns = _columns()
    assignments = ", ".join(f"{column} = s.{column}" for column in columns)
    case_table = Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_tasks_database_dbtaskresult WHERE enqueued_at >= %s", [began]
        )
        for model in ADDED:
            table = model._meta.db_table
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [last[model]])  # nosec B608 - a table name of ours
        cursor.execute(
            f"UPDATE {case_table} c SET {assignments} FROM {SNAPSHOT} s WHERE c.id = s.id"  # nosec B608 - names of ours
        )
        cursor.execute(f"DROP TABLE {SNAPSHOT}")
        tables = [model._meta.db_table for model in ADDED]
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}, django_tasks_database_dbtaskresult")
