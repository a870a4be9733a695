import pytest
from django.core.exceptions import ValidationError

from mdm.mapping_presets import PRESETS, bilingual_name_split, payload_map
from mdm.models import SourceSystem
from mdm.services.source_records import source_record_upsert

pytestmark = pytest.mark.django_db


def test_a_fresh_install_has_erp_crm_and_legacy_configured():
    presets = dict(SourceSystem.objects.values_list("code", "mapping_preset"))
    assert presets == {
        "erp": "kingdee_k3cloud",
        "crm": "salesforce_account",
        "legacy": "legacy_excel",
    }


def test_an_edited_mapping_replaces_the_preset_and_is_versioned():
    erp = SourceSystem.objects.get(code="erp")
    rules = {**PRESETS["kingdee_k3cloud"], "scalars": {"legal_name": ["FFullName"]}}
    erp.field_mapping = rules
    erp.full_clean()
    erp.save()
    record = source_record_upsert(
        system=erp, source_id="C1", payload={"FFullName": "北京华盛科技有限公司"}
    ).record
    assert record.attributes["legal_name"] == "北京华盛科技有限公司"
    assert erp.history.first().field_mapping == rules


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ([], "JSON object"),
        ({**PRESETS["id_card"], "phones": "FTel"}, "'phones' must be a JSON array"),
        ({**PRESETS["id_card"], "colour": []}, "unknown key 'colour'"),
        ({**PRESETS["id_card"], "scalars": {"nickname": ["x"]}}, "nickname"),
    ],
)
def test_a_malformed_mapping_is_refused_with_a_reason(mapping, message):
    erp = SourceSystem.objects.get(code="erp")
    erp.field_mapping = mapping
    with pytest.raises(ValidationError, match=message):
        erp.full_clean()


def test_a_system_can_use_any_preset_such_as_a_tryton_party():
    tryton = SourceSystem(
        code="tryton", name="Tryton", kind="erp", mapping_preset="tryton_party"
    )
    tryton.full_clean()
    mapped = payload_map(
        {
            "code": "P-7",
            "name": "上海明远贸易有限公司",
            "phone": "021-5555 0000",
            "street": "世纪大道100号",
            "city": "上海",
        },
        tryton.mapping_rules,
    )
    assert mapped.attributes["legal_name"] == "上海明远贸易有限公司"
    assert mapped.attributes["addresses"][0]["detail"] == "世纪大道100号"


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValidationError, match="legacy_excel"):
        SourceSystem(code="x", name="x", kind="erp", mapping_preset="nope").full_clean()


@pytest.mark.parametrize(
    "name, split",
    [
        (
            "北京华盛科技有限公司 Beijing Huasheng Technology Co., Ltd.",
            ("北京华盛科技有限公司", "Beijing Huasheng Technology Co., Ltd."),
        ),
        (
            "上海东方贸易有限公司（Shanghai Dongfang Trading Co., Ltd.）",
            ("上海东方贸易有限公司", "Shanghai Dongfang Trading Co., Ltd."),
        ),
        (
            "华盛科技(北京)有限公司 (Huasheng Tech Beijing)",
            ("华盛科技(北京)有限公司", "Huasheng Tech Beijing"),
        ),
        # Latin letters inside a Chinese name, or one brand word: no split.
        ("TCL科技集团股份有限公司", None),
        ("北京ABC科技有限公司", None),
        ("华为 Huawei", None),
        ("华盛科技(北京)有限公司", None),
    ],
)
def test_a_bilingual_name_is_split_into_chinese_and_english(name, split):
    assert bilingual_name_split(name) == split


def test_a_crm_name_holding_both_languages_fills_both_attributes():
    mapped = payload_map(
        {
            "Id": "001",
            "Name": "北京华盛科技有限公司 Beijing Huasheng Technology Co., Ltd.",
        },
        "salesforce_account",
    )
    assert mapped.attributes["legal_name"] == "北京华盛科技有限公司"
    assert mapped.attributes["english_name"] == "Beijing Huasheng Technology Co., Ltd."


def test_kingdee_records_read_back_through_its_webapi_map_phone_and_address():
    # The WebAPI spells the keys FTEL / FADDRESS; exports often FTel / FAddress.
    for phone_key, address_key in (("FTEL", "FADDRESS"), ("FTel", "FAddress")):
        mapped = payload_map(
            {
                "FNumber": "C-1",
                "FName": "北京华盛科技有限公司",
                phone_key: "010-6552 1234",
                address_key: "北京市朝阳区建国路1号",
            },
            "kingdee_k3cloud",
        )
        assert mapped.attributes["phones"] == ["010-6552 1234"]
        assert mapped.attributes["addresses"][0]["detail"] == "北京市朝阳区建国路1号"


def test_whole_numbers_written_as_floats_keep_their_digits():
    # pandas' to_json writes an integer column with gaps as floats.
    mapped = payload_map(
        {"FNumber": 1001.0, "FName": "华盛", "FTel": 13800138000.0, "FCustLevel": 2.5},
        "kingdee_k3cloud",
    ).attributes
    assert mapped["phones"] == ["13800138000"]
    assert mapped["customer_level"] == "2.5"
