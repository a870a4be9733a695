"""Conflicts met by the delivery worker: merged three ways, or a steward
task (changed on both sides, deleted in the target). Kingdee loopback fake."""

from __future__ import annotations

import pytest

from connectors.broadcast import Worker, broadcast_run_once
from connectors.erp.kingdee.mapping import default_mapping
from mdm.models import AuditEvent, RemoteLink, SourceRecord, SyncConflict
from mdm.services.sync_conflicts import (
    sync_conflict_decide,
    sync_conflict_recreate,
    sync_conflict_unlink,
)
from tests.connectors.delivery_helpers import LOOPBACK
from tests.connectors.sync_helpers import (
    deliver,
    erp_change,
    make_kingdee_target,
    states,
)
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


def steward_owned(field: str) -> list[dict]:
    rules = default_mapping("100").to_data()
    for rule in rules:
        if rule["target"] == field:
            rule["ownership"] = "steward"
    return rules


def first_push(kingdee, **config):
    target = make_kingdee_target(kingdee, **config)
    golden = erp_change("C1", FShortName="华盛科技").golden
    deliver()
    return target, golden, kingdee.by_number(golden.golden_id)


def test_their_edit_is_kept_and_ours_pushed_after_a_merge(kingdee):
    target, golden, _customer = first_push(kingdee)
    kingdee.user_edit(golden.golden_id, FShortName="华盛（ERP）")
    erp_change("C1", FName="北京华盛科技股份有限公司", FShortName="华盛科技")

    broadcast_run_once(worker=Worker())  # only the delivery due now

    customer = kingdee.by_number(golden.golden_id)
    assert customer["FName"] == "北京华盛科技股份有限公司"  # ours pushed
    assert customer["FShortName"] == "华盛（ERP）"  # theirs kept
    assert states(target)[:2] == [(1, "delivered"), (2, "delivered")]
    link = RemoteLink.objects.get(target=target, golden_id=golden.golden_id)
    assert (link.state, link.remote_version) == ("linked", customer["FModifyDate"])
    # Their edit came in as the ERP's source record of this customer, and
    # survivorship has the last word: the target ends with the golden value.
    inbound = SourceRecord.objects.get(
        source_system__code="erp", source_id=golden.golden_id
    )
    assert inbound.xref.golden.golden_id == golden.golden_id
    assert inbound.attributes["short_name"] == "华盛（ERP）"
    deliver()
    golden.refresh_from_db()
    assert kingdee.by_number(golden.golden_id)["FShortName"] == golden.short_name
    assert not SyncConflict.objects.exists()


def test_both_sides_changing_a_steward_field_opens_a_task(kingdee):
    target, golden, _ = first_push(kingdee, mapping=steward_owned("FName"))
    kingdee.user_edit(golden.golden_id, FName="华盛科技（ERP 改名）")
    erp_change("C1", FName="北京华盛科技股份有限公司")

    deliver()

    conflict = SyncConflict.objects.get()
    assert (conflict.kind, conflict.state, conflict.golden_id) == (
        "conflict",
        "open",
        golden.golden_id,
    )
    assert conflict.fields["FName"] == {
        "base": "北京华盛科技有限公司",
        "ours": "北京华盛科技股份有限公司",
        "theirs": "华盛科技（ERP 改名）",
    }
    assert states(target)[-1] == (2, "conflict")
    assert RemoteLink.objects.get(target=target).state == "conflict"
    assert kingdee.by_number(golden.golden_id)["FName"] == "华盛科技（ERP 改名）"

    sync_conflict_decide(
        conflict=conflict, user=make_steward(), choices={"FName": "ours"}
    )
    deliver()

    assert kingdee.by_number(golden.golden_id)["FName"] == "北京华盛科技股份有限公司"
    assert states(target)[-1] == (2, "delivered")
    conflict.refresh_from_db()
    assert (conflict.state, conflict.resolution) == ("resolved", "merged")
    assert AuditEvent.objects.filter(
        action="sync_conflict.resolve", object_ref=str(conflict.pk)
    ).exists()


def test_accepting_theirs_keeps_their_value_and_pins_it(kingdee):
    target, golden, _ = first_push(kingdee, mapping=steward_owned("FName"))
    kingdee.user_edit(golden.golden_id, FName="华盛科技（ERP 改名）")
    erp_change("C1", FName="北京华盛科技股份有限公司")
    deliver()

    sync_conflict_decide(
        conflict=SyncConflict.objects.get(),
        user=make_steward(),
        choices={"FName": "theirs"},
    )
    broadcast_run_once(worker=Worker())

    assert kingdee.by_number(golden.golden_id)["FName"] == "华盛科技（ERP 改名）"
    # Their value is pinned on the golden record (tests/connectors/
    # test_sync_conflict_pins.py): the pin's version supersedes the parked one.
    golden.refresh_from_db()
    assert golden.legal_name == "华盛科技（ERP 改名）"
    assert states(target)[1:] == [(2, "superseded"), (3, "delivered")]


def test_a_remote_deletion_opens_a_task_and_is_never_recreated_silently(kingdee):
    target, golden, _ = first_push(kingdee)
    kingdee.customers.clear()
    erp_change("C1", FName="北京华盛科技股份有限公司")
    deliver()
    erp_change("C1", FName="北京华盛科技集团有限公司")
    deliver()

    conflict = SyncConflict.objects.get()
    assert (conflict.kind, conflict.state) == ("remote_deleted", "open")
    assert kingdee.customers == {}
    assert [s for _v, s in states(target)] == ["delivered", "conflict", "conflict"]
    assert RemoteLink.objects.get(target=target).state == "remote_deleted"

    sync_conflict_recreate(conflict=conflict, user=make_steward())
    deliver()

    customer = kingdee.by_number(golden.golden_id)
    assert customer["FName"] == "北京华盛科技集团有限公司"
    link = RemoteLink.objects.get(target=target)
    assert (link.state, link.remote_id) == ("linked", str(customer["FCUSTID"]))


def test_unlink_forgets_the_link_and_queues_nothing(kingdee):
    target, golden, _ = first_push(kingdee)
    kingdee.customers.clear()
    erp_change("C1", FName="北京华盛科技股份有限公司")
    deliver()

    sync_conflict_unlink(conflict=SyncConflict.objects.get(), user=make_steward())
    deliver()

    assert not RemoteLink.objects.filter(target=target).exists()
    assert kingdee.customers == {}
    assert SyncConflict.objects.get().resolution == "unlinked"
