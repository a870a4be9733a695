"""Cells we write into spreadsheets must never run as formulas (OWASP CSV
injection): a text cell that starts with = + - @ or a tab, carriage return or
NUL gets a leading apostrophe, which Excel and LibreOffice show as text.
An .xlsx cell cannot hold most control characters at all: they are dropped
first (an import's error report repeats whatever a CSV row held)."""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def xlsx_cell(value: object) -> object:
    """`value` as an .xlsx cell may hold it, neutralised."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(value)
