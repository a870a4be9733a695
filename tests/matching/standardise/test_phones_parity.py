"""The phone standardiser's shortcuts give what the long way gives.

`_cn_is_landline` reads compiled copies of the CN metadata instead of going
through `phonenumberutil._is_number_matching_desc`; `_rewrite_artefacts`
skips a rewrite whose regex cannot match. Both must be exact: the stored
standardised phones (and so matching) may not change.
"""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from phonenumbers import phonenumberutil

from matching.standardise.phones import (
    _cn_is_landline,
    _cn_landline_descs,
    _matches,
    _rewrite_artefacts,
    phones,
)
from tests.matching.standardise.phones_long_way import (
    AREA_NUMBERS,
    DESCS,
    MESSY,
    NATIONAL,
    PHONES,
    landline_the_long_way,
    rewrite_the_long_way,
)


def test_the_compiled_descriptions_are_the_metadata_in_order():
    general, not_landline, fixed_line, mobile = _cn_landline_descs()
    compiled = (general, *not_landline, fixed_line, mobile)
    for (lengths, pattern), desc in zip(compiled, DESCS, strict=True):
        assert lengths == frozenset(desc.possible_length)
        assert pattern.pattern == desc.national_number_pattern


@settings(max_examples=2000, deadline=None)
@given(national=NATIONAL | AREA_NUMBERS)
def test_each_description_matches_as_phonenumbers_matches_it(national):
    general, not_landline, fixed_line, mobile = _cn_landline_descs()
    compiled = (general, *not_landline, fixed_line, mobile)
    for ours, desc in zip(compiled, DESCS, strict=True):
        expected = phonenumberutil._is_number_matching_desc(national, desc)
        assert _matches(national, ours) == expected, (national, desc)


@settings(max_examples=2000, deadline=None)
@given(national=NATIONAL | AREA_NUMBERS)
def test_the_landline_check_agrees_with_the_metadata_checks(national):
    assert _cn_is_landline(national) == landline_the_long_way(national)


def test_the_landline_check_takes_and_refuses_what_it_did():
    for national in ("1065521234", "2161234567", "75586001234", "8915123456"):
        assert _cn_is_landline(national) and landline_the_long_way(national)
    # Mobile, toll-free, premium-rate, shared-cost, too short.
    for national in ("13800138000", "8001234567", "16012345", "4001234567", "10"):
        assert not _cn_is_landline(national) and not landline_the_long_way(national)


@settings(max_examples=3000, deadline=None)
@given(text=MESSY)
def test_skipping_a_rewrite_that_cannot_apply_changes_nothing(text):
    text = text.lower()
    assert _rewrite_artefacts(text) == rewrite_the_long_way(text)


@settings(max_examples=1000, deadline=None)
@given(text=MESSY)
def test_a_messy_cell_gives_the_numbers_the_long_way_gives(text):
    # The whole cell through phones(), then again with both shortcuts
    # swapped for the long way; fresh caches each time.
    fast = _uncached_phones(text)
    with mock.patch.multiple(
        PHONES,
        _cn_is_landline=landline_the_long_way,
        _rewrite_artefacts=rewrite_the_long_way,
    ):
        slow = _uncached_phones(text)
    assert fast == slow, text


def _uncached_phones(text):
    PHONES.phones.cache_clear()
    PHONES._parse_one.cache_clear()
    return phones(text)
