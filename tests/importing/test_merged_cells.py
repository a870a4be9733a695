import dataclasses
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.importing import ImportFileError, merged_cells
from mdm.importing.merged_cells import (
    CoveredCells,
    Merge,
    calamine_merges,
    xlsx_merges,
)
from mdm.importing.readers import open_table
from mdm.importing.safety import DEFAULT_LIMITS
from mdm.mapping_presets import payload_map
from mdm.services.merged_rows import conflicting_header, joined_payload


def _book(merges: list[str]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in range(1, 30):
        sheet.append([f"r{row}c{col}" for col in range(1, 6)])
    for ref in merges:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MERGES = ["A2:A4", "B10:C12", "E1:E29", "D5:D5"]
EXPECTED = [
    Merge(2, 4, 0, 0),
    Merge(10, 12, 1, 2),
    Merge(1, 29, 4, 4),
    Merge(5, 5, 3, 3),
]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_the_merges_are_found_in_the_sheet_xml_whatever_its_chunks(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(merged_cells, "_CHUNK", chunk)
    with zipfile.ZipFile(io.BytesIO(_book(MERGES))) as archive:
        found = xlsx_merges(archive, "xl/worksheets/sheet1.xml", limit=10)
    assert sorted(found, key=repr) == sorted(EXPECTED, key=repr)


def test_both_readers_of_an_xlsx_give_the_same_merges() -> None:
    book = _book(MERGES)
    fast = open_table(book, load_whole=True)
    streamed = open_table(book)
    assert sorted(fast.merges(), key=repr) == sorted(streamed.merges(), key=repr)
    assert streamed.merges()  # openpyxl's streaming reader, scanned


def test_a_sheet_of_more_merges_than_the_limit_is_refused() -> None:
    # Each merge is held while the sheet is read: a small file of many
    # merges must not fill the memory.
    limits = dataclasses.replace(DEFAULT_LIMITS, max_rows=3)
    table = open_table(_book(MERGES), limits=limits)
    with pytest.raises(ImportFileError) as caught:
        table.merges()
    assert caught.value.code == "too_many_merges"


def test_calamines_merges_past_the_limit_are_refused() -> None:
    ranges = [((row, 0), (row + 1, 0)) for row in range(1, 9, 2)]
    assert calamine_merges(ranges, limit=4)[0] == Merge(2, 3, 0, 0)
    with pytest.raises(ImportFileError):
        calamine_merges(ranges, limit=3)


def test_a_web_page_of_more_rowspans_than_the_limit_is_refused() -> None:
    page = "<table>" + '<tr><td rowspan="2">x</td></tr><tr></tr>' * 4 + "</table>"
    limits = dataclasses.replace(DEFAULT_LIMITS, max_rows=3)
    with pytest.raises(ImportFileError) as caught:
        open_table(page.encode(), limits=limits).merges()
    assert caught.value.code == "too_many_merges"


def test_a_csv_has_no_merges() -> None:
    assert open_table("客户名称,电话\n华盛,1\n".encode()).merges() == []


merges_drawn = st.lists(
    st.builds(
        lambda r, h, c, w: Merge(r, r + h, c, c + w),
        st.integers(1, 30),
        st.integers(0, 5),
        st.integers(0, 8),
        st.integers(0, 3),
    ),
    max_size=8,
)


@given(merges_drawn, st.integers(1, 10))
def test_the_sweep_tells_what_every_merge_covers(merges: list[Merge], width: int):
    covered = CoveredCells(merges, width)
    for number in range(1, 40):
        expected = {
            column: merge.first_row
            for merge in merges
            if merge.first_row < number <= merge.last_row
            for column in range(merge.first_column, merge.last_column + 1)
            if column < width
        }
        got = covered.of_row(number)
        # Overlapping merges (Excel refuses them) may name either first row.
        assert got.keys() == expected.keys()


def test_a_customers_rows_join_into_one_payload() -> None:
    joined = joined_payload(
        [
            {"名称": "华盛", "联系人": "王伟", "职务": "总经理", "手机": "138"},
            {"名称": "华盛", "联系人": "李娜", "手机": "139"},
            {"名称": "华盛", "职务": "会计"},
        ],
        joinable={"联系人", "职务", "手机"},
    )
    assert joined == {
        "名称": "华盛",
        "联系人": ["王伟", "李娜", None],
        "职务": ["总经理", None, "会计"],
        "手机": ["138", "139", None],
    }


def test_a_value_every_row_repeats_stays_one_value() -> None:
    joined = joined_payload(
        [{"名称": "华盛", "地址": "北京"}, {"名称": "华盛", "地址": "北京"}],
        joinable={"地址"},
    )
    assert joined == {"名称": "华盛", "地址": "北京"}


def test_a_single_valued_column_that_differs_is_the_conflict() -> None:
    rows = [{"名称": "华盛", "税号": "A", "手机": "1"}]
    assert conflicting_header(rows, {"名称": "华盛", "手机": "2"}, {"手机"}) is None
    assert conflicting_header(rows, {"名称": "华盛", "税号": "B"}, {"手机"}) == "税号"


def test_lists_in_a_payload_map_to_one_contact_per_position() -> None:
    rules = {
        "source_id": ["id"],
        "scalars": {"legal_name": ["name"]},
        "phones": ["phone"],
        "emails": [],
        "address": {"city": ["city"], "detail": ["street"]},
        "contact": {"name": ["contact"], "title": ["title"]},
        "created": [],
        "updated": [],
    }
    payload = {
        "name": "华盛",
        "phone": ["138", None, "138"],
        "contact": ["王伟", "李娜", None],
        "title": "经理",  # one value: every contact's
        "city": "北京",
        "street": ["建国路1号", "建国路1号"],
    }
    attributes = payload_map(payload, rules).attributes
    assert attributes["phones"] == ["138"]
    assert attributes["contacts"] == [
        {"name": "王伟", "title": "经理", "phone": "", "email": ""},
        {"name": "李娜", "title": "经理", "phone": "", "email": ""},
        {"name": "", "title": "经理", "phone": "", "email": ""},
    ]
    assert attributes["addresses"] == [
        {"province": "", "city": "北京", "district": "", "detail": "建国路1号"}
    ]
