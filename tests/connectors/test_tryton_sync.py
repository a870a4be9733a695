"""A Tryton target end to end against a real trytond (a fresh server per
test: party codes are golden IDs, which a rolled-back test database issues
again): a party edited in Tryton comes back through polling as an update of
the target's source system, and reconciliation reads parties in batches."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip(
    "trytond.modules.party",
    reason="trytond and trytond-party are not installed (pip install -e '.[dev]')",
)

from django.core.management import call_command  # noqa: E402

from connectors.broadcast import Worker  # noqa: E402
from connectors.reconcile import links_reconcile  # noqa: E402
from mdm.models import (  # noqa: E402
    DeliveryTarget,
    RemoteLink,
    SourceRecord,
    SourceSystem,
    SyncConflict,
)
from tests.connectors.delivery_helpers import LOOPBACK  # noqa: E402
from tests.connectors.sync_helpers import deliver, erp_change  # noqa: E402
from tests.connectors.tryton_server import start_tryton  # noqa: E402

pytestmark = pytest.mark.django_db

PARTY = "party.party"
NAMES = [
    "北京华盛科技有限公司",
    "上海明远贸易有限公司",
    "广州天河物流有限公司",
    "深圳南山电子有限公司",
    "成都锦江餐饮管理有限公司",
]


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


@pytest.fixture
def tryton(request, tmp_path_factory):
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    root = cache.mkdir("golden-record") if cache else tmp_path_factory.mktemp("cache")
    server, stop = start_tryton(root, tmp_path_factory.mktemp("trytond"))
    yield server
    stop()


def make_tryton_target(tryton, **config) -> DeliveryTarget:
    os.environ["TEST_TRYTON_PASSWORD"] = tryton.password
    system = SourceSystem.objects.create(
        code="tryton", name="Tryton", kind="erp", mapping_preset="tryton_party"
    )
    return DeliveryTarget.objects.create(
        name="tryton",
        kind="tryton",
        config={
            "url": tryton.url,
            "database": tryton.database,
            "username": tryton.username,
            **config,
        },
        secret_env={"password": "TEST_TRYTON_PASSWORD"},
        source_system=system,
        timeout_seconds=30.0,
        backoff_base_seconds=0.0,
        breaker_threshold=1000,
    )


def party_of(client, golden_id: str) -> dict:
    [party] = client.search_read(
        PARTY,
        [["code", "=", golden_id]],
        ["id", "addresses", "identifiers"],
        context={"active_test": False},
    )
    return party


def test_a_party_edited_in_tryton_comes_back_as_an_update_of_its_source(tryton):
    target = make_tryton_target(tryton)
    golden = erp_change(
        "C1",
        FTEL="+8613800138000",
        FTaxRegisterCode="91110108MA01KPGK0L",
        FProvince="北京",
        FCity="北京",
        FAddress="朝阳区建国路88号",
    ).golden
    deliver()
    call_command("sync_inbound", target=["tryton"])  # our own create: an echo
    assert not SourceRecord.objects.filter(source_system__code="tryton").exists()

    # An ERP user edits the party in Tryton.
    client = Worker().connector(target).client
    party = party_of(client, golden.golden_id)
    client.write(
        PARTY,
        [party["id"]],
        {
            "name": "北京华盛科技股份有限公司",
            "contact_mechanisms": [
                ["create", [{"type": "phone", "value": "+862164001234"}]]
            ],
            "addresses": [
                [
                    "write",
                    party["addresses"][:1],
                    {"street_unstructured": "海淀区中关村大街1号", "city": "北京市"},
                ]
            ],
            "identifiers": [
                ["write", party["identifiers"][:1], {"code": "91310115MA1K4ABC05"}]
            ],
        },
        {},
    )
    call_command("sync_inbound", target=["tryton"])

    record = SourceRecord.objects.get(
        source_system__code="tryton", source_id=golden.golden_id
    )
    attributes = record.attributes
    assert attributes["legal_name"] == "北京华盛科技股份有限公司"
    assert attributes["uscc"] == "91310115MA1K4ABC05"
    assert sorted(attributes["phones"]) == ["+8613800138000", "+862164001234"]
    address = attributes["addresses"][0]
    assert (address["city"], address["detail"]) == ("北京市", "海淀区中关村大街1号")
    assert record.xref.golden.golden_id == golden.golden_id
    # Polled again: nothing new.
    call_command("sync_inbound", target=["tryton"])
    assert SourceRecord.objects.filter(source_system__code="tryton").count() == 1


def test_reconciliation_reads_parties_in_batches(tryton):
    target = make_tryton_target(tryton, read_batch_size=2)
    goldens = [erp_change(f"C{i}", FName=name).golden for i, name in enumerate(NAMES)]
    deliver()
    assert RemoteLink.objects.filter(target=target, state="linked").count() == 5
    connector = Worker().connector(target)
    methods: list[str] = []
    connector.client.http.event_hooks["request"].append(
        lambda request: methods.append(json.loads(request.content)["method"])
    )

    def reconcile():
        methods.clear()
        counts = links_reconcile(target_id=target.pk, connector=connector)
        return dict(counts), [m for m in methods if m.startswith("model.")]

    counts, calls = reconcile()
    assert counts == {"checked": 5, "in_sync": 5}
    assert calls == [f"model.{PARTY}.search_read"] * 3  # ⌈5 / 2⌉

    client = connector.client
    client.write(
        PARTY, [party_of(client, goldens[2].golden_id)["id"]], {"name": "天河物流"}, {}
    )
    client.call(
        f"model.{PARTY}.delete", [party_of(client, goldens[4].golden_id)["id"]], {}
    )
    counts, calls = reconcile()
    assert counts == {"checked": 5, "in_sync": 3, "inbound": 1, "missing": 1}
    assert calls == [f"model.{PARTY}.search_read"] * 3
    edited = SourceRecord.objects.get(
        source_system__code="tryton", source_id=goldens[2].golden_id
    )
    assert edited.attributes["legal_name"] == "天河物流"
    assert SyncConflict.objects.get().golden_id == goldens[4].golden_id
    connector.close()
