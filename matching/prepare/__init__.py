"""Turn raw records into standardised, dictionary-encoded columns.

Every standardiser runs once per distinct raw value (not once per record),
so a million records with a few hundred thousand distinct names cost a few
hundred thousand function calls.  Person fields are standardised in
`person.py`; company fields go through `matching.standardise` in
`company.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matching.types import Column, Record, Table

Encoded = tuple[np.ndarray, np.ndarray]
RawField = Sequence[str | None] | Encoded

PERSON_FIELDS = (
    "first_name",
    "surname",
    "dob",
    "street_address",
    "city",
    "state",
    "postcode",
    "phone",
    "email",
    "id_number",
)
COMPANY_FIELDS = (
    "name",
    "english_name",
    "uscc",
    "phone",
    "email",
    "address",
    "contact",
)


@dataclass(frozen=True)
class Derived:
    """Output column `name` = `fn(*values of sources)`; `slots` > 0: multi-valued."""

    name: str
    sources: tuple[str, ...]
    fn: Callable[..., object]
    slots: int = 0


# A record whose names mix Latin letters with Cyrillic or Greek look-alikes
# ("Huаsheng" with a Cyrillic "а") has "1" here: its pairs are held for
# review whatever the evidence (`matching.score.held_for_review`).
LOOKALIKE_COLUMN = "lookalike_script"


def lookalike_flag(*raws: str | None) -> str | None:
    """The value of LOOKALIKE_COLUMN for raw names."""
    from matching.standardise.text import has_confusable_script

    return "1" if any(has_confusable_script(raw) for raw in raws if raw) else None


def encode(values: Sequence[str | None] | np.ndarray) -> Encoded:
    """Dictionary-encode a sequence: (int32 codes with -1 for missing, uniques).

    Args:
        values: strings or None/NaN for missing.
    """
    if isinstance(values, list) and len(values) <= _SMALL:
        small = _encode_small(values)
        if small is not None:
            return small
    arr = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes.astype(np.int32, copy=False), np.asarray(uniques, dtype=object)


# Below this many values a dict does what `pd.factorize` does, without its
# fixed cost (the real-time path encodes a query and a few dozen candidates
# per column).
_SMALL = 256


def _utf8(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_text(value: object) -> bool:
    """Whether `value` is text that a dict and `pd.factorize` tell apart
    alike: pandas compares other types in its own way, and strings as C
    strings (cut at a NUL; lone surrogates all alike).

    Args:
        value: a standardised value (not None).
    """
    return type(value) is str and "\x00" not in value and _utf8(value)


def _encode_small(values: list) -> Encoded | None:
    # only None and plain text, so the answer is `pd.factorize`'s exactly;
    # anything else goes to pandas
    seen: dict[str, int] = {}
    codes = np.empty(len(values), dtype=np.int32)
    for i, value in enumerate(values):
        if value is None:
            codes[i] = -1
        elif plain_text(value):
            codes[i] = seen.setdefault(value, len(seen))
        else:
            return None
    uniques = np.empty(len(seen), dtype=object)
    for value, code in seen.items():
        uniques[code] = value
    return codes, uniques


def concat_tables(tables: Sequence[Table]) -> Table:
    """Prepared tables stacked row after row as one, each column re-encoded
    over the union of their values (what preparing all their records at
    once gives, up to the order of the distinct values).

    Args:
        tables: tables prepared for one schema.
    """
    if len(tables) == 1:
        return tables[0]
    columns = {}
    for name in tables[0].columns:
        parts = [t.columns[name] for t in tables]
        codes, values = pd.factorize(
            np.concatenate([p.values for p in parts]), use_na_sentinel=True
        )
        remaps = np.split(
            codes.astype(np.int32), np.cumsum([len(p.values) for p in parts])[:-1]
        )
        counts = np.zeros(len(values), dtype=np.int64)
        stacked = []
        width = max(p.codes.shape[1] for p in parts) if parts[0].multi else None
        for part, remap in zip(parts, remaps, strict=True):
            np.add.at(counts, remap, part.counts)
            mapped = np.append(remap, -1)[part.codes]  # code -1 (missing) stays -1
            if width is not None:
                mapped = np.pad(
                    mapped, ((0, 0), (0, width - mapped.shape[1])), constant_values=-1
                )
            stacked.append(mapped.astype(np.int32, copy=False))
        columns[name] = Column(
            codes=np.concatenate(stacked),
            values=np.asarray(values, dtype=object),
            counts=counts,
            total=sum(p.total for p in parts),
        )
    sources = (
        None
        if tables[0].sources is None
        else np.concatenate([t.sources for t in tables])
    )
    return Table(
        ids=np.concatenate([t.ids for t in tables]), columns=columns, sources=sources
    )


def records_to_fields(
    records: Iterable[Record], fields: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, Encoded]]:
    """Collect records into encoded raw columns.

    Args:
        records: the records.
        fields: field names to keep (others are ignored).
    """
    recs = list(records)
    ids = np.array([r.id for r in recs], dtype=object)
    sources = np.array([r.source for r in recs], dtype=object)
    cols = {f: encode([_blank_to_none(r.fields.get(f)) for r in recs]) for f in fields}
    return ids, sources, cols


def prepare_table(
    ids: Sequence[str] | np.ndarray,
    fields: Mapping[str, RawField],
    schema: str,
    sources: np.ndarray | None = None,
) -> Table:
    """Standardise raw columns for `schema` into a `Table`.

    Args:
        ids: record ids, one per row.
        fields: raw field -> sequence of values or an `encode` result.
        schema: "person" or "company_cn".
        sources: optional source label per row (used by linking).
    """
    n = len(ids)
    built = {
        name: _as_encoded(col, n) for name, col in fields.items() if col is not None
    }
    empty = (np.full(n, -1, dtype=np.int32), np.empty(0, dtype=object))
    specs = schema_columns(schema)
    last_use = {s: i for i, spec in enumerate(specs) for s in spec.sources}
    columns: dict[str, Column] = {}
    for i, spec in enumerate(specs):
        inputs = {s: built.get(s, empty) for s in spec.sources}
        codes, values = _derive(spec, inputs)
        # drop raw values as soon as nothing needs them (memory at 1M rows)
        for source in spec.sources:
            if last_use[source] == i:
                built.pop(source, None)
        del inputs
        if not spec.slots:
            built[spec.name] = (codes, values)
        columns[spec.name] = _column(codes, values)
    # ids are strings everywhere (Record.id, not-a-match pairs, outputs)
    str_ids = np.asarray(ids).astype(str).astype(object)
    return Table(ids=str_ids, columns=columns, sources=sources)


def prepare_records(records: Iterable[Record], schema: str) -> Table:
    """Standardise `Record`s for `schema` into a `Table`.

    Args:
        records: the records.
        schema: "person" or "company_cn".
    """
    fields = PERSON_FIELDS if schema == "person" else COMPANY_FIELDS
    records = list(records)
    if len(records) == 1:
        return prepare_one(records[0], schema)
    ids, sources, cols = records_to_fields(records, fields)
    return prepare_table(ids, cols, schema, sources)


def prepare_one(record: Record, schema: str) -> Table:
    """Standardise one `Record` for `schema`: the table `prepare_table` gives
    for a single row, built in plain Python (the real-time path runs this
    for every incoming record; pandas' per-column overhead was most of it).

    Args:
        record: the record.
        schema: "person" or "company_cn".
    """
    fields = PERSON_FIELDS if schema == "person" else COMPANY_FIELDS
    built: dict[str, object] = {
        f: value
        for f in fields
        if (value := _blank_to_none(record.fields.get(f))) is not None
    }
    specs = schema_columns(schema)
    last_use = {s: i for i, spec in enumerate(specs) for s in spec.sources}
    columns: dict[str, Column] = {}
    for i, spec in enumerate(specs):
        inputs = [built.get(s) for s in spec.sources]
        if len(inputs) == 1 and inputs[0] is None:
            # as `_derive`: a single source is standardised only where present
            mapped = [] if spec.slots else None
        else:
            mapped = spec.fn(*inputs)
        for source in spec.sources:
            if last_use[source] == i:
                built.pop(source, None)
        if spec.slots:
            columns[spec.name] = _one_multi(mapped, spec.slots)
            continue
        if _missing(mapped):
            built.pop(spec.name, None)
            columns[spec.name] = Column(
                codes=np.full(1, -1, dtype=np.int32),
                values=np.empty(0, dtype=object),
                counts=np.zeros(0, dtype=np.int64),
                total=0,
            )
        else:
            built[spec.name] = mapped
            values = np.empty(1, dtype=object)
            values[0] = mapped
            columns[spec.name] = Column(
                codes=np.zeros(1, dtype=np.int32),
                values=values,
                counts=np.ones(1, dtype=np.int64),
                total=1,
            )
    ids = np.empty(1, dtype=object)
    ids[0] = str(record.id)
    sources = np.empty(1, dtype=object)
    sources[0] = record.source
    return Table(ids=ids, columns=columns, sources=sources)


def _one_multi(mapped, slots: int) -> Column:
    # `_remap` for one row: its first `slots` items, encoded as `encode` does
    flat = list((mapped or ())[:slots])
    codes, values = encode(flat)
    row = np.full((1, slots), -1, dtype=np.int32)
    row[0, : len(flat)] = codes
    found = codes[codes >= 0]
    counts = np.bincount(found, minlength=len(values)).astype(np.int64)
    return Column(codes=row, values=values, counts=counts, total=int(found.size))


def _missing(value: object) -> bool:
    # what `pd.factorize` counts as missing
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def infer_schema(field_names: Iterable[str]) -> str:
    """Guess the schema from the column names present.

    Args:
        field_names: column names of the input.
    """
    names = set(field_names)
    person = len(names & set(PERSON_FIELDS) - {"phone", "email"})
    company = len(names & set(COMPANY_FIELDS) - {"phone", "email"})
    return "person" if person > company else "company_cn"


def schema_columns(schema: str) -> tuple[Derived, ...]:
    """The derived columns a schema produces, in build order.

    Args:
        schema: "person" or "company_cn".
    """
    if schema == "person":
        from matching.prepare.person import PERSON_COLUMNS

        return PERSON_COLUMNS
    if schema == "company_cn":
        from matching.prepare.company import COMPANY_COLUMNS

        return COMPANY_COLUMNS
    raise ValueError(f"unknown schema {schema!r}")


def _blank_to_none(v: object) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _as_encoded(col: RawField, n: int) -> Encoded:
    if isinstance(col, tuple) and len(col) == 2 and isinstance(col[0], np.ndarray):
        codes, uniques = col
        if codes.shape[0] != n:
            raise ValueError("column length differs from ids")
        return codes.astype(np.int32, copy=False), np.asarray(uniques, dtype=object)
    if len(col) != n:
        raise ValueError("column length differs from ids")
    return encode([_blank_to_none(v) for v in col])


def _column(codes: np.ndarray, values: np.ndarray) -> Column:
    flat = codes[codes >= 0]
    counts = np.bincount(flat, minlength=len(values)).astype(np.int64)
    return Column(codes=codes, values=values, counts=counts, total=int(flat.size))


def _derive(spec: Derived, built: Mapping[str, Encoded]) -> Encoded:
    if len(spec.sources) == 1:
        codes, uniques = built[spec.sources[0]]
        return _remap(codes, list(map(spec.fn, uniques)), spec.slots)
    # several sources: standardise each distinct combination once (the key
    # is re-numbered after each source so it never overflows)
    parts = [built[s] for s in spec.sources]
    key = np.zeros(parts[0][0].shape[0], dtype=np.int64)
    for codes, uniques in parts:
        key = key * (len(uniques) + 1) + (codes.astype(np.int64) + 1)
        key = pd.factorize(key)[0].astype(np.int64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    columns = [np.append(uniques, None)[codes[first]] for codes, uniques in parts]
    mapped = list(map(spec.fn, *columns))
    return _remap(inverse.astype(np.int32), mapped, spec.slots)


def _remap(codes: np.ndarray, mapped: list, slots: int) -> Encoded:
    if not slots:
        new_codes, values = encode(mapped)
        lookup = np.append(new_codes, -1).astype(np.int32)
        return lookup[codes], values
    flat = [v for vals in mapped for v in (vals or ())[:slots]]
    f_codes, values = encode(flat) if flat else encode([])
    table = np.full((len(mapped) + 1, slots), -1, dtype=np.int32)
    pos = 0
    for i, vals in enumerate(mapped):
        k = len((vals or ())[:slots])
        table[i, :k] = f_codes[pos : pos + k]
        pos += k
    return table[codes], values
