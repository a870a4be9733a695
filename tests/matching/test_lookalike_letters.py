"""RELIABILITY B7: a name that mixes Latin letters with Cyrillic or Greek
look-alikes ("Huаsheng" with a Cyrillic "а") is flagged for review and never
auto-merged, on the batch and the single-record path, even when the phone
and the USCC agree.
"""

import random

import numpy as np
import pytest
from stdnum.cn import uscc

from matching import Record, RecordIndex, match_one, run_pipeline

# Latin letters and the Cyrillic or Greek letter that looks the same.
LOOKALIKES = {
    "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у",
    "A": "Α", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М",
    "O": "О", "P": "Р", "T": "Т", "X": "Х",
}  # fmt: skip
WORDS = [
    "Huasheng", "Mingyuan", "Pacific", "Everbright", "Tianma", "Orient",
    "Sunrise", "Kaiyuan", "Hexie", "Baoli", "Yongtai", "Xinhua",
]  # fmt: skip
TRADES = ["Technology", "Trading", "Electronics", "Machinery", "Logistics"]
PAIRS = 200


@pytest.fixture(scope="module")
def config(company_trained):
    return company_trained[0].config


def _valid_uscc(rng: random.Random) -> str:
    body = f"9111{rng.randrange(10**4):04d}MA{rng.randrange(10**7):07d}"
    return body + uscc.calc_check_digit(body)


def _spoof(name: str, rng: random.Random) -> str:
    places = [i for i, ch in enumerate(name) if ch in LOOKALIKES]
    chosen = rng.sample(places, rng.randint(1, min(3, len(places))))
    return "".join(LOOKALIKES[ch] if i in chosen else ch for i, ch in enumerate(name))


def _pairs(n: int, seed: int) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    pairs = []
    for k in range(n):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(TRADES)} Co., Ltd"
        real = {
            "name": name,
            "uscc": _valid_uscc(rng),
            "phone": f"010-6{k:07d}",
            "email": f"info{k}@example.cn",
        }
        pairs.append((real, {**real, "name": _spoof(name, rng)}))
    return pairs


def test_every_lookalike_pair_goes_to_review_and_none_is_merged_in_batch(config):
    pairs = _pairs(PAIRS, seed=7)
    records = [
        Record(f"{side}{k}", side, fields)
        for k, pair in enumerate(pairs)
        for side, fields in zip(("erp", "crm"), pair, strict=True)
    ]
    result = run_pipeline(records, config)
    rows = {record_id: i for i, record_id in enumerate(result.ids)}
    scored = {
        (result.ids[a], result.ids[b]): s
        for a, b, s in zip(result.left, result.right, result.scores, strict=True)
    }
    reviewed = {
        frozenset((result.ids[result.left[i]], result.ids[result.right[i]]))
        for i in result.review
    }
    for k in range(PAIRS):
        real, spoof = f"erp{k}", f"crm{k}"
        score = scored.get((real, spoof), scored.get((spoof, real)))
        assert score is not None, f"pair {k} was not compared"
        assert config.review_threshold <= score < config.auto_merge_threshold
        assert result.cluster_ids[rows[real]] != result.cluster_ids[rows[spoof]]
        assert frozenset((real, spoof)) in reviewed


def test_a_lookalike_name_is_held_for_review_on_the_single_record_path(config):
    pairs = _pairs(50, seed=8)
    index = RecordIndex(
        config, [Record(f"erp{k}", "erp", real) for k, (real, _) in enumerate(pairs)]
    )
    for k, (real, spoof) in enumerate(pairs):
        for query, indexed in ((spoof, f"erp{k}"), (real, None)):
            found = match_one(Record("q", "crm", query), index)
            if indexed is None:  # the genuine name still merges with itself
                assert found[0].score >= config.auto_merge_threshold
                continue
            best = found[0]
            assert best.id == indexed
            assert config.review_threshold <= best.score < config.auto_merge_threshold
            assert any(e.level == "lookalike" for e in best.evidence)


def test_a_lookalike_word_next_to_latin_words_is_held_but_plain_cyrillic_is_not(
    config,
):
    base = {"phone": "010-62345678", "uscc": _valid_uscc(random.Random(1))}
    spoofed = run_pipeline(
        [
            Record("a", "erp", {**base, "name": "Huasheng Co., Ltd"}),
            Record("b", "crm", {**base, "name": "Huasheng Со., Ltd"}),  # Cyrillic Со
        ],
        config,
    )
    assert spoofed.scores[0] < config.auto_merge_threshold
    cyrillic = run_pipeline(
        [
            Record("a", "erp", {**base, "name": "ООО Ромашка"}),
            Record("b", "crm", {**base, "name": "ООО Ромашка"}),
        ],
        config,
    )
    assert np.all(cyrillic.scores >= config.auto_merge_threshold)
