"""
Rows read and written with SQL that the ORM compiles once.

Every change of a case locks the case, inserts its event, a comment, the
emails and the task that sends them, and updates the case. The ORM compiles
each of those statements anew, which costs more CPU than sending it; yet the
statement of a model and its columns is the same every time. `insert` and
`update` keep it per database and only prepare the values of each row, as
``Model.save`` does, signals included; `get` keeps a query's SQL per shape of
its filters (and of its annotations written in SQL, such as the permissions
read with a session's or a token's user) and only compiles the filters.
Anything out of the ordinary (an expression as a value, a database default,
inheritance, an annotation the ORM writes) goes through the ORM itself.
"""

from collections.abc import Sequence
from typing import Any
from weakref import ref as weak_ref

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import MAX_GET_RESULTS, ModelIterable, get_related_populators
from django.db.models.signals import post_save, pre_save

_INSERTS: dict[tuple[str, type[Model], bool], tuple[str, list[Field[Any, Any]]] | None] = {}
_UPDATES: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list[Field[Any, Any]]]] = {}


def _insert_statement(
    model: type[Model], alias: str, pk_set: bool
) -> tuple[str, list[Field[Any, Any]]] | None:
    """Return the INSERT of a new row of `model` and its fields, or None if it needs the ORM."""
    key = (alias, model, pk_set)
    if key in _INSERTS:
        return _INSERTS[key]
    meta = model._meta
    connection = connections[alias]
    fields: list[Field[Any, Any]] = [
        field
        for field in meta.local_concrete_fields
        if (pk_set or field is not meta.auto_field) and not field.generated
    ]
    returning = meta.db_returning_fields
    statement = None
    if (
        not meta.parents
        and fields
        and not any(field.has_db_default() for field in fields)
        and not any(hasattr(field, "get_placeholder_sql") for field in fields)
        and (not returning or returning == [meta.pk])
        and (not returning or connection.features.can_return_columns_from_insert)
    ):
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(str(meta.db_table))} "  # nosec B608 - quoted names; values are parameters
            f"({', '.join(quote(str(field.column)) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if returning:
            returning_sql, returning_params = connection.ops.returning_columns(returning)
            if returning_params:
                # Oracle's RETURNING INTO; the ORM handles it.
                _INSERTS[key] = None
                return None
            sql += f" {returning_sql}"
        statement = (sql, fields)
    _INSERTS[key] = statement
    return statement


def _values(
    obj: Model, fields: Sequence[Field[Any, Any]], adding: bool, connection: Any
) -> list[Any] | None:
    """Return the values of `fields` as ``Model.save`` sends them; None if one is an expression."""
    params = []
    for field in fields:
        value = field.pre_save(obj, adding)
        if hasattr(value, "resolve_expression"):
            return None
        params.append(field.get_db_prep_save(value, connection=connection))
    return params


def insert(obj: Model, using: str = DEFAULT_DB_ALIAS) -> None:
    """Save the new `obj` with one INSERT, as ``obj.save(force_insert=True)`` would."""
    model = type(obj)
    meta = model._meta
    if obj.pk is None:
        obj.pk = meta.pk.get_pk_value_on_save(obj)
    pk_set = getattr(obj, meta.pk.attname) is not None
    statement = _insert_statement(model, using, pk_set)
    if statement is None:
        obj.save(force_insert=True, using=using)
        return
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    sql, fields = statement
    connection = connections[using]
    params = _values(obj, fields, True, connection)
    if params is None:
        obj.save(force_insert=True, using=using)
        return
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not pk_set:
            row = cursor.fetchone()
            setattr(obj, meta.pk.attname, meta.pk.to_python(row[0]))
    obj._state.adding = False
    obj._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
        )


def update(obj: Model, fields: Sequence[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Write `fields` of the saved `obj` with one UPDATE, as ``obj.save(update_fields=...)``."""
    model = type(obj)
    meta = model._meta
    names = tuple(fields)
    if not names:
        return
    key = (using, model, names)
    statement = _UPDATES.get(key)
    if statement is None:
        connection = connections[using]
        quote = connection.ops.quote_name
        concrete = [meta.get_field(name) for name in names]
        if meta.parents or any(
            not isinstance(field, Field) or not field.concrete or field.primary_key
            for field in concrete
        ):
            obj.save(update_fields=names, using=using)
            return
        columns = ", ".join(
            f"{quote(str(field.column))} = %s"  # type: ignore[union-attr]
            for field in concrete
        )
        sql = (
            f"UPDATE {quote(str(meta.db_table))} SET {columns} "  # nosec B608 - quoted names; values are parameters
            f"WHERE {quote(str(meta.pk.column))} = %s"
        )
        statement = _UPDATES[key] = (sql, concrete)  # type: ignore[assignment]
    sql, concrete_fields = statement  # type: ignore[misc]
    if pre_save.has_listeners(model):
        pre_save.send(
            sender=model, instance=obj, raw=False, using=using, update_fields=frozenset(names)
        )
    connection = connections[using]
    params = _values(obj, concrete_fields, False, connection)
    if params is None:
        obj.save(update_fields=names, using=using)
        return
    params.append(meta.pk.get_db_prep_value(obj.pk, connection))
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model,
            instance=obj,
            created=False,
            update_fields=frozenset(names),
            raw=False,
            using=using,
        )


# The SQL of a query, what the compiler learnt while writing it, and whether
# the values read need converting; None for a query whose parameters are not
# those of its annotations and filters alone.
_SELECTS: dict[tuple[Any, ...], tuple[str, Any, Any, Any, int, bool] | None] = {}


def _raw_annotations(queryset: QuerySet[Any]) -> tuple[tuple[str, str, Any, Any], ...] | None:
    """Return the name, SQL, field and parameters of each annotation of `queryset`, if SQL."""
    query = queryset.query
    if query.annotation_select.keys() != query.annotations.keys():
        return None
    annotations = []
    for name, expression in query.annotations.items():
        if not isinstance(expression, RawSQL):
            return None
        annotations.append(
            (name, expression.sql, expression.output_field, tuple(expression.params))
        )
    return tuple(annotations)


def _plain(queryset: QuerySet[Any]) -> bool:
    """Say whether `queryset` reads whole rows of its model (and select_related ones) only."""
    query = queryset.query
    return (
        queryset._iterable_class is ModelIterable  # type: ignore[attr-defined]
        and not queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        and not queryset._known_related_objects  # type: ignore[attr-defined]
        and query.combinator is None
        and not query.extra
        and not query.distinct
        and not query.values_select
        and query.group_by is None
        and query.deferred_loading == (frozenset(), True)
        and query.low_mark == 0
        and query.high_mark is None
        and queryset.model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
    )


def get[M: Model](queryset: QuerySet[M]) -> M:
    """Return the one object of `queryset`, as ``queryset.get()`` does."""
    alias = queryset.db
    # Whole rows, and annotations written in SQL, if any.
    annotations = _raw_annotations(queryset)
    if annotations is None or not _plain(queryset):
        return queryset.get()
    query = queryset.query
    model = queryset.model
    compiler = query.get_compiler(alias)
    try:
        where_sql, where_params = compiler.compile(query.where)
    except EmptyResultSet:
        raise model.DoesNotExist(  # type: ignore[attr-defined]
            f"{model._meta.object_name} matching query does not exist."
        ) from None
    except FullResultSet:
        where_sql, where_params = "", ()
    annotation_params = tuple(param for *_, params in annotations for param in params)
    key = (
        alias,
        model,
        where_sql,
        # The field's class decides how the value read is converted.
        tuple((name, sql, type(field)) for name, sql, field, _ in annotations),
        repr(query.select_related),
        query.select_for_update,
        query.select_for_update_nowait,
        query.select_for_update_skip_locked,
        query.select_for_update_of,
        query.select_for_no_key_update,
    )
    if key not in _SELECTS:
        _SELECTS[key] = _prepare(queryset, annotation_params + tuple(where_params))
    prepared = _SELECTS[key]
    if prepared is None:
        return queryset.get()
    sql, select, klass_info, annotation_col_map, col_count, converted = prepared
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, annotation_params + tuple(where_params))
        found = cursor.fetchmany(MAX_GET_RESULTS)
    if len(found) != 1:
        if not found:
            raise model.DoesNotExist(  # type: ignore[attr-defined]
                f"{model._meta.object_name} matching query does not exist."
            )
        raise model.MultipleObjectsReturned(  # type: ignore[attr-defined]
            f"get() returned more than one {model._meta.object_name} -- it returned "
            + (
                str(len(found))
                if len(found) < MAX_GET_RESULTS
                else f"more than {MAX_GET_RESULTS - 1}"
            )
            + "!"
        )
    row = found[0]
    if converted:
        compiler.select, compiler.klass_info = select, klass_info
        compiler.annotation_col_map, compiler.col_count = annotation_col_map, col_count
        row = next(iter(compiler.results_iter([found])))
    fetch_mode = queryset._fetch_mode  # type: ignore[attr-defined]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    obj = model.from_db(alias, init_list, row[start:end], fetch_mode=fetch_mode)  # type: ignore[call-arg]
    if fetch_mode.track_peers:
        obj._state.peers = [weak_ref(obj)]  # type: ignore[attr-defined]
    for populator in get_related_populators(klass_info, select, alias, fetch_mode):
        populator.populate(row, obj)
    for name, position in annotation_col_map.items():
        setattr(obj, name, row[position])
    return obj


def _prepare(
    queryset: QuerySet[Any], expected_params: tuple[Any, ...]
) -> tuple[str, Any, Any, Any, int, bool] | None:
    """
    Compile `queryset` as ``get()`` runs it, if its annotations' and filters'
    parameters (`expected_params`) are all its parameters, in that order.
    """
    clone = queryset.order_by()
    if (
        not clone.query.select_for_update
        or connections[clone.db].features.supports_select_for_update_with_limit
    ):
        clone.query.set_limits(high=MAX_GET_RESULTS)
    compiler = clone.query.get_compiler(clone.db)
    sql, params = compiler.as_sql()
    if tuple(params) != expected_params:
        return None
    columns = [column[0] for column in compiler.select]
    return (
        sql,
        compiler.select,
        compiler.klass_info,
        compiler.annotation_col_map,
        compiler.col_count,
        bool(compiler.get_converters(columns)) or compiler.has_composite_fields(columns),
    )
