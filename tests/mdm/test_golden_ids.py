import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.golden_ids import (
    InvalidGoldenId,
    golden_id_clean,
    golden_id_format,
    golden_id_is_valid,
)

serials = st.integers(min_value=1, max_value=10**9 - 1)


def test_it_formats_a_serial_with_prefix_and_check_digit():
    golden_id = golden_id_format(13)
    assert golden_id.startswith("GR000000013")
    assert len(golden_id) == 12
    assert golden_id_is_valid(golden_id)


def test_it_accepts_lower_case_spaces_and_hyphens():
    golden_id = golden_id_format(4242)
    messy = f" {golden_id[:5].lower()}-{golden_id[5:]} "
    assert golden_id_clean(messy) == golden_id


@given(serials, st.data())
def test_every_single_mistyped_digit_is_detected(serial, data):
    golden_id = golden_id_format(serial)
    position = data.draw(st.integers(min_value=2, max_value=len(golden_id) - 1))
    wrong = data.draw(
        st.sampled_from("0123456789").filter(lambda d: d != golden_id[position])
    )
    typo = golden_id[:position] + wrong + golden_id[position + 1 :]
    with pytest.raises(InvalidGoldenId, match="check digit"):
        golden_id_clean(typo)


@given(serials, st.data())
def test_every_swap_of_adjacent_digits_is_detected(serial, data):
    golden_id = golden_id_format(serial)
    position = data.draw(st.integers(min_value=2, max_value=len(golden_id) - 2))
    a, b = golden_id[position], golden_id[position + 1]
    if a == b:
        return
    swapped = golden_id[:position] + b + a + golden_id[position + 2 :]
    assert not golden_id_is_valid(swapped)


@pytest.mark.parametrize(
    "value", ["", "GR123", "XX0000000130", "GR00000001300", "GRABCDEFGHIJ"]
)
def test_it_rejects_malformed_ids(value):
    with pytest.raises(InvalidGoldenId):
        golden_id_clean(value)


@pytest.mark.parametrize("serial", [0, -1, 10**9])
def test_it_refuses_serials_out_of_range(serial):
    with pytest.raises(ValueError):
        golden_id_format(serial)
