import numpy as np
import pytest

from matching import Record, run_pipeline
from matching.pipeline import explain_pair

standardise = pytest.importorskip("matching.standardise")


@pytest.fixture(scope="module")
def trained(company_trained):
    return company_trained


def _valid_usccs(data, k):
    found = []
    for r in data.records:
        tax = standardise.uscc(r.flat["uscc"])
        if (
            tax is not None
            and tax.valid
            and tax.kind == "uscc"
            and tax.value not in found
        ):
            found.append(tax.value)
        if len(found) == k:
            return found
    raise AssertionError("fixture has too few valid USCCs")


def _score(config, a, b):
    result = run_pipeline([Record("a", "erp", a), Record("b", "crm", b)], config)
    assert result.scores.size == 1, "the pair was not blocked together"
    return result, float(result.scores[0])


def test_the_generated_set_is_matched_well(trained):
    result, truth, _ = trained
    is_match = truth[result.left] == truth[result.right]
    sizes = np.unique(truth, return_counts=True)[1]
    n_true = int((sizes * (sizes - 1) // 2).sum())
    merged = result.scores >= result.config.auto_merge_threshold
    assert is_match[merged].mean() >= 0.93
    assert (merged & is_match).sum() / n_true >= 0.9


def test_same_valid_uscc_is_decisive(trained):
    result, _, data = trained
    (code,) = _valid_usccs(data, 1)
    _, score = _score(
        result.config,
        {"name": "华盛科技有限公司", "uscc": code},
        {"name": "北京华盛信息技术有限公司", "uscc": code.lower()},
    )
    assert score >= result.config.auto_merge_threshold


def test_two_different_valid_usccs_are_never_auto_merged(trained):
    result, _, data = trained
    a, b = _valid_usccs(data, 2)
    fields = {
        "name": "上海华盛贸易有限公司",
        "phone": "021-62345678",
        "email": "sales@huasheng.com",
        "address": "上海市徐汇区漕溪北路88号",
    }
    pair, score = _score(result.config, {**fields, "uscc": a}, {**fields, "uscc": b})
    assert score < result.config.review_threshold
    assert pair.cluster_ids[0] != pair.cluster_ids[1]
    texts = [e.text for e in explain_pair(pair, 0)]
    assert "different valid USCCs — never auto-merged" in texts


def test_same_brand_in_another_city_is_not_merged(trained):
    result, _, _ = trained
    _, score = _score(
        result.config,
        {
            "name": "北京华盛科技有限公司",
            "phone": "010-62345678",
            "address": "北京市海淀区中关村大街1号",
        },
        {
            "name": "广州华盛科技有限公司",
            "phone": "020-87654321",
            "address": "广州市天河区天河路385号",
        },
    )
    assert score < result.config.auto_merge_threshold


def test_branch_and_head_office_are_not_merged(trained):
    result, _, _ = trained
    _, score = _score(
        result.config,
        {"name": "深圳华盛科技有限公司", "phone": "0755-86543210"},
        {"name": "深圳华盛科技有限公司上海分公司", "phone": "021-64321098"},
    )
    assert score < result.config.auto_merge_threshold


def test_a_shared_agent_phone_does_not_merge_different_companies(trained):
    result, _, _ = trained
    agent = "021-63334444"
    _, score = _score(
        result.config,
        {"name": "上海明远物流有限公司", "phone": agent},
        {"name": "上海嘉禾食品有限公司", "phone": agent},
    )
    assert score < result.config.auto_merge_threshold


def test_a_name_only_record_matches_its_full_record(trained):
    result, _, _ = trained
    _, score = _score(
        result.config,
        {"name": "杭州锡嘉贸易有限公司"},
        {
            "name": "杭州锡嘉贸易有限公司",
            "phone": "0571-86232457",
            "address": "杭州市余杭区体育大道2696号",
        },
    )
    assert score >= result.config.review_threshold


def test_chinese_and_english_names_meet_across_scripts(trained):
    result, _, _ = trained
    pair, _ = _score(
        result.config,
        {"name": "武汉志诚实业有限公司"},
        {"english_name": "Wuhan Zhicheng Industrial Co., Ltd."},
    )
    assert explain_pair(pair, 0)[1].weight > 0
