"""The phone standardiser the long way, without its shortcuts: the
reference the parity tests hold the shortcuts to, and the messy cells they
draw."""

from __future__ import annotations

import sys

import phonenumbers
from hypothesis import strategies as st
from phonenumbers import phonenumberutil

from matching.standardise.phones import (
    _CHINESE_EXTENSION_RE,
    _EXCEL_FLOAT_RE,
    _SCIENTIFIC_RE,
    _expand_scientific,
)

# The module (the package exports a function of the same name).
PHONES = sys.modules["matching.standardise.phones"]
CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
DESCS = (
    CN.general_desc,
    CN.premium_rate,
    CN.toll_free,
    CN.shared_cost,
    CN.fixed_line,
    CN.mobile,
)
NATIONAL = st.text(alphabet="0123456789", min_size=1, max_size=13)
# Digits as a landline is dialled inside China: area code without its 0,
# then the subscriber number (many of these are valid landlines).
AREA_NUMBERS = st.tuples(
    st.sampled_from(["10", "20", "21", "22", "23", "24", "25", "27", "28", "29"])
    | st.integers(310, 999).map(str),
    st.text(alphabet="0123456789", min_size=6, max_size=9),
).map("".join)


def landline_the_long_way(national: str) -> bool:
    matches = phonenumberutil._is_number_matching_desc
    return (
        matches(national, CN.general_desc)
        and not any(
            matches(national, desc)
            for desc in (CN.premium_rate, CN.toll_free, CN.shared_cost)
        )
        and matches(national, CN.fixed_line)
        and not matches(national, CN.mobile)
    )


def rewrite_the_long_way(text: str) -> str:
    text = _CHINESE_EXTENSION_RE.sub(" ext ", text)
    text = _EXCEL_FLOAT_RE.sub(r"\1", text)
    return _SCIENTIFIC_RE.sub(_expand_scientific, text)


# Cells as people and spreadsheets write them: whole numbers and pieces of
# numbers, full-width digits, separators, extension words, Excel artefacts.
MESSY = st.lists(
    st.sampled_from(
        [*"0123456789０１２３４５６７８９ -.()+/,;、:#xeE", "转", "分机", "分机号"]
        + ["010-", "0755 ", "(021)", "+86 ", "0086", "86-10-", "400", "138"]
        + ["13800138000", "65521234", "6552 1234", "8600 1234", "1.38001380"]
        + ["ext", "ext.", "\u3000", "\t", "手机:", ".0", "e+10", "e10", "．"]
    ),
    max_size=12,
).map("".join)
