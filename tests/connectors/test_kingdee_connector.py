"""The Kingdee K/3 Cloud connector against the loopback fake WebAPI."""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac

import pytest

from connectors.base import (
    AuthExpiredError,
    ConflictError,
    RemoteDeletedError,
    RetryableError,
)
from connectors.erp.kingdee import KingdeeConnector
from connectors.erp.kingdee.client import decode_app_secret, signed_headers
from connectors.erp.kingdee.mapping import derived_view
from tests.connectors.fake_kingdee import FakeKingdee
from tests.connectors.system_messages import (
    again,
    loopback_target,
    make_id_card,
    make_message,
)

APP_ID = "229973_" + base64.b64encode(b"golden-record-client-key").decode()
APP_SECRET = "f582a31a838c4c6bae98a1747eba15aa"


@pytest.fixture
def kingdee():
    fake = FakeKingdee(
        acct_id="62f3c9b0acct", username="mdm", app_id=APP_ID, app_secret=APP_SECRET
    ).start()
    yield fake
    fake.stop()


def make_connector(fake, secret=APP_SECRET, **config):
    target = loopback_target(
        "kingdee",
        "kingdee",
        {
            "server_url": fake.url,
            "acct_id": "62f3c9b0acct",
            "username": "mdm",
            "app_id": APP_ID,
            "org_number": "100",
            **config,
        },
        secrets={"app_secret": secret},
        timeout=2,
    )
    return KingdeeConnector(target)


@pytest.fixture
def connector(kingdee):
    conn = make_connector(kingdee)
    yield conn
    conn.close()


def test_the_signature_key_is_the_one_the_sdk_derives():
    # Kingdee's Python SDK builds its XOR key from a generated code with one
    # random digit after every 8 characters, keeps the 4 x 8 fixed ones and
    # rot13s them.
    generated = "0054s3971p62343782o09pn7q33r5qropr74"
    fixed = "".join(generated[i * 9 : i * 9 + 8] for i in range(4))
    key = codecs.encode(fixed, "rot13").encode()
    raw = base64.b64decode(APP_ID.split("_")[1])
    expected = base64.b64encode(bytes(b ^ key[i] for i, b in enumerate(raw))).decode()
    assert decode_app_secret(APP_ID.split("_")[1]) == expected
    assert decode_app_secret("too-short") == ""


def test_signed_headers_are_base64_of_the_hex_hmac():
    url = "http://erp.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
    headers = signed_headers(
        url=url,
        acct_id="62f3",
        username="张三",
        app_id=APP_ID,
        app_secret=APP_SECRET,
        lcid=2052,
        org_num=0,
        timestamp=1767600000,
        nonce="abc",
    )
    app_data = "62f3,张三,2052,0"
    digest = hmac.new(
        APP_SECRET.encode(), (APP_ID + app_data).encode(), hashlib.sha256
    ).hexdigest()
    assert headers["X-Kd-Signature"] == base64.b64encode(digest.encode()).decode()
    assert base64.b64decode(headers["X-Kd-Appdata"]).decode() == app_data
    to_sign = (
        "POST\n%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService"
        ".Save.common.kdsvc\n\nx-api-nonce:abc\nx-api-timestamp:1767600000\n"
    )
    key = decode_app_secret(APP_ID.split("_")[1]).encode()
    digest = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert headers["X-Api-Signature"] == base64.b64encode(digest.encode()).decode()
    assert (headers["X-Api-ClientID"], headers["X-Api-Auth-Version"]) == (
        "229973",
        "2.0",
    )
    assert headers["x-api-signheaders"] == "x-api-timestamp,x-api-nonce"


def test_the_address_line_is_in_chinese_order_without_a_repeated_city():
    card = make_id_card(
        addresses=[
            {
                "province": "广东省",
                "city": "深圳市",
                "district": "南山区",
                "detail": "科技园1号",
            }
        ]
    )
    assert derived_view(card) == {"address": "广东省深圳市南山区科技园1号"}
    assert derived_view(make_id_card()) == {"address": "北京朝阳区建国路88号"}


def test_it_creates_and_audits_a_customer_numbered_by_the_golden_id(kingdee, connector):
    [update] = connector.deliver(make_message("GR0000000013"))

    customer = kingdee.by_number("GR0000000013")
    assert update.remote_id == str(customer["FCUSTID"])
    assert update.remote_version == customer["FModifyDate"]
    assert customer["FName"] == customer["FINVOICETITLE"] == "北京华盛科技有限公司"
    assert (customer["FShortName"], customer["FTaxRegisterCode"], customer["FTEL"]) == (
        "华盛科技",
        "91110108MA01KPGK0L",
        "+8613800138000",
    )
    assert customer["FADDRESS"] == "北京朝阳区建国路88号"
    assert customer["FCreateOrgId"] == customer["FUseOrgId"] == {"FNumber": "100"}
    assert customer["FDocumentStatus"] == "C"


def test_a_redelivery_saves_nothing(kingdee, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    saves = kingdee.saves
    [second] = connector.deliver(message)
    [third] = connector.deliver(again(message, first, "kingdee"))
    assert kingdee.saves == saves
    assert first.remote_id == second.remote_id == third.remote_id


def test_a_save_whose_answer_was_lost_is_not_saved_twice(kingdee, connector):
    message = make_message("GR0000000013")
    kingdee.server.drop_after_commit()
    with pytest.raises(RetryableError):
        connector.deliver(message)
    [update] = connector.deliver(message)  # the worker's retry
    assert len(kingdee.customers) == 1
    assert update.remote_id == str(kingdee.by_number("GR0000000013")["FCUSTID"])


def test_a_taken_number_is_a_conflict(kingdee, connector):
    kingdee.user_create("GR0000000013", "手工建的客户")
    with pytest.raises(ConflictError, match="唯一性"):
        connector.client.save(
            "BD_Customer",
            {
                "FCUSTID": 0,
                "FNumber": "GR0000000013",
                "FName": "x",
                "FCreateOrgId": {"FNumber": "100"},
                "FUseOrgId": {"FNumber": "100"},
            },
        )


def test_an_update_sends_only_changed_fields_and_respects_ownership(kingdee, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    kingdee.user_edit("GR0000000013", FINVOICETITLE="华盛科技（开票专用）")
    [second] = connector.deliver(
        again(
            message,
            first,
            "kingdee",
            id_card={
                "legal_name": "北京华盛科技股份有限公司",
                "phones": ["+861065521234"],
            },
        )
    )

    customer = kingdee.by_number("GR0000000013")
    assert customer["FName"] == "北京华盛科技股份有限公司"
    assert customer["FTEL"] == "+861065521234"
    assert (
        customer["FINVOICETITLE"] == "华盛科技（开票专用）"
    )  # fill-if-empty: theirs now
    assert second.remote_version == customer["FModifyDate"] != first.remote_version

    kingdee.user_edit("GR0000000013", FINVOICETITLE="")
    connector.deliver(again(message, second, "kingdee"))
    assert kingdee.by_number("GR0000000013")["FINVOICETITLE"] == "北京华盛科技有限公司"


def test_an_erp_edit_to_a_field_we_write_is_a_conflict(kingdee, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    kingdee.user_edit("GR0000000013", FTEL="010-88886666")
    with pytest.raises(ConflictError, match="FTEL"):
        connector.deliver(again(message, first, "kingdee"))
    with pytest.raises(ConflictError):
        connector.upsert(message, expected_version=first.remote_version)
    assert kingdee.by_number("GR0000000013")["FTEL"] == "010-88886666"


def test_a_deleted_customer_is_not_recreated(kingdee, connector):
    message = make_message("GR0000000013")
    [first] = connector.deliver(message)
    kingdee.customers.clear()
    with pytest.raises(RemoteDeletedError):
        connector.deliver(again(message, first, "kingdee"))
    assert kingdee.customers == {}


def test_a_merge_forbids_the_absorbed_customer(kingdee, connector):
    survivor, loser = make_message("GR0000000013"), make_message("GR0000000024")
    [kept] = connector.deliver(survivor)
    [gone] = connector.deliver(loser)
    merged = again(
        survivor,
        kept,
        "kingdee",
        topic="golden.merged",
        absorbed=[loser.golden_id],
        links={loser.golden_id: again(loser, gone, "kingdee").link},
    )
    updates = connector.deliver(merged)
    assert [(u.golden_id, u.state) for u in updates] == [
        ("GR0000000013", "linked"),
        ("GR0000000024", "remote_archived"),
    ]
    assert kingdee.by_number("GR0000000024")["FForbidStatus"] == "B"
    assert kingdee.by_number("GR0000000013")["FForbidStatus"] == "A"


def test_it_links_to_the_customer_an_erp_source_record_came_from(kingdee):
    kingdee.user_create("CUST-0001", "华盛")
    connector = make_connector(kingdee, source_system="erp")
    [update] = connector.deliver(
        make_message(
            "GR0000000013", members=[{"system": "erp", "source_id": "CUST-0001"}]
        )
    )
    customer = kingdee.by_number("CUST-0001")
    assert update.remote_id == str(customer["FCUSTID"])
    assert customer["FName"] == "北京华盛科技有限公司"
    assert len(kingdee.customers) == 1


def test_changes_since_pages_by_modify_date(kingdee, connector):
    connector.deliver(make_message("GR0000000013"))
    page = connector.changes_since(None)
    assert [r.golden_id for r in page.records] == ["GR0000000013"]
    assert connector.changes_since(page.next_cursor).records == []
    kingdee.user_edit("GR0000000013", FTEL="010-1")
    later = connector.changes_since(page.next_cursor)
    assert [r.fields["FTEL"] for r in later.records] == ["010-1"]


def test_session_login_and_relogin_when_the_session_is_lost(kingdee):
    connector = make_connector(kingdee, auth="session")
    connector.deliver(make_message("GR0000000013"))
    kingdee.expire_sessions()
    connector.deliver(make_message("GR0000000024"))
    assert {c["FNumber"] for c in kingdee.customers.values()} == {
        "GR0000000013",
        "GR0000000024",
    }


@pytest.mark.parametrize("auth", ["signed", "session"])
def test_a_wrong_app_secret_is_an_auth_error(kingdee, auth):
    connector = make_connector(kingdee, secret="0" * 32, auth=auth)
    with pytest.raises(AuthExpiredError):
        connector.deliver(make_message("GR0000000013"))
    assert kingdee.customers == {}


def test_server_errors_and_time_outs_are_retryable(kingdee, connector):
    kingdee.server.fail(500, b"<html>Server Error</html>")
    with pytest.raises(RetryableError):
        connector.deliver(make_message("GR0000000013"))
    kingdee.server.slow(3)  # the target's time-out is 2 s
    with pytest.raises(RetryableError, match="time-out|deadline"):
        connector.deliver(make_message("GR0000000013"))
