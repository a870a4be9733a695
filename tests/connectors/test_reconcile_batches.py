"""Reconciliation reads the linked records in batches (Kingdee
ExecuteBillQuery on FCUSTID IN (…), Salesforce sObject Collections reads):
N links cost ⌈N / batch⌉ remote calls, and drift is found and repaired as
with one read per record."""

from __future__ import annotations

import pytest

from connectors.base import Connector
from connectors.broadcast import Worker
from connectors.reconcile import links_reconcile
from mdm.models import DeliveryTarget, RemoteLink, SourceRecord, SyncConflict
from tests.connectors.delivery_helpers import LOOPBACK
from tests.connectors.sync_helpers import (
    deliver,
    erp_change,
    make_kingdee_target,
    make_salesforce_target,
)

pytestmark = pytest.mark.django_db

NAMES = [
    "北京华盛科技有限公司",
    "上海明远贸易有限公司",
    "广州天河物流有限公司",
    "深圳南山电子有限公司",
    "成都锦江餐饮管理有限公司",
]
QUERY = "ExecuteBillQuery"
VIEW = "DynamicFormService.View"
COLLECTION_READ = "/composite/sobjects/Account?"


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


def push_customers(target: DeliveryTarget) -> list[str]:
    """Five customers of the ERP, delivered: their golden IDs."""
    goldens = [erp_change(f"C{i}", FName=name).golden for i, name in enumerate(NAMES)]
    deliver()
    assert RemoteLink.objects.filter(target=target, state="linked").count() == 5
    return [golden.golden_id for golden in goldens]


def reconcile(target: DeliveryTarget, server) -> tuple[dict, list[str]]:
    """Reconcile once; returns the counts and the paths of the calls made."""
    connector = Worker().connector(target)
    before = len(server.requests)
    counts = links_reconcile(target_id=target.pk, connector=connector)
    paths = [path for _method, path in server.requests[before:]]
    connector.close()
    return dict(counts), paths


def calls(paths: list[str], part: str) -> int:
    return sum(part in path for path in paths)


def test_kingdee_links_are_read_with_one_query_per_batch(kingdee):
    target = make_kingdee_target(kingdee, read_batch_size=2)
    golden_ids = push_customers(target)

    counts, paths = reconcile(target, kingdee.server)
    assert counts == {"checked": 5, "in_sync": 5}
    assert (len(paths), calls(paths, QUERY)) == (3, 3)  # ⌈5 / 2⌉, nothing else

    kingdee.user_edit(golden_ids[1], FShortName="明远（ERP）")
    del kingdee.customers[kingdee.by_number(golden_ids[3])["FCUSTID"]]
    counts, paths = reconcile(target, kingdee.server)
    assert counts == {"checked": 5, "in_sync": 3, "inbound": 1, "missing": 1}
    assert (len(paths), calls(paths, QUERY)) == (3, 3)
    edited = SourceRecord.objects.get(
        source_system__code="erp", source_id=golden_ids[1]
    )
    assert edited.attributes["short_name"] == "明远（ERP）"
    assert RemoteLink.objects.get(golden_id=golden_ids[3]).state == "remote_deleted"
    assert SyncConflict.objects.get().golden_id == golden_ids[3]

    # The repaired links are in sync again; the deleted one is not read.
    counts, paths = reconcile(target, kingdee.server)
    assert (counts, len(paths)) == ({"checked": 4, "in_sync": 4}, 2)


def test_salesforce_links_are_read_with_one_collections_call_per_batch(org):
    target = make_salesforce_target(org, read_batch_size=2)
    golden_ids = push_customers(target)

    counts, paths = reconcile(target, org.server)
    assert counts == {"checked": 5, "in_sync": 5}
    assert calls(paths, COLLECTION_READ) == 3
    assert calls(paths, "/sobjects/Account/") == 0  # no read of one Account

    org.user_edit(golden_ids[0], Rating="Cold")
    org.delete(golden_ids[4])
    counts, paths = reconcile(target, org.server)
    assert counts == {"checked": 5, "in_sync": 3, "inbound": 1, "missing": 1}
    assert (calls(paths, COLLECTION_READ), calls(paths, "/sobjects/Account/")) == (3, 0)
    link = RemoteLink.objects.get(target=target, golden_id=golden_ids[0])
    edited = SourceRecord.objects.get(
        source_system__code="crm", source_id=link.remote_id
    )
    assert edited.attributes["customer_level"] == "Cold"
    assert RemoteLink.objects.get(golden_id=golden_ids[4]).state == "remote_deleted"


@pytest.mark.parametrize("system", ["kingdee", "salesforce"])
def test_a_batch_read_gives_the_records_single_reads_give(system, kingdee, org):
    if system == "kingdee":
        target = make_kingdee_target(kingdee)
    else:
        target = make_salesforce_target(org)
    push_customers(target)
    remote_ids = list(
        RemoteLink.objects.filter(target=target).values_list("remote_id", flat=True)
    )
    connector = Worker().connector(target)

    batch = connector.read_many([*remote_ids, "999999"])
    single = Connector.read_many(connector, [*remote_ids, "999999"])

    assert batch == single
    assert batch["999999"] is None and all(batch[r] for r in remote_ids)
    connector.close()
