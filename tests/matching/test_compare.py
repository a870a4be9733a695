import numpy as np

from matching import Record, preset
from matching.compare import comparison_levels
from matching.prepare import prepare_records
from matching.prepare.person import dob, soundex, street_address, surname
from matching.presets.person import DOB, FIRST_NAME, LOCATION, PHONE, SURNAME


def _levels(a, b, comparison):
    table = prepare_records([Record("a", "x", a), Record("b", "x", b)], "person")
    code = comparison_levels(table, np.array([0]), np.array([1]), [comparison])[0, 0]
    return (
        "missing"
        if code == 0
        else (
            "else"
            if code > len(comparison.levels)
            else comparison.levels[code - 1].label
        )
    )


def test_missing_field_is_no_evidence_not_agreement():
    assert _levels({"first_name": None}, {"first_name": None}, FIRST_NAME) == "missing"
    assert _levels({"first_name": "Ann"}, {"first_name": ""}, FIRST_NAME) == "missing"
    assert _levels({"dob": "1980-13-45"}, {"dob": "1980-13-45"}, DOB) == "missing"


def test_first_name_levels():
    assert _levels({"first_name": "Ann"}, {"first_name": "ann"}, FIRST_NAME) == "exact"
    assert (
        _levels({"first_name": "Jonathon"}, {"first_name": "Jonathan"}, FIRST_NAME)
        == "jw92"
    )
    assert (
        _levels({"first_name": "Bill"}, {"first_name": "William"}, FIRST_NAME)
        == "nickname"
    )
    assert (
        _levels({"first_name": "W"}, {"first_name": "William"}, FIRST_NAME) == "initial"
    )
    assert (
        _levels(
            {"first_name": "Lee", "surname": "Ann"},
            {"first_name": "Ann", "surname": "Lee"},
            FIRST_NAME,
        )
        == "swapped"
    )
    assert (
        _levels({"first_name": "Zoe"}, {"first_name": "Margaret"}, FIRST_NAME) == "else"
    )


def test_surname_levels():
    assert (
        _levels({"surname": "Lewis-Henderson"}, {"surname": "Lewis"}, SURNAME) == "part"
    )
    assert _levels({"surname": "Smith"}, {"surname": "Smyth"}, SURNAME) == "jw80"


def test_date_of_birth_levels():
    assert _levels({"dob": "1980-02-03"}, {"dob": "19800203"}, DOB) == "exact"
    assert _levels({"dob": "1980-02-03"}, {"dob": "1980-02-04"}, DOB) == "typo"
    assert _levels({"dob": "1980-02-11"}, {"dob": "1980-11-02"}, DOB) == "swap"
    assert _levels({"dob": "1979-02-23"}, {"dob": "1980-02-23"}, DOB) == "year"
    assert _levels({"dob": "1950-02-23"}, {"dob": "1980-07-13"}, DOB) == "else"


def test_location_falls_back_from_street_to_postcode_to_town():
    a = {"street_address": "12 Oak Street", "postcode": "10001", "city": "Troy"}
    assert _levels(a, {**a, "street_address": "12 Oak St"}, LOCATION) == "address"
    assert _levels(a, {**a, "street_address": "21 Elm Road"}, LOCATION) == "postcode"
    assert (
        _levels(a, {"street_address": None, "postcode": None, "city": "troy"}, LOCATION)
        == "city"
    )
    assert _levels(a, {"city": "Paris"}, LOCATION) == "else"


def test_phone_levels():
    assert (
        _levels({"phone": "+1 (555) 123-4567"}, {"phone": "5551234567"}, PHONE)
        == "exact"
    )
    assert _levels({"phone": "5551234567"}, {"phone": "5551234667"}, PHONE) == "typo"


def test_all_preset_comparisons_run_on_a_pair():
    table = prepare_records(
        [Record("a", "x", {"first_name": "Ann"}), Record("b", "x", {"surname": "Lee"})],
        "person",
    )
    comps = preset("person").comparisons
    levels = comparison_levels(table, np.array([0]), np.array([1]), comps)
    assert levels.shape == (1, len(comps))
    assert (levels == 0).all()


def test_standardisers():
    assert surname(" O'Neil - Smith ") == "oneil-smith"
    assert soundex("robert") == soundex("rupert") == "R163"
    assert dob("02/03/1980") == "1980-03-02"
    assert dob("1980-02-30") is None
    assert street_address("12 Oak St., Apt 4") == "12 oak street apartment 4"
