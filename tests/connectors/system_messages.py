"""Outbound messages and targets for the Tryton, Kingdee and Salesforce
connector tests (tiny builders, as in tests/builders.py)."""

from __future__ import annotations

import itertools
from typing import Any

from connectors.base import LinkRecord, LinkUpdate, OutboundMessage, TargetConfig

_events = itertools.count(1)


def make_id_card(**overrides: Any) -> dict[str, Any]:
    card = {
        "legal_name": "北京华盛科技有限公司",
        "short_name": "华盛科技",
        "english_name": "Beijing Huasheng Technology Co., Ltd.",
        "uscc": "91110108MA01KPGK0L",
        "industry": "信息技术",
        "customer_level": "A",
        "phones": ["+8613800138000", "+861065521234"],
        "emails": ["sales@huasheng.com.cn"],
        "addresses": [
            {
                "province": "北京",
                "city": "北京",
                "district": "朝阳区",
                "detail": "建国路88号",
            }
        ],
        "contacts": [{"name": "王总", "title": "总经理", "phone": "", "email": ""}],
    }
    card.update(overrides)
    return card


def make_message(
    golden_id: str = "GR0000000013",
    *,
    version: int = 1,
    topic: str = "golden.updated",
    status: str = "active",
    id_card: dict[str, Any] | None = None,
    members: list[dict[str, str]] | None = None,
    absorbed: list[str] | None = None,
    links: dict[str, LinkRecord] | None = None,
) -> OutboundMessage:
    payload: dict[str, Any] = {
        "golden_id": golden_id,
        "version": version,
        "status": status,
        "id_card": id_card if id_card is not None else make_id_card(),
        "members": members or [],
    }
    if absorbed:
        payload["absorbed"] = absorbed
    return OutboundMessage(
        event_id=f"evt-{next(_events)}",
        topic=topic,
        golden_id=golden_id,
        version=version,
        payload=payload,
        occurred_at="2026-01-05T08:00:00+00:00",
        links=links or {},
    )


def link_from(update: LinkUpdate, target: str) -> LinkRecord:
    """The link row the worker would store after `update`."""
    return LinkRecord(
        golden_id=update.golden_id,
        target=target,
        remote_id=update.remote_id,
        remote_version=update.remote_version,
        pushed=update.pushed,
        state=update.state,
    )


def again(
    message: OutboundMessage, update: LinkUpdate, target: str, **changes: Any
) -> OutboundMessage:
    """The next message for the same golden record, linked by `update`."""
    card = {**message.payload["id_card"], **changes.pop("id_card", {})}
    links = {message.golden_id: link_from(update, target), **changes.pop("links", {})}
    return make_message(
        message.golden_id,
        version=message.version + 1,
        id_card=card,
        members=message.payload.get("members"),
        links=links,
        **changes,
    )


def loopback_target(
    name: str,
    kind: str,
    config: dict[str, Any],
    secrets: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> TargetConfig:
    return TargetConfig(
        name=name,
        kind=kind,
        config=config,
        secrets=secrets or {},
        timeout=timeout,
        allowed_networks=("127.0.0.0/8",),
    )
