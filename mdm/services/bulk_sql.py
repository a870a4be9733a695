"""Plain-SQL bulk writes for the import hot path.

Django's `bulk_create` / `bulk_update` prepare every field of every row
through the ORM (and `bulk_update` builds one CASE per column), which costs
more than the rest of an import together. These two helpers take rows as
{attname: value} dicts, adapt only the column types that need it (JSON,
datetimes) the way Django's backend would, and hand the rows to the driver
in one go: `COPY ... FROM STDIN` on PostgreSQL, `executemany` elsewhere.

They bypass model `save()`, signals and simple-history: callers write the
history rows themselves (see `source_records.source_record_bulk_write`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from operator import itemgetter
from typing import Any

from django.db import connection, models

Adapter = Callable[[Any], Any] | None


class JsonText(str):
    """A JSON column's value encoded as Django would encode it for the
    database (`json_text`): written as it is."""


def json_text(model: type[models.Model], attname: str, value: Any) -> JsonText:
    """`value` encoded for `model`'s JSON column `attname`, as the backend's
    `adapt_json_value` encodes it (`json.dumps` with the field's encoder);
    needs no database connection, so a worker process can do it."""
    return JsonText(json.dumps(value, cls=model._meta.get_field(attname).encoder))


class Memo(dict):
    """Adapted datetimes to reuse, by value: a batch stamps every row with
    the same few. Keep one only as long as the rows it served."""


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    exclude: Iterable[str] = (),
    memo: Memo | None = None,
) -> None:
    """Insert `rows` into `model`'s table; columns named in `exclude` (an
    auto primary key) are left to the database."""
    skip = set(exclude)
    fields = [f for f in model._meta.concrete_fields if f.attname not in skip]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = _tuples(fields, rows, Memo() if memo is None else memo)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is several times faster than a multi-row INSERT and needs
            # no statement per batch; the values go through psycopg's adapters.
            # The raw cursor's errors are not Django's: wrap them, so that a
            # duplicate key is an IntegrityError as for any other write.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", values
            )


def insert_selected(
    model: type[models.Model],
    rows: models.QuerySet,
    columns: Sequence[str],
    constants: dict[str, tuple[models.Field, Any]],
) -> None:
    """Insert into `model`'s table one row per row of `rows` (in its order),
    in a single INSERT ... SELECT: the attnames in `columns`, read from
    `rows` under the same names, and `constants` (attname -> (field, value)),
    the same in every row. The values never travel through Python."""
    # The constants are selected as annotations: their values are adapted
    # as the fields would adapt them (a datetime to UTC text on SQLite).
    aliases = {f"copied_{name}": name for name in constants}
    selected = rows.annotate(
        **{
            alias: models.Value(constants[name][1], output_field=constants[name][0])
            for alias, name in aliases.items()
        }
    ).values_list(*columns, *aliases)
    sql, params = selected.query.sql_with_params()
    meta = model._meta
    target = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column)
        for name in [*columns, *constants]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({target}) {sql}",
            params,
        )


def update_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    field_names: Sequence[str],
    *,
    memo: Memo | None = None,
) -> None:
    """Set `field_names` of each row, found by its primary key (row["id"])."""
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    table = connection.ops.quote_name(meta.db_table)
    assignments = ", ".join(
        f"{connection.ops.quote_name(f.column)} = %s" for f in fields
    )
    pk = meta.pk
    values = [
        [*row, pk_value]
        for row, pk_value in zip(
            _tuples(fields, rows, Memo() if memo is None else memo),
            (r[pk.attname] for r in rows),
            strict=True,
        )
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} "
            f"WHERE {connection.ops.quote_name(pk.column)} = %s",
            values,
        )


def _tuples(fields: list[models.Field], rows: Sequence[dict[str, Any]], memo: Memo):
    # Every column read at once (itemgetter), then only the few that need
    # it adapted: most are text or numbers the driver takes as they are.
    names = [f.attname for f in fields]
    read = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    adapters = [
        (i, adapt)
        for i, adapt in enumerate(_adapter(f, memo) for f in fields)
        if adapt is not None
    ]
    values = []
    for row in rows:
        row_values = list(read(row))
        for i, adapt in adapters:
            value = row_values[i]
            if value is not None:
                row_values[i] = adapt(value)
        values.append(row_values)
    return values


def _adapter(field: models.Field, memo: Memo) -> Adapter:
    """What Django's get_db_prep_save does for this column type, minus the
    per-call overhead; None where the driver takes the Python value as is."""
    ops = connection.ops
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        as_is = _json_text_adapter()

        def adapt_json(value: Any) -> Any:
            if type(value) is JsonText:
                return as_is(value)
            return ops.adapt_json_value(value, encoder)

        return adapt_json
    if isinstance(field, models.DateTimeField):
        return lambda value: _memoised(memo, value, ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return lambda value: _memoised(memo, value, ops.adapt_datefield_value)
    if isinstance(field, models.UUIDField):
        # Native on PostgreSQL, 32 hex characters elsewhere.
        return lambda value: field.get_db_prep_value(value, connection)
    return None


def _json_text_adapter() -> Callable[[JsonText], Any]:
    """What the backend's `adapt_json_value` gives, for text already encoded."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return partial(Jsonb, dumps=str)  # Django's adapter, minus the encoding
    return _text  # the base adapter's json.dumps returns the text


def _text(value: JsonText) -> JsonText:
    return value


def _memoised(memo: Memo, value: Any, adapt: Callable[[Any], Any]) -> Any:
    key = (type(value), value)
    if key not in memo:
        memo[key] = adapt(value)
    return memo[key]
