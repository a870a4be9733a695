"""A reference webhook receiver: what a system receiving our webhooks must
do, runnable (the delivery tests use it behind a loopback HTTP server).

1. verify the signature and timestamp (`signing.verify`), else 401;
2. deduplicate on the message id (webhook-id; in a batch,
   `{"type": "batch", "messages": [...]}`, each message's own `id`): a
   retry or replay of an id already processed is acknowledged (2xx) and
   not applied again;
3. apply a golden ID's snapshot only if its version is newer than the one
   held (deliveries are ordered per golden ID, but a receiver that also
   gets replays should not go back in time), then acknowledge.

Only step 3 must be atomic with recording the id in a real receiver (one
database transaction); here one lock plays that part.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.webhook.signing import SignatureError, verify


@dataclass
class ReceiverState:
    seen_ids: set[str] = field(default_factory=set)
    # golden ID -> (version, id_card) last applied
    records: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # golden ID -> versions in the order they were applied
    applied: dict[str, list[int]] = field(default_factory=dict)
    # golden ID -> versions of every new (not duplicate) message, in the
    # order they arrived: in-order delivery keeps this strictly increasing
    arrivals: dict[str, list[int]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    duplicates: int = 0
    stale: int = 0


class ReferenceReceiver:
    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = list(secrets)
        self.state = ReceiverState()
        self._lock = threading.Lock()

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """(HTTP status, reason) for one POST."""
        try:
            message = verify(secrets=self.secrets, headers=headers, body=body)
        except SignatureError as exc:
            return 401, str(exc)
        if message.get("type") == "batch":
            with self._lock:
                outcomes = [self._once(m["id"], m) for m in message["messages"]]
            return 200, ",".join(outcomes)
        msg_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:
            return 200, self._once(msg_id, message)

    def _once(self, msg_id: str, message: dict[str, Any]) -> str:
        if msg_id in self.state.seen_ids:
            self.state.duplicates += 1
            return "duplicate"
        self.state.seen_ids.add(msg_id)
        return self._apply(message)

    def _apply(self, message: dict[str, Any]) -> str:
        golden_id, version = message["golden_id"], int(message["version"])
        data = message.get("data", {})
        self.state.redirects.update(data.get("redirects", {}))
        self.state.arrivals.setdefault(golden_id, []).append(version)
        held = self.state.records.get(golden_id)
        if held is not None and held[0] >= version:
            self.state.stale += 1
            return "stale"
        self.state.records[golden_id] = (version, data.get("id_card", {}))
        self.state.applied.setdefault(golden_id, []).append(version)
        return "applied"
