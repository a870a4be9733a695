import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.masking import (
    ID_STARS,
    PHONE_STARS,
    id_reveal,
    mask_email,
    mask_id,
    mask_json,
    mask_phone,
    mask_text,
    mask_value,
    phone_reveal,
)

digits = st.text(alphabet="0123456789", min_size=0, max_size=24)
layout = st.sampled_from(["", " ", "-", "(", ")", " - "])
mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
usccs = st.from_regex(r"\A[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}\Z")
# Free text around the numbers: Chinese, Latin letters and punctuation, but
# no digits, so that every digit in the output comes from a masked token.
filler = st.text(
    alphabet=st.sampled_from(list("客户电话地址北京市朝阳区 ,;：:/abcXYZ")),
    min_size=1,
    max_size=8,
)


def _digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def test_the_examples_of_the_brief():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("138-0013-8000") == "138****8000"
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_id("91110108MA01KPGK0L") == "9111**********0L"
    assert mask_email("zhaobing@126.com") == "z***@126.com"


def test_short_numbers_show_less():
    assert mask_phone("65521234") == "****1234"
    assert mask_phone("12345") == "****"
    assert mask_id("MA01KPGK0") == "MA**********0"
    assert mask_id("123") == "**********"


@given(st.lists(st.tuples(st.sampled_from("0123456789"), layout), max_size=20))
def test_a_masked_phone_shows_only_its_first_and_last_digits(parts):
    raw = "".join(digit + sep for digit, sep in parts)
    masked = mask_phone(raw)
    if raw.startswith("0086"):
        raw, masked = raw[4:], masked.removeprefix("+86 ")
    number = _digits(raw)
    head, tail = phone_reveal(len(number))
    assert head + tail <= 7
    assert head + tail <= max(0, len(number) - 4)
    if number:
        assert _digits(masked) == number[:head] + number[len(number) - tail :]
        assert PHONE_STARS in masked


@given(digits)
def test_the_country_code_is_not_counted_as_part_of_the_number(number):
    masked = mask_phone("+86" + number)
    head, tail = phone_reveal(len(number))
    assert masked.startswith("+86 ")
    assert _digits(masked[4:]) == number[:head] + number[len(number) - tail :]


@given(st.text(min_size=1, max_size=30))
def test_a_masked_identifier_shows_at_most_six_characters(value):
    masked = mask_id(value)
    compact = re.sub(r"[\s\-]", "", value)
    if not compact:
        return
    head, tail = id_reveal(len(compact))
    assert masked == compact[:head] + ID_STARS + compact[len(compact) - tail :]
    assert head + tail <= 6
    assert head + tail <= len(compact) // 2


@given(st.emails())
def test_a_masked_email_shows_one_character_of_its_local_part(address):
    local, _, domain = address.rpartition("@")
    masked = mask_email(address)
    assert masked.endswith("@" + domain)
    assert masked[: -len(domain) - 1] in (local[:1] + "***", "***")


@given(
    st.lists(
        st.tuples(filler, st.one_of(mobiles, usccs, st.emails())),
        min_size=1,
        max_size=5,
    ),
    filler,
)
def test_free_text_never_leaks_more_digits_than_the_patterns(pieces, end):
    text = "".join(before + token for before, token in pieces) + end
    masked = mask_text(text)
    allowed = 0
    for _, token in pieces:
        if "@" in token:
            local, _, domain = token.rpartition("@")
            allowed += len(_digits(local[:1])) + len(_digits(domain))
        else:
            allowed += 6 if len(token) == 18 else 7
            assert token not in masked
    assert len(_digits(masked)) <= allowed


@given(st.text(max_size=80))
def test_masking_never_fails_on_any_text(text):
    assert isinstance(mask_text(text), str)
    assert isinstance(mask_phone(text), str)
    assert isinstance(mask_id(text), str)
    assert isinstance(mask_email(text), str)


def test_dates_and_house_numbers_stay_readable():
    text = "录入 2014/2/27 修改 2023-06-22T12:40:01 新城大道240号2207室"
    assert mask_text(text) == text


def test_golden_ids_stay_readable():
    assert mask_text("merged into GR0000000013") == "merged into GR0000000013"


def test_a_legacy_cell_with_two_numbers_masks_each():
    assert mask_text("0571-71154550,14525497565") == "057****4550,145****7565"


def test_attribute_values_are_masked_by_kind():
    assert mask_value("phones", ["+8613800138000"]) == ["+86 138****8000"]
    assert mask_value("emails", ["sales@huasheng.cn"]) == ["s***@huasheng.cn"]
    assert mask_value("uscc", "91110108MA01KPGK0L") == "9111**********0L"
    assert mask_value("contacts", [{"name": "王总", "phone": "13800138000"}]) == [
        {"name": "王总", "phone": "138****8000"}
    ]
    assert mask_value("legal_name", "北京华盛科技有限公司") == "北京华盛科技有限公司"


def test_a_raw_payload_is_masked_value_by_value():
    payload = {"FTel": "13800138000", "FNumber": "CUST-1", "n": 3, "x": [None]}
    assert mask_json(payload) == {
        "FTel": "138****8000",
        "FNumber": "CUST-1",
        "n": 3,
        "x": [None],
    }


# Cheap strategies (integers, not regexes): 10,000 records in seconds.
fast_mobiles = st.builds(
    "1{}{:09d}".format, st.integers(3, 9), st.integers(0, 10**9 - 1)
)
fast_ids = st.builds(
    "{}{:016d}{}".format,
    st.integers(1, 9),
    st.integers(0, 10**16 - 1),
    st.sampled_from("0123456789X"),
)
fast_emails = st.builds(
    "{}{}@{}.cn".format,
    st.sampled_from(["sales", "li.wei", "a", "x_1"]),
    st.integers(0, 999),
    st.sampled_from(["huasheng", "163", "126", "corp2"]),
)
records = st.fixed_dictionaries(
    {
        "legal_name": filler,
        "phones": st.lists(fast_mobiles, max_size=3),
        "emails": st.lists(fast_emails, max_size=2),
        "uscc": fast_ids,
        "contacts": st.lists(
            st.fixed_dictionaries(
                {"name": filler, "phone": fast_mobiles, "id": fast_ids}
            ),
            max_size=2,
        ),
    }
)


@settings(max_examples=10_000)  # RELIABILITY W8: 10,000 generated records
@given(records)
def test_a_masked_record_never_shows_more_than_the_masked_forms(record):
    masked = {key: mask_value(key, value) for key, value in record.items()}
    text = repr(masked)
    phones = record["phones"] + [c["phone"] for c in record["contacts"]]
    ids = [record["uscc"]] + [c["id"] for c in record["contacts"]]
    for number in phones + ids:
        assert number not in text
    # a phone shows 3 + 4 digits (138****8000), an ID number 4 + 2 characters,
    # an e-mail its first character and its domain
    emails = sum(len(_digits(e[0] + e.rpartition("@")[2])) for e in record["emails"])
    assert len(_digits(text)) <= 7 * len(phones) + 6 * len(ids) + emails
    for phone in masked["phones"]:
        assert re.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}", phone)
