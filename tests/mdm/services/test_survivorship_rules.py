"""The survivorship ranking on plain offers: each rule, the tie-breaker
chain, the deciding rule, and properties that must hold for any input."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mdm.id_card import ATTRIBUTES
from mdm.survivorship_rules import (
    DEFAULT_POLICY,
    ONLY_VALUE,
    RULES,
    TIE_BREAK,
    Offer,
    Pool,
    address_fold_key,
    decide,
    fold_key,
    rank,
    union,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def offer(value, record_id=1, **extra):
    return Offer(value=value, record_id=record_id, source=f"erp:{record_id}", **extra)


def test_valid_first_prefers_a_checked_value_then_an_unchecked_one():
    offers = [
        offer("91110108MA01KPGK0X", 1, valid=False, trust=0.9),
        offer("91110108MA01KPGK0L", 2, valid=True, trust=0.1),
    ]
    decision = decide(offers, ["valid_first", "source_trust"])
    assert (decision.winner.record_id, decision.rule) == (2, "valid_first")
    assert decide([offers[0], offer("X", 3)], ["valid_first"]).winner.value == "X"


def test_source_trust_and_most_recent_break_ties_in_order():
    old_trusted = offer("北京华盛科技有限公司", 1, trust=0.9, updated_at=T0)
    new_trusted = offer("华盛科技有限公司", 2, trust=0.9, updated_at=T0 + timedelta(1))
    new_doubtful = offer("华盛", 3, trust=0.3, updated_at=T0 + timedelta(2))
    decision = decide(
        [old_trusted, new_trusted, new_doubtful], DEFAULT_POLICY["short_name"]
    )
    assert (decision.winner.record_id, decision.rule) == (2, "most_recent")
    decision = decide([old_trusted, new_doubtful], ["source_trust", "most_recent"])
    assert (decision.winner.record_id, decision.rule) == (1, "source_trust")


def test_most_complete_prefers_more_filled_parts_then_more_text():
    bare = {"province": "北京", "city": "北京", "district": "", "detail": "建国路88号"}
    full = {**bare, "district": "朝阳区"}
    assert [
        o.record_id for o in rank([offer(bare, 1), offer(full, 2)], ["most_complete"])
    ] == [2, 1]
    decision = decide(
        [offer("华盛科技", 1), offer("北京华盛科技有限公司", 2)], ["most_complete"]
    )
    assert (decision.winner.record_id, decision.rule) == (2, "most_complete")


def test_most_frequent_counts_records_that_agree_after_folding():
    offers = [
        offer("A1", 1, trust=0.9),
        offer("b2", 2),
        offer("B 2", 3),
    ]
    decision = decide(offers, ["most_frequent", "source_trust"])
    assert (decision.winner.fold_key, decision.rule) == ("b2", "most_frequent")


def test_a_value_every_member_agrees_on_is_reported_as_the_only_value():
    decision = decide(
        [offer("华盛", 1, trust=0.1), offer(" 华盛", 2, trust=0.9)], ["source_trust"]
    )
    assert (decision.winner.record_id, decision.rule) == (2, ONLY_VALUE)


def test_a_full_tie_goes_to_the_oldest_record():
    decision = decide([offer("乙", 7), offer("甲", 3)], ["source_trust", "most_recent"])
    assert (decision.winner.record_id, decision.rule) == (3, TIE_BREAK)


def test_nothing_offered_decides_nothing():
    assert decide([], ["source_trust"]) is None
    assert decide([offer(""), offer(None, 2), offer("  ", 3)], ["source_trust"]) is None


def test_union_folds_case_and_spacing_and_keeps_the_best_copy():
    offers = [
        offer("Sales@HuaSheng.com", 1, trust=0.3),
        offer("sales@huasheng.com", 2, trust=0.8),
        offer("info@huasheng.com", 1, trust=0.3),
        offer("", 2, trust=0.8),
    ]
    kept = union(offers, ["source_trust"])
    assert [(o.value, o.record_id) for o in kept] == [
        ("sales@huasheng.com", 2),
        ("info@huasheng.com", 1),
    ]


def test_objects_fold_on_their_filled_parts_whatever_their_key_order():
    a = {"name": "王总", "title": "", "phone": "138 0013 8000"}
    b = {"phone": "13800138000", "name": "王总"}
    assert fold_key(a) == fold_key(b)
    assert fold_key({"name": "王总"}) != fold_key({"title": "王总"})


def test_an_address_folds_on_its_text_with_each_part_once():
    parts = ("province", "city", "district", "detail")
    one = {"province": "安徽省", "city": "", "detail": "合肥市包河区锦绣路12号"}
    two = {"province": "安徽省", "city": "合肥市", "detail": "包河区 锦绣路12号"}
    three = {"province": "安徽省", "detail": "安徽省合肥市包河区锦绣路12号"}
    assert address_fold_key(one, parts) == address_fold_key(two, parts)
    assert address_fold_key(three, parts) == address_fold_key(two, parts)
    assert address_fold_key({"city": "合肥市", "detail": "锦绣路12号"}, parts) != (
        address_fold_key(two, parts)
    )
    offers = [
        offer(one, 1, fold=address_fold_key(one, parts)),
        offer(two, 2, fold=address_fold_key(two, parts)),
    ]
    assert [o.record_id for o in union(offers, ["most_complete"])] == [2]


def test_the_shipped_policy_covers_every_attribute_with_known_rules():
    assert set(DEFAULT_POLICY) == set(ATTRIBUTES)
    assert all(name in RULES for chain in DEFAULT_POLICY.values() for name in chain)


texts = st.sampled_from(
    ["华盛", "华 盛", "HuaSheng", "huasheng", "甲", "乙", "", "91110108MA01KPGK0L"]
)
addresses = st.fixed_dictionaries(
    {
        "province": st.sampled_from(["", "北京"]),
        "detail": st.sampled_from(["", "建国路88号", "建国路 88号"]),
    }
)
chains = st.lists(st.sampled_from(sorted(RULES)), unique=True, max_size=len(RULES))


@st.composite
def offer_lists(draw, values=texts, one_per_record=True):
    count = draw(st.integers(min_value=0, max_value=8))
    offers = []
    for index in range(count):
        record_id = index + 1 if one_per_record else draw(st.integers(1, 4))
        offers.append(
            Offer(
                value=draw(values),
                record_id=record_id,
                source=f"s:{record_id}",
                trust=draw(st.sampled_from([0.1, 0.5, 0.9])),
                updated_at=T0 + timedelta(days=draw(st.integers(0, 3))),
                valid=draw(st.sampled_from([True, False, None])),
            )
        )
    return offers


@given(offer_lists(), chains)
def test_the_winner_is_always_one_of_the_offered_values(offers, chain):
    decision = decide(offers, chain)
    offered = [o for o in offers if fold_key(o.value)]
    if not offered:
        assert decision is None
    else:
        assert decision.winner in offered
        assert decision.rule in {*chain, ONLY_VALUE, TIE_BREAK}


@given(offer_lists(), chains, st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_members(offers, chain, random):
    shuffled = list(offers)
    random.shuffle(shuffled)
    assert decide(shuffled, chain) == decide(offers, chain)
    assert union(shuffled, chain) == union(offers, chain)


@given(offer_lists(), chains)
def test_valid_beats_invalid_under_valid_first(offers, chain):
    decision = decide(
        offers, ["valid_first", *[c for c in chain if c != "valid_first"]]
    )
    offered = [o for o in offers if fold_key(o.value)]
    if any(o.valid for o in offered):
        assert decision.winner.valid is True
    elif any(o.valid is None for o in offered):
        assert decision.winner.valid is None


@given(offer_lists(), chains)
def test_the_deciding_rule_really_separates_the_winner(offers, chain):
    decision = decide(offers, chain)
    if decision is None or decision.rule in (ONLY_VALUE, TIE_BREAK):
        return
    before = chain[: chain.index(decision.rule)]
    # No other value beats the winner on the rules before the deciding one.
    ranked = rank(offers, before + [decision.rule])
    assert ranked[0].fold_key == decision.winner.fold_key


@given(offer_lists(values=st.one_of(texts, addresses), one_per_record=False), chains)
def test_union_folds_normalised_duplicates_and_loses_no_value(offers, chain):
    kept = union(offers, chain)
    keys = [o.fold_key for o in kept]
    assert len(keys) == len(set(keys))
    assert set(keys) == {o.fold_key for o in offers} - {""}
    assert all(o in offers for o in kept)


@given(offer_lists(), st.sampled_from(sorted(RULES)))
def test_a_single_rule_chain_puts_its_best_offer_first(offers, name):
    ranked = rank(offers, [name])
    non_empty = [o for o in ranked if o.fold_key]
    if non_empty:
        pool = Pool.of(offers)
        best = max(RULES[name](o, pool) for o in non_empty)
        assert RULES[name](non_empty[0], pool) == best
