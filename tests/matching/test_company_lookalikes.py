"""Look-alike companies and weak name evidence, with literal records.

The model is the one trained on generated companies (conftest); each test
scores hand-written records through the batch or the single-record path.
"""

import pytest

from matching import Record, RecordIndex, match_one, run_pipeline
from matching.pipeline import explain_pair
from matching.score import level_weights

standardise = pytest.importorskip("matching.standardise")

HEAD = {
    "name": "北京华盛科技有限公司",
    "phone": "010-62345678",
    "email": "info@huasheng.com",
    "address": "北京市海淀区中关村大街1号华盛大厦8层",
    "contact": "王建国",
}


@pytest.fixture(scope="module")
def config(company_trained):
    return company_trained[0].config


def _batch(config, a, b):
    result = run_pipeline([Record("a", "erp", a), Record("b", "crm", b)], config)
    assert result.scores.size == 1, "the pair was not blocked together"
    return result


def _levels(config, result):
    return {
        c.name: (c.levels[code - 1].label if 0 < code <= len(c.levels) else code)
        for c, code in zip(config.comparisons, result.levels[0], strict=True)
    }


def _valid_usccs(data, k):
    found = []
    for r in data.records:
        tax = standardise.uscc(r.flat["uscc"])
        if tax is not None and tax.valid and tax.kind == "uscc":
            found.append(tax.value)
        if len(set(found)) == k:
            return list(dict.fromkeys(found))
    raise AssertionError("fixture has too few valid USCCs")


def test_a_group_and_a_company_of_it_are_not_merged(config):
    # same office, same brand, same domain: still two registrations
    group = {**HEAD, "name": "北京华盛集团有限公司", "phone": "010-62340000"}
    group["email"] = "office@huasheng.com"
    group["contact"] = "李明"
    result = _batch(config, HEAD, group)
    assert result.scores[0] < config.auto_merge_threshold
    assert result.cluster_ids[0] != result.cluster_ids[1]
    assert _levels(config, result)["group"] != "same"


def test_the_same_brand_in_another_trade_is_not_merged_even_with_the_same_boss(
    config,
):
    boss = {"contact": "王建国", "phone": "13812345678", "email": "wjg1975@qq.com"}
    tech = {**HEAD, **boss}
    trade = {
        **boss,
        "name": "北京华盛贸易有限公司",
        "address": "北京市海淀区中关村大街9号",
    }
    result = _batch(config, tech, trade)
    assert result.scores[0] < config.auto_merge_threshold
    assert _levels(config, result)["name"] == "other_trade"
    texts = [e.text for e in explain_pair(result, 0)]
    assert any(t.startswith("other line of business") for t in texts)


def test_a_branch_is_not_merged_with_its_head_office_on_a_shared_domain(config):
    branch = {
        "name": "北京华盛科技有限公司上海分公司",
        "email": "sh@huasheng.com",
        "phone": "021-64321098",
        "address": "上海市徐汇区漕溪北路88号",
    }
    result = _batch(config, HEAD, branch)
    assert result.scores[0] < config.auto_merge_threshold


def test_a_branch_named_in_chinese_and_in_english_is_the_same_branch(config):
    result = _batch(
        config,
        {"name": "北京华盛科技有限公司上海分公司", "phone": "021-64321098"},
        {
            "english_name": "Beijing Huasheng Technology Co., Ltd. Shanghai Branch",
            "phone": "+86 21 6432 1098",
        },
    )
    assert _levels(config, result)["branch"] == "same"
    assert result.scores[0] >= config.auto_merge_threshold


def test_a_homophone_alone_is_not_auto_merged_but_goes_to_review(config):
    result = _batch(config, HEAD, {"name": "北京华胜科技有限公司"})
    assert _levels(config, result)["name"] == "homophone"
    assert config.review_threshold <= result.scores[0]
    assert result.scores[0] < config.auto_merge_threshold


def test_a_homophone_with_the_same_phone_is_merged(config):
    result = _batch(config, HEAD, {"name": "北京华胜科技有限公司", "phone": "62345678"})
    assert result.scores[0] >= config.auto_merge_threshold


def test_a_pinyin_name_alone_is_not_auto_merged(config):
    result = _batch(
        config, HEAD, {"english_name": "Beijing Huasheng Technology Co., Ltd."}
    )
    assert _levels(config, result)["name"] == "cross_script"
    assert result.scores[0] < config.auto_merge_threshold


def test_a_landline_without_its_area_code_still_agrees_on_its_tail(config):
    result = _batch(config, HEAD, {"name": "华胜科技", "phone": "62345678"})
    assert _levels(config, result)["phone"] == "last7"


def test_a_name_only_exact_core_lands_in_review_on_the_single_record_path(config):
    index = RecordIndex(config, [Record("head", "erp", HEAD)])
    (found,) = match_one(Record("q", "crm", {"name": "华盛科技"}), index)
    assert found.evidence[1].level == "exact_core"  # no city on one side
    assert config.review_threshold <= found.score < config.auto_merge_threshold
    (homophone,) = match_one(Record("q", "crm", {"name": "华胜科技"}), index)
    assert homophone.score < found.score


def test_an_unseen_name_keeps_its_trained_weight_against_one_indexed_record(config):
    # one indexed record cannot tell whether 华盛科技 is a rare or a common
    # name: no term-frequency adjustment either way
    index = RecordIndex(config, [Record("head", "erp", HEAD)])
    query = Record("q", "crm", {"name": "北京华盛科技有限责任公司"})
    (found,) = match_one(query, index)
    assert found.evidence[1].level == "exact_name"
    weights = level_weights(config)[1]
    # the trained weight, or a looser level's if that is higher (ordered)
    assert found.evidence[1].weight == pytest.approx(max(weights[1:]))


def test_batch_and_single_record_paths_score_a_pair_alike(config):
    query = {"name": "华盛科技", "contact": "王经理"}
    batch = _batch(config, HEAD, query)
    index = RecordIndex(config, [Record("a", "erp", HEAD)])
    (found,) = match_one(Record("b", "crm", query), index)
    assert found.score == pytest.approx(float(batch.scores[0]))


def test_a_common_exact_name_never_weighs_less_than_a_pinyin_only_agreement(
    config,
):
    cities = ["上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安"]
    others = [
        Record(f"o{i}", "erp", {"name": f"{city}华盛科技有限公司"})
        for i, city in enumerate(cities * 10)
    ]
    index = RecordIndex(config, [Record("head", "erp", HEAD), *others])
    found = match_one(Record("q", "crm", {"name": "华盛科技"}), index, top=100)
    exact = next(c for c in found if c.id == "head").evidence[1]
    assert exact.level == "exact_core"
    weights = level_weights(config)[1]
    labels = [lv.label for lv in config.comparisons[1].levels]
    for alike in ("homophone", "cross_script"):
        assert exact.weight >= weights[labels.index(alike) + 1]


def test_missing_fields_are_listed_with_no_weight(config):
    index = RecordIndex(config, [Record("head", "erp", HEAD)])
    (found,) = match_one(Record("q", "crm", {"name": "华盛科技"}), index)
    missing = [e for e in found.evidence if e.level == "missing"]
    assert {e.comparison for e in missing} >= {"uscc", "phone", "email", "address"}
    assert all(e.weight == 0.0 for e in missing)


def test_two_valid_usccs_are_never_clustered_through_a_chain(config, company_trained):
    # x and y share no blocking key, so they are never scored together; the
    # bridge merges with each on its own
    x, y = _valid_usccs(company_trained[2], 2)
    records = [
        Record("x", "erp", {**HEAD, "uscc": x}),
        Record("bridge", "crm", {**HEAD, "email": "cw@mingyuan.cn"}),
        Record(
            "y",
            "legacy",
            {"uscc": y, "email": "cw@mingyuan.cn", "contact": "王建国"},
        ),
    ]
    result = run_pipeline(records, config)
    pairs = zip(result.ids[result.left], result.ids[result.right], strict=True)
    assert {"x", "y"} not in [set(pair) for pair in pairs]
    assert result.scores.min() >= config.auto_merge_threshold
    clusters = result.clusters
    assert clusters["x"] != clusters["y"]
    assert clusters["bridge"] in (clusters["x"], clusters["y"])
