"""The Tryton connector against a real trytond server (SQLite, party module)
started on loopback for the session."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "trytond.modules.party",
    reason="trytond and trytond-party are not installed (pip install -e '.[dev]')",
)

from connectors.base import (  # noqa: E402
    AuthExpiredError,
    ConflictError,
    RemoteDeletedError,
)
from connectors.conflicts import Merged, conflict_merge  # noqa: E402
from connectors.erp.tryton import TrytonConnector  # noqa: E402
from tests.connectors.system_messages import (  # noqa: E402
    again,
    loopback_target,
    make_id_card,
    make_message,
)
from tests.connectors.tryton_server import start_tryton  # noqa: E402

_serial = iter(range(100, 10**6))


@pytest.fixture(scope="module")
def tryton(request, tmp_path_factory):
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    root = cache.mkdir("golden-record") if cache else tmp_path_factory.mktemp("cache")
    server, stop = start_tryton(root, tmp_path_factory.mktemp("trytond"))
    yield server
    stop()


def make_connector(tryton, **config):
    target = loopback_target(
        "tryton",
        "tryton",
        {
            "url": tryton.url,
            "database": tryton.database,
            "username": tryton.username,
            **config,
        },
        secrets={"password": tryton.password},
        timeout=30,
    )
    return TrytonConnector(target)


@pytest.fixture(scope="module")
def connector(tryton):  # shared: a Tryton login costs about a second
    conn = make_connector(tryton)
    yield conn
    conn.close()


def new_golden_id() -> str:
    from mdm.golden_ids import golden_id_format

    return golden_id_format(next(_serial))


def read_party(connector, party_id):
    client = connector.client
    [party] = client.read(
        "party.party",
        [int(party_id)],
        ["code", "name", "active", "contact_mechanisms", "addresses", "identifiers"],
        {"active_test": False},
    )
    mechanisms = client.read(
        "party.contact_mechanism",
        party["contact_mechanisms"],
        ["type", "value", "value_compact"],
    )
    addresses = client.read(
        "party.address", party["addresses"], ["street_unstructured", "city"]
    )
    identifiers = client.read(
        "party.identifier", party["identifiers"], ["type", "code"]
    )
    return party, mechanisms, addresses, identifiers


def test_it_creates_a_party_coded_by_the_golden_id(connector):
    message = make_message(new_golden_id())
    [update] = connector.deliver(message)

    party, mechanisms, addresses, identifiers = read_party(connector, update.remote_id)
    assert party["code"] == message.golden_id
    assert party["name"] == "北京华盛科技有限公司"
    assert sorted((m["type"], m["value_compact"]) for m in mechanisms) == [
        ("email", "sales@huasheng.com.cn"),
        ("mobile", "+8613800138000"),
        ("phone", "+861065521234"),
    ]
    assert [(a["street_unstructured"], a["city"]) for a in addresses] == [
        ("朝阳区建国路88号", "北京")
    ]
    assert [(i["type"], i["code"]) for i in identifiers] == [
        ("cn_vat", "91110108MA01KPGK0L")
    ]
    assert update.remote_version and update.state == "linked"
    assert update.pushed["code"] == message.golden_id


def test_a_redelivery_writes_nothing_and_creates_no_second_party(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    [second] = connector.deliver(message)  # a retry, before the link was stored
    [third] = connector.deliver(again(message, first, "tryton"))

    assert first.remote_id == second.remote_id == third.remote_id
    assert third.remote_version == first.remote_version
    found = connector.client.search_read(
        "party.party", [["code", "=", message.golden_id]], ["id"], context={}
    )
    assert len(found) == 1


def test_an_update_replaces_our_values_and_keeps_what_erp_users_added(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    client = connector.client
    client.write(
        "party.party",
        [int(first.remote_id)],
        {
            "contact_mechanisms": [
                ["create", [{"type": "phone", "value": "+862164001234"}]]
            ]
        },
        {},
    )
    # The user's phone moves the version, but touches nothing we wrote.
    following = again(
        message,
        first,
        "tryton",
        id_card={
            "legal_name": "北京华盛科技股份有限公司",
            "phones": ["+8613800138000", "+8613912345678"],
        },
    )
    [second] = connector.deliver(following)

    party, mechanisms, _, _ = read_party(connector, first.remote_id)
    assert party["name"] == "北京华盛科技股份有限公司"
    phones = sorted(m["value_compact"] for m in mechanisms if m["type"] != "email")
    # +861065521234 was ours and is gone; the user's +862164001234 stays.
    assert phones == ["+8613800138000", "+8613912345678", "+862164001234"]
    assert second.remote_version != first.remote_version


def test_fill_if_empty_fields_are_only_written_when_the_erp_has_none(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    client = connector.client
    party, _, addresses, _ = read_party(connector, first.remote_id)
    client.write(
        "party.address",
        [addresses[0]["id"]],
        {"street_unstructured": "仓库：顺义区天竺路1号"},
        {},
    )

    moved = make_id_card(
        addresses=[
            {
                "province": "北京",
                "city": "北京",
                "district": "海淀区",
                "detail": "中关村大街1号",
            }
        ]
    )
    [second] = connector.deliver(again(message, first, "tryton", id_card=moved))
    _, _, addresses, _ = read_party(connector, first.remote_id)
    assert addresses[0]["street_unstructured"] == "仓库：顺义区天竺路1号"

    client.write("party.address", [addresses[0]["id"]], {"street_unstructured": ""}, {})
    connector.deliver(again(message, second, "tryton", id_card=moved))
    _, _, addresses, _ = read_party(connector, first.remote_id)
    assert addresses[0]["street_unstructured"] == "海淀区中关村大街1号"


def test_fields_the_erp_owns_are_never_overwritten(tryton):
    connector = make_connector(
        tryton,
        mapping=[
            {"target": "code", "source": "golden_id", "ownership": "theirs"},
            {"target": "name", "source": "id_card.legal_name", "ownership": "theirs"},
            {"target": "emails", "source": "id_card.emails"},
        ],
    )
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    connector.client.write(
        "party.party", [int(first.remote_id)], {"name": "华盛（ERP 名称）"}, {}
    )
    [second] = connector.deliver(
        again(
            message,
            first,
            "tryton",
            id_card={
                "legal_name": "北京华盛科技股份有限公司",
                "emails": ["info@huasheng.com.cn"],
            },
        )
    )

    party, mechanisms, _, _ = read_party(connector, first.remote_id)
    assert party["name"] == "华盛（ERP 名称）"
    assert [m["value"] for m in mechanisms] == ["info@huasheng.com.cn"]
    assert second.state == "linked"
    connector.close()


def test_an_erp_edit_to_a_field_we_write_is_a_conflict(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    connector.client.write(
        "party.party", [int(first.remote_id)], {"name": "华盛科技（财务改名）"}, {}
    )

    with pytest.raises(ConflictError) as caught:
        connector.deliver(
            again(
                message,
                first,
                "tryton",
                id_card={"legal_name": "北京华盛科技股份有限公司"},
            )
        )
    assert caught.value.detail == "name"
    party, _, _, _ = read_party(connector, first.remote_id)
    assert party["name"] == "华盛科技（财务改名）"


def test_a_stale_expected_version_is_refused(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    with pytest.raises(ConflictError):
        connector.upsert(message, expected_version="1.5")
    # Tryton's own check: a write carrying an old _timestamp is refused.
    connector.client.write("party.party", [int(first.remote_id)], {"name": "x"}, {})
    with pytest.raises(ConflictError):
        connector._write(int(first.remote_id), {"name": "y"}, first.remote_version)


def test_a_party_deleted_in_tryton_is_not_recreated(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    connector.client.call("model.party.party.delete", [int(first.remote_id)], {})

    with pytest.raises(RemoteDeletedError):
        connector.deliver(again(message, first, "tryton"))
    assert (
        connector.client.search_read(
            "party.party",
            [["code", "=", message.golden_id]],
            ["id"],
            context={"active_test": False},
        )
        == []
    )


def test_a_merge_deactivates_the_absorbed_party(connector):
    survivor, loser = make_message(new_golden_id()), make_message(new_golden_id())
    [kept] = connector.deliver(survivor)
    [gone] = connector.deliver(loser)
    merged = again(
        survivor,
        kept,
        "tryton",
        topic="golden.merged",
        absorbed=[loser.golden_id],
        links={loser.golden_id: again(loser, gone, "tryton").link},
    )

    updates = connector.deliver(merged)

    assert [(u.golden_id, u.state) for u in updates] == [
        (survivor.golden_id, "linked"),
        (loser.golden_id, "remote_archived"),
    ]
    party, _, _, _ = read_party(connector, gone.remote_id)
    assert not party["active"]


def test_a_retired_golden_record_archives_its_party_and_creates_none(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    [retired] = connector.deliver(again(message, first, "tryton", status="retired"))
    assert retired.state == "remote_archived"
    assert not read_party(connector, first.remote_id)[0]["active"]

    [never] = connector.deliver(make_message(new_golden_id(), status="retired"))
    assert never.remote_id == "" and never.state == "remote_archived"


def test_it_links_to_the_party_a_source_record_came_from(tryton):
    connector = make_connector(tryton, source_system="tryton-erp")
    [party_id] = connector.client.create(
        "party.party", [{"code": "C-7001", "name": "旧客户"}], {}
    )
    message = make_message(
        new_golden_id(), members=[{"system": "tryton-erp", "source_id": "C-7001"}]
    )
    [update] = connector.deliver(message)
    assert update.remote_id == str(party_id)
    party, _, _, _ = read_party(connector, party_id)
    assert (party["code"], party["name"]) == ("C-7001", "北京华盛科技有限公司")
    connector.close()


def test_an_invalid_uscc_is_pushed_untyped(connector):
    message = make_message(
        new_golden_id(), id_card=make_id_card(uscc="91110108MA01KPGK0X")
    )
    [update] = connector.deliver(message)
    _, _, _, identifiers = read_party(connector, update.remote_id)
    assert [(i["type"], i["code"]) for i in identifiers] == [
        (None, "91110108MA01KPGK0X")
    ]


def test_changes_since_pages_through_modified_parties(connector):
    start = connector.changes_since(None)
    cursor = start.next_cursor
    while start.more:
        start = connector.changes_since(cursor)
        cursor = start.next_cursor
    message = make_message(new_golden_id())
    [update] = connector.deliver(message)

    page = connector.changes_since(cursor)
    assert [r.remote_id for r in page.records] == [update.remote_id]
    assert page.records[0].golden_id == message.golden_id
    assert page.records[0].remote_version == update.remote_version
    assert connector.changes_since(page.next_cursor).records == []


def test_it_logs_in_again_when_the_session_expired(connector):
    connector.deliver(make_message(new_golden_id()))
    connector.client._auth = connector.client._auth[:-4] + "AAA="  # session gone
    [update] = connector.deliver(make_message(new_golden_id()))
    assert update.remote_id


def test_a_wrong_password_is_an_auth_error(tryton):
    target = loopback_target(
        "tryton",
        "tryton",
        {"url": tryton.url, "database": tryton.database, "username": "admin"},
        secrets={"password": "wrong"},
    )
    with pytest.raises(AuthExpiredError):
        TrytonConnector(target).deliver(make_message(new_golden_id()))


def test_a_party_archived_by_an_erp_user_is_not_reactivated(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    connector.client.write("party.party", [int(first.remote_id)], {"active": False}, {})
    with pytest.raises(RemoteDeletedError) as caught:
        connector.deliver(again(message, first, "tryton"))
    assert caught.value.archived
    # Archived by us (retired), then active again (an unmerge): reactivated.
    [retired] = connector.deliver(again(message, first, "tryton", status="retired"))
    assert retired.state == "remote_archived"
    [back] = connector.deliver(again(message, retired, "tryton"))
    assert back.state == "linked"
    assert read_party(connector, first.remote_id)[0]["active"]


def test_a_conflict_merge_keeps_an_erp_rename_and_pushes_our_new_email(connector):
    message = make_message(new_golden_id())
    [first] = connector.deliver(message)
    connector.client.write(
        "party.party", [int(first.remote_id)], {"name": "华盛科技（财务改名）"}, {}
    )
    changed = again(
        message, first, "tryton", id_card={"emails": ["finance@huasheng.com.cn"]}
    )
    with pytest.raises(ConflictError):
        connector.deliver(changed)

    merged = conflict_merge(connector, changed)

    assert isinstance(merged, Merged)
    assert merged.merge.inbound == {"name": "华盛科技（财务改名）"}
    party, mechanisms, _, _ = read_party(connector, first.remote_id)
    assert party["name"] == "华盛科技（财务改名）"
    assert "finance@huasheng.com.cn" in [m["value"] for m in mechanisms]
