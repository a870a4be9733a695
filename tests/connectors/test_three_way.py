"""The three-way merge, as a pure function: examples and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Ownership, path_drop
from connectors.three_way import three_way_merge

PATHS = ("Name", "Phone", "Billing.City", "Rating")
values = st.one_of(st.none(), st.sampled_from(["", "a", "b", "c"]))
records = st.fixed_dictionaries({path: values for path in PATHS})
owners = st.fixed_dictionaries(
    {path: st.sampled_from(list(Ownership)) for path in PATHS}
)


def nested(flat):
    out = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        current = out
        for part in parents:
            current = current.setdefault(part, {})
        current[leaf] = value
    return out


def empty(value):
    return value in (None, "")


def merge(base, ours, theirs, ownership):
    return three_way_merge(
        base=nested(base), ours=nested(ours), theirs=nested(theirs), ownership=ownership
    )


@given(records, owners)
def test_no_change_on_either_side_is_nothing_to_do(base, ownership):
    result = merge(base, base, base, ownership)
    assert not (result.push or result.inbound or result.conflicts)


@given(records, records, owners)
def test_changes_only_by_us_are_all_pushed(base, ours, ownership):
    result = merge(base, ours, base, ownership)
    changed = {
        p
        for p in PATHS
        if not (empty(ours[p]) and empty(base[p])) and ours[p] != base[p]
    }
    assert set(result.push) == changed
    assert all(result.push[p] == ours[p] for p in changed)
    assert not (result.inbound or result.conflicts)


@given(records, records, owners)
def test_changes_only_by_them_are_never_overwritten(base, theirs, ownership):
    result = merge(base, base, theirs, ownership)
    for path in PATHS:
        if (
            not (empty(theirs[path]) and empty(base[path]))
            and theirs[path] != base[path]
        ):
            refill = ownership[path] is Ownership.FILL_IF_EMPTY and empty(theirs[path])
            assert (path in result.push) == refill
            assert (path in result.inbound) != refill
    assert not result.conflicts


@given(records, records, records, owners)
def test_every_field_lands_in_at_most_one_outcome(base, ours, theirs, ownership):
    result = merge(base, ours, theirs, ownership)
    push, inbound, conflicts = (
        set(result.push),
        set(result.inbound),
        set(result.conflicts),
    )
    assert not (push & inbound or push & conflicts or inbound & conflicts)
    assert result.keep == inbound | conflicts


@given(records, records, records, owners)
def test_swapping_sides_swaps_push_and_inbound_for_one_sided_changes(
    base, ours, theirs, ownership
):
    plain = {p: Ownership.OURS for p in PATHS}
    there = merge(base, ours, theirs, plain)
    back = merge(base, theirs, ours, plain)
    one_sided = {p for p in there.push if p not in there.resolved}
    assert one_sided == {p for p in back.inbound if p not in back.resolved}


@given(records, records, records)
def test_only_steward_fields_can_be_left_for_a_steward(base, ours, theirs):
    mixed = dict(zip(PATHS, list(Ownership), strict=True))
    result = merge(base, ours, theirs, mixed)
    assert all(mixed[p] is Ownership.STEWARD for p in result.conflicts)


def test_both_changed_follows_ownership():
    base = {"A": "0", "B": "0", "C": "0", "D": "0", "E": "0"}
    ours = {"A": "1", "B": "1", "C": "1", "D": "1", "E": "1"}
    theirs = {"A": "2", "B": "2", "C": "2", "D": "", "E": "2"}
    ownership = {
        "A": Ownership.OURS,
        "B": Ownership.THEIRS,
        "C": Ownership.FILL_IF_EMPTY,
        "D": Ownership.FILL_IF_EMPTY,
        "E": Ownership.STEWARD,
    }
    result = three_way_merge(base=base, ours=ours, theirs=theirs, ownership=ownership)
    assert result.push == {"A": "1", "D": "1"}
    assert result.inbound == {"B": "2", "C": "2"}
    assert list(result.conflicts) == ["E"]
    assert (result.conflicts["E"].base, result.conflicts["E"].theirs) == ("0", "2")


def test_a_field_we_no_longer_write_counts_as_unchanged_by_us():
    result = three_way_merge(
        base={"FNumber": "C1"},
        ours={},
        theirs={"FNumber": "C2"},
        ownership={"FNumber": Ownership.THEIRS},
    )
    assert result.inbound == {"FNumber": "C2"} and not result.push


def test_path_drop_removes_nested_leaves_and_empty_parents():
    payload = {"A": 1, "Org": {"FNumber": "100"}, "B": {"x": 1, "y": 2}}
    assert path_drop(payload, ["Org.FNumber", "B.x", "missing.z"]) == {
        "A": 1,
        "B": {"y": 2},
    }
    assert payload["Org"] == {"FNumber": "100"}
