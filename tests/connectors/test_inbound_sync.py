"""Changes made in the target come in: polling with a durable cursor (echoes
of our own writes ignored), signed webhooks, and reconciliation."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connectors.broadcast import Worker
from connectors.inbound import inbound_sync_target
from connectors.reconcile import links_reconcile
from connectors.webhook.signing import secret_generate, signed_headers
from connectors.webhooks_in import KEEP_IDS
from mdm.models import (
    DeliveryTarget,
    InboundWebhook,
    RemoteLink,
    SourceRecord,
    SyncConflict,
)
from tests.connectors.delivery_helpers import LOOPBACK
from tests.connectors.sync_helpers import (
    deliver,
    erp_change,
    make_kingdee_target,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


@pytest.fixture
def pushed(kingdee):
    """A target holding one customer we pushed: (target, golden ID)."""
    target = make_kingdee_target(kingdee)
    golden = erp_change("C1", FShortName="华盛科技").golden
    deliver()
    return target, golden.golden_id


def poll(target):
    # A new worker each time: nothing survives but the database (a restart).
    return inbound_sync_target(
        target_id=target.pk, connector=Worker().connector(target)
    )


def inbound_record(source_id):
    return SourceRecord.objects.filter(
        source_system__code="erp", source_id=source_id
    ).first()


def test_polling_ignores_our_echo_and_applies_a_remote_edit_once(kingdee, pushed):
    target, golden_id = pushed
    assert poll(target)["echo"] == 1
    assert inbound_record(golden_id) is None

    kingdee.user_edit(golden_id, FShortName="华盛（ERP）")
    counts = poll(target)
    assert (counts["applied"], counts["echo"]) == (1, 0)
    record = inbound_record(golden_id)
    assert record.attributes["short_name"] == "华盛（ERP）"
    assert record.xref.golden.golden_id == golden_id

    cursor = DeliveryTarget.objects.get(pk=target.pk).inbound_cursor
    assert cursor and poll(target)["applied"] == 0
    assert DeliveryTarget.objects.get(pk=target.pk).inbound_cursor == cursor


def test_a_customer_keyed_in_the_erp_is_ingested_and_matched(kingdee, pushed):
    target, _golden_id = pushed
    poll(target)
    kingdee.user_create("CUST-0009", "上海新客户贸易有限公司")
    assert poll(target)["applied"] == 1
    assert inbound_record("CUST-0009").attributes["legal_name"] == (
        "上海新客户贸易有限公司"
    )


def test_the_sync_inbound_command_polls_once(kingdee, pushed, capsys):
    target, _ = pushed
    call_command("sync_inbound", target=[target.name])
    assert f"{target.name}: echo 1, pages 1" in capsys.readouterr().out


def test_reconciliation_brings_in_drift_and_finds_deletions(kingdee, pushed):
    target, golden_id = pushed
    connector = Worker().connector(target)
    assert links_reconcile(target_id=target.pk, connector=connector) == {
        "checked": 1,
        "in_sync": 1,
    }
    kingdee.user_edit(golden_id, FShortName="华盛（ERP）")
    assert links_reconcile(target_id=target.pk, connector=connector)["inbound"] == 1
    assert inbound_record(golden_id).attributes["short_name"] == "华盛（ERP）"
    deliver()  # survivorship's answer goes out; the link is in sync again
    assert links_reconcile(target_id=target.pk, connector=connector)["in_sync"] == 1

    kingdee.customers.clear()
    assert links_reconcile(target_id=target.pk, connector=connector)["missing"] == 1
    assert SyncConflict.objects.get().kind == "remote_deleted"
    assert RemoteLink.objects.get(target=target).state == "remote_deleted"


def test_reconciliation_repushes_what_the_target_lost(kingdee, pushed):
    target, golden_id = pushed
    # As if a push of an older name had been applied and ours then lost.
    kingdee.user_edit(golden_id, FName="旧名称")
    link = RemoteLink.objects.get(target=target)
    link.pushed = {**link.pushed, "FName": "旧名称"}
    link.save()
    connector = Worker().connector(target)
    assert links_reconcile(target_id=target.pk, connector=connector)["requeued"] == 1
    deliver()
    assert kingdee.by_number(golden_id)["FName"] == "北京华盛科技有限公司"


# Webhooks


@pytest.fixture
def hooked(pushed):
    target, golden_id = pushed
    secret = secret_generate()
    os.environ[f"TEST_INBOUND_{target.pk}"] = secret
    target.secret_env = {
        **target.secret_env,
        "inbound_secret": f"TEST_INBOUND_{target.pk}",
    }
    target.save()
    return target, golden_id, secret


def post_webhook(client, target, remote_id, *, secret, msg_id="msg_1", age=0):
    body = json.dumps({"type": "customer.changed", "data": {"id": remote_id}})
    headers = signed_headers(
        secrets=[secret], msg_id=msg_id, timestamp=int(time.time()) - age, body=body
    )
    return client.post(
        reverse("inbound_webhook", args=[target.name]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_a_signed_webhook_rereads_and_applies_the_record(client, kingdee, hooked):
    target, golden_id, secret = hooked
    remote_id = RemoteLink.objects.get(target=target).remote_id
    response = post_webhook(client, target, remote_id, secret=secret, msg_id="m0")
    assert (response.status_code, response.json()) == (200, {"outcome": "echo"})

    kingdee.user_edit(golden_id, FShortName="华盛（ERP）")
    response = post_webhook(client, target, remote_id, secret=secret)
    assert (response.status_code, response.json()) == (200, {"outcome": "applied"})
    assert inbound_record(golden_id).attributes["short_name"] == "华盛（ERP）"


def test_bad_stale_and_replayed_webhooks_are_refused(client, kingdee, hooked):
    target, _golden_id, secret = hooked
    remote_id = RemoteLink.objects.get(target=target).remote_id
    assert (
        post_webhook(client, target, remote_id, secret=secret_generate()).status_code
        == 401
    )
    stale = post_webhook(client, target, remote_id, secret=secret, age=301)
    assert stale.status_code == 401
    assert post_webhook(client, target, remote_id, secret=secret).status_code == 200
    replay = post_webhook(client, target, remote_id, secret=secret)
    assert replay.status_code == 409
    assert (
        post_webhook(client, target, "", secret=secret, msg_id="m9").status_code == 400
    )


def test_a_target_without_an_inbound_secret_takes_no_webhooks(client, kingdee, pushed):
    target, _ = pushed
    response = post_webhook(client, target, "1", secret=secret_generate())
    assert response.status_code == 404


def test_received_webhook_ids_are_kept_only_while_a_replay_could_pass(
    client, kingdee, hooked
):
    target, _golden_id, secret = hooked
    remote_id = RemoteLink.objects.get(target=target).remote_id
    old = InboundWebhook.objects.create(
        target=target,
        webhook_id="msg_old",
        received_at=timezone.now() - KEEP_IDS - timedelta(seconds=1),
    )
    recent = InboundWebhook.objects.create(target=target, webhook_id="msg_recent")
    assert post_webhook(client, target, remote_id, secret=secret).status_code == 200
    kept = set(InboundWebhook.objects.values_list("webhook_id", flat=True))
    assert kept == {recent.webhook_id, "msg_1"} and old.webhook_id not in kept
