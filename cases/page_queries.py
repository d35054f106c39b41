"""
The case page's two reads, as SQL written once.

Compiling their querysets cost the page more CPU than PostgreSQL took to run
them. Here the SQL is built once from the models' metadata; each read runs it
with the request's values and converts every value as the ORM would (SQLite
gives back dates as text, and JSON comes back as text).
"""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, cast

from django.db import connections, router
from django.db.models import Field, ForeignKey, Model

from accounts.models import User
from cases.models import Attachment, Case, CaseEvent, Comment
from notifications.models import CaseFollower

# The case's relations the page shows, each read in the case's query.
CASE_RELATIONS = ("reporter", "assignee", "organization", "target_release", "knowledge_article")

Row = Sequence[Any]
Reader = Callable[[Row], list[Any]]


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    return cast(Field[Any, Any], model._meta.get_field(name))


def _relation(name: str) -> tuple["ForeignKey[Any, Any]", type[Model]]:
    """Return the case's foreign key `name` and the model it points to."""
    field = cast("ForeignKey[Any, Any]", Case._meta.get_field(name))
    return field, cast(type[Model], field.related_model)


def _reader(fields: Sequence[Field[Any, Any] | None], db: str) -> Reader:
    """
    Return a function turning a row of `fields`' columns into their Python values.

    None stands for a column the database gives as Python wants it already.
    The reader is kept for the process, across threads: the converters read
    only what every connection to `db` shares (its settings, its time zone).
    """
    connection = connections[db]
    steps = []
    for index, field in enumerate(fields):
        if field is None:
            continue
        column = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            steps.append((index, column, converters))

    def read(row: Row) -> list[Any]:
        values = list(row)
        for index, column, converters in steps:
            value = values[index]
            for convert in converters:
                value = convert(value, column, connection)
            values[index] = value
        return values

    return read


@cache
def _case_query(db: str, one_organization: bool) -> tuple[str, Reader]:
    """
    Return the SQL of a case with its relations and whether a user follows it, and its reader.

    Its parameters are the user's id, the case's, and if `one_organization`
    the id of the organization the case must belong to.
    """
    quote = connections[db].ops.quote_name

    def column(alias: str, model: type[Model], name: str) -> str:
        return f"{alias}.{quote(cast(str, _field(model, name).column))}"

    models: list[type[Model]] = [Case]
    joins = []
    for number, name in enumerate(CASE_RELATIONS):
        field, related = _relation(name)
        alias = f"r{number}"
        models.append(related)
        joins.append(
            f" {'LEFT OUTER' if field.null else 'INNER'} JOIN {quote(related._meta.db_table)}"
            f" {alias} ON {column(alias, related, 'id')} = {column('c', Case, name)}"
        )
    aliases = ["c", *(f"r{number}" for number in range(len(CASE_RELATIONS)))]
    columns = [
        column(alias, model, f.name)
        for alias, model in zip(aliases, models, strict=True)
        for f in model._meta.concrete_fields
    ]
    of_organization = f" AND {column('c', Case, 'organization')} = %s" if one_organization else ""
    sql = (
        f"SELECT {', '.join(columns)}, EXISTS ("  # nosec B608 - quoted names from the models; values are parameters
        f"SELECT 1 FROM {quote(CaseFollower._meta.db_table)} f"
        f" WHERE {column('f', CaseFollower, 'case')} = {column('c', Case, 'id')}"
        f" AND {column('f', CaseFollower, 'user')} = %s)"
        f" FROM {quote(Case._meta.db_table)} c{''.join(joins)}"
        f" WHERE {column('c', Case, 'id')} = %s{of_organization}"
    )
    fields = [f for model in models for f in model._meta.concrete_fields]
    return sql, _reader([*fields, None], db)


def read_case(pk: int, *, organization_id: int | None, user: User) -> Case | None:
    """
    Return case `pk` with its relations and whether `user` follows it (`is_followed`).

    None if there is no such case, or it is not of organization
    `organization_id` (unless that is None). What
    ``select_related(*CASE_RELATIONS).annotate(is_followed=Exists(...))`` reads,
    in one query compiled once.
    """
    db = router.db_for_read(Case) or "default"
    sql, read = _case_query(db, organization_id is not None)
    params = [user.pk, pk] if organization_id is None else [user.pk, pk, organization_id]
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = read(row)
    start = len(Case._meta.concrete_fields)
    case = Case.from_db(db, _attnames(Case), values[:start])
    for name in CASE_RELATIONS:
        field, related = _relation(name)
        end = start + len(related._meta.concrete_fields)
        if getattr(case, field.attname) is None:
            field.set_cached_value(case, None)
        else:
            field.set_cached_value(case, related.from_db(db, _attnames(related), values[start:end]))
        start = end
    case.is_followed = bool(values[start])  # type: ignore[attr-defined]
    return case


@cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


# The events and the files of a case ---------------------------------------

EVENT_COLUMNS = (
    # Key, then model and field (None: a join's key, or a file's column below).
    ("id", CaseEvent, "id"),
    ("kind", CaseEvent, "kind"),
    ("at", CaseEvent, "at"),
    ("from_value", CaseEvent, "from_value"),
    ("to_value", CaseEvent, "to_value"),
    ("reason", CaseEvent, "reason"),
    ("is_public", CaseEvent, "is_public"),
    ("data", CaseEvent, "data"),
    ("comment_id", CaseEvent, "comment"),
    ("comment__body", Comment, "body"),
    ("comment__is_public", Comment, "is_public"),
    ("actor__name", User, "name"),
    ("actor__email", User, "email"),
)
# A file's row fills the event columns "id" and "comment_id", then these.
FILE_COLUMNS = (("name", Attachment, "name"), ("size", Attachment, "size"))
EVENT_KEYS = tuple(key for key, _, _ in EVENT_COLUMNS)
# Where a file's comment id is in its row (after the leading 0 or 1).
FILE_COMMENT = 1 + EVENT_KEYS.index("comment_id")


@cache
def _history_query(db: str, public_only: bool) -> tuple[str, Reader]:
    """
    Return the SQL of a case's events (each with its comment and actor) and files, and its reader.

    Each row starts with 0 for an event, 1 for a file; events come in their
    order (time, then id), then the files by id. The parameters are the case's
    id, then (if `public_only`) True, then the case's id again.
    """
    quote = connections[db].ops.quote_name
    aliases = {CaseEvent: "e", Comment: "m", User: "u", Attachment: "a"}

    def column(model: type[Model], name: str) -> str:
        return f"{aliases[model]}.{quote(cast(str, _field(model, name).column))}"

    events = ", ".join(column(model, name) for _, model, name in EVENT_COLUMNS)
    nulls = ", ".join("NULL" for _ in FILE_COLUMNS)
    # A file's row: its id and comment in the events' "id" and "comment_id" columns.
    file_columns = {"id": column(Attachment, "id"), "comment_id": column(Attachment, "comment")}
    files = ", ".join(
        [file_columns.get(key, "NULL") for key in EVENT_KEYS]
        + [column(model, name) for _, model, name in FILE_COLUMNS]
    )
    public = f" AND {column(CaseEvent, 'is_public')} = %s" if public_only else ""
    sql = (
        f"SELECT 0, {events}, {nulls}"  # nosec B608 - quoted names from the models; values are parameters
        f" FROM {quote(CaseEvent._meta.db_table)} e"
        f" LEFT OUTER JOIN {quote(Comment._meta.db_table)} m"
        f" ON {column(Comment, 'id')} = {column(CaseEvent, 'comment')}"
        f" LEFT OUTER JOIN {quote(User._meta.db_table)} u"
        f" ON {column(User, 'id')} = {column(CaseEvent, 'actor')}"
        f" WHERE {column(CaseEvent, 'case')} = %s{public}"
        f" UNION ALL SELECT 1, {files} FROM {quote(Attachment._meta.db_table)} a"
        f" WHERE {column(Attachment, 'case')} = %s"
        # Events before files; then by time ("at" is the 4th column), then by id.
        " ORDER BY 1, 4, 2"
    )
    fields = [
        None,
        *(
            None if key in ("id", "comment_id") else _field(model, name)
            for key, model, name in EVENT_COLUMNS
        ),
        *(_field(model, name) for _, model, name in FILE_COLUMNS),
    ]
    return sql, _reader(fields, db)


def read_history(
    case: Case, *, public_only: bool
) -> tuple[list[dict[str, Any]], list[tuple[int, int | None, str, int]]]:
    """
    Return the events of `case` and its files, in one query.

    Each event is a dictionary of the keys of `EVENT_COLUMNS` (as
    ``CaseEvent.objects.values()`` names them), in the history's order; only
    public events if `public_only`. Each file is (id, comment id, name, size),
    by id.
    """
    db = router.db_for_read(CaseEvent) or "default"
    sql, read = _history_query(db, public_only)
    params = [case.pk, True, case.pk] if public_only else [case.pk, case.pk]
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    events = []
    files = []
    for row in rows:
        values = read(row)
        if values[0] == 0:
            events.append(dict(zip(EVENT_KEYS, values[1:-2], strict=True)))
        else:
            files.append((values[1], values[FILE_COMMENT], values[-2], values[-1]))
    return events, files
