"""Three-way merge of one remote record: what we last pushed (base), what we
want it to hold now (ours), and what it holds (theirs). Pure functions.

Each field (a dotted target path of the target's mapping) falls in one case:

* changed by nobody, or by both to the same value: nothing to do;
* changed only by us: pushed;
* changed only by them: kept, and reported as an inbound update (their
  source record goes through survivorship like any other), except a
  fill_if_empty field they emptied: that one is filled again;
* changed by both to different values: the field's ownership decides:
  ours -> push ours, theirs -> keep theirs, fill_if_empty -> keep theirs
  unless they emptied it (then fill it with ours), steward -> a steward
  decides (the field is reported as a conflict and nothing is written).

A field missing from `ours` is one the mapping does not write any more
(ownership dropped it): we have no opinion, so it counts as unchanged by us.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import FieldMapping, Ownership, path_get

_ABSENT = object()


@dataclass(frozen=True)
class FieldConflict:
    base: Any
    ours: Any
    theirs: Any


@dataclass(frozen=True)
class MergeResult:
    """push: path -> our value to write; inbound: path -> their value that
    changed only on their side (or won by ownership); conflicts: paths a
    steward must decide; resolved: paths changed by both that ownership
    settled (for the delivery log)."""

    push: dict[str, Any] = field(default_factory=dict)
    inbound: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, FieldConflict] = field(default_factory=dict)
    resolved: dict[str, Ownership] = field(default_factory=dict)

    @property
    def keep(self) -> frozenset[str]:
        """Paths whose remote value must stay as it is."""
        return frozenset(self.inbound) | frozenset(self.conflicts)


def _empty(value: Any) -> bool:
    return value is _ABSENT or value in (None, "", [], {})


def _value(value: Any) -> Any:
    return None if value is _ABSENT else value


def _same(a: Any, b: Any) -> bool:
    if _empty(a) and _empty(b):
        return True
    return a == b


def ownership_of(mapping: FieldMapping) -> dict[str, Ownership]:
    """Ownership per target path, as the merge needs it."""
    return {rule.target: rule.ownership for rule in mapping.rules}


def three_way_merge(
    *,
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    ownership: Mapping[str, Ownership],
) -> MergeResult:
    """Merge one record field by field (see the module doc).

    Args:
        base: the mapped payload we last pushed (the link's `pushed`).
        ours: the mapped payload we want to push now.
        theirs: the remote record's current mapped fields.
        ownership: target path -> Ownership, from the target's mapping;
            only these paths are merged.
    """
    result = MergeResult()
    for path, owner in ownership.items():
        b = path_get(base, path, _ABSENT)
        o = path_get(ours, path, _ABSENT)
        t = path_get(theirs, path, _ABSENT)
        if o is _ABSENT:
            o = b
        ours_changed, theirs_changed = not _same(o, b), not _same(t, b)
        if not ours_changed and not theirs_changed or _same(o, t):
            continue
        if owner is Ownership.FILL_IF_EMPTY and _empty(t):
            # Emptied (or never filled) on their side: the rule is to fill it.
            result.push[path] = o
        elif not theirs_changed:
            result.push[path] = o
        elif not ours_changed:
            result.inbound[path] = _value(t)
        elif owner is Ownership.OURS:
            result.push[path] = o
            result.resolved[path] = owner
        elif owner in (Ownership.THEIRS, Ownership.FILL_IF_EMPTY):
            result.inbound[path] = _value(t)
            result.resolved[path] = owner
        else:
            result.conflicts[path] = FieldConflict(
                base=_value(b), ours=_value(o), theirs=_value(t)
            )
    return result
