from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.importing import CellError
from mdm.importing.values import (
    cell_cleaner,
    clean_cell,
    clean_phone_cell,
    clean_text,
    day_order,
    parse_date_cell,
    unforced_text,
)
from mdm.spreadsheet_safety import neutralise

MOBILES = st.integers(min_value=13_000_000_000, max_value=19_999_999_999)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("北京华盛（中国）有限公司", "北京华盛(中国)有限公司"),
        ("\u3000华盛\u200b科技 \u00a0 有限公司\t", "华盛科技 有限公司"),
        ("\ufeff张三\u200d", "张三"),
        ("Acme\u202eGmbH", "AcmeGmbH"),
        ("多行\n地址", "多行 地址"),
        ("客户：华盛，电话：138", "客户:华盛,电话:138"),
        # Control characters: a DOS end-of-file mark, a bell, NUL, C1's NEL.
        ("上海明远贸易有限公司\x1a", "上海明远贸易有限公司"),
        ("Acme\x07 Ltd\x00", "Acme Ltd"),
        ("华盛\x85科技", "华盛科技"),
        ("\x1a", ""),
    ],
)
def test_clean_text_normalises_width_and_invisible_characters(
    raw: str, clean: str
) -> None:
    assert clean_text(raw) == clean


@given(st.text())
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(st.text())
def test_clean_text_leaves_no_control_character(text: str) -> None:
    assert not any(unicodedata.category(char) == "Cc" for char in clean_text(text))


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
        (1.38001380e10, "13800138000"),
        ("13800138000.0", "13800138000"),
        ("1.3800138000E+10", "13800138000"),
        (" 138 0013 8000 ", "138 0013 8000"),
        ("010-65521234 / 13800138000", "010-65521234 / 13800138000"),
        ("１３８００１３８０００", "13800138000"),
        (None, None),
        ("", None),
    ],
)
def test_phones_stay_text_whatever_excel_stored(raw: object, phone: str) -> None:
    assert clean_phone_cell(raw) == phone


@pytest.mark.parametrize(
    "raw", ["1.38E+10", 13800138000.5, float("nan"), True, date(2021, 3, 5)]
)
def test_phones_that_lost_digits_or_are_not_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        clean_phone_cell(raw)


@given(MOBILES)
def test_a_mobile_never_comes_out_in_scientific_notation(number: int) -> None:
    for raw in (number, float(number), str(float(number)), repr(float(number))):
        phone = clean_phone_cell(raw)
        assert phone == str(number)
        assert "e" not in phone.lower()


@pytest.mark.parametrize(
    "raw",
    [
        date(2021, 3, 5),
        datetime(2021, 3, 5, 14, 30),
        "2021/3/5",
        "2021-03-05",
        "2021.3.5",
        "2021年3月5日",
        "2021年03月05日 14:30",
        "2021-03-05T14:30:00",
        "20210305",
        20210305,
        "3/5/2021",
        "２０２１／３／５",
    ],
)
def test_it_reads_the_dates_people_write(raw: object) -> None:
    assert parse_date_cell(raw) == date(2021, 3, 5)


@pytest.mark.parametrize(
    "raw",
    ["2021年3月", "2021年03月份", "2021-03", "2021/3", "2021.03", "２０２１年３月"],
)
def test_a_month_without_its_day_is_its_first_day_as_excel_reads_it(raw: str):
    assert parse_date_cell(raw) == date(2021, 3, 1)
    assert parse_date_cell(raw, excel_serial=True) == date(2021, 3, 1)


@pytest.mark.parametrize(
    ("serial", "day"),
    [(44260, date(2021, 3, 5)), (44260.75, date(2021, 3, 5)), (1, date(1900, 1, 1)),
     (59, date(1900, 2, 28)), (61, date(1900, 3, 1)), ("44260", date(2021, 3, 5))],
)  # fmt: skip
def test_excel_serials_are_dates_only_in_a_date_column(
    serial: object, day: date
) -> None:
    assert parse_date_cell(serial, excel_serial=True) == day
    if not isinstance(serial, str):
        with pytest.raises(ValueError):
            parse_date_cell(serial)


def test_excel_serial_60_is_the_day_that_never_was() -> None:
    with pytest.raises(ValueError):
        parse_date_cell(60, excel_serial=True)


@pytest.mark.parametrize(
    ("raw", "order", "day"),
    [
        ("13/5/2021", None, date(2021, 5, 13)),
        ("5/13/2021", None, date(2021, 5, 13)),
        ("3/5/2021", None, date(2021, 3, 5)),
        ("3/5/2021", "mdy", date(2021, 3, 5)),
        ("3/5/2021", "dmy", date(2021, 5, 3)),
        # Dotted, the day first (SAP's default DD.MM.YYYY) unless the column
        # shows otherwise.
        ("05.03.2021", None, date(2021, 3, 5)),
        ("5.3.2021 10:00", None, date(2021, 3, 5)),
        ("05.03.2021", "mdy", date(2021, 5, 3)),
        ("03.25.2021", None, date(2021, 3, 25)),
    ],
)
def test_ambiguous_day_month_follows_the_column(
    raw: str, order: str | None, day: date
) -> None:
    assert parse_date_cell(raw, order=order) == day


def test_day_order_is_inferred_from_the_unambiguous_values_of_a_column() -> None:
    assert day_order(["3/5/2021", "25/12/2020", None]) == "dmy"
    assert day_order(["3/5/2021", "12/25/2020"]) == "mdy"
    assert day_order(["3/5/2021", "4/6/2021"]) is None
    assert day_order(["25/12/2020", "12/25/2020"]) is None


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("5 Mar 2021", date(2021, 3, 5)),
        ("05-MAR-21", date(2021, 3, 5)),  # Oracle's DD-MON-RR
        ("05-MAR-99", date(1999, 3, 5)),
        ("Mar 5, 2021", date(2021, 3, 5)),
        ("March 5th, 2021", date(2021, 3, 5)),
        ("Sept 5 2021", date(2021, 9, 5)),
        ("2021-Mar-05", date(2021, 3, 5)),
        ("5 March 2021 14:30", date(2021, 3, 5)),
        ("Fri, 05 Mar 2021 10:00:00 GMT", date(2021, 3, 5)),
        ("2021-mar-05T10:00", date(2021, 3, 5)),
    ],
)
def test_english_month_names_are_read(raw: str, day: date) -> None:
    assert parse_date_cell(raw) == day


@given(
    st.dates(date(1950, 1, 1), date(2049, 12, 31)),
    st.sampled_from(
        ["%d %b %Y", "%d-%b-%y", "%b %d, %Y", "%B %d %Y", "%Y-%b-%d", "%a, %d %b %Y",
         "%d %B %Y %H:%M", "%A %d %B %Y"]
    ),
)  # fmt: skip
def test_any_date_written_with_an_english_month_comes_back(day: date, form: str):
    assert parse_date_cell(day.strftime(form)) == day
    assert parse_date_cell(day.strftime(form).upper()) == day


@pytest.mark.parametrize(
    "raw",
    ["2021/2/30", "13/13/2021", "2021年13月1日", "2021年13月", "2021-00",
     "next tuesday", True,
     "31 Feb 2021", "5 Main 2021", "Mar 5, 21"],
)  # fmt: skip
def test_impossible_or_unreadable_dates_raise(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_date_cell(raw)


@pytest.mark.parametrize(
    ("raw", "field", "clean"),
    [
        ("  北京华盛 ", "legal_name", "北京华盛"),
        (13800138000.0, "phones", "13800138000"),
        ("91110000ma01abcd1x", "uscc", "91110000MA01ABCD1X"),
        (1001.0, "source_id", "1001"),
        (44260, "created", date(2021, 3, 5)),
        (3.0, "customer_level", "3"),
        (datetime(2021, 3, 5), None, "2021-03-05"),
        ("   ", "legal_name", None),
        (None, "created", None),
    ],
)
def test_clean_cell_dispatches_per_field(
    raw: object, field: str, clean: object
) -> None:
    assert clean_cell(raw, field, column="C") == clean


def test_clean_cell_returns_errors_as_values() -> None:
    assert clean_cell("1.38E+10", "phones", column="电话") == CellError(
        "电话",
        "bad_phones",
        "电话: '1.38E+10' was saved in scientific notation and its last digits "
        "are lost; format the column as text in Excel and export again",
    )
    error = clean_cell("2021/2/30", "created", column="录入日期")
    assert isinstance(error, CellError)
    assert (error.column, error.code) == ("录入日期", "bad_date")


def test_a_date_column_reads_each_value_of_its_own_type() -> None:
    # Its cleaner remembers the dates it read: 1 == True == 1.0 in Python, yet
    # 1 is Excel's first day and True is no date at all.
    clean = cell_cleaner("created", column="录入日期")
    assert clean(1) == date(1900, 1, 1)
    assert isinstance(clean(True), CellError)
    assert clean(1.0) == date(1900, 1, 1)
    assert clean("2021/3/5") == clean("2021/3/5") == date(2021, 3, 5)


@pytest.mark.parametrize(
    "raw",
    ["3.5e+10138001380000000000", "3e-10138001380000000000", "1.38E+10", "1.5e-3"],
)
def test_identifiers_in_scientific_notation_are_a_cell_error_not_a_crash(raw):
    for field in ("uscc", "source_id"):
        error = clean_cell(raw, field, column="C")
        assert isinstance(error, CellError) and error.code == f"bad_{field}"


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        (1614877200, date(2021, 3, 5)),  # 01:00 in Shanghai, the 4th in UTC
        (1614877200000, date(2021, 3, 5)),  # milliseconds, as APIs write them
        (1614877200.5, date(2021, 3, 5)),
        (20210305, date(2021, 3, 5)),  # below 10^8: a compact date still
        (44260, date(2021, 3, 5)),  # and an Excel serial
        ("2021-03-05T01:00:00+08:00", date(2021, 3, 5)),
    ],
)
def test_json_numbers_in_a_date_column_are_unix_times(raw: object, day: date) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert parse_date_cell(raw, excel_serial=True, unix_zone=shanghai) == day
    clean = cell_cleaner("created", column="createdAt", unix_zone=shanghai)
    assert clean(raw) == day


def test_a_unix_time_out_of_range_is_a_cell_error() -> None:
    clean = cell_cleaner("created", column="createdAt", unix_zone=ZoneInfo("UTC"))
    error = clean(10**30)
    assert isinstance(error, CellError) and "Unix time" in error.message


@pytest.mark.parametrize(
    ("raw", "field", "clean"),
    [
        ('="00123"', "source_id", "00123"),  # Kingdee's CSV export
        ('="013800138000"', "phones", "013800138000"),
        ('="北京""华盛""科技有限公司"', "legal_name", '北京"华盛"科技有限公司'),
        ("'00123", "source_id", "00123"),
        ("'+86 10 6552 1234", "phones", "+86 10 6552 1234"),  # our own export
        ("'-华盛-", "legal_name", "-华盛-"),
        ("'98世博会", "legal_name", "'98世博会"),  # an apostrophe in a name
        ('="2021-03-05"', "created", date(2021, 3, 5)),
        ("'2021/3/5", "created", date(2021, 3, 5)),
        ("=A1+B1", "legal_name", "=A1+B1"),  # not text forced: kept as it is
    ],
)
def test_what_exporters_add_to_keep_a_cell_text_is_dropped(
    raw: str, field: str, clean: object
) -> None:
    assert clean_cell(raw, field, column="C") == clean


def test_the_day_order_of_a_column_reads_forced_text() -> None:
    assert day_order(['="05/03/2021"', "'13/03/2021"]) == "dmy"


@given(st.text())
def test_a_cell_our_exports_neutralised_reads_back_as_it_was(text: str) -> None:
    if not text.startswith("'"):  # kept as it is by both
        assert unforced_text(neutralise(text)) == text
