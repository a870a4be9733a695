"""Cells we write into spreadsheets must never run as formulas (OWASP CSV
injection): a text cell that starts with = + - @ or a tab, carriage return or
NUL gets a leading apostrophe, which Excel and LibreOffice show as text."""

from __future__ import annotations

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
