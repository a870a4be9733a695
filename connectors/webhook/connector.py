"""The webhook connector: POST each change as signed JSON.

Target config: {"url": "https://…", "headers": {…}} and secret_env
{"signing_secret": "VARIABLE"} whose value holds one or more secrets
(space-separated, newest first; all of them sign during a rotation).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import httpx

from connectors.base import (
    Capabilities,
    Connector,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    TargetConfig,
)
from connectors.http import http_client, http_error, response_error
from connectors.webhook.signing import secrets_parse, signed_headers


class WebhookConnector(Connector):
    kind = "webhook"
    # One event per POST (the Standard Webhooks wire form), several in flight.
    capabilities = Capabilities(batch_size=1, concurrency=8)

    def __init__(self, target: TargetConfig) -> None:
        super().__init__(target)
        self.url = str(target.config.get("url", ""))
        if not self.url.startswith(("https://", "http://")):
            raise PermanentError(f"{target.name}: config.url must be an http(s) URL")
        self.secrets = secrets_parse(target.secrets.get("signing_secret", ""))
        if not self.secrets:
            raise PermanentError(f"{target.name}: no signing secret")
        self.extra_headers = dict(target.config.get("headers", {}))
        self.client = http_client(target)

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        body = json.dumps(message.body(), ensure_ascii=False, separators=(",", ":"))
        headers = {
            **self.extra_headers,
            "content-type": "application/json",
            "user-agent": "golden-record-webhooks/1",
            **signed_headers(
                secrets=self.secrets,
                msg_id=message.event_id,
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
        pushed = {"id_card": dict(message.payload.get("id_card", {}))}
        return [LinkUpdate(golden_id=message.golden_id, pushed=pushed)]

    def close(self) -> None:
        self.client.close()
