"""ID card <-> Tryton party, as pure functions.

The declarative mapping (`DEFAULT_MAPPING`, data a target's config may
replace) produces a flat payload keyed by these names:

    code            party.party code (the golden ID; Tryton makes it
                    read-only once the party exists, hence "theirs")
    name            party.party name
    phones, emails  contact mechanisms (phone/mobile, email); lists
    address.street  first party.address street_unstructured
    address.city    first party.address city
    tax_identifier  party.identifier (cn_vat, Tryton's type for the USCC)

`party_to_fields` reads a party back into the same shape, so ownership
("fill if empty") and the compare-then-write check work on like terms,
and `write_values` turns the difference into one party.party write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from stdnum.cn import uscc as stdnum_uscc

from connectors.base import FieldMapping

DEFAULT_MAPPING = FieldMapping.from_data(
    [
        {"target": "code", "source": "golden_id", "ownership": "theirs"},
        {"target": "name", "source": "id_card.legal_name"},
        {"target": "phones", "source": "id_card.derived.phones"},
        {"target": "emails", "source": "id_card.emails"},
        {
            "target": "address.street",
            "source": "id_card.derived.street",
            "ownership": "fill_if_empty",
        },
        {
            "target": "address.city",
            "source": "id_card.derived.city",
            "ownership": "fill_if_empty",
        },
        {"target": "tax_identifier", "source": "id_card.uscc"},
    ]
)

PARTY_FIELDS = (
    "id",
    "code",
    "name",
    "active",
    "_timestamp",
    "write_date",
    "create_date",
    "contact_mechanisms",
    "addresses",
    "identifiers",
)
MECHANISM_FIELDS = ("id", "type", "value", "value_compact")
ADDRESS_FIELDS = ("id", "street_unstructured", "city", "sequence")
IDENTIFIER_FIELDS = ("id", "type", "code", "code_compact")
# A party is read with its children in one call: Tryton reads related
# fields named "<one2many>.<field>" and answers each one2many as a list of
# dicts under "<one2many>." (so a batch of parties is one call too).
_CHILDREN = {
    "mechanisms": ("contact_mechanisms", MECHANISM_FIELDS),
    "addresses": ("addresses", ADDRESS_FIELDS),
    "identifiers": ("identifiers", IDENTIFIER_FIELDS),
}
READ_FIELDS = PARTY_FIELDS + tuple(
    f"{field}.{name}" for field, names in _CHILDREN.values() for name in names
)

# Tryton aliases the Chinese USCC to its VAT identifier type.
USCC_TYPE = "cn_vat"
PHONE_TYPES = ("phone", "mobile")
_E164 = re.compile(r"^\+\d{6,15}$")
_CN_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")


def derived_view(id_card: Mapping[str, Any]) -> dict[str, Any]:
    """Values Tryton needs that the ID card does not hold in one field.

    Tryton's phone validation (python-phonenumbers) refuses numbers it
    cannot parse, and the card keeps unparsable source text as is: only
    E.164 numbers are pushed. A Chinese address is province, city,
    district, detail; Tryton's structured fields are a street text and a
    city (its subdivision needs the country data loaded), so the street is
    district + detail and the city falls back to the province (直辖市).
    """
    phones = [p for p in id_card.get("phones") or [] if _E164.match(p or "")]
    addresses = id_card.get("addresses") or []
    first = addresses[0] if addresses else {}
    street = "".join(first.get(k) or "" for k in ("district", "detail"))
    city = first.get("city") or first.get("province") or ""
    return {"phones": phones, "street": street, "city": city}


def party_children(party: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The children of a party read with READ_FIELDS, as `party_to_fields`
    and `write_values` take them."""
    return {
        name: list(party.get(f"{field}.") or [])
        for name, (field, _names) in _CHILDREN.items()
    }


def mechanism_type(value: str) -> str:
    return "mobile" if _CN_MOBILE.match(value) else "phone"


def _first_address(addresses: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not addresses:
        return None
    return min(addresses, key=lambda a: (a.get("sequence") or 0, a["id"]))


def _tax_identifier(
    identifiers: Sequence[Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    typed = [i for i in identifiers if i.get("type") == USCC_TYPE]
    untyped = [i for i in identifiers if not i.get("type")]
    for group in (typed, untyped):
        if group:
            return min(group, key=lambda i: i["id"])
    return None


def party_to_fields(
    party: Mapping[str, Any],
    mechanisms: Sequence[Mapping[str, Any]],
    addresses: Sequence[Mapping[str, Any]],
    identifiers: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """A party and its children in the flat shape of the mapping."""
    phones = [
        m.get("value_compact") or m["value"]
        for m in mechanisms
        if m["type"] in PHONE_TYPES
    ]
    emails = [m["value"] for m in mechanisms if m["type"] == "email"]
    address = _first_address(addresses)
    identifier = _tax_identifier(identifiers)
    return {
        "code": party.get("code") or "",
        "name": party.get("name") or "",
        "phones": phones,
        "emails": emails,
        "address": {
            "street": (address or {}).get("street_unstructured") or "",
            "city": (address or {}).get("city") or "",
        },
        "tax_identifier": (identifier or {}).get("code_compact")
        or (identifier or {}).get("code")
        or "",
    }


def identifier_values(code: str) -> dict[str, Any]:
    """A USCC with a valid check digit is typed (Tryton validates it);
    the card keeps invalid ones uncorrected, so they go in untyped."""
    compact = stdnum_uscc.compact(code)
    kind = USCC_TYPE if stdnum_uscc.is_valid(compact) else None
    return {"type": kind, "code": compact}


def create_values(payload: Mapping[str, Any]) -> dict[str, Any]:
    """party.party create values for a mapped payload."""
    values: dict[str, Any] = {"code": payload.get("code"), "name": payload.get("name")}
    mechanisms = [
        {"type": mechanism_type(p), "value": p} for p in payload.get("phones", [])
    ]
    mechanisms += [{"type": "email", "value": e} for e in payload.get("emails", [])]
    if mechanisms:
        values["contact_mechanisms"] = [["create", mechanisms]]
    address = payload.get("address") or {}
    if any(address.values()):
        values["addresses"] = [
            [
                "create",
                [
                    {
                        "street_unstructured": address.get("street") or "",
                        "city": address.get("city") or "",
                    }
                ],
            ]
        ]
    if payload.get("tax_identifier"):
        values["identifiers"] = [
            ["create", [identifier_values(payload["tax_identifier"])]]
        ]
    return values


def _list_ops(
    kind: str | tuple[str, ...],
    ours: Sequence[str] | None,
    current: Sequence[Mapping[str, Any]],
    pushed: Sequence[str],
    compare: str,
) -> list[list[Any]]:
    # Our values are added where missing; a remote value we do not hold is
    # removed only if we pushed it ourselves earlier: numbers the ERP's users
    # typed in stay.
    if ours is None:
        return []
    kinds = (kind,) if isinstance(kind, str) else kind
    mine = [m for m in current if m["type"] in kinds]
    present = {m.get(compare) or m["value"] for m in mine}
    ops: list[list[Any]] = []
    added = [v for v in ours if v not in present]
    if added:
        ops.append(
            [
                "create",
                [
                    {
                        "type": mechanism_type(v) if kinds == PHONE_TYPES else kinds[0],
                        "value": v,
                    }
                    for v in added
                ],
            ]
        )
    stale = [
        m["id"]
        for m in mine
        if (m.get(compare) or m["value"]) not in ours
        and (m.get(compare) or m["value"]) in pushed
    ]
    if stale:
        ops.append(["delete", stale])
    return ops


def write_values(
    payload: Mapping[str, Any],
    *,
    current: Mapping[str, Any],
    mechanisms: Sequence[Mapping[str, Any]],
    addresses: Sequence[Mapping[str, Any]],
    identifiers: Sequence[Mapping[str, Any]],
    pushed: Mapping[str, Any],
) -> dict[str, Any]:
    """The party.party write bringing the party to `payload` (empty when
    nothing changes). Children change through one2many operations so the
    whole update is one transaction and moves the party's write date."""
    values: dict[str, Any] = {}
    if "name" in payload and payload["name"] != current.get("name"):
        values["name"] = payload["name"]
    mechanism_ops = _list_ops(
        PHONE_TYPES,
        payload.get("phones"),
        mechanisms,
        pushed.get("phones") or [],
        "value_compact",
    )
    mechanism_ops += _list_ops(
        "email", payload.get("emails"), mechanisms, pushed.get("emails") or [], "value"
    )
    if mechanism_ops:
        values["contact_mechanisms"] = mechanism_ops
    address = payload.get("address")
    if address is not None and address != {
        k: current.get("address", {}).get(k) for k in address
    }:
        first = _first_address(addresses)
        change = {
            "street_unstructured" if k == "street" else k: v for k, v in address.items()
        }
        values["addresses"] = (
            [["write", [first["id"]], change]] if first else [["create", [change]]]
        )
    wanted = payload.get("tax_identifier")
    if wanted and stdnum_uscc.compact(wanted) != current.get("tax_identifier"):
        existing = _tax_identifier(identifiers)
        new = identifier_values(wanted)
        values["identifiers"] = (
            [["write", [existing["id"]], new]] if existing else [["create", [new]]]
        )
    return values
