"""Company fields (Chinese B2B), standardised through `matching.standardise`.

Each raw value is parsed once (the parsers are cached) and every derived
column reads from that parse.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from matching.prepare import LOOKALIKE_COLUMN, Derived, lookalike_flag

_DIGIT_RUN = re.compile(r"[0-9]{7,}")


def _std():
    from matching import standardise

    return standardise


@lru_cache(maxsize=100_000)
def _company(raw: str | None):
    return _std().company_name(raw) if raw else None


def _names(name: str | None, english: str | None) -> list:
    return [c for c in (_company(name), _company(english)) if c is not None]


def _primary(name: str | None, english: str | None):
    found = _names(name, english)
    return found[0] if found else None


def _brand_key(name: str | None, english: str | None) -> str | None:
    """Brand in Latin letters (pinyin for a Han brand): "华为" -> "huawei"."""
    from pypinyin import lazy_pinyin

    cn = _primary(name, english)
    if cn is None or not cn.brand:
        return None
    return "".join(lazy_pinyin(cn.brand)).replace(" ", "").lower() or None


def _han_core(name: str | None, english: str | None) -> str | None:
    """The core as written in Chinese characters (None for a Latin-only name)."""
    cn = _primary(name, english)
    return cn.core if cn is not None and cn.script != "latin" and cn.core else None


_GROUP_FORMS = frozenset({"集团", "group"})


def _trade(name: str | None, english: str | None) -> str | None:
    """Line of business in either script: "technology", "network technology".

    A group with no industry words (华盛集团) is in the business of being
    the group: 华盛集团 is not in 华盛建材's line of business.
    """
    cn = _primary(name, english)
    if cn is None:
        return None
    if not cn.industry_terms:
        return "group" if cn.legal_form in _GROUP_FORMS else None
    return " ".join(sorted(cn.industry_terms))


def _group(name: str | None, english: str | None) -> str | None:
    """Group status: "group" (集团), "company" (any other legal form) or None.

    A name without a legal form ("华盛", "HUASHENG TECH") says neither.
    """
    cn = _primary(name, english)
    if cn is None or cn.legal_form is None:
        return None
    return "group" if cn.legal_form in _GROUP_FORMS else "company"


def _branch(name: str | None, english: str | None) -> str | None:
    """The branch by its place, in either script; "-" for a head office.

    北京分公司 and "Beijing Branch" are both "北京"; a branch not named
    after a place keeps its own words.
    """
    cn = _primary(name, english)
    if cn is None:
        return None
    if not cn.is_branch:
        return "-"
    std = _std()
    text = std.normalise(cn.branch or "").lower()
    places = std.region.match_prefix(text)[1]
    words = text.split()
    is_place, place = std.region.latin_region(words[0]) if words else (False, None)
    if places:
        return places[0].name
    if is_place and place:
        return place
    return text or "branch"


@lru_cache(maxsize=100_000)
def _tax_id(raw: str | None):
    return _std().uscc(raw) if raw else None


def _uscc_valid(raw: str | None) -> str | None:
    tax = _tax_id(raw)
    return tax.value if tax is not None and tax.valid and tax.kind == "uscc" else None


def _uscc_org(raw: str | None) -> str | None:
    tax = _tax_id(raw)
    return _std().uscc_org_code(tax.value) if tax is not None and tax.valid else None


def _phones(raw: str | None) -> tuple[str, ...]:
    return tuple(p.e164 for p in _std().phones(raw)) if raw else ()


def _phone_tails(raw: str | None) -> tuple[str, ...]:
    """Last 7 digits of each parsed phone and of each long digit run.

    A landline typed without its area code ("25108849-5268") does not parse
    as a phone but still shares its tail with "(027)25108849".
    """
    if not raw:
        return ()
    tails = [p[-7:] for p in _phones(raw)]
    runs = _DIGIT_RUN.findall(unicodedata.normalize("NFKC", raw))
    tails += [run[-7:] for run in runs if len(run) <= 12]
    return tuple(dict.fromkeys(tails))


@lru_cache(maxsize=100_000)
def _email(raw: str | None):
    return _std().email(raw) if raw else None


def _company_domain(raw: str | None) -> str | None:
    mail = _email(raw)
    return mail.domain if mail is not None and not mail.is_free_provider else None


@lru_cache(maxsize=100_000)
def _address(raw: str | None):
    return _std().address(raw) if raw else None


def _district(raw: str | None) -> str | None:
    addr = _address(raw)
    if addr is None or not addr.district:
        return None
    return f"{addr.city or ''}{addr.district}"


def _place(part: str):
    # the address says where this site is; a name's region prefix may be the
    # head office's ("山东江怡久商贸有限公司沈阳分公司"), so it comes second
    def pick(name: str | None, english: str | None, address: str | None) -> str | None:
        addr = _address(address)
        if addr is not None and getattr(addr, part, None):
            return getattr(addr, part)
        for cn in _names(name, english):
            if getattr(cn, part):
                return getattr(cn, part)
        return None

    return pick


def _contact(raw: str | None, part: str) -> str | None:
    person = _std().person_name(raw) if raw else None
    return getattr(person, part, None) or None if person is not None else None


_NAMES = ("name", "english_name")

COMPANY_COLUMNS: tuple[Derived, ...] = (
    Derived(
        "co_name", _NAMES, lambda n, e: getattr(_primary(n, e), "normalised", None)
    ),
    Derived(
        "co_core", _NAMES, lambda n, e: getattr(_primary(n, e), "core", None) or None
    ),
    Derived(
        "co_key",
        _NAMES,
        lambda n, e: getattr(_primary(n, e), "latin_key", None) or None,
    ),
    Derived(
        "co_keys",
        _NAMES,
        lambda n, e: tuple(c.latin_key for c in _names(n, e) if c.latin_key),
        2,
    ),
    Derived("co_han_core", _NAMES, _han_core),
    Derived("co_brand", _NAMES, _brand_key),
    Derived("co_trade", _NAMES, _trade),
    Derived("co_group", _NAMES, _group),
    Derived("co_tokens", _NAMES, lambda n, e: getattr(_primary(n, e), "tokens", ()), 4),
    Derived("co_branch", _NAMES, _branch),
    Derived("co_city", (*_NAMES, "address"), _place("city")),
    Derived("co_province", (*_NAMES, "address"), _place("province")),
    Derived("co_uscc", ("uscc",), _uscc_valid),
    Derived("co_uscc_any", ("uscc",), lambda v: getattr(_tax_id(v), "value", None)),
    Derived("co_uscc_org", ("uscc",), _uscc_org),
    Derived("co_phones", ("phone",), _phones, 3),
    Derived("co_phone7", ("phone",), _phone_tails, 4),
    Derived("co_email", ("email",), lambda v: getattr(_email(v), "address", None)),
    Derived("co_domain", ("email",), _company_domain),
    Derived(
        "co_addr", ("address",), lambda v: getattr(_address(v), "normalised", None)
    ),
    Derived("co_district", ("address",), _district),
    Derived(
        "co_addr_detail",
        ("address",),
        lambda v: getattr(_address(v), "detail", None) or None,
    ),
    Derived("co_contact", ("contact",), lambda v: _contact(v, "full")),
    Derived("co_contact_sn", ("contact",), lambda v: _contact(v, "surname")),
    Derived(LOOKALIKE_COLUMN, _NAMES, lookalike_flag),
)
