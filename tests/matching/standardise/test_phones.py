import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from matching.standardise.phones import (
    _CN_TRUNK_SHAPE_RE,
    _LAYOUT_RE,
    Phone,
    _cn_is_landline,
    _valid,
    phones,
)

MOBILE = Phone("+8613800138000", "mobile", None)
LANDLINE = Phone("+861065521234", "landline", None)


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138 0013 8000",
        "138-0013-8000",
        "13800138000",
        "13800138000.0",
        "1.38001380e10",
        "1.38001380E+10",
        "１３８００１３８０００",
        "008613800138000",
    ],
)
def test_mobile_spellings(raw):
    assert phones(raw) == (MOBILE,)


@pytest.mark.parametrize(
    "raw",
    ["86-10-6552-1234", "(010)65521234", "010-65521234", "０１０－６５５２１２３４"],
)
def test_landline_spellings(raw):
    assert phones(raw) == (LANDLINE,)


@pytest.mark.parametrize(
    "raw",
    [
        "010-65521234转8001",
        "010-65521234 ext. 8001",
        "010-65521234-8001",
        "010-65521234分机8001",
    ],
)
def test_extensions_are_kept_separately(raw):
    assert phones(raw) == (Phone("+861065521234", "landline", "8001"),)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000/010-65521234",
        "13800138000,010-65521234",
        "13800138000;010-65521234",
        "13800138000；010-65521234",
        "13800138000、010-65521234",
        "13800138000 010-65521234",
        "手机:13800138000 座机:010-65521234",
    ],
)
def test_a_cell_may_hold_several_numbers(raw):
    assert phones(raw) == (MOBILE, LANDLINE)


def test_numbers_split_by_spaces_inside_and_between():
    assert phones("+86 138 0013 8000 010 6552 1234") == (MOBILE, LANDLINE)


def test_duplicates_are_dropped():
    assert phones("13800138000 / 138-0013-8000") == (MOBILE,)


@pytest.mark.parametrize(
    "raw", ["65521234", "1.38E+10", "12345", "2023-01-05", "abc", "", None]
)
def test_invalid_or_lossy_numbers_are_dropped(raw):
    assert phones(raw) == ()


def test_other_kinds():
    assert phones("400-600-1234")[0].kind == "other"


def test_us_numbers_with_a_us_default_region():
    assert phones("(415) 555-2671", default_region="US") == (
        Phone("+14155552671", "other", None),
    )


def test_an_unknown_default_region_only_accepts_international_numbers():
    assert phones("13800138000", default_region="XX") == ()
    assert phones("+86 13800138000", default_region="XX") == (MOBILE,)


def test_the_chinese_mobile_shortcut_agrees_with_phonenumbers():
    for prefix in range(130, 200):
        for suffix in ("00000000", "12345678", "99999999"):
            number = f"{prefix}{suffix}"
            parsed = phonenumbers.parse(number, "CN")
            expected = ()
            if phonenumbers.is_valid_number(parsed):
                kind = phonenumbers.number_type(parsed) == PhoneNumberType.MOBILE
                expected = (Phone("+86" + number, "mobile" if kind else "?", None),)
            assert phones(number) == expected, number


NATIONAL_LANDLINE_SHAPES = st.one_of(
    st.integers(10**8, 10**9 - 1).map(lambda n: f"10{n:08d}"[:10]),
    st.tuples(st.integers(2, 9), st.integers(10**7, 10**10 - 1)).map(
        lambda t: f"{t[0]}{t[1]}"
    ),
)


@settings(max_examples=500, deadline=None)
@given(
    national=NATIONAL_LANDLINE_SHAPES,
    cut=st.integers(min_value=1, max_value=4),
    layout=st.sampled_from(["0{}-{}", "0{} {}", "(0{}){}", "0{}{}"]),
)
def test_the_chinese_landline_shortcut_agrees_with_phonenumbers(national, cut, layout):
    text = layout.format(national[:cut], national[cut:])
    shortcut = _CN_TRUNK_SHAPE_RE.fullmatch(_LAYOUT_RE.sub("", text))
    assert shortcut is not None
    slow = _valid(text, "CN", None)
    if _cn_is_landline(shortcut.group(1)):
        assert slow == Phone("+86" + national, "landline", None), text
    else:
        assert slow is None or slow.kind != "landline" or slow.e164 != "+86" + national


def test_the_landline_shortcut_takes_the_common_area_codes():
    # Beijing, Shanghai, Shenzhen, Hangzhou, Zhengzhou, Lhasa: the shortcut
    # must take them (or it saves nothing).
    for national in (
        "1065521234", "2161234567", "75586001234", "57187654321", "37163456789",
        "8915123456",
    ):  # fmt: skip
        assert _cn_is_landline(national), national
        assert phones("0" + national) == (Phone("+86" + national, "landline", None),)
