"""The `tryton_party` preset maps what the Tryton connector reads (pure: no
server, no database)."""

from __future__ import annotations

from connectors.erp.tryton import mapping
from mdm.mapping_presets import PRESETS, payload_map


def test_a_party_read_by_the_connector_fills_the_id_card():
    fields = mapping.party_to_fields(
        {"code": "GR0000000013", "name": "北京华盛科技有限公司"},
        mechanisms=[
            {"id": 1, "type": "mobile", "value": "+8613800138000"},
            {"id": 2, "type": "phone", "value": "+862164001234"},
            {"id": 3, "type": "email", "value": "sales@huasheng.com.cn"},
        ],
        addresses=[
            {"id": 4, "street_unstructured": "朝阳区建国路88号", "city": "北京"}
        ],
        identifiers=[{"id": 5, "type": "cn_vat", "code": "91110108MA01KPGK0L"}],
    )

    attributes = payload_map(fields, "tryton_party").attributes

    assert attributes["legal_name"] == "北京华盛科技有限公司"
    assert attributes["uscc"] == "91110108MA01KPGK0L"
    assert attributes["phones"] == ["+8613800138000", "+862164001234"]
    assert attributes["emails"] == ["sales@huasheng.com.cn"]
    assert attributes["addresses"] == [
        {"province": "", "city": "北京", "district": "", "detail": "朝阳区建国路88号"}
    ]


def test_a_flat_party_export_still_maps():
    attributes = payload_map(
        {"name": "上海明远贸易有限公司", "phone": "021-5555 0000", "city": "上海"},
        "tryton_party",
    ).attributes
    assert attributes["phones"] == ["021-5555 0000"]
    assert attributes["addresses"][0]["city"] == "上海"


def test_a_key_with_a_dot_is_read_as_it_is_before_any_nesting():
    rules = {**PRESETS["tryton_party"], "scalars": {"legal_name": ["address.city"]}}
    attributes = payload_map(
        {"address.city": "字面键", "address": {"city": "嵌套"}}, rules
    ).attributes
    assert attributes["legal_name"] == "字面键"
