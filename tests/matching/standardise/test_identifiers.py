import pytest

from matching.standardise.identifiers import TaxId, uscc, uscc_org_code, uscc_region

VALID = "91110000600037341L"


@pytest.mark.parametrize(
    "raw",
    [
        VALID,
        "91110000600037341l",
        " 9111 0000 6000 3734 1L ",
        "9111-0000-600037341-L",
        "９１１１００００６０００３７３４１Ｌ",
        "'91110000600037341L",  # Excel's text prefix, kept by some exports
        "“91110000600037341L”",
        "91110000600037341L（已核）",
    ],
)
def test_it_normalises_a_uscc(raw):
    assert uscc(raw) == TaxId(VALID, True, "uscc")


def test_a_wrong_check_digit_is_flagged_not_fixed():
    assert uscc("91110000600037341X") == TaxId("91110000600037341X", False, "uscc")


def test_a_legacy_number_with_the_right_shape_is_valid():
    assert uscc("110000600037341") == TaxId("110000600037341", True, "legacy")


def test_a_legacy_number_with_a_wrong_organisation_check_is_not():
    assert uscc("110000600037342") == TaxId("110000600037342", False, "legacy")


def test_anything_else_is_unknown():
    assert uscc("ABC123") == TaxId("ABC123", False, "unknown")


@pytest.mark.parametrize("raw", [None, "", "  ", "-", "无", "N/A", "null"])
def test_empty_values_and_placeholders_give_none(raw):
    assert uscc(raw) is None


def test_region_and_organisation_code():
    assert uscc_region(VALID) == "110000"
    assert uscc_org_code(VALID) == "600037341"


def test_a_legacy_number_and_its_uscc_share_the_organisation_code():
    assert uscc_org_code("110000600037341") == uscc_org_code(VALID)
    assert uscc_region("110000600037341") == "110000"


def test_codes_of_other_values_are_none():
    assert uscc_region("ABC") is None
    assert uscc_org_code(None) is None
