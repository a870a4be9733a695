"""Webhooks from a target: "record X changed", signed the Standard Webhooks
way, verified, de-duplicated, and then the record is read again from the
target (never trusted from the body) and applied like a polled change.

The body names the remote record: {"type": "…", "data": {"id": "<remote
ID>"}}. The secret is the target's `inbound_secret` (secret_env names the
variable; several secrets, space-separated, during a rotation).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base import Connector
from connectors.inbound import remote_change_apply
from connectors.webhook.signing import (
    TOLERANCE_SECONDS,
    SignatureError,
    secrets_parse,
    verify,
)
from mdm.env import env_secret
from mdm.models import DeliveryTarget, InboundWebhook

SECRET = "inbound_secret"
# Received webhook IDs are kept this long: twice the signature tolerance.
KEEP_IDS = timedelta(seconds=2 * TOLERANCE_SECONDS)


class WebhookRefused(Exception):
    """The webhook cannot be accepted; `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def inbound_webhook_verify(
    *, target: DeliveryTarget, headers: Mapping[str, str], body: bytes
) -> tuple[str, str]:
    """(webhook ID, remote ID) of an authentic, fresh, unseen webhook, else
    WebhookRefused: 401 bad signature or stale timestamp (over 5 minutes),
    409 a webhook ID already applied, 400 a body naming no record."""
    variable = (target.secret_env or {}).get(SECRET, "")
    secrets = secrets_parse(env_secret(variable) or "") if variable else []
    if not secrets:
        raise WebhookRefused("this target accepts no webhooks", status=404)
    try:
        message = verify(secrets=secrets, headers=headers, body=body)
    except SignatureError as exc:
        raise WebhookRefused(f"signature refused: {exc}", status=401) from exc
    webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
    if InboundWebhook.objects.filter(target=target, webhook_id=webhook_id).exists():
        raise WebhookRefused("this webhook ID was received already", status=409)
    remote_id = (
        (message.get("data") or {}).get("id") if isinstance(message, dict) else None
    )
    if not remote_id:
        raise WebhookRefused("data.id (the remote record) is missing", status=400)
    return webhook_id, str(remote_id)


def inbound_webhook_apply(
    *, target: DeliveryTarget, webhook_id: str, remote_id: str, connector: Connector
) -> str:
    """Read the record again and apply it; the webhook ID is stored in the
    same transaction, so a replay (even a concurrent one) is refused and a
    failed read can be retried by the sender with the same ID."""
    record = connector.read(remote_id)
    try:
        with transaction.atomic():
            InboundWebhook.objects.create(target=target, webhook_id=webhook_id)
            # An ID older than the signature's time tolerance cannot come
            # back (its timestamp would be refused as stale): forget it.
            InboundWebhook.objects.filter(
                target=target, received_at__lt=timezone.now() - KEEP_IDS
            ).delete()
            if record is None:
                return "gone"
            return remote_change_apply(
                target=target, record=record, source_id=connector.source_id(record)
            )
    except IntegrityError as exc:
        raise WebhookRefused(
            "this webhook ID was received already", status=409
        ) from exc
