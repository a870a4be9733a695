"""Person fields: standardisers (string -> string | None) and derived columns."""

from __future__ import annotations

import re
from datetime import date

from matching.prepare import LOOKALIKE_COLUMN, Derived, lookalike_flag
from matching.presets.nicknames import canonical_map

_NON_ALPHA = re.compile(r"[^a-z]+")
_NON_NAME = re.compile(r"[^a-z\- ]+")
_NON_ALNUM = re.compile(r"[^0-9a-z ]+")
_NON_DIGIT = re.compile(r"\D+")
_HOUSE = re.compile(r"(\d+)\s*")
_SOUNDEX = {
    c: str(d)
    for d, group in enumerate(("aeiouy", "bfpv", "cgjkqsxz", "dt", "l", "mn", "r"))
    for c in group
}
_NICK = canonical_map()
_STREET = {
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "blvd": "boulevard",
    "pl": "place",
    "ter": "terrace",
    "hwy": "highway",
    "pkwy": "parkway",
    "sq": "square",
    "cir": "circle",
    "mt": "mount",
    "pt": "point",
    "hts": "heights",
    "trl": "trail",
    "cres": "crescent",
    "cl": "close",
    "apt": "apartment",
}


def first_name(raw: str | None) -> str | None:
    """Lower-case letters only: "O'Neil" -> "oneil".

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    return _NON_ALPHA.sub("", raw.lower()) or None


def surname(raw: str | None) -> str | None:
    """Lower-case letters and hyphens: "Lewis-Henderson" -> "lewis-henderson".

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    s = _NON_NAME.sub("", raw.lower()).strip(" -")
    return re.sub(r"\s*-\s*|\s+", lambda m: "-" if "-" in m.group() else " ", s) or None


def soundex(name: str | None) -> str | None:
    """American Soundex of a standardised name ("robert" -> "R163").

    Args:
        name: a standardised name.
    """
    if not name:
        return None
    letters = _NON_ALPHA.sub("", name)
    if not letters:
        return None
    codes = _SOUNDEX
    out, last = [letters[0].upper()], codes.get(letters[0], "")
    for ch in letters[1:]:
        code = codes.get(ch, "")
        if code and code != "0" and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
    return "".join(out + ["0", "0", "0"])[:4]


def dob(raw: str | None) -> str | None:
    """ISO date from "YYYY-MM-DD", "YYYYMMDD" or "DD/MM/YYYY"; invalid -> None.

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    s = raw.strip()
    if len(s) == 8 and s.isdigit():
        y, m, d = s[:4], s[4:6], s[6:]
    elif len(s) == 10 and s[4] in "-/." and s[7] in "-/.":
        y, m, d = s[:4], s[5:7], s[8:]
    elif len(s) == 10 and s[2] in "-/." and s[5] in "-/.":
        d, m, y = s[:2], s[3:5], s[6:]
    else:
        return None
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def dob_swapped(iso: str | None) -> str | None:
    """The same date with day and month swapped, when that is a different date.

    Args:
        iso: an ISO date (YYYY-MM-DD).
    """
    if iso is None or iso[5:7] == iso[8:10] or int(iso[8:10]) > 12:
        return None
    return f"{iso[:4]}-{iso[8:10]}-{iso[5:7]}"


def street_address(raw: str | None) -> str | None:
    """Lower-case, punctuation removed, suffix abbreviations expanded.

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    tokens = _NON_ALNUM.sub(" ", raw.lower()).split()
    return " ".join(_STREET.get(t, t) for t in tokens) or None


def _house_number(addr: str) -> tuple[str | None, str | None]:
    """("36 billy well" | "36billy well") -> ("36", "billy well")."""
    match = _HOUSE.match(addr)
    if match is None:
        return None, addr
    return match.group(1), addr[match.end() :] or None


def phone_digits(raw: str | None) -> str | None:
    """Digits only, North-American trunk 1 dropped; fewer than 7 digits -> None.

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    d = _NON_DIGIT.sub("", raw)
    if len(d) == 11 and d[0] == "1":
        d = d[1:]
    return d if len(d) >= 7 else None


def email(raw: str | None) -> str | None:
    """Lower-case address; anything without a single "@" -> None.

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    s = raw.strip().lower()
    return s if s.count("@") == 1 and not s.startswith("@") else None


def plain(raw: str | None) -> str | None:
    """Lower-case, inner whitespace collapsed.

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    return " ".join(raw.lower().split()) or None


def code(raw: str | None) -> str | None:
    """Upper-case letters and digits only (postcodes, id numbers).

    Args:
        raw: the raw value (None when missing).
    """
    if raw is None:
        return None
    return "".join(ch for ch in raw.upper() if ch.isalnum()) or None


def _sorted_name(fn: str | None, sn: str | None) -> str | None:
    return " ".join(sorted((fn, sn))) if fn and sn else None


PERSON_COLUMNS: tuple[Derived, ...] = (
    Derived("fn", ("first_name",), first_name),
    Derived("sn", ("surname",), surname),
    Derived("fn_canon", ("fn",), lambda v: _NICK.get(v, (v,)) if v else None, 3),
    Derived("fn_initial", ("fn",), lambda v: v[0] if v else None),
    Derived("sn_soundex", ("sn",), soundex),
    Derived("sn_prefix", ("sn",), lambda v: v[:3] if v else None),
    Derived("dob", ("dob",), dob),
    Derived("dob_swap", ("dob",), dob_swapped),
    Derived("dob_year", ("dob",), lambda v: v[:4] if v else None),
    Derived("dob_md", ("dob",), lambda v: v[5:] if v else None),
    Derived("addr", ("street_address",), street_address),
    Derived("addr_number", ("addr",), lambda v: _house_number(v)[0] if v else None),
    Derived("addr_street", ("addr",), lambda v: _house_number(v)[1] if v else None),
    Derived("city", ("city",), plain),
    Derived("state", ("state",), plain),
    Derived("postcode", ("postcode",), code),
    Derived("phone", ("phone",), phone_digits),
    Derived("email", ("email",), email),
    Derived(
        "email_local", ("email",), lambda v: v.split("@")[0] or None if v else None
    ),
    Derived("id_number", ("id_number",), code),
    Derived("name_sorted", ("fn", "sn"), _sorted_name),
    Derived(LOOKALIKE_COLUMN, ("first_name", "surname"), lookalike_flag),
)
