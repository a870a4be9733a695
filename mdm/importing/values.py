"""Clean raw cell values into the text and dates the ID card expects.

Spreadsheets hand over whatever Excel stored: phones as floats, dates as
serial numbers or free text, names padded with full-width and zero-width
characters. `clean_cell` turns one value into its field's form, or into a
`CellError` the import can report against the row.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from mdm.importing.errors import CellError

DayOrder = Literal["dmy", "mdy"]
DATE_FIELDS = frozenset({"created", "updated"})
# Fields whose values are identifiers: a number in them is digits, never a
# quantity, so 13800138000.0 must come out as "13800138000".
_IDENTIFIER_FIELDS = frozenset({"phones", "uscc", "source_id"})

# Control characters other than the spaces and line ends (a DOS program's
# end-of-file mark, a bell, NUL); and zero-width characters, bidi controls
# and the soft hyphen: invisible, and they make two identical-looking names
# compare unequal.
_CONTROL = "\x00-\x08\x0e-\x1b\x7f-\x9f"
_CONTROLS = re.compile(f"[{_CONTROL}]")
_INVISIBLE = re.compile(
    f"[{_CONTROL}\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")
_SCIENTIFIC = re.compile(r"^[+-]?(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$")
_TRAILING_ZERO = re.compile(r"^(\d+)\.0+$")

# How programs keep a cell text when Excel opens their file: a CSV cell
# written as a formula giving the text (="00123": Kingdee's and many web
# reports' CSV exports, so that leading zeros survive), or a leading
# apostrophe before what would start a formula ('+86 10 6552 1234, as our own
# exports neutralise such cells: mdm.spreadsheet_safety) or, in an
# identifier or a date, before a digit ('00123).
_TEXT_FORMULA = re.compile(r'="((?:[^"]|"")*)"')
_QUOTED_FORMULA_START = re.compile(r"'[=+\-@\t\r\x00]")
_QUOTED_DIGIT = re.compile(r"'[=+\-@\t\r\x00\d]")

_ISO_LIKE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_CHINESE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?(?:\s.*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# A month without its day, as Excel reads it when typed (2021年3月, 2021-03,
# 2021/3): the month's first day.
_YEAR_MONTH = re.compile(r"^(\d{4})(?:年(\d{1,2})月份?|[-/.](\d{1,2}))$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:\s.*)?$")
# English month names, as English-language systems write dates: "5 Mar
# 2021", "05-MAR-21" (Oracle), "Mar 5, 2021", "March 5th, 2021", "2021-Mar-05",
# "Fri, 05 Mar 2021 10:00:00 GMT" (HTTP and e-mail); a time may follow.
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"),
         ("apr", "april"), ("may",), ("jun", "june"), ("jul", "july"),
         ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s*)?"
_MONTH = r"([a-z]{3,9})\.?"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_TIME = r"(?:[\st].*)?$"  # matched against case-folded text
_NAMED_MONTH = (
    (
        re.compile(
            rf"^{_WEEKDAY}{_ORDINAL}[-\s/.]*{_MONTH}[-\s/.,]*(\d{{4}}|\d{{2}}){_TIME}"
        ),
        "dmy",
    ),
    (
        re.compile(rf"^{_WEEKDAY}{_MONTH}[-\s/.]*{_ORDINAL},?[-\s/.]*(\d{{4}}){_TIME}"),
        "mdy",
    ),
    (re.compile(rf"^(\d{{4}})[-\s/.]{_MONTH}[-\s/.]{_ORDINAL}{_TIME}"), "ymd"),
)

# Excel's 1900 date system counts from 1899-12-31 and wrongly includes
# 1900-02-29 as serial 60; from serial 61 on, counting from 1899-12-30 is right.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_BUG_DAY = 60
_EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31
# Unix times from 1973-03-03 on, in seconds; from 10^11 on, milliseconds.
_UNIX_SECONDS_FROM, _UNIX_MILLISECONDS_FROM = 10**8, 10**11


def clean_text(value: str) -> str:
    """Normalise text: NFKC, no invisible or control characters, single inner
    spaces.

    NFKC turns full-width letters, digits and punctuation into their ASCII
    forms and the ideographic space into a space, and leaves CJK characters
    alone. Invisible characters go first so NFKC sees what a reader sees.
    """
    if value.isascii():
        # Nothing for NFKC or the invisible-character pass to do; most cells.
        if value.isprintable() and "  " not in value:
            return value.strip()
        return _SPACES.sub(" ", _CONTROLS.sub("", value)).strip()
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", value))
    return _SPACES.sub(" ", text).strip()


def unforced_text(value: object, *, digits: bool = False) -> object:
    """A cell without what an exporter added to keep it text in Excel (see
    `_TEXT_FORMULA`): ="00123" is 00123, '+86 10 6552 1234 is +86 10 6552
    1234, and with `digits` (identifiers, dates) '00123 is 00123."""
    if not isinstance(value, str) or value[:1] not in ("=", "'"):
        return value
    if match := _TEXT_FORMULA.fullmatch(value):
        return match[1].replace('""', '"')
    quoted = _QUOTED_DIGIT if digits else _QUOTED_FORMULA_START
    return value[1:] if quoted.match(value) else value


def clean_phone_cell(value: object) -> str | None:
    """A phone cell as text, whatever Excel stored it as.

    Raises:
        ValueError: the value cannot be a phone number (a fraction, a date,
            scientific notation that lost digits).
    """
    return _identifier_text(value)


def parse_date_cell(
    value: object,
    *,
    excel_serial: bool = False,
    order: DayOrder | None = None,
    unix_zone: tzinfo | None = None,
) -> date | None:
    """Read a date from a typed cell or from the usual Chinese/English texts.

    Args:
        value: a date/datetime, a number, or text such as "2021/3/5",
            "2021年3月5日", "20210305" or "3/5/2021"; a month alone
            ("2021年3月", "2021-03") is its first day, as Excel reads it.
        excel_serial: accept plain numbers as Excel serial days (1900 system);
            only right for a column known to hold dates.
        order: for "a/b/yyyy" texts where both a and b could be the month,
            the order the column uses (see `day_order`); default month
            first, but day first for "a.b.yyyy".
        unix_zone: read numbers from 10^8 on as Unix times (seconds, or
            milliseconds from 10^11 on, as APIs write them) in this zone.

    Raises:
        ValueError: the value is not a date, or names an impossible one.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, int | float):
        if unix_zone is not None and abs(value) >= _UNIX_SECONDS_FROM:
            return _unix_date(value, unix_zone)
        return _date_from_number(value, excel_serial=excel_serial)
    text = clean_text(str(value))
    if not text:
        return None
    if match := _ISO_LIKE.match(text) or _CHINESE.match(text) or _COMPACT.match(text):
        year, month, day = (int(part) for part in match.groups())
        return date(year, month, day)
    if match := _YEAR_MONTH.match(text):
        year, chinese, numeric = match.groups()
        return date(int(year), int(chinese or numeric), 1)
    if match := _YEAR_LAST.match(text):
        first, second, year = (int(part) for part in match.groups())
        # Dotted, the day comes first (SAP's default DD.MM.YYYY, European
        # systems): only the slashed and dashed forms default to month first.
        default: DayOrder = "dmy" if "." in text[:6] else "mdy"
        if _resolve_order(first, second, order or default) == "dmy":
            return date(year, second, first)
        return date(year, first, second)
    if (named := _named_month_date(text)) is not None:
        return named
    if excel_serial and re.fullmatch(r"\d+(\.\d+)?", text):
        return _date_from_number(float(text), excel_serial=True)
    raise ValueError(f"{text!r} is not a date Excel or people usually write")


def day_order(values: Iterable[object]) -> DayOrder | None:
    """The day/month order a column's "a/b/yyyy" dates consistently use.

    A value whose first part is over 12 proves day-first, one whose second
    part is over 12 proves month-first. None when no value decides it or the
    column contradicts itself.
    """
    seen: set[DayOrder] = set()
    for value in values:
        value = unforced_text(value, digits=True)
        if isinstance(value, str) and (match := _YEAR_LAST.match(clean_text(value))):
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12 >= second:
                seen.add("dmy")
            elif second > 12 >= first:
                seen.add("mdy")
    return seen.pop() if len(seen) == 1 else None


def clean_cell(
    value: object, field: str | None, *, column: str, order: DayOrder | None = None
) -> object:
    """Clean one cell for its ID-card field; a `CellError` if it cannot be.

    Returns None for an empty cell, a `date` for date fields, text otherwise.

    Args:
        value: the raw cell value from a `RawRow`.
        field: the ID-card field the column maps to (None: plain text).
        column: the column's header or letter, for the error message.
        order: the column's day order for ambiguous dates (see `day_order`).
    """
    return cell_cleaner(field, column=column, order=order)(value)


def cell_cleaner(
    field: str | None,
    *,
    column: str,
    order: DayOrder | None = None,
    unix_zone: tzinfo | None = None,
) -> Callable[[object], object]:
    """`clean_cell` for every cell of one column, its field's rules chosen
    once (an import cleans a column's cells one by one). `unix_zone`: see
    `parse_date_cell` (for JSON records, whose numeric dates are Unix times)."""
    if field in DATE_FIELDS:
        code = "bad_date"

        def clean(value: object) -> object:
            return _date_cell(value, order, unix_zone)

    elif field in _IDENTIFIER_FIELDS:
        code = f"bad_{field}"
        clean = _uscc_text if field == "uscc" else _identifier_text
    else:
        code = f"bad_{field or 'value'}"
        clean = _plain_text

    digits = field in DATE_FIELDS or field in _IDENTIFIER_FIELDS

    def cleaned(value: object) -> object:
        try:
            return clean(unforced_text(value, digits=digits))
        except ValueError as exc:
            return CellError(column, code, f"{column}: {exc}")

    return cleaned


# The dates of a column repeat (a day's records): each is read once. Typed,
# so that 1 and True, or 44000 and 44000.0, are not taken for one another.
@lru_cache(maxsize=4096, typed=True)
def _date_cell(
    value: object, order: DayOrder | None, unix_zone: tzinfo | None
) -> date | None:
    return parse_date_cell(value, excel_serial=True, order=order, unix_zone=unix_zone)


def _plain_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime) and value.time() == datetime.min.time():
        value = value.date()
    text = clean_text(str(value))
    return text or None


def _uscc_text(value: object) -> str | None:
    text = _identifier_text(value)
    return text.upper() if text else text


def _identifier_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, date | timedelta):
        raise ValueError(f"{value!r} is not a number or text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return str(int(value))
    text = clean_text(str(value))
    if match := _TRAILING_ZERO.match(text):
        return match.group(1)
    if match := _SCIENTIFIC.match(text):
        return _expand_scientific(text, match)
    return text or None


def _expand_scientific(text: str, match: re.Match[str]) -> str:
    """Expand "1.3800138000E+10" exactly; refuse "1.38E+10", whose digits are lost."""
    decimals = len(match.group(2) or "")
    if int(match.group(3)) > decimals:
        raise ValueError(
            f"{text!r} was saved in scientific notation and its last digits are "
            "lost; format the column as text in Excel and export again"
        )
    try:
        number = Decimal(text)
        whole = number == number.to_integral_value()
    except InvalidOperation:  # an exponent beyond what a Decimal can round
        whole = False
    if not whole:
        raise ValueError(f"{text!r} is not a whole number")
    return str(int(number))


def _date_from_number(value: float, *, excel_serial: bool) -> date:
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a date")
    whole = int(value) if value == int(value) else None
    if whole is not None and 10_000_000 <= whole <= 99_999_999:
        try:
            return date(whole // 10_000, whole // 100 % 100, whole % 100)
        except ValueError:
            pass
    if not excel_serial:
        raise ValueError(f"{value!r} is a number, not a date")
    serial = int(value)
    if not 1 <= serial <= _EXCEL_MAX_SERIAL or serial == _EXCEL_BUG_DAY:
        raise ValueError(f"{value!r} is not an Excel date")
    if serial < _EXCEL_BUG_DAY:
        serial += 1
    return _EXCEL_EPOCH + timedelta(days=serial)


def _unix_date(value: float, zone: tzinfo) -> date:
    seconds = value / 1000 if abs(value) >= _UNIX_MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, zone).date()
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{value!r} is not a Unix time") from None


def _named_month_date(text: str) -> date | None:
    lowered = text.casefold()
    for pattern, order in _NAMED_MONTH:
        if match := pattern.match(lowered):
            parts = dict(zip(order, match.groups(), strict=True))
            month = _MONTHS.get(parts["m"])
            if month is None:
                return None
            year = int(parts["y"])
            if len(parts["y"]) == 2:  # Oracle's RR: 00-49 this century
                year += 2000 if year < 50 else 1900
            return date(year, month, int(parts["d"]))
    return None


def _resolve_order(first: int, second: int, order: DayOrder | None) -> DayOrder:
    if first > 12 and second > 12:
        raise ValueError(f"{first}/{second} names no month")
    if first > 12:
        return "dmy"
    if second > 12:
        return "mdy"
    return order or "mdy"
