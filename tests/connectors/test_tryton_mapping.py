"""Pure Tryton mapping functions (no server needed)."""

from __future__ import annotations

from connectors.erp.tryton import mapping
from tests.connectors.system_messages import make_id_card

MECHANISMS = [
    {
        "id": 1,
        "type": "mobile",
        "value": "+86 138 0013 8000",
        "value_compact": "+8613800138000",
    },
    {
        "id": 2,
        "type": "phone",
        "value": "+86 10 6552 1234",
        "value_compact": "+861065521234",
    },
    {
        "id": 3,
        "type": "phone",
        "value": "+86 21 6400 1234",
        "value_compact": "+862164001234",
    },  # typed in by an ERP user
]


def test_only_e164_phones_are_pushed_and_the_street_is_district_and_detail():
    card = make_id_card(phones=["+8613800138000", "010-6552 1234 转 8"])
    assert mapping.derived_view(card) == {
        "phones": ["+8613800138000"],
        "street": "朝阳区建国路88号",
        "city": "北京",
    }


def test_chinese_mobiles_are_mobile_mechanisms():
    assert mapping.mechanism_type("+8613800138000") == "mobile"
    assert mapping.mechanism_type("+861065521234") == "phone"


def test_a_list_update_adds_ours_and_removes_only_what_we_pushed():
    values = mapping.write_values(
        {"phones": ["+8613800138000", "+8613912345678"]},
        current={"phones": [m["value_compact"] for m in MECHANISMS]},
        mechanisms=MECHANISMS,
        addresses=[],
        identifiers=[],
        pushed={"phones": ["+8613800138000", "+861065521234"]},
    )
    assert values == {
        "contact_mechanisms": [
            ["create", [{"type": "mobile", "value": "+8613912345678"}]],
            ["delete", [2]],
        ]
    }


def test_nothing_to_write_when_the_party_already_matches():
    fields = {
        "name": "华盛",
        "phones": ["+8613800138000"],
        "emails": [],
        "address": {"street": "", "city": ""},
        "tax_identifier": "",
    }
    assert (
        mapping.write_values(
            {"name": "华盛", "phones": ["+8613800138000"]},
            current=fields,
            mechanisms=MECHANISMS[:1],
            addresses=[],
            identifiers=[],
            pushed={},
        )
        == {}
    )


def test_an_invalid_uscc_is_untyped_and_a_valid_one_is_cn_vat():
    assert mapping.identifier_values("91110108MA01KPGK0L") == {
        "type": "cn_vat",
        "code": "91110108MA01KPGK0L",
    }
    assert mapping.identifier_values("9111 0108 MA01 KPGK0X") == {
        "type": None,
        "code": "91110108MA01KPGK0X",
    }


def test_the_default_mapping_is_data():
    data = mapping.DEFAULT_MAPPING.to_data()
    assert {"target": "code", "source": "golden_id", "ownership": "theirs"} in data
    assert mapping.DEFAULT_MAPPING.from_data(data) == mapping.DEFAULT_MAPPING
