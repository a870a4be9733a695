"""Survivorship: which member's value becomes the golden value.

The rules are data: `SurvivorshipPolicy` rows (edited in the admin) give
each attribute its chain of rules; `mdm.survivorship_rules` ranks plain
offers under a chain. This module turns member source records into offers
and the ranking back into values and lineage.

Lineage records where each value came from and which rule decided it:
{"source": "erp:CUST-1", "source_record": 17, "rule": "source_trust"}; a
list attribute has one such entry per item (rule "union").

A steward may pin a scalar value ("this name, not the ERP's"): the pin lives
in the lineage as {"steward": "alice", "value": "..."} and beats every source
at every recomputation until a steward clears it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from mdm.id_card import ADDRESS_PARTS, LIST_ATTRIBUTES, SCALAR_ATTRIBUTES
from mdm.models import GoldenRecord, SourceRecord, SurvivorshipPolicy
from mdm.survivorship_rules import (
    DEFAULT_POLICY,
    UNION,
    Offer,
    Policy,
    address_fold_key,
    decide,
    rank,
    union,
)

logger = logging.getLogger(__name__)

Pins = Mapping[str, Mapping[str, Any]]


def survivorship_policy_get() -> dict[str, tuple[str, ...]]:
    """The chain of rules in force for every attribute: the stored policy,
    or the shipped default where a row is missing or fails validation (a
    row written around the admin must not stop every recomputation)."""
    rows = tuple(
        SurvivorshipPolicy.objects.order_by("pk").values_list("attribute", "rules")
    )
    # The rows are read every time (a few short rows: the answer is exact in
    # every process); only their validation is skipped while they stay the
    # same. The key is their JSON text, which tells a list from a string.
    key = json.dumps(rows, sort_keys=True)
    if _policy_cache.get("key") != key:
        _policy_cache["policy"] = _policy_from_rows(rows)
        _policy_cache["key"] = key
    return dict(_policy_cache["policy"])


_policy_cache: dict[str, Any] = {}


def _policy_from_rows(rows: Sequence[tuple[str, Any]]) -> dict[str, tuple[str, ...]]:
    policy = dict(DEFAULT_POLICY)
    for attribute, rules in rows:
        try:
            SurvivorshipPolicy(attribute=attribute, rules=rules).clean()
        except ValidationError as error:
            logger.error(
                "survivorship policy for %r ignored, default used: %s",
                attribute,
                "; ".join(error.messages),
            )
            continue
        policy[attribute] = tuple(rules)
    return policy


def survive(
    members: Sequence[SourceRecord],
    pins: Pins | None = None,
    policy: Policy | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (golden values, lineage) computed from active member records
    under `policy` (default: the one in force); `pins` ({attribute:
    {"steward": ..., "value": ...}}) win over sources."""
    policy = {**DEFAULT_POLICY, **(policy or survivorship_policy_get())}
    active = [m for m in members if m.is_active] or list(members)
    values: dict[str, Any] = {}
    lineage: dict[str, Any] = {}
    for attribute in SCALAR_ATTRIBUTES:
        pin = (pins or {}).get(attribute)
        if pin is not None:
            values[attribute] = pin["value"]
            lineage[attribute] = dict(pin)
            continue
        decision = decide(list(_offers(active, attribute)), policy[attribute])
        values[attribute] = decision.winner.value if decision else ""
        if decision is not None:
            lineage[attribute] = _origin(decision.winner, decision.rule)
    values["uscc_valid"] = _uscc_valid(active, values["uscc"])
    for attribute in LIST_ATTRIBUTES:
        kept = union(list(_offers(active, attribute)), policy[attribute])
        values[attribute] = [offer.value for offer in kept]
        lineage[attribute] = [_origin(offer, UNION) for offer in kept]
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
    members: Sequence[SourceRecord], attribute: str, policy: Policy | None = None
) -> dict[str, list[SourceRecord]]:
    """The distinct values the members offer for a scalar attribute, each with
    the members that hold it, in survivorship order (the winner first)."""
    chain = (policy or survivorship_policy_get()).get(attribute) or DEFAULT_POLICY[
        attribute
    ]
    by_id = {member.pk: member for member in members}
    offers: dict[str, list[SourceRecord]] = {}
    for offer in rank(list(_offers(members, attribute)), chain):
        if offer.fold_key:
            offers.setdefault(offer.value, []).append(by_id[offer.record_id])
    return offers


def _offers(members: Sequence[SourceRecord], attribute: str) -> Iterator[Offer]:
    for member in members:
        trust = member.source_system.trust_for(attribute)
        updated_at = member.source_updated_at or member.updated_at
        for value, valid in _values(member, attribute):
            yield Offer(
                value=value,
                record_id=member.pk,
                source=member.key,
                trust=trust,
                updated_at=updated_at,
                valid=valid,
                fold=(
                    address_fold_key(value, ADDRESS_PARTS)
                    if attribute == "addresses" and isinstance(value, dict)
                    else None
                ),
            )


def _values(member: SourceRecord, attribute: str) -> list[tuple[Any, bool | None]]:
    """A member's values for an attribute, each with its validity: True
    passed a check, False failed it, None has no check."""
    raw = member.attributes.get(attribute)
    standardised = member.standardised
    if attribute == "uscc":
        return [(standardised.get("uscc") or raw, standardised.get("uscc_valid"))]
    if attribute == "legal_name":
        # A registered name carries its legal form (有限公司, Co., Ltd.) or is
        # a named branch; "华盛科技" alone is a trade name, not a legal one.
        well_formed = bool(
            standardised.get("name_legal_form") or standardised.get("name_is_branch")
        )
        return [(raw, well_formed)]
    if attribute in ("phones", "emails"):
        # Standardised phones and emails (E.164, lower-case) where they
        # parsed; the raw text is kept when nothing parsed, rather than
        # losing the value, and ranks as invalid.
        parsed = standardised.get(attribute)
        if parsed:
            return [(item, True) for item in parsed]
        return [(item, False) for item in raw or []]
    if attribute in LIST_ATTRIBUTES:
        return [(item, None) for item in raw or []]
    return [(raw, None)]


def _uscc_valid(members: Sequence[SourceRecord], uscc: str) -> bool | None:
    for member in members:
        if uscc and member.standardised.get("uscc") == uscc:
            return member.standardised.get("uscc_valid")
    return None


def _origin(offer: Offer, rule: str) -> dict[str, Any]:
    return {"source": offer.source, "source_record": offer.record_id, "rule": rule}
