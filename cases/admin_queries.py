"""
The staff case list's reads, as SQL compiled once.

Building and compiling the list's querysets (its filters, its annotation, the
capped count, the page with its organizations and assignees, the assignee
filter's staff) cost the page more CPU than PostgreSQL took to run them. For
the list as most people see it (no search, the default order, any of the
simple filters), the SQL is compiled from the same querysets once per process
and run with the request's values; each value is converted by the ORM's own
converters and each case built without ``Model.__init__``. Anything else (a
search, a chosen order, "Show all", a popup, a lookup typed in the URL) is left
to the ORM.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.contrib.admin.views.main import ORDER_VAR
from django.db import connections, router
from django.db.models import F, Field, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.expressions import Col

from accounts.models import User
from cases import dashboard
from cases.models import Case, CaseType, Channel, Severity, Status, case_visibility

# The filters' parameters the compiled SQL knows; any other is the ORM's.
CHOICE_FILTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "type__exact": ("type", {value: value for value in CaseType.values}),
    "status__exact": ("status", {value: value for value in Status.values}),
    "severity__exact": ("severity", {str(value): value for value in Severity.values}),
    "channel__exact": ("channel", {value: value for value in Channel.values}),
}
KNOWN_PARAMETERS = {*CHOICE_FILTERS, "assignee", "organization__id__exact", "waiting", ORDER_VAR}


# The largest id a row can have: a 64-bit signed integer (BigAutoField).
MAX_ID = 2**63 - 1


def filter_id(value: str | None) -> int | None:
    """
    Return the id a filter's parameter names, or None if it names no id.

    Only ASCII digits name an id (``str.isdigit`` also takes "²", which int()
    refuses); an id beyond any row's is returned as it is, for the filter to
    find nothing.
    """
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


def db() -> str:
    """Return the database the list's cases (and their organizations and users) are read from."""
    return router.db_for_read(Case) or "default"


def _run(db: str, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def _staff_query(db: str) -> tuple[str, tuple[Any, ...]]:
    queryset = (
        User.objects.filter(is_staff=True, is_active=True)
        .order_by("name", "email")
        .values_list("pk", "name", "email")
    )
    sql, params = queryset.query.get_compiler(db).as_sql()
    return sql, tuple(params)


def staff() -> list[tuple[int, str, str]]:
    """Return the active staff's (pk, name, email), by name: the assignee filter's choices."""
    using = router.db_for_read(User) or "default"
    sql, params = _staff_query(using)
    return [(pk, name, email) for pk, name, email in _run(using, sql, params)]


@cache
def _waiting_condition(db: str) -> tuple[str, tuple[Any, ...]]:
    """Return the SQL of ``dashboard.waiting_on_us()`` as a condition on the case table."""
    query = Case.objects.filter(dashboard.waiting_on_us()).query
    sql, params = query.get_compiler(db).compile(query.where)
    return sql, tuple(params)


def conditions(
    filter_params: dict[str, list[str]], user: User, db: str
) -> tuple[list[str], list[Any]] | None:
    """
    Return the SQL conditions (and their parameters) of the list's filters and the user's cases.

    None if the parameters ask for anything the filters' compiled SQL does not
    know: the ORM then reads the list.
    """
    sees_cases, organization_id = case_visibility(user)
    if not sees_cases:
        return None
    quote = connections[db].ops.quote_name
    table = quote(Case._meta.db_table)

    def column(name: str) -> str:
        return (
            f"{table}.{quote(cast(str, cast(Field[Any, Any], Case._meta.get_field(name)).column))}"
        )

    where: list[str] = []
    params: list[Any] = []
    if organization_id is not None:
        where.append(f"{column('organization')} = %s")
        params.append(organization_id)
    for name, values in filter_params.items():
        # A number too long for any id (the ORM reads no case for it): the ORM's.
        if name not in KNOWN_PARAMETERS or len(values) != 1 or len(values[0]) > 9:
            return None
        value = values[0]
        if name == ORDER_VAR:
            if value:
                return None
        elif name in CHOICE_FILTERS:
            field, choices = CHOICE_FILTERS[name]
            if value not in choices:
                return None
            where.append(f"{column(field)} = %s")
            params.append(choices[value])
        elif name == "waiting":
            # WaitingOnUsFilter: "yes" filters, "no" excludes (left to the ORM), else nothing.
            if value == "no":
                return None
            if value == "yes":
                sql, waiting_params = _waiting_condition(db)
                where.append(sql)
                params.extend(waiting_params)
        elif name == "assignee":
            # AssigneeFilter.queryset()
            if value == "me":
                where.append(f"{column('assignee')} = %s")
                params.append(user.pk)
            elif value == "none":
                where.append(f"{column('assignee')} IS NULL")
            elif (pk := filter_id(value)) is not None:
                where.append(f"{column('assignee')} = %s")
                params.append(pk)
        elif (pk := filter_id(value)) is not None:  # OrganizationFilter.queryset()
            where.append(f"{column('organization')} = %s")
            params.append(pk)
    return where, params


def _where(where: list[str]) -> str:
    return f" WHERE {' AND '.join(f'({c})' for c in where)}" if where else ""


def count(where: list[str], params: list[Any], cap: int, db: str) -> int:
    """Return ``CappedCountPaginator.count``: the matching cases, counted up to `cap` + 1."""
    quote = connections[db].ops.quote_name
    table = quote(Case._meta.db_table)
    sql = (
        f'SELECT COUNT(*) FROM (SELECT {table}.{quote("id")} AS "pk"'  # nosec B608 - quoted names; values are parameters
        f" FROM {table}{_where(where)} LIMIT %s) subquery"
    )
    return int(_run(db, sql, [*params, cap + 1])[0][0])


@dataclass(frozen=True)
class PageQuery:
    """The page's SQL around its conditions, and how to build its cases from a row."""

    select: str
    order: str
    params: tuple[Any, ...]
    build: Callable[[tuple[Any, ...]], Case]


def _builder(model: type[Model], db: str) -> Callable[[dict[str, Any]], Any]:
    def build(values: dict[str, Any]) -> Any:
        # What Model.from_db() leaves, without Model.__init__'s steps for each field.
        obj = model.__new__(model)
        obj.__dict__.update(values)
        state = ModelState()
        state.adding = False
        state.db = db
        state.fields_cache = {}
        obj._state = state
        return obj

    return build


def ordering() -> list[Any]:
    """Return the list's order: the oldest unanswered severity-1 case first; finished cases last."""
    return [
        F("waiting_on_us").desc(),
        "severity",
        F("last_customer_message_at").asc(nulls_last=True),
        "pk",
    ]


@cache
def page_query(
    db: str, list_select_related: tuple[str, ...], list_fields: tuple[str, ...]
) -> PageQuery | None:
    """
    Return the page's query, compiled from the ORM's own queryset for the list.

    The queryset is the one ``CaseChangeList`` reads in the list's default
    order: the cases annotated with ``waiting_on_us``, with their
    `list_select_related`, only `list_fields`.
    """
    queryset: QuerySet[Case] = (
        dashboard.annotate_waiting(Case.objects.all())
        .select_related(*list_select_related)
        .only(*list_fields)
        .order_by(*ordering())
    )
    compiler = queryset.query.get_compiler(db)
    sql, params = compiler.as_sql()
    select, order_marker, order = sql.partition(" ORDER BY ")
    if not order_marker or "%s" in order or " WHERE " in select:
        return None
    klass_info = compiler.klass_info
    assert klass_info is not None
    connection = connections[db]
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])

    def attnames(info: dict[str, Any]) -> list[tuple[int, str]]:
        return [
            (index, compiler.select[index][0].target.attname)
            for index in info["select_fields"]
            if isinstance(compiler.select[index][0], Col)
        ]

    own = attnames(klass_info)
    annotations = [
        (index, alias)
        for index, (expression, _, alias) in enumerate(compiler.select)
        if alias and not isinstance(expression, Col)
    ]
    related = [
        (info["field"].name, _builder(info["model"], db), attnames(info), info["field"].attname)
        for info in klass_info.get("related_klass_infos", [])
    ]
    build_case = _builder(Case, db)

    def build(row: tuple[Any, ...]) -> Case:
        values = list(row)
        for index, (steps, expression) in converters.items():
            value = values[index]
            for convert in steps:
                value = convert(value, expression, connection)
            values[index] = value
        case = build_case({attname: values[index] for index, attname in own})
        for index, alias in annotations:
            setattr(case, alias, values[index])
        cache = case._state.fields_cache
        for name, build_related, fields, fk in related:
            if case.__dict__.get(fk) is None:
                cache[name] = None
            else:
                cache[name] = build_related({attname: values[index] for index, attname in fields})
        return case

    return PageQuery(select, order, tuple(params), build)


def page(
    query: PageQuery, where: list[str], params: list[Any], offset: int, limit: int, db: str
) -> list[Case]:
    """Return the page of cases that match `where`, from `offset`, `limit` of them."""
    sql = f"{query.select}{_where(where)} ORDER BY {query.order} LIMIT %s OFFSET %s"
    rows = _run(db, sql, [*query.params, *params, limit, offset])
    return [query.build(row) for row in rows]
