"""Chinese tax identifiers: the USCC and the 15-digit number it replaced.

Since 2015 every organisation has an 18-character Unified Social Credit Code
(统一社会信用代码): registering authority, entity type, 6-digit region code,
9-character organisation code, check character. The older 15-digit tax
registration number is the region code followed by the same organisation code,
so a legacy number and a USCC can be compared on `uscc_org_code`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum.cn import uscc as stdnum_uscc

from matching.standardise.text import without_quotes


@dataclass(frozen=True, slots=True)
class TaxId:
    """A normalised tax identifier.

    `kind` is "uscc" (18 characters), "legacy" (15-character tax registration
    number) or "unknown". `valid` says whether the check character is right;
    a wrong one is reported, never corrected.
    """

    value: str
    valid: bool
    kind: str


_SEPARATORS_RE = re.compile(r"[\s\-‐‑‒–—_.·]+")
# A note beside the number: 91110108MA01ABCD1X(已核).
_BRACKETED_RE = re.compile(r"\([^()]*\)")
_USCC_SHAPE_RE = re.compile("[0-9A-Z]{18}")
_LEGACY_SHAPE_RE = re.compile("([1-8][0-9]{5})([0-9A-Z]{8}[0-9X])")
_PLACEHOLDERS = frozenset({"无", "暂无", "NA", "N/A", "NULL", "NONE", "0", "/"})
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _clean(raw: str | None) -> str:
    if not raw:
        return ""
    text = without_quotes(unicodedata.normalize("NFKC", raw).upper())
    return _SEPARATORS_RE.sub("", _BRACKETED_RE.sub("", text))


@lru_cache(maxsize=16384)
def uscc(raw: str | None) -> TaxId | None:
    """Normalise and check a USCC or legacy tax registration number.

    Upper-cases, converts full-width characters and drops spaces, hyphens,
    quotation marks (Excel's text prefix ' too) and a note in brackets.

    Args:
        raw: The identifier as it appears in the source system.

    Returns:
        None for an empty value or a placeholder such as 无 or N/A.
    """
    value = _clean(raw)
    if not value or value in _PLACEHOLDERS:
        return None
    if len(value) == 18 and _USCC_SHAPE_RE.fullmatch(value):
        return TaxId(value=value, valid=stdnum_uscc.is_valid(value), kind="uscc")
    if len(value) == 15 and value.isascii() and value.isalnum():
        match = _LEGACY_SHAPE_RE.fullmatch(value)
        valid = match is not None and _org_code_valid(match.group(2))
        return TaxId(value=value, valid=valid, kind="legacy")
    return TaxId(value=value, valid=False, kind="unknown")


def _org_code_valid(code: str) -> bool:
    # GB 11714 organisation code: eight characters and a check character.
    weighted = zip(code[:8], _ORG_WEIGHTS, strict=True)
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in weighted)
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def uscc_region(value: str | None) -> str | None:
    """The 6-digit administrative region code of a USCC or legacy number.

    Positions 3-8 of a USCC, the first six digits of a 15-character number.

    Args:
        value: A USCC or legacy number, raw or normalised.
    """
    value = _clean(value)
    code = value[2:8] if len(value) == 18 else value[:6] if len(value) == 15 else ""
    return code if code.isascii() and code.isdigit() else None


def uscc_org_code(value: str | None) -> str | None:
    """The 9-character organisation code of a USCC or legacy number.

    Positions 9-17 of a USCC, the last nine characters of a 15-character
    number, so the two can be compared.

    Args:
        value: A USCC or legacy number, raw or normalised.
    """
    value = _clean(value)
    code = value[8:17] if len(value) == 18 else value[6:] if len(value) == 15 else ""
    return code if code.isascii() and code.isalnum() else None
