"""Golden IDs: `GR` + a 9-digit serial + a Damm check digit, e.g. GR0000000013.

The Damm algorithm catches every single mistyped digit and every swap of two
adjacent digits, which are the mistakes people make when they copy an ID from
one screen to another.
"""

from __future__ import annotations

import re

from stdnum import damm

PREFIX = "GR"
SERIAL_DIGITS = 9
_SHAPE = re.compile(rf"^{PREFIX}(\d{{{SERIAL_DIGITS}}})(\d)$")
# The shape for an API schema (either case; the check digit is not a pattern).
_EITHER_CASE = "".join(f"[{c}{c.lower()}]" for c in PREFIX)
PATTERN = rf"^{_EITHER_CASE}\d{{{SERIAL_DIGITS + 1}}}$"


class InvalidGoldenId(ValueError):
    """A string that is not a well-formed golden ID."""


def golden_id_format(serial: int) -> str:
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise ValueError(f"golden ID serial out of range: {serial}")
    digits = f"{serial:0{SERIAL_DIGITS}d}"
    return f"{PREFIX}{digits}{damm.calc_check_digit(digits)}"


def golden_id_clean(value: str) -> str:
    """Upper-case `value` and drop spaces and hyphens; raise if the check fails."""
    compact = re.sub(r"[\s\-]", "", value or "").upper()
    match = _SHAPE.match(compact)
    if not match:
        raise InvalidGoldenId(
            f"{value!r} is not a golden ID (expected {PREFIX} and 10 digits)."
        )
    if not damm.is_valid(match.group(1) + match.group(2)):
        raise InvalidGoldenId(f"{value!r} has a wrong check digit: probably a typo.")
    return compact


def golden_id_is_valid(value: str) -> bool:
    try:
        golden_id_clean(value)
    except InvalidGoldenId:
        return False
    return True
