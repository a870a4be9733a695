"""Builders for the conflict and inbound-sync tests: a Kingdee K/3 Cloud
target (the loopback fake) feeding the "erp" source system, a Salesforce
one feeding "crm"."""

from __future__ import annotations

import base64
import os
from itertools import count

from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, DeliveryTarget
from mdm.services.ingestion import record_ingest
from tests.builders import make_system
from tests.connectors.fake_kingdee import FakeKingdee
from tests.connectors.fake_salesforce import FakeSalesforce

APP_ID = "229973_" + base64.b64encode(b"golden-record-client-key").decode()
APP_SECRET = "f582a31a838c4c6bae98a1747eba15aa"
_serial = count(1)


def start_kingdee() -> FakeKingdee:
    return FakeKingdee(
        acct_id="62f3c9b0acct", username="mdm", app_id=APP_ID, app_secret=APP_SECRET
    ).start()


def make_kingdee_target(fake: FakeKingdee, **config) -> DeliveryTarget:
    serial = next(_serial)
    variable = f"TEST_KINGDEE_SECRET_{serial}"
    os.environ[variable] = APP_SECRET
    return DeliveryTarget.objects.create(
        name=f"kingdee-{serial}",
        kind="kingdee",
        config={
            "server_url": fake.url,
            "acct_id": "62f3c9b0acct",
            "username": "mdm",
            "app_id": APP_ID,
            "org_number": "100",
            "audit": False,
            **config,
        },
        secret_env={"app_secret": variable},
        source_system=make_system("erp"),
        timeout_seconds=2.0,
        backoff_base_seconds=0.0,
        breaker_threshold=1000,
    )


def start_salesforce() -> FakeSalesforce:
    return FakeSalesforce(
        client_id="3MVG9-golden", client_secret="s3cret", refresh_token="r"
    ).start()


def make_salesforce_target(fake: FakeSalesforce, **config) -> DeliveryTarget:
    serial = next(_serial)
    secret, token = f"TEST_SF_SECRET_{serial}", f"TEST_SF_TOKEN_{serial}"
    os.environ[secret], os.environ[token] = "s3cret", "r"
    return DeliveryTarget.objects.create(
        name=f"salesforce-{serial}",
        kind="salesforce",
        config={"login_url": fake.url, "client_id": "3MVG9-golden", **config},
        secret_env={"client_secret": secret, "refresh_token": token},
        source_system=make_system("crm"),
        timeout_seconds=2.0,
        backoff_base_seconds=0.0,
        breaker_threshold=1000,
    )


def erp_change(source_id: str, **fields):
    """An ERP REST push of customer `source_id` (a new golden version)."""
    payload = {"FNumber": source_id, "FName": "北京华盛科技有限公司", **fields}
    return record_ingest(
        system=make_system("erp"), source_id=source_id, payload=payload
    )


def deliver(worker: Worker | None = None) -> None:
    """Run passes until nothing is due (no sleeping: backoff is 0)."""
    worker = worker or Worker()
    for _ in range(20):
        if not broadcast_run_once(worker=worker):
            return
    raise AssertionError("deliveries still due after 20 passes")


def states(target: DeliveryTarget) -> list[tuple[int, str]]:
    return list(
        Delivery.objects.filter(target=target)
        .order_by("id")
        .values_list("version", "state")
    )
