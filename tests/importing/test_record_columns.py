"""JSON records read as the rows of a sheet, their keys its header."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.importing import ImportFileError, Limits, RawRow, RowError, open_table
from mdm.importing.record_columns import (
    HEADER_ROW,
    flat_record,
    record_keys,
    record_rows,
)


def rows_of(content: bytes, limits: Limits | None = None) -> list[RawRow | RowError]:
    limits = limits or Limits()
    with open_table(content, limits=limits) as table:
        return list(record_rows(table, record_keys(table.records(), limits)))


def test_nested_objects_become_dotted_keys_and_lists_one_cell() -> None:
    record = {
        "code": "K-1",
        "contact": {"name": "王磊", "phone": {"office": "010-1", "mobile": None}},
        "phones": ["010-6552 1234", 13800138000, None, "", 13900139000.0, 1.5],
        "tags": [{"id": 1}],
        "empty": [],
        "vip": True,
    }
    assert flat_record(record) == {
        "code": "K-1",
        "contact.name": "王磊",
        "contact.phone.office": "010-1",
        "contact.phone.mobile": None,
        "phones": "010-6552 1234; 13800138000; 13900139000; 1.5",
        "tags": '[{"id": 1}]',
        "empty": None,
        "vip": True,
    }


def test_the_header_is_the_keys_first_seen_first_and_rows_follow_it() -> None:
    lines = [
        json.dumps({"id": 1, "name": "华盛"}),
        "[1, 2]",
        "{broken",
        json.dumps({"name": "明远", "tel": "021-1", "id": 2}),
    ]
    rows = rows_of("\n".join(lines).encode())
    assert rows[0] == RawRow(HEADER_ROW, ["id", "name", "tel"])
    assert rows[1] == RawRow(1, [1, "华盛", None])
    assert [(r.row, r.code) for r in rows[2:4]] == [
        (2, "not_an_object"),
        (3, "malformed_json"),
    ]
    assert rows[4] == RawRow(4, [2, "明远", "021-1"])


def test_the_first_records_keys_and_all_the_keys() -> None:
    records = [{"id": n} for n in range(5)] + [{"id": -1, "late": "x"}]
    with open_table(json.dumps(records).encode()) as table:
        assert record_keys(table.records(), Limits()) == ["id", "late"]
        assert record_keys(table.records(), Limits(), first=5) == ["id"]


def test_more_keys_than_the_column_cap_are_refused() -> None:
    records = [{f"k{n}": n} for n in range(20)]
    with pytest.raises(ImportFileError) as error:
        rows_of(json.dumps(records).encode(), Limits(max_columns=10))
    assert error.value.code == "too_many_columns"


# Keys without dots (they would read as nested) or NULs (a row error).
KEYS = st.text(st.characters(blacklist_characters=".\x00", codec="utf-8"), min_size=1)
TEXTS = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"))
VALUES = st.none() | st.booleans() | st.integers() | TEXTS


@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=6), min_size=1, max_size=20))
def test_flat_records_come_back_cell_for_key(records: list[dict]) -> None:
    rows = rows_of(json.dumps(records).encode())
    header = rows[0].cells
    assert set(header) == {key for record in records for key in record}
    for record, row in zip(records, rows[1:], strict=True):
        assert dict(zip(header, row.cells, strict=True)) == {
            key: record.get(key) for key in header
        }
