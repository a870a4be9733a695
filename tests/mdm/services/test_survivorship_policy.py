"""The survivorship policy as data: shipped rows, validation, recompute
under the policy, and applying a changed policy to existing records."""

import importlib
import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from mdm.models import GoldenRecord, OutboxEvent, SurvivorshipPolicy
from mdm.services.golden_records import (
    golden_record_create,
    golden_record_merge,
    golden_record_pin_set,
)
from mdm.services.survivorship import survivorship_policy_get
from mdm.services.survivorship_policy import survivorship_policy_apply
from mdm.survivorship_rules import DEFAULT_POLICY, RULES
from tests.builders import make_source_record
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db

VALID = "91110108MA01KPGK0L"
OTHER_VALID = "91310000MA1FL4XX92"
INVALID = "91110108MA01KPGK0M"


def set_policy(attribute, *rules):
    row = SurvivorshipPolicy.objects.get(attribute=attribute)
    row.rules = list(rules)
    row.full_clean()
    row.save()


def erp_and_crm(**crm):
    erp = make_source_record(
        "erp", FName="北京华盛科技有限公司", FModifyDate="2023-05-01"
    )
    crm = make_source_record(
        "crm",
        Name="华盛科技(北京)有限公司",
        LastModifiedDate="2024-05-01",
        **crm,
    )
    return golden_record_create(members=[erp, crm]), erp, crm


def test_a_fresh_install_has_the_shipped_policy_for_every_attribute():
    rows = dict(SurvivorshipPolicy.objects.values_list("attribute", "rules"))
    assert rows == {name: list(rules) for name, rules in DEFAULT_POLICY.items()}
    migration = importlib.import_module("mdm.migrations.0008_survivorship_rules")
    assert migration.DEFAULT_POLICY == rows
    assert SurvivorshipPolicy.history.count() == len(DEFAULT_POLICY)
    assert {choice.value for choice in SurvivorshipPolicy.Rule} == set(RULES)


@pytest.mark.parametrize(
    ("attribute", "rules", "field", "message"),
    [
        ("tax_id", ["valid_first"], "attribute", "Unknown attribute “tax_id”"),
        ("uscc", ["valid_first", "newest"], "rules", "Unknown rule “newest”"),
        ("uscc", [], "rules", "at least one rule"),
        ("uscc", "source_trust", "rules", "at least one rule"),
        ("uscc", [{"rule": "x"}], "rules", "Unknown rule"),
        ("uscc", ["most_recent", "most_recent"], "rules", "only once"),
    ],
)
def test_a_policy_with_an_unknown_attribute_or_rule_is_refused(
    attribute, rules, field, message
):
    SurvivorshipPolicy.objects.filter(attribute=attribute).delete()
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            SurvivorshipPolicy(attribute=attribute, rules=rules).full_clean()
        assert message in " ".join(caught.value.message_dict[field])


def test_the_refusal_speaks_chinese_too():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            SurvivorshipPolicy(attribute="uscc", rules=["newest"]).full_clean()
        assert caught.value.message_dict["rules"] == [
            "未知规则 “newest”；可用规则：valid_first, source_trust, most_recent, "
            "most_complete, most_frequent。"
        ]


def test_a_damaged_row_falls_back_to_the_default_and_says_so(caplog):
    SurvivorshipPolicy.objects.filter(attribute="uscc").update(rules=["newest"])
    SurvivorshipPolicy.objects.filter(attribute="legal_name").delete()
    with caplog.at_level(logging.ERROR):
        policy = survivorship_policy_get()
    assert policy["uscc"] == DEFAULT_POLICY["uscc"]
    assert policy["legal_name"] == DEFAULT_POLICY["legal_name"]
    assert "uscc" in caplog.text and "newest" in caplog.text


def test_lineage_names_the_source_and_the_rule_that_decided():
    golden, erp, crm = erp_and_crm(Phone="138 0013 8000")
    assert golden.legal_name == "北京华盛科技有限公司"
    assert golden.lineage["legal_name"] == {
        "source": erp.key,
        "source_record": erp.pk,
        "rule": "source_trust",
    }
    assert golden.lineage["phones"] == [
        {"source": crm.key, "source_record": crm.pk, "rule": "union"}
    ]


def test_a_well_formed_legal_name_beats_a_trade_name_from_a_trusted_source():
    erp = make_source_record("erp", FName="华盛科技")
    legacy = make_source_record("legacy", 客户名称="北京华盛科技有限公司")
    golden = golden_record_create(members=[erp, legacy])
    assert golden.legal_name == "北京华盛科技有限公司"
    assert golden.lineage["legal_name"]["rule"] == "valid_first"


def test_the_tax_id_most_sources_agree_on_wins_among_valid_ones():
    erp = make_source_record("erp", FTaxRegisterCode=OTHER_VALID)
    one = make_source_record("legacy", 客户名称="华盛科技", 税号=VALID)
    two = make_source_record("legacy", 客户名称="华盛", 税号=VALID.lower())
    bad = make_source_record("crm", Name="华盛", Tax_ID__c=INVALID)
    golden = golden_record_create(members=[erp, one, two, bad])
    assert (golden.uscc, golden.uscc_valid) == (VALID, True)
    assert golden.lineage["uscc"]["rule"] == "most_frequent"


def test_the_most_complete_address_comes_first():
    erp = make_source_record("erp", FCity="北京", FAddress="建国路88号")
    crm = make_source_record(
        "crm",
        Name="华盛",
        BillingState="北京",
        BillingCity="北京",
        BillingStreet="朝阳区建国路88号",
    )
    golden = golden_record_create(members=[erp, crm])
    assert golden.addresses[0]["detail"] == "朝阳区建国路88号"
    assert len(golden.addresses) == 2


def test_one_address_split_into_parts_differently_is_folded():
    erp = make_source_record(
        "erp", FProvince="安徽省", FAddress="合肥市包河区锦绣路12号"
    )
    crm = make_source_record(
        "crm",
        Name="华盛",
        BillingState="安徽省",
        BillingCity="合肥市",
        BillingStreet="包河区 锦绣路12号",
    )
    golden = golden_record_create(members=[erp, crm])
    assert golden.addresses == [crm.attributes["addresses"][0]]
    assert golden.lineage["addresses"][0]["source_record"] == crm.pk


def test_recompute_follows_a_changed_policy():
    golden, erp, crm = erp_and_crm()
    set_policy("legal_name", "most_recent", "source_trust")
    report = survivorship_policy_apply()
    golden.refresh_from_db()
    assert golden.legal_name == "华盛科技(北京)有限公司"
    assert golden.lineage["legal_name"]["rule"] == "most_recent"
    assert (report.examined, report.values_changed) == (1, 1)


def test_the_command_writes_only_records_that_change(capsys):
    changing, _erp, _crm = erp_and_crm()
    alone = golden_record_create(
        members=[make_source_record("erp", FName="上海华盛有限公司")]
    )
    events = OutboxEvent.objects.count()
    alone_history = alone.history.count()
    set_policy("legal_name", "most_recent")
    call_command("recompute_golden_records", "--batch-size", "1")
    out = capsys.readouterr().out
    assert "1/2 examined" in out and "2/2 examined" in out
    assert "2 golden records examined: 1 changed values" in out
    changing.refresh_from_db()
    alone.refresh_from_db()
    assert changing.legal_name == "华盛科技(北京)有限公司"
    assert changing.history.first().history_change_reason == (
        "survivorship policy applied"
    )
    assert (alone.version, alone.history.count()) == (1, alone_history)
    event = OutboxEvent.objects.filter(topic=OutboxEvent.Topic.UPDATED).get()
    assert OutboxEvent.objects.count() == events + 1
    assert (event.golden_id, event.version) == (changing.golden_id, changing.version)
    call_command("recompute_golden_records")
    assert OutboxEvent.objects.count() == events + 1


def test_a_lineage_only_change_is_saved_without_an_event():
    golden, _erp, crm = erp_and_crm()
    # Both names are well formed: the ERP name still wins, now because its
    # record is the older one.
    set_policy("legal_name", "valid_first")
    events = OutboxEvent.objects.count()
    report = survivorship_policy_apply()
    golden.refresh_from_db()
    assert (report.values_changed, report.lineage_changed) == (0, 1)
    assert golden.legal_name == "北京华盛科技有限公司"
    assert golden.lineage["legal_name"]["rule"] == "tie_break"
    assert golden.version == 2
    assert golden.history.first().history_change_reason.endswith("(lineage only)")
    assert OutboxEvent.objects.count() == events


def test_a_dry_run_counts_and_writes_nothing(capsys):
    golden, _erp, _crm = erp_and_crm()
    set_policy("legal_name", "most_recent")
    call_command("recompute_golden_records", "--dry-run")
    assert "1 would change values" in capsys.readouterr().out
    golden.refresh_from_db()
    assert (golden.legal_name, golden.version) == ("北京华盛科技有限公司", 1)


def test_a_steward_pin_survives_a_policy_change():
    steward = make_steward()
    golden, _erp, _crm = erp_and_crm()
    golden = golden_record_pin_set(
        golden=golden,
        attribute="legal_name",
        value="华盛科技集团",
        steward=steward,
        expected_version=golden.version,
    )
    set_policy("legal_name", "most_recent")
    survivorship_policy_apply()
    golden.refresh_from_db()
    assert golden.legal_name == "华盛科技集团"
    assert golden.lineage["legal_name"]["steward"] == "alice"


def test_merged_away_records_are_left_alone():
    steward = make_steward()
    survivor, _erp, _crm = erp_and_crm()
    absorbed = golden_record_create(members=[make_source_record("crm", Name="华盛")])
    golden_record_merge(
        survivor=survivor, absorbed=[absorbed], steward=steward, reason="dup"
    )
    set_policy("legal_name", "most_recent")
    report = survivorship_policy_apply()
    assert report.examined == 1
    assert GoldenRecord.objects.get(pk=absorbed.pk).status == "merged"


def test_a_bad_batch_size_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("recompute_golden_records", "--batch-size", "0")
