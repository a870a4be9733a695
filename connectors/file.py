"""The file connector: append each change as one JSON line to a file.

For demos and for feeding tools that tail a log. Config: {"path": "…"}
(relative paths are under the var/ directory). Appends are at-least-once:
a line may repeat after a crash; its "id" tells duplicates apart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from connectors.base import (
    Capabilities,
    Connector,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    RetryableError,
    TargetConfig,
)


class FileConnector(Connector):
    kind = "file"
    capabilities = Capabilities(batch_size=100)

    def __init__(self, target: TargetConfig) -> None:
        super().__init__(target)
        path = str(target.config.get("path", ""))
        if not path:
            raise PermanentError(f"{target.name}: config.path is required")
        self.path = Path(path) if os.path.isabs(path) else settings.VAR_DIR / path

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        return self.deliver_many([message])[0]

    def deliver_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[Sequence[LinkUpdate]]:
        lines = "".join(
            json.dumps(m.body(), ensure_ascii=False, separators=(",", ":")) + "\n"
            for m in messages
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of the whole batch on an O_APPEND descriptor: lines
            # of concurrent workers never interleave.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, lines.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise RetryableError(f"cannot append to {self.path}: {exc}") from exc
        return [
            [LinkUpdate(golden_id=m.golden_id, pushed={"version": m.version})]
            for m in messages
        ]
