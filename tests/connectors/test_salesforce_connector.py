"""The Salesforce connector against the loopback fake org."""

from __future__ import annotations

import pytest

from connectors.base import (
    AuthExpiredError,
    ConflictError,
    PermanentError,
    RateLimitedError,
    RemoteDeletedError,
    RetryableError,
)
from connectors.crm.salesforce import SalesforceConnector
from tests.connectors.fake_salesforce import FakeSalesforce
from tests.connectors.system_messages import (
    again,
    loopback_target,
    make_id_card,
    make_message,
)


@pytest.fixture
def org():
    fake = FakeSalesforce(
        client_id="3MVG9-golden",
        client_secret="s3cret",
        refresh_token="5Aep861-refresh",
    ).start()
    yield fake
    fake.stop()


def make_connector(org, *, secrets=None, **config):
    target = loopback_target(
        "salesforce",
        "salesforce",
        {"login_url": org.url, "client_id": "3MVG9-golden", **config},
        secrets=secrets
        or {"client_secret": "s3cret", "refresh_token": "5Aep861-refresh"},
        timeout=2,
    )
    return SalesforceConnector(target)


@pytest.fixture
def connector(org):
    conn = make_connector(org)
    yield conn
    conn.close()


def test_it_upserts_an_account_by_the_golden_id(org, connector):
    [update] = connector.deliver(make_message("GR0000000013"))

    account = org.by_key("GR0000000013")
    assert update.remote_id == account["Id"]
    assert update.remote_version == account["SystemModstamp"]
    assert (account["Name"], account["Phone"], account["Tax_ID__c"]) == (
        "北京华盛科技有限公司",
        "+8613800138000",
        "91110108MA01KPGK0L",
    )
    assert (
        account["BillingState"],
        account["BillingCity"],
        account["BillingStreet"],
    ) == ("北京", "北京", "朝阳区建国路88号")
    assert account["Rating"] == "Hot"
    assert org.token_grants == ["refresh_token"]


def test_a_redelivery_creates_no_second_account_and_writes_nothing(org, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    [second] = connector.deliver(message)
    [third] = connector.deliver(again(message, first, "salesforce"))
    assert len(org.accounts) == 1
    assert first.remote_version == second.remote_version == third.remote_version


def test_fill_if_empty_fields_are_left_to_sales(org, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.user_edit("GR0000000013", Rating="Cold", BillingStreet="")
    connector.deliver(
        again(
            message,
            first,
            "salesforce",
            id_card={"legal_name": "北京华盛科技股份有限公司"},
        )
    )
    account = org.by_key("GR0000000013")
    assert account["Name"] == "北京华盛科技股份有限公司"
    assert account["Rating"] == "Cold"  # sales' rating stays
    assert account["BillingStreet"] == "朝阳区建国路88号"  # emptied, so filled again


def test_a_crm_edit_to_a_field_we_write_is_a_conflict(org, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.user_edit("GR0000000013", Phone="+86 10 1234 5678")
    with pytest.raises(ConflictError, match="Phone"):
        connector.deliver(again(message, first, "salesforce"))
    assert org.by_key("GR0000000013")["Phone"] == "+86 10 1234 5678"


def test_an_edit_between_our_read_and_write_is_a_412_conflict(org, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.edit_before_next_write("GR0000000013", Rating="Warm")
    with pytest.raises(ConflictError, match="412"):
        connector.deliver(
            again(message, first, "salesforce", id_card={"legal_name": "新名称"})
        )
    assert org.by_key("GR0000000013")["Name"] == "北京华盛科技有限公司"


def test_a_stale_expected_version_is_refused(org, connector):
    message = make_message("GR0000000013")
    connector.deliver(message)
    with pytest.raises(ConflictError):
        connector.upsert(message, expected_version="2020-01-01T00:00:00.000+0000")


def test_a_deleted_account_is_not_recreated(org, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    org.delete("GR0000000013")
    with pytest.raises(RemoteDeletedError):
        connector.deliver(again(message, first, "salesforce"))
    [result] = connector.deliver_many([again(message, first, "salesforce")])
    assert isinstance(result, RemoteDeletedError)
    assert org.accounts == {}


def test_it_links_to_the_account_a_crm_source_record_came_from(org):
    account_id = org.user_create(Name="Huasheng Tech")
    connector = make_connector(org, source_system="crm")
    [update] = connector.deliver(
        make_message(
            "GR0000000013", members=[{"system": "crm", "source_id": account_id}]
        )
    )
    assert update.remote_id == account_id
    assert org.accounts[account_id]["Golden_ID__c"] == "GR0000000013"
    assert len(org.accounts) == 1


def test_a_batch_is_one_collections_call_with_per_record_results(org, connector):
    messages = [make_message(f"GR00000001{i:02d}") for i in range(5)]
    messages.append(make_message("GR0000000999", id_card=make_id_card(legal_name="")))
    results = connector.deliver_many(messages)

    assert org.collection_calls == 1
    assert [type(r).__name__ for r in results[-1:]] == ["PermanentError"]
    assert "REQUIRED_FIELD_MISSING" in str(results[-1])
    for message, [update] in zip(messages[:5], results[:5], strict=True):
        account = org.by_key(message.golden_id)
        assert (update.remote_id, update.remote_version) == (
            account["Id"],
            account["SystemModstamp"],
        )
    # A second batch of the same, linked, messages writes nothing.
    relinked = [
        again(m, r[0], "salesforce")
        for m, r in zip(messages, results[:5], strict=False)
    ]
    assert all(isinstance(r, list) for r in connector.deliver_many(relinked))
    assert org.collection_calls == 1


def test_all_or_none_rolls_the_whole_batch_back(org):
    connector = make_connector(org, all_or_none=True)
    results = connector.deliver_many(
        [
            make_message("GR0000000013"),
            make_message("GR0000000024", id_card=make_id_card(legal_name="")),
        ]
    )
    assert isinstance(results[0], RetryableError)  # rolled back, fine on its own
    assert isinstance(results[1], PermanentError)
    assert org.accounts == {}


def test_an_expired_token_is_refreshed_once(org, connector):
    connector.deliver(make_message("GR0000000013"))
    org.expire_tokens()
    connector.deliver(make_message("GR0000000024"))
    assert org.token_grants == ["refresh_token", "refresh_token"]


def test_the_client_credentials_flow_is_used_without_a_refresh_token(org):
    connector = make_connector(org, secrets={"client_secret": "s3cret"})
    connector.deliver(make_message("GR0000000013"))
    assert org.token_grants == ["client_credentials"]


def test_a_refused_token_is_an_auth_error(org):
    connector = make_connector(org, secrets={"client_secret": "wrong"})
    with pytest.raises(AuthExpiredError):
        connector.deliver(make_message("GR0000000013"))


def test_request_limit_exceeded_is_back_pressure(org, connector):
    org.api_limit = 0
    with pytest.raises(RateLimitedError) as caught:
        connector.deliver(make_message("GR0000000013"))
    assert caught.value.status == 403 and caught.value.retry_after == 60
    org.server.fail(429, b"[]", headers={"Retry-After": "7"})
    org.api_limit = 10_000
    with pytest.raises(RateLimitedError) as caught:
        connector.deliver(make_message("GR0000000013"))
    assert caught.value.retry_after == 7


def test_server_errors_time_outs_and_lost_answers_are_retryable(org, connector):
    org.server.fail(503, b'[{"errorCode":"SERVER_UNAVAILABLE","message":"down"}]')
    with pytest.raises(RetryableError):
        connector.deliver(make_message("GR0000000013"))
    connector.client.authenticate()
    org.server.slow(3)
    with pytest.raises(RetryableError):
        connector.deliver(make_message("GR0000000013"))
    # The upsert is applied but its answer is lost: the retry finds the
    # Account by the golden ID instead of creating a second one.
    org.server.passthrough()  # the GET by external ID
    org.server.drop_after_commit()  # the PATCH upsert
    with pytest.raises(RetryableError):
        connector.deliver(make_message("GR0000000013"))
    [update] = connector.deliver(make_message("GR0000000013"))
    assert list(org.accounts) == [update.remote_id]


def test_changes_since_pages_by_system_modstamp(org, connector):
    connector.deliver(make_message("GR0000000013"))
    page = connector.changes_since(None)
    assert [r.golden_id for r in page.records] == ["GR0000000013"]
    assert connector.changes_since(page.next_cursor).records == []
    org.user_edit("GR0000000013", Phone="+861099998888")
    later = connector.changes_since(page.next_cursor)
    assert [r.fields["Phone"] for r in later.records] == ["+861099998888"]
