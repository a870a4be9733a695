"""The webhook connector: POST each change as signed JSON.

Target config: {"url": "https://…", "headers": {…}, "batch_size": 1} and
secret_env {"signing_secret": "VARIABLE"} whose value holds one or more
secrets (space-separated, newest first; all of them sign during a rotation).

With "batch_size" above 1 (at most MAX_BATCH), up to that many changes go in
one signed POST, `{"type": "batch", "messages": [...]}`, each message as it
would be sent alone; the receiver deduplicates on each message's `id` (the
reference receiver, connectors/webhook/receiver.py, does). The batch's
`webhook-id` is derived from its messages' IDs, so a re-sent batch carries
the same one. A batch succeeds or fails as a whole.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

import httpx

from connectors.base import (
    Capabilities,
    Connector,
    ConnectorError,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    TargetConfig,
)
from connectors.http import http_client, http_error, response_error
from connectors.webhook.signing import secrets_parse, signed_headers

MAX_BATCH = 500


class WebhookConnector(Connector):
    kind = "webhook"
    # By default one event per POST (the Standard Webhooks wire form),
    # several in flight; config "batch_size" sends batches instead.
    capabilities = Capabilities(batch_size=1, concurrency=8)

    def __init__(self, target: TargetConfig) -> None:
        super().__init__(target)
        batch = target.config.get("batch_size", 1)
        if not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
            raise PermanentError(
                f"{target.name}: config.batch_size must be 1 to {MAX_BATCH}"
            )
        if batch > 1:
            self.capabilities = Capabilities(batch_size=batch)
        self.url = str(target.config.get("url", ""))
        if not self.url.startswith(("https://", "http://")):
            raise PermanentError(f"{target.name}: config.url must be an http(s) URL")
        self.secrets = secrets_parse(target.secrets.get("signing_secret", ""))
        if not self.secrets:
            raise PermanentError(f"{target.name}: no signing secret")
        self.extra_headers = dict(target.config.get("headers", {}))
        self.client = http_client(target)

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        self._post(message.body(), msg_id=message.event_id)
        return [_pushed(message)]

    def deliver_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[Sequence[LinkUpdate] | ConnectorError]:
        ids = "\n".join(message.event_id for message in messages)
        self._post(
            {"type": "batch", "messages": [message.body() for message in messages]},
            msg_id="batch_" + hashlib.sha256(ids.encode()).hexdigest()[:32],
        )
        return [[_pushed(message)] for message in messages]

    def _post(self, content: dict, *, msg_id: str) -> None:
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        headers = {
            **self.extra_headers,
            "content-type": "application/json",
            "user-agent": "golden-record-webhooks/1",
            **signed_headers(
                secrets=self.secrets,
                msg_id=msg_id,
                timestamp=int(time.time()),
                body=body,
            ),
        }
        try:
            response = self.client.post(
                self.url, content=body.encode("utf-8"), headers=headers
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise http_error(exc) from exc
        if not 200 <= response.status_code < 300:
            raise response_error(response)

    def close(self) -> None:
        self.client.close()


def _pushed(message: OutboundMessage) -> LinkUpdate:
    pushed = {"id_card": dict(message.payload.get("id_card", {}))}
    return LinkUpdate(golden_id=message.golden_id, pushed=pushed)
