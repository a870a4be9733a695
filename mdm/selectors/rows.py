"""The hottest reads in hand-written SQL: the lookup API's two, and the
links of the real-time match's candidates.

A golden record by golden ID and the link of a source key are answered
thousands of times a second; every ingested record reads its candidates'
links. Building their querysets (a `select_related` over four tables) costs
Django about 1 ms of Python per call, several times the database's own work
for a few index reads. Here the SQL is written once per process and the rows
become model instances through `from_db`, with the same converters the ORM
applies, so callers get what the ORM would have given them
(`tests/mdm/test_selectors_rows.py` compares the two).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from django.db import connection
from django.db.models import Model

from mdm.models import CrossReference, GoldenRecord, SourceRecord, SourceSystem

_LINK_FIELDS = {
    CrossReference: (
        "id",
        "source_record_id",
        "golden_id",
        "method",
        "score",
        "linked_at",
    ),
    SourceRecord: ("id", "source_system_id", "source_id", "is_active"),
    SourceSystem: ("id", "code"),
}
# What the ingest reads of a match candidate: its key, its tax ID (for a
# review task), its golden ID; the JSON columns would be decoded for nothing.
_CANDIDATE_FIELDS = {
    CrossReference: ("id", "source_record_id", "golden_id"),
    SourceRecord: (
        "id",
        "source_system_id",
        "source_id",
        "uscc",
        "uscc_valid",
        "is_active",
    ),
    SourceSystem: ("id", "code"),
}
_GOLDEN_BRIEF = ("id", "golden_id", "status", "version")


def golden_record_by_golden_id(golden_id: str) -> GoldenRecord | None:
    columns, build = _reader(GoldenRecord, _all_fields(GoldenRecord), "g")
    row = _fetch_one(
        f"SELECT {columns} FROM mdm_goldenrecord g WHERE g.golden_id = %s", [golden_id]
    )
    return None if row is None else build(row)


def link_by_source_key(system: str, source_id: str) -> CrossReference | None:
    """The link of (system, source_id) with its golden record, source record
    (key and active flag only) and source system (code only) attached."""
    links = _links(
        "s.code = %s AND r.source_id = %s",
        [system, source_id],
        _LINK_FIELDS,
        _all_fields(GoldenRecord),
    )
    return links[0] if links else None


def links_of_active_records(
    record_ids: Sequence[int], *, whole_golden: bool
) -> list[CrossReference]:
    """The links of the active records among `record_ids` (match candidates),
    each with its source record (key, tax ID, active flag), source system
    (code) and golden record (whole, or its ID, status and version) attached."""
    if not record_ids:
        return []
    golden_fields = _all_fields(GoldenRecord) if whole_golden else _GOLDEN_BRIEF
    marks = ", ".join(["%s"] * len(record_ids))
    return _links(
        f"x.source_record_id IN ({marks}) AND r.is_active",
        list(record_ids),
        _CANDIDATE_FIELDS,
        golden_fields,
    )


def _links(
    where: str,
    params: list,
    fields: dict[type[Model], tuple[str, ...]],
    golden_fields: tuple[str, ...],
) -> list[CrossReference]:
    readers = [
        _reader(model, fields[model], alias)
        for model, alias in (
            (CrossReference, "x"),
            (SourceRecord, "r"),
            (SourceSystem, "s"),
        )
    ]
    readers.append(_reader(GoldenRecord, golden_fields, "g"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns for columns, _ in readers)} "
            "FROM mdm_crossreference x "
            "JOIN mdm_sourcerecord r ON r.id = x.source_record_id "
            "JOIN mdm_sourcesystem s ON s.id = r.source_system_id "
            "JOIN mdm_goldenrecord g ON g.id = x.golden_id "
            f"WHERE {where}",
            params,
        )
        rows = cursor.fetchall()
    sizes = [len(fields[m]) for m in (CrossReference, SourceRecord, SourceSystem)]
    ends = [sum(sizes[: i + 1]) for i in range(3)]
    (_, link), (_, record), (_, source_system), (_, golden) = readers
    links = []
    for row in rows:
        xref = link(row[: ends[0]])
        xref.source_record = record(row[ends[0] : ends[1]])
        xref.source_record.source_system = source_system(row[ends[1] : ends[2]])
        xref.golden = golden(row[ends[2] :])
        links.append(xref)
    return links


def _fetch_one(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _all_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def _reader(
    model: type[Model], attnames: Sequence[str], alias: str
) -> tuple[str, Callable[[Sequence], Model]]:
    """The select list of `attnames` of `model` under table alias `alias`, and
    a function turning those values of a row into an instance."""
    return _reader_for(connection.vendor, model, tuple(attnames), alias)


@cache
def _reader_for(
    vendor: str, model: type[Model], attnames: tuple[str, ...], alias: str
) -> tuple[str, Callable[[Sequence], Model]]:
    fields = [model._meta.get_field(name) for name in attnames]
    # As the SQL compiler does: the backend's converters, then the field's.
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(alias)
        funcs = connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        )
        if funcs:
            converters.append((position, column, funcs))
    names = [field.attname for field in fields]
    columns = ", ".join(
        f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields
    )

    def build(values: Sequence) -> Model:
        values = list(values)
        for position, column, funcs in converters:
            for convert in funcs:
                values[position] = convert(values[position], column, connection)
        return model.from_db(connection.alias, names, values)

    return columns, build
