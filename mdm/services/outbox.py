"""Writing outbox events. Delivery to ERP and CRM reads them later; writing
them inside the change's transaction means a committed change always has
its event and a rolled-back one never does."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mdm.id_card import ATTRIBUTES
from mdm.models import CrossReference, GoldenRecord, OutboxEvent


def outbox_emit(
    *, topic: str, golden: GoldenRecord, extra: dict[str, Any] | None = None
) -> OutboxEvent:
    """Record that `golden` changed; must run inside the writing transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_emit must run inside the change's transaction")
    members = (
        CrossReference.objects.filter(golden=golden)
        .order_by("source_record__source_system__code", "source_record__source_id")
        .values_list("source_record__source_system__code", "source_record__source_id")
    )
    payload = {
        "golden_id": golden.golden_id,
        "version": golden.version,
        "status": golden.status,
        "id_card": {name: getattr(golden, name) for name in ATTRIBUTES},
        "members": [{"system": system, "source_id": sid} for system, sid in members],
        **(extra or {}),
    }
    return OutboxEvent.objects.create(
        topic=topic, golden_id=golden.golden_id, version=golden.version, payload=payload
    )
