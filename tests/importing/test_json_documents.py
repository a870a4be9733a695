"""JSON documents of records: arrays, exports wrapping them, jq streams."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.importing import (
    ImportFileError,
    JsonRecord,
    Limits,
    RowError,
    open_table,
    readers,
)

RECORDS = [
    {"FNumber": "K1", "FName": "北京华盛科技有限公司", "FTel": 13800138000},
    {"FNumber": "K2", "FName": "上海福田贸易有限公司", "contacts": [{"name": "王"}]},
]


def dumps(value: object, indent: int | None = None) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent).encode()


@pytest.mark.parametrize(
    "content",
    [
        dumps(RECORDS),
        dumps(RECORDS, indent=2),
        dumps({"RECORDS": RECORDS}),  # Navicat's export, compact
        dumps({"RECORDS": RECORDS}, indent=1),
        dumps({"code": 0, "data": {"list": RECORDS, "total": 2}}),  # an API's page
        dumps({"value": RECORDS, "@odata.count": 2}),  # OData
        b"\n".join(dumps(record, indent=2) for record in RECORDS),  # jq's output
        b"\xef\xbb\xbf" + dumps(RECORDS, indent=2),
        json.dumps(RECORDS, ensure_ascii=False, indent=2).encode("gbk"),
        json.dumps(RECORDS, ensure_ascii=False).encode("utf-16"),
    ],
    ids=[
        "array", "pretty", "navicat", "navicat-pretty", "api-page", "odata",
        "jq", "bom", "gbk", "utf-16",
    ],
)  # fmt: skip
def test_records_are_found_wherever_exports_put_them(content: bytes) -> None:
    table = open_table(content)
    assert (table.format, table.holds_records, table.size_hint()) == ("json", True, 2)
    assert list(table.records()) == [
        JsonRecord(1, RECORDS[0]),
        JsonRecord(2, RECORDS[1]),
    ]


def test_one_record_holding_a_list_of_objects_is_a_record_not_a_wrapper() -> None:
    table = open_table(dumps(RECORDS[1], indent=2))
    assert list(table.records()) == [JsonRecord(1, RECORDS[1])]


def test_what_is_not_a_record_is_a_row_error_and_the_rest_go_on() -> None:
    content = b'[{"FName": "x"}, 5, {"FName": "y\\u0000"}, {"FName": "z"}]'
    records = list(open_table(content).records())
    assert records[0] == JsonRecord(1, {"FName": "x"})
    assert [(r.row, r.code) for r in records[1:3] if isinstance(r, RowError)] == [
        (2, "not_an_object"),
        (3, "nul_character"),
    ]
    assert records[1].message == "Record 2 is JSON but not an object."
    assert records[3] == JsonRecord(4, {"FName": "z"})


@pytest.mark.parametrize("layout", ["document", "lines"])
def test_numbers_past_64_bits_or_a_floats_range_are_read(layout: str) -> None:
    # yajl's floating-point mode fails on both: an 18-digit account number
    # written as a number must not stop the import.
    records = [
        b'{"id": 123456789012345678901, "fee": 1.5, "big": 1e400, "tiny": 1e-400}',
        b'{"id": -9223372036854775809, "rate": [0.25, {"x": -1E+999}]}',
    ]
    content = (
        b"[" + b",".join(records) + b"]"
        if layout == "document"
        else b"\n".join(records)
    )
    read = [record.data for record in open_table(content).records()]
    assert read == [
        {"id": 123456789012345678901, "fee": 1.5, "big": read[0]["big"], "tiny": 0.0},
        {"id": -9223372036854775809, "rate": [0.25, {"x": read[1]["rate"][1]["x"]}]},
    ]
    # No float holds them and JSON has no infinity to store: kept as text.
    assert float(read[0]["big"]) == float("inf") == -float(read[1]["rate"][1]["x"])


def test_nan_and_infinity_are_not_json() -> None:
    content = b'{"id": 1, "x": NaN}\n{"id": 2, "x": -Infinity}\n{"id": 3}'
    records = list(open_table(content).records())
    assert [(r.row, r.code) for r in records[:2]] == [
        (1, "malformed_json"),
        (2, "malformed_json"),
    ]
    assert records[2] == JsonRecord(3, {"id": 3})
    with pytest.raises(ImportFileError) as error:
        open_table(b'[{"id": 1, "x": NaN}]')
    assert error.value.code == "malformed_json"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'[{"FName": "x"}, {"FName": ', "malformed_json"),
        (b'{"RECORDS": [{"FName": "x"}]', "malformed_json"),
        (b'[{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}]", "too_deep"),
        (b"[]", "no_records"),
        (b'{"RECORDS": []}', "no_records"),
    ],
    ids=["cut-short", "unclosed", "nesting-bomb", "empty", "empty-wrapper"],
)
def test_a_broken_or_empty_document_is_refused_before_anything_is_read(
    content: bytes, code: str
) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(content)
    assert caught.value.code == code


def test_the_caps_hold() -> None:
    many = dumps([{"FName": str(i)} for i in range(20)])
    with pytest.raises(ImportFileError) as caught:
        open_table(many, limits=Limits(max_rows=10))  # counted on opening
    assert caught.value.code == "too_many_rows"
    wide = dumps([{f"k{i}": i for i in range(30)}])
    with pytest.raises(ImportFileError) as caught:
        list(open_table(wide, limits=Limits(max_columns=20)).records())
    assert caught.value.code == "too_many_columns"


def test_exports_joined_one_after_the_other_are_read_whole() -> None:
    # cat january.json february.json > all.json; a stray value after them.
    export = '{"RECORDS": [{"FName": "%s"}]}'
    content = f"{export % 'a'}\n{export % 'b'} 1111".encode()
    table = open_table(content)
    assert [record.data for record in table.records()] == [
        {"FName": "a"},
        {"FName": "b"},
    ]
    assert table.size_hint() == 2


def test_the_layout_of_a_first_opening_spares_the_next_its_pass(monkeypatch) -> None:
    content = b'{"data": {"list": [{"id": 123456789012345678901}, {"id": 2}]}}'
    first = open_table(content)
    monkeypatch.setattr(readers, "json_layout", _no_second_pass)
    again = open_table(content, layout=first.layout)
    assert list(again.records()) == list(first.records())
    assert again.records().__next__().data == {"id": 123456789012345678901}
    assert again.size_hint() == 2
    with pytest.raises(ImportFileError) as caught:  # the caps of the day hold
        open_table(content, layout=first.layout, limits=Limits(max_rows=1))
    assert caught.value.code == "too_many_rows"


def _no_second_pass(*args: object) -> None:
    raise AssertionError("the document's layout was found again")


def test_a_csv_whose_first_header_is_bracketed_stays_a_csv() -> None:
    table = open_table("[客户编号],[客户名称]\r\nC1,北京华盛\r\n".encode())
    assert table.format == "csv"


# Text a record can hold: no NUL (refused, tested above), no lone surrogate.
_TEXT = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=8)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.lists(st.dictionaries(_TEXT, _VALUES, max_size=5), max_size=6),
    st.sampled_from(["array", "navicat", "pretty"]),
)
def test_any_list_of_records_comes_back_as_it_was_written(records, shape) -> None:
    if not records:
        return
    if shape == "navicat":
        content = dumps({"RECORDS": records})
    else:
        content = dumps(records, indent=2 if shape == "pretty" else None)
    table = open_table(content)
    assert table.format == "json"
    assert [record.data for record in table.records()] == records
