"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A message is signed with HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.
{body}" and sent as `webhook-signature: v1,<base64>`. During a secret
rotation both secrets sign (space-separated signatures), so receivers that
know either one accept the message. The HMAC itself comes from the
`standardwebhooks` package (the scheme's reference implementation).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets as _random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The webhook is not authentic or not fresh: refuse it (HTTP 400/401)."""


def secret_generate() -> str:
    """A new signing secret in the scheme's format ("whsec_" + base64)."""
    return "whsec_" + base64.b64encode(_random.token_bytes(32)).decode()


def secrets_parse(value: str) -> list[str]:
    """Secrets from one setting: space- or comma-separated, newest first."""
    return [part for part in value.replace(",", " ").split() if part]


def sign(*, secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header value: one v1 signature per secret."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body)
        for secret in secrets
    )


def signed_headers(
    *, secrets: Sequence[str], msg_id: str, timestamp: int, body: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }


def verify(
    *, secrets: Sequence[str], headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """Check a received webhook and return its parsed JSON body.

    Refuses (SignatureError) a missing header, a timestamp more than 300 s
    from now either way, a body or id changed by even one byte, and a
    signature made with none of `secrets` (pass old and new during a
    rotation). Deduplicating replays of the same webhook-id is the
    receiver's job: see `connectors.webhook.receiver`.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignatureError("body is not UTF-8") from exc
    last = "no secret configured"
    for secret in secrets:
        try:
            return Webhook(secret).verify(text, dict(headers))
        except WebhookVerificationError as exc:
            last = str(exc)
        except (ValueError, binascii.Error, json.JSONDecodeError) as exc:
            # A malformed signature list or a body that is not JSON.
            last = f"malformed: {exc}"
    raise SignatureError(last)
