"""The worker's merge step (connectors/conflicts.py) against the Salesforce
loopback fake and a real trytond: their edit is kept, ours is pushed."""

from __future__ import annotations

import pytest

from connectors.base import ConflictError
from connectors.conflicts import Merged, UnresolvedConflict, conflict_merge
from connectors.crm.salesforce import SalesforceConnector
from connectors.crm.salesforce.mapping import default_mapping
from tests.connectors.fake_salesforce import FakeSalesforce
from tests.connectors.system_messages import again, loopback_target, make_message


@pytest.fixture
def org():
    fake = FakeSalesforce(
        client_id="3MVG9-golden", client_secret="s3cret", refresh_token="r"
    ).start()
    yield fake
    fake.stop()


def salesforce(org, **config):
    return SalesforceConnector(
        loopback_target(
            "salesforce",
            "salesforce",
            {"login_url": org.url, "client_id": "3MVG9-golden", **config},
            secrets={"client_secret": "s3cret", "refresh_token": "r"},
            timeout=2,
        )
    )


def test_a_crm_edit_is_kept_while_our_change_is_pushed(org):
    connector = salesforce(org)
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.user_edit("GR0000000013", Phone="+86 10 1234 5678")
    changed = again(message, first, "salesforce", id_card={"legal_name": "新名称"})
    with pytest.raises(ConflictError):
        connector.deliver(changed)

    merged = conflict_merge(connector, changed)

    assert isinstance(merged, Merged)
    assert merged.merge.inbound == {"Phone": "+86 10 1234 5678"}
    assert set(merged.merge.push) == {"Name"}
    account = org.by_key("GR0000000013")
    assert (account["Name"], account["Phone"]) == ("新名称", "+86 10 1234 5678")
    assert merged.updates[0].remote_version == account["SystemModstamp"]
    connector.close()


def test_an_edit_between_read_and_write_is_merged_after_the_412(org):
    connector = salesforce(org)
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.edit_before_next_write("GR0000000013", Phone="+86 10 5555 0000")
    changed = again(message, first, "salesforce", id_card={"legal_name": "新名称"})
    with pytest.raises(ConflictError, match="412"):
        connector.deliver(changed)

    assert isinstance(conflict_merge(connector, changed), Merged)
    account = org.by_key("GR0000000013")
    assert (account["Name"], account["Phone"]) == ("新名称", "+86 10 5555 0000")
    connector.close()


def test_a_field_a_steward_owns_is_not_written_when_both_changed_it(org):
    rules = default_mapping("Golden_ID__c").to_data()
    for rule in rules:
        if rule["target"] == "Name":
            rule["ownership"] = "steward"
    connector = salesforce(org, mapping=rules)
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.user_edit("GR0000000013", Name="华盛（销售改名）")
    changed = again(message, first, "salesforce", id_card={"legal_name": "新名称"})

    result = conflict_merge(connector, changed)

    assert isinstance(result, UnresolvedConflict)
    assert list(result.merge.conflicts) == ["Name"]
    assert org.by_key("GR0000000013")["Name"] == "华盛（销售改名）"
    connector.close()
