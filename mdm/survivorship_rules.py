"""Survivorship rules: which member value becomes the golden value.

Plain functions over plain data (no Django, no database), so that the
ranking can be tested on literal values and with hypothesis.

Each attribute has a *chain* of rules, tried in order as tie-breakers: the
first rule that tells two offers apart decides between them. Every rule maps
an offer to a key where bigger is better. When the whole chain ties, the
offer of the oldest record (lowest id) wins, so that a new arrival that adds
nothing cannot flip a value; then the value itself decides, so the result
never depends on the order in which members are listed.

Scalars keep the best offer. Lists (phones, emails, addresses, contacts) keep
every offer, best first, with duplicates folded on a normalised key.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Offer:
    """One member's value (or one list item) for one attribute, with what the
    rules look at."""

    value: Any  # text, or an object for addresses and contacts
    record_id: int
    source: str  # "erp:CUST-0001"
    trust: float = 0.5
    updated_at: datetime | None = None
    valid: bool | None = None  # None: the attribute has no validity check
    # What duplicates share, when the attribute has its own notion of "the
    # same" (an address split into parts differently); else fold_key(value).
    fold: str | None = None

    @cached_property
    def fold_key(self) -> str:
        return fold_key(self.value) if self.fold is None else self.fold


@dataclass(frozen=True)
class Pool:
    """All offers for one attribute, with what several rules need once."""

    offers: Sequence[Offer]
    holders: Mapping[str, int]  # fold key -> how many records offer it

    @classmethod
    def of(cls, offers: Sequence[Offer]) -> Pool:
        pairs = {(offer.fold_key, offer.record_id) for offer in offers}
        return cls(offers=offers, holders=Counter(key for key, _record in pairs))


RuleFunction = Callable[[Offer, Pool], Any]


def valid_first(offer: Offer, pool: Pool) -> int:
    """A value that passed its check beats an unchecked one, which beats one
    that failed (a USCC with a wrong check digit)."""
    return {True: 2, None: 1, False: 0}[offer.valid]


def source_trust(offer: Offer, pool: Pool) -> float:
    """The source system's trust for this attribute."""
    return offer.trust


def most_recent(offer: Offer, pool: Pool) -> float:
    """The record updated last in its source."""
    return offer.updated_at.timestamp() if offer.updated_at else float("-inf")


def most_complete(offer: Offer, pool: Pool) -> tuple[int, int]:
    """More filled parts (an address with its district), then more text."""
    return completeness(offer.value)


def most_frequent(offer: Offer, pool: Pool) -> int:
    """The value most member records agree on."""
    return pool.holders[offer.fold_key]


RULES: dict[str, RuleFunction] = {
    "valid_first": valid_first,
    "source_trust": source_trust,
    "most_recent": most_recent,
    "most_complete": most_complete,
    "most_frequent": most_frequent,
}
# What lineage says besides a rule of the chain.
ONLY_VALUE = "only_value"  # every member that has a value offers the same one
TIE_BREAK = "tie_break"  # the whole chain tied: the oldest record won
UNION = "union"  # a list attribute: every member's items

Policy = Mapping[str, Sequence[str]]

# The policy a fresh install ships with (migration 0008 writes the same rows).
# Names: a well-formed legal name first (one with its legal form, 有限公司),
# then the system of record. Tax ID: a correct check digit first, then what
# most sources agree on. Lists: every item, the best first (connectors that
# keep only one address or phone take the first).
DEFAULT_POLICY: dict[str, tuple[str, ...]] = {
    "legal_name": ("valid_first", "source_trust", "most_recent"),
    "short_name": ("source_trust", "most_recent"),
    "english_name": ("source_trust", "most_recent"),
    "uscc": ("valid_first", "most_frequent", "source_trust", "most_recent"),
    "industry": ("most_frequent", "source_trust", "most_recent"),
    "customer_level": ("source_trust", "most_recent"),
    "phones": ("valid_first", "source_trust", "most_recent"),
    "emails": ("valid_first", "source_trust", "most_recent"),
    "addresses": ("most_complete", "source_trust", "most_recent"),
    "contacts": ("most_complete", "source_trust", "most_recent"),
}


@dataclass(frozen=True)
class Decision:
    winner: Offer
    rule: str  # a rule of the chain, ONLY_VALUE or TIE_BREAK


def rank(offers: Sequence[Offer], chain: Sequence[str]) -> list[Offer]:
    """Offers best first under `chain` (names from RULES), then the final
    tie-break; the same offers in any order give the same list.

    Args:
        offers: the candidate values, empty ones included (they rank last).
        chain: rule names, the first one the strongest.
    """
    pool = Pool.of(offers)
    functions = [RULES[name] for name in chain]
    keys = {id(offer): [f(offer, pool) for f in functions] for offer in offers}
    # Two stable sorts: the tie-break ascending, then the chain descending.
    ordered = sorted(offers, key=_tie_break_key)
    ordered.sort(
        key=lambda offer: (bool(offer.fold_key), keys[id(offer)]), reverse=True
    )
    return ordered


def decide(offers: Sequence[Offer], chain: Sequence[str]) -> Decision | None:
    """The winning offer for a scalar attribute and the rule that decided it
    against the best offer of another value; None when nothing is offered.

    Args:
        offers: the members' values; empty values are ignored.
        chain: rule names, the first one the strongest.
    """
    ranked = [offer for offer in rank(offers, chain) if offer.fold_key]
    if not ranked:
        return None
    winner = ranked[0]
    runner_up = next((o for o in ranked if o.fold_key != winner.fold_key), None)
    if runner_up is None:
        return Decision(winner=winner, rule=ONLY_VALUE)
    pool = Pool.of(ranked)
    for name in chain:
        if RULES[name](winner, pool) != RULES[name](runner_up, pool):
            return Decision(winner=winner, rule=name)
    return Decision(winner=winner, rule=TIE_BREAK)


def union(offers: Sequence[Offer], chain: Sequence[str]) -> list[Offer]:
    """Every distinct item of a list attribute once, best first: of items
    that fold to the same key, the best-ranked one stays.

    Args:
        offers: one offer per item per member; empty items are dropped.
        chain: rule names that order the items.
    """
    kept: dict[str, Offer] = {}
    for offer in rank(offers, chain):
        if offer.fold_key:
            kept.setdefault(offer.fold_key, offer)
    return list(kept.values())


def fold_key(value: Any) -> str:
    """What duplicates share: text without spaces, lower-cased; an object's
    non-empty parts with their names, in name order."""
    if isinstance(value, Mapping):
        return "|".join(
            f"{name}={fold_key(part)}"
            for name, part in sorted(value.items())
            if fold_key(part)
        )
    if value is None:
        return ""
    return "".join(str(value).split()).lower()


def address_fold_key(address: Mapping[str, Any], parts: Sequence[str]) -> str:
    """An address as one text, each part once: 安徽省 + 合肥市包河区…,
    安徽省 + 合肥市 + 包河区… and 安徽省 + 安徽省合肥市包河区… are the same
    address (a part already in the text adds nothing; a part that holds the
    whole text so far replaces it)."""
    text = ""
    for part in (fold_key(address.get(name)) for name in parts):
        if part in text:
            continue
        text = part if text in part else text + part
    return text


def completeness(value: Any) -> tuple[int, int]:
    """(filled parts, characters other than spaces) of a value."""
    if isinstance(value, Mapping):
        parts = [fold_key(part) for part in value.values()]
        return sum(1 for part in parts if part), sum(len(part) for part in parts)
    text = fold_key(value)
    return (1 if text else 0), len(text)


def _tie_break_key(offer: Offer) -> tuple[int, str, str]:
    return (
        offer.record_id,
        offer.fold_key,
        json.dumps(offer.value, ensure_ascii=False, sort_keys=True, default=str),
    )
