"""A steward who accepts the target's value in a sync conflict has decided
the golden value: it is pinned and beats more trusted sources from then on.
Salesforce loopback fake feeding the "crm" source system, whose names the
"erp" system outranks (legal_name trust 0.9 against 0.5)."""

from __future__ import annotations

import pytest

from connectors.crm.salesforce.mapping import default_mapping
from mdm.models import AuditEvent, GoldenRecord, SyncConflict
from mdm.services.golden_records import golden_record_recompute
from mdm.services.sync_conflicts import sync_conflict_decide
from tests.connectors.delivery_helpers import LOOPBACK
from tests.connectors.sync_helpers import (
    deliver,
    erp_change,
    make_salesforce_target,
    states,
)
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db

THEIRS = "华盛科技（销售改名）有限公司"


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


def steward_owned_name() -> list[dict]:
    rules = default_mapping("Golden_ID__c").to_data()
    for rule in rules:
        if rule["target"] == "Name":
            rule["ownership"] = "steward"
    return rules


@pytest.fixture
def conflict(org):
    """Name renamed in the CRM and by the ERP since our last push."""
    target = make_salesforce_target(org, mapping=steward_owned_name())
    golden = erp_change("C1").golden
    deliver()
    org.user_edit(golden.golden_id, Name=THEIRS)
    erp_change("C1", FName="北京华盛科技股份有限公司")
    deliver()
    assert states(target)[-1] == (2, "conflict")
    return SyncConflict.objects.get(golden_id=golden.golden_id)


def golden_of(conflict) -> GoldenRecord:
    return GoldenRecord.objects.get(golden_id=conflict.golden_id)


def test_an_accepted_theirs_value_is_pinned_over_a_more_trusted_source(org, conflict):
    steward = make_steward()

    sync_conflict_decide(conflict=conflict, user=steward, choices={"Name": "theirs"})

    golden = golden_of(conflict)
    assert golden.legal_name == THEIRS
    assert golden.lineage["legal_name"] == {
        "steward": steward.get_username(),
        "value": THEIRS,
    }
    # One audit row, the resolution's, as for any other decision.
    steward_actions = AuditEvent.objects.exclude(action="record.upsert")
    assert list(steward_actions.values_list("action", "object_ref")) == [
        ("sync_conflict.resolve", str(conflict.pk))
    ]

    deliver()
    assert org.by_key(golden.golden_id)["Name"] == THEIRS
    assert [state for _v, state in states(conflict.target)] == [
        "delivered",
        "superseded",
        "delivered",
    ]


def test_the_pin_survives_later_changes_of_the_trusted_source(org, conflict):
    sync_conflict_decide(
        conflict=conflict, user=make_steward(), choices={"Name": "theirs"}
    )
    deliver()

    erp_change("C1", FName="北京华盛科技集团有限公司")
    golden_record_recompute(golden=golden_of(conflict), reason="test")
    deliver()

    assert golden_of(conflict).legal_name == THEIRS
    assert org.by_key(conflict.golden_id)["Name"] == THEIRS
    assert not SyncConflict.objects.filter(state="open").exists()


def test_choosing_ours_pins_nothing(org, conflict):
    sync_conflict_decide(
        conflict=conflict, user=make_steward(), choices={"Name": "ours"}
    )
    deliver()

    golden = golden_of(conflict)
    assert golden.legal_name == "北京华盛科技股份有限公司"
    assert "steward" not in golden.lineage["legal_name"]
    assert org.by_key(conflict.golden_id)["Name"] == "北京华盛科技股份有限公司"
