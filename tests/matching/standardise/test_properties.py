import dataclasses
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.standardise import (
    address,
    company_name,
    email,
    normalise,
    person_name,
    phones,
    text,
    uscc,
)
from matching.standardise.text import HAN_RE

INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad"  # noqa: E501

ascii_or_cjk = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    ),
    max_size=30,
)
name_fragments = st.lists(
    st.sampled_from(
        [
            "北京",
            "深圳市",
            "南山区",
            "华盛",
            "華盛",
            "科技",
            "有限公司",
            "(",
            ")",
            "（北京）",
            "分公司",
            "上海",
            "集团",
            "Beijing",
            " ",
            "Co.,Ltd",
            "Technology",
            "厂",
            "店",
            "中国",
            "有限合伙",
            "驻",
            "第一",
            "ＡＢＣ",
            "\u200b",
            "银行",
            "支行",
            "-",
            "&",
        ]
    ),
    max_size=12,
).map("".join)
phone_like = st.text(
    st.sampled_from("0123456789 +-()./,;、转ext#xe１８６"), max_size=40
)


def to_full_width(s: str, mask: list[bool]) -> str:
    out = []
    for c, flip in zip(s, mask, strict=False):
        if flip and c == " ":
            out.append("\u3000")
        elif flip and "!" <= c <= "~":
            out.append(chr(ord(c) + 0xFEE0))
        else:
            out.append(c)
    return "".join(out) + s[len(mask) :]


@given(st.text())
def test_normalise_is_idempotent(s):
    assert normalise(normalise(s)) == normalise(s)


def normalise_the_long_way(s: str) -> str:
    s = unicodedata.normalize("NFKC", text._INVISIBLE_RE.sub("", s))
    s = text._to_simplified(s).translate(text._BRACKETS)
    return text._WHITESPACE_RE.sub(" ", s).strip()


@settings(max_examples=500)
@given(st.text(st.characters(max_codepoint=0x7F)))
def test_ascii_text_normalises_as_it_does_the_long_way(s):
    assert normalise(s) == normalise_the_long_way(s)


@settings(max_examples=500)
@given(ascii_or_cjk, st.lists(st.booleans(), max_size=30))
def test_full_and_half_width_variants_normalise_equal(s, mask):
    assert normalise(to_full_width(s, mask)) == normalise(s)


@given(st.text(), st.lists(st.tuples(st.integers(0, 40), st.sampled_from(INVISIBLE))))
def test_invisible_characters_never_survive(s, insertions):
    for position, char in insertions:
        s = s[:position] + char + s[position:]
    assert not set(normalise(s)) & set(INVISIBLE)


@given(st.one_of(st.text(), phone_like))
def test_phones_never_raise_and_give_e164(s):
    for phone in phones(s):
        assert phone.e164.startswith("+")
        assert phone.e164[1:].isdigit()
        assert phone.kind in {"mobile", "landline", "other"}


@given(st.one_of(st.text(), name_fragments))
def test_company_name_never_raises(s):
    name = company_name(s)
    if name is not None:
        assert name.core
        assert name.brand
        assert name.script in {"han", "latin", "mixed"}
        assert name.is_branch == (name.branch is not None)


QUOTE_PAIRS = ["", '""', "＂＂", "''", "“”", "‘’", "《》", "「」", "『』", "〈〉"]


@given(
    name_fragments.map("".join).filter(lambda s: HAN_RE.search(normalise(s))),
    st.sampled_from(QUOTE_PAIRS),
    st.sampled_from(["", "*", "'", "#", "、", "?", "-", "…", " "]),
    st.sampled_from(["", "。", "、", "?", "*", ";", ",", "…", " "]),
    st.integers(min_value=0),
)
def test_quotes_and_stray_end_marks_leave_a_chinese_name_as_it_was(
    name, quotes, lead, tail, at
):
    # Quotes around the name or inside it (华盛“科技”), marks at either end.
    at %= len(name) + 1
    inner = f"{name[:at]}{quotes}{name[at:]}" if quotes else name
    marked = f"{lead}{quotes[:1]}{inner}{quotes[1:]}{tail}"
    plain, parsed = company_name(name), company_name(marked)
    if plain is None:
        assert parsed is None
    else:
        assert dataclasses.replace(parsed, raw=name) == plain


@given(st.one_of(st.text(), name_fragments))
def test_other_standardisers_never_raise(s):
    address(s)
    email(s)
    person_name(s)
    uscc(s)
