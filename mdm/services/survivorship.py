"""Survivorship: which member's value becomes the golden value.

Scalars: the most trusted source for that attribute wins; ties go to the most
recently updated record. A USCC with a correct check digit beats one without.
Lists (phones, emails, addresses, contacts): the union over members, best
source first, duplicates folded on their standardised form.

A steward may pin a scalar value ("this name, not the ERP's"): the pin lives
in the lineage as {"steward": "alice", "value": "..."} and beats every source
at every recomputation until a steward clears it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mdm.id_card import LIST_ATTRIBUTES, SCALAR_ATTRIBUTES
from mdm.models import GoldenRecord, SourceRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


Pins = Mapping[str, Mapping[str, Any]]


def survive(
    members: Sequence[SourceRecord], pins: Pins | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (golden values, lineage) computed from active member records;
    `pins` ({attribute: {"steward": ..., "value": ...}}) win over sources."""
    active = [m for m in members if m.is_active] or list(members)
    values: dict[str, Any] = {}
    lineage: dict[str, Any] = {}
    for attribute in SCALAR_ATTRIBUTES:
        pin = (pins or {}).get(attribute)
        if pin is not None:
            values[attribute] = pin["value"]
            lineage[attribute] = dict(pin)
            continue
        ranked = sorted(active, key=_rank_key(attribute), reverse=True)
        winner = next((m for m in ranked if m.attributes.get(attribute)), None)
        values[attribute] = _scalar_value(winner, attribute)
        if winner is not None:
            lineage[attribute] = _origin(winner)
    values["uscc_valid"] = _uscc_valid(active, values["uscc"])
    for attribute in LIST_ATTRIBUTES:
        ranked = sorted(active, key=_rank_key(attribute), reverse=True)
        items, origins = _union(ranked, attribute)
        values[attribute] = items
        lineage[attribute] = origins
    return values, lineage


def steward_pins(golden: GoldenRecord) -> dict[str, dict[str, Any]]:
    """The scalar values a steward pinned on `golden`, with their values."""
    return {
        attribute: {**entry, "value": entry.get("value", getattr(golden, attribute))}
        for attribute in SCALAR_ATTRIBUTES
        if isinstance(entry := golden.lineage.get(attribute), dict)
        and "steward" in entry
    }


def candidate_values(
    members: Sequence[SourceRecord], attribute: str
) -> dict[str, list[SourceRecord]]:
    """The distinct values the members offer for a scalar attribute, each with
    the members that hold it, in survivorship order (the winner first)."""
    offers: dict[str, list[SourceRecord]] = {}
    for member in sorted(members, key=_rank_key(attribute), reverse=True):
        if member.attributes.get(attribute):
            offers.setdefault(_scalar_value(member, attribute), []).append(member)
    return offers


def _rank_key(attribute: str) -> Callable[[SourceRecord], tuple]:
    def key(member: SourceRecord) -> tuple:
        valid_first = attribute == "uscc" and bool(
            member.standardised.get("uscc_valid")
        )
        trust = member.source_system.trust_for(attribute)
        recency = member.source_updated_at or member.updated_at or _EPOCH
        return (valid_first, trust, recency, member.pk or 0)

    return key


def _scalar_value(member: SourceRecord | None, attribute: str) -> str:
    if member is None:
        return ""
    if attribute == "uscc":
        return member.standardised.get("uscc") or member.attributes["uscc"]
    return member.attributes[attribute]


def _uscc_valid(members: Sequence[SourceRecord], uscc: str) -> bool | None:
    for member in members:
        if uscc and member.standardised.get("uscc") == uscc:
            return member.standardised.get("uscc_valid")
    return None


def _union(ranked: Sequence[SourceRecord], attribute: str) -> tuple[list, list]:
    items: list = []
    origins: list = []
    seen: set[str] = set()
    for member in ranked:
        for item in _items(member, attribute):
            fold_key = _fold_key(item)
            if fold_key and fold_key not in seen:
                seen.add(fold_key)
                items.append(item)
                origins.append(_origin(member))
    return items, origins


def _items(member: SourceRecord, attribute: str) -> list:
    # Standardised phones and emails (E.164, lower-case) where they parsed;
    # the raw text is kept when nothing parsed, rather than losing the value.
    if attribute in ("phones", "emails"):
        return member.standardised.get(attribute) or member.attributes.get(
            attribute, []
        )
    return member.attributes.get(attribute, [])


def _fold_key(item: Any) -> str:
    if isinstance(item, dict):
        return "|".join("".join(str(v).split()).lower() for v in item.values() if v)
    return "".join(str(item).split()).lower()


def _origin(member: SourceRecord) -> dict[str, Any]:
    return {"source": member.key, "source_record": member.pk}
