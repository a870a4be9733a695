"""Masking of personal data for people who may read records but not copy them.

Pure functions, no Django. The patterns, as Chinese business software shows
them (the number of stars is fixed, so the mask does not tell the length):

- phone: the first 3 and the last 4 digits of a number with 11 or more
  digits (138****8000); the last 4 of an 8 to 10 digit number (****1234),
  the last 3 of 7 digits; nothing of a shorter one. A leading +86 / 0086
  country code is kept and is not part of the number.
- USCC, tax ID, ID card number: the first 4 and the last 2 characters of 15
  or more (9111**********0L); the first 2 and the last 1 of 8 to 14;
  nothing of a shorter one.
- e-mail: the first character of the local part, and the domain
  (z***@126.com).

`mask_text` finds phones, identifiers and e-mails inside free text (a raw
payload cell, a contact, a note) and masks each one; dates stay readable.
"""

from __future__ import annotations

import re
from typing import Any

PHONE_STARS = "****"
ID_STARS = "*" * 10
EMAIL_STARS = "***"

_COUNTRY_CODE_RE = re.compile(r"^\s*(?:\+\s*86|0086)")
_DIGIT_RE = re.compile(r"\d")
_ID_SEPARATORS_RE = re.compile(r"[\s\-]")
# The local part before any "@" that a domain follows: "a@b.cn@c.cn" masks
# both local parts (the middle domain with the second), never leaks either.
_EMAIL_LOCAL_RE = re.compile(r"([^\s@<>()\[\],;:\"，；、：]+)@(?=[A-Za-z0-9])")
# A run of letters and digits with at least one letter: a USCC, an ID card
# number ending in X, or a number glued to a word.
_ALNUM_RE = re.compile(r"[0-9A-Za-z]*[A-Za-z][0-9A-Za-z]*")
# Our own golden IDs name no one and must stay readable.
_GOLDEN_ID_RE = re.compile(r"^GR\d{10}$")
# Dates first, so that 2024-12-21 or 2014/2/27 are not taken for a phone; a
# phone run stops before a masked identifier's stars.
_NUMBER_RE = re.compile(
    r"(?P<date>(?<!\d)\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))"
    r"|(?P<phone>(?<![0-9A-Za-z])[+(]*\d[\d\s\-()]*\d)(?![0-9A-Za-z*])"
)
# A run with fewer digits is a house number, an amount or a year.
_MIN_PHONE_DIGITS = 7
_MIN_ID_DIGITS = 6
# A longer run of bare digits is an ID card number or an old tax ID.
_MIN_NUMERIC_ID_DIGITS = 15


def phone_reveal(digits: int) -> tuple[int, int]:
    """How many leading and trailing digits of a number of `digits` digits
    (country code excluded) a mask shows."""
    if digits >= 11:
        return 3, 4
    if digits >= 7:
        return 0, min(4, digits - 4)
    return 0, 0


def id_reveal(length: int) -> tuple[int, int]:
    """How many leading and trailing characters of an identifier a mask shows."""
    if length >= 15:
        return 4, 2
    if length >= 8:
        return 2, 1
    return 0, 0


def mask_phone(value: str) -> str:
    """138 0013 8000 → 138****8000; +8613800138000 → +86 138****8000."""
    prefix = ""
    country = _COUNTRY_CODE_RE.match(value)
    if country:
        prefix, value = "+86 ", value[country.end() :]
    digits = "".join(_DIGIT_RE.findall(value))
    if not digits:
        return prefix + PHONE_STARS if prefix else value
    head, tail = phone_reveal(len(digits))
    return f"{prefix}{digits[:head]}{PHONE_STARS}{digits[len(digits) - tail :]}"


def mask_id(value: str) -> str:
    """91110108MA01KPGK0L → 9111**********0L (spaces and hyphens dropped)."""
    compact = _ID_SEPARATORS_RE.sub("", value)
    if not compact:
        return value
    head, tail = id_reveal(len(compact))
    return f"{compact[:head]}{ID_STARS}{compact[len(compact) - tail :]}"


def mask_email(value: str) -> str:
    """zhaobing@126.com → z***@126.com."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return EMAIL_STARS
    if len(local) <= 1:
        return f"{EMAIL_STARS}@{domain}"
    return f"{local[0]}{EMAIL_STARS}@{domain}"


def mask_text(text: str) -> str:
    """Mask every e-mail, identifier and phone number found in free text."""
    text = _EMAIL_LOCAL_RE.sub(_mask_email_local, text)
    text = _ALNUM_RE.sub(_mask_alnum, text)
    return _NUMBER_RE.sub(_mask_number, text)


def mask_value(attribute: str, value: Any) -> Any:
    """Mask an ID-card attribute value (a string, a list, a contact...)."""
    if attribute == "phones":
        return [mask_phone(str(item)) for item in value]
    if attribute == "emails":
        return [mask_email(str(item)) for item in value]
    if attribute == "uscc":
        return mask_id(value) if value else value
    return mask_json(value)


def mask_json(value: Any) -> Any:
    """Mask every string inside a JSON-like value (a raw payload, a contact)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_json(item) for item in value]
    return value


def _mask_email_local(match: re.Match[str]) -> str:
    local = match.group(1)
    return f"{local[0] if len(local) > 1 else ''}{EMAIL_STARS}@"


def _mask_alnum(match: re.Match[str]) -> str:
    token = match.group()
    # A word such as "InternationalTrade" or "A2" is not an identifier.
    if len(_DIGIT_RE.findall(token)) < _MIN_ID_DIGITS or _GOLDEN_ID_RE.match(token):
        return token
    return mask_id(token)


def _mask_number(match: re.Match[str]) -> str:
    token = match.group()
    if match.group("date"):
        return token
    digits = len(_DIGIT_RE.findall(token))
    if digits < _MIN_PHONE_DIGITS:
        return token
    if token.isdigit() and digits >= _MIN_NUMERIC_ID_DIGITS:
        return mask_id(token)
    return mask_phone(token)
