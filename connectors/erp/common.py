"""Checks every system connector makes before it overwrites a remote record.

Shared by the Tryton, Kingdee and Salesforce connectors (the CRM one imports
it from here): pure functions over the flat payloads a FieldMapping builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import (
    ConflictError,
    FieldMapping,
    LinkRecord,
    Ownership,
    RemoteRecord,
    path_get,
)


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def _same(a: Any, b: Any) -> bool:
    empty = (None, "", [], {})
    if a in empty and b in empty:
        return True
    return a == b


def foreign_edits(
    *,
    link: LinkRecord | None,
    current: RemoteRecord,
    payload: Mapping[str, Any],
    mapping: FieldMapping | None = None,
) -> list[str]:
    """Fields we are about to write that the target's users changed since
    our last push (compare-then-write).

    Only fields in `payload` count: ownership has already dropped the
    fields the target owns, so edits to those never conflict; a
    fill-if-empty field in the payload is empty in the target, and filling
    it is what its rule asks for. A field the remote changed to the value
    we are about to write is no conflict either.
    Without a link (first push, or a record found by key) there is no base
    to compare with, so nothing counts as a foreign edit.
    """
    if link is None or not link.pushed:
        return []
    if link.remote_version and link.remote_version == current.remote_version:
        return []
    fill = {
        rule.target
        for rule in (mapping.rules if mapping else ())
        if rule.ownership is Ownership.FILL_IF_EMPTY
    }
    edited = []
    for path, ours in _leaves(payload).items():
        if path in fill:
            continue
        theirs = path_get(current.fields, path)
        base = path_get(link.pushed, path)
        if isinstance(ours, list):
            # List fields (phones, emails) are merged, not replaced: values
            # the target's users added stay. Only a value we pushed that
            # they removed, and that we still hold, is an edit of theirs.
            removed = set(map(str, base or [])) - set(map(str, theirs or []))
            if removed & set(map(str, ours)):
                edited.append(path)
        elif not _same(theirs, base) and not _same(theirs, ours):
            edited.append(path)
    return edited


def raise_on_foreign_edits(
    *,
    link: LinkRecord | None,
    current: RemoteRecord,
    payload: Mapping[str, Any],
    mapping: FieldMapping | None = None,
) -> None:
    """ConflictError naming the fields when `foreign_edits` finds any."""
    edited = foreign_edits(link=link, current=current, payload=payload, mapping=mapping)
    if edited:
        raise ConflictError(
            f"{current.remote_id} was edited in the target since our last push: "
            + ", ".join(sorted(edited)),
            detail=", ".join(sorted(edited)),
        )
