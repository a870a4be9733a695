"""PostgreSQL stores no NUL character (U+0000) in text or jsonb: a payload
holding one is refused, naming where, on every database alike (SQLite would
take it, and the record would then fail to move to PostgreSQL)."""

from __future__ import annotations

from typing import Any


def nul_path(value: Any, path: str = "") -> str | None:
    """Where the first NUL sits in a JSON value (a key or a string), as a
    path such as "FName" or "contacts[0].tel"; None when there is none."""
    if isinstance(value, str):
        return (path or "value") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = nul_path(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
