"""Contact person names as they appear in B2B records: 王建国, 王总, 老王,
"Jianguo Wang"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin

from matching.standardise.surnames import COMPOUND_SURNAMES, SINGLE_SURNAMES
from matching.standardise.text import (
    HAN_RE,
    PINYIN_SYLLABLES,
    normalise,
    without_quotes,
)


@dataclass(frozen=True, slots=True)
class PersonName:
    """A contact name.

    `full` is None when only a surname is known (王总, 老王). Latin names are
    lower-case with the surname first ("wang jianguo").
    """

    full: str | None
    surname: str | None
    honorific: str | None


# Titles after a name; the one-character ones (王总, 王工) only after a bare
# surname, since 王建工 is more likely a given name than "engineer 王建".
_LONG_TITLES = (
    "总经理 董事长 副总经理 副总 总工 老总 总监 经理 老板 老师 先生 女士 小姐 太太 "
    "夫人 主任 主管 会计 出纳 部长 科长 处长 厂长 局长 院长 校长 所长 秘书 助理 "
    "师傅 律师 医生 博士 教授 阿姨 同志"
).split()
_SHORT_TITLES = tuple("总工董姐哥叔姨")
_PREFIX_TITLES = ("老", "小")
# Values of a contact-name column that name a role, not a person.
_ROLES = frozenset(
    "财务 前台 采购 销售 联系人 收货人 负责人 经理 老板 总经理 仓库 客服 行政 人事 "
    "财务部 采购部 销售部 办公室".split()
)
_LATIN_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam"})
_SEPARATORS_RE = re.compile(r"[/,;、|]")
# A note in brackets beside a name: 王建国(财务), 王总(13800138000).
_BRACKETED_RE = re.compile(r"\([^()]*\)")
# A number written beside a name: 王总13800138000, 138-0013-8000 王建国.
_NUMBER_RE = re.compile(r"\+?\d[\d\s-]*")
_LATIN_WORD_RE = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=16384)
def person_name(raw: str | None) -> PersonName | None:
    """Parse a contact name into full name, surname and honorific.

    王总, 王经理, 王先生, 王工, 老王 and 小王 give surname 王, no full name and
    the honorific; 王建国 gives full name and surname 王; compound surnames
    (欧阳, 司马, 诸葛 …) are recognised. Latin names in either order ("Wang
    Jianguo", "Jianguo Wang", "WANG Jianguo") give "wang jianguo".

    Args:
        raw: The name as it appears in the source system; when a cell holds
            several names the first is used. Quotation marks, a note in
            brackets (王建国(财务)) and a number beside the name
            (王总13800138000) are left out.

    Returns:
        None for an empty value or a role such as 财务 or 采购部.
    """
    text = normalise(raw)
    if HAN_RE.search(text):
        text = _NUMBER_RE.sub(" ", _BRACKETED_RE.sub(" ", without_quotes(text)))
        chunks = _SEPARATORS_RE.split(text)
        tokens = next((c for c in chunks if c.strip()), "").split()
        # "王建国 李四" is two people, "王 建国" one.
        if len(tokens) > 1 and min(map(len, tokens)) >= 2:
            return _han_name(tokens[0])
        return _han_name("".join(tokens))
    first, _, rest = text.partition(",")
    words = _LATIN_WORD_RE.findall(first)
    if len(words) == 1 and len(given := _LATIN_WORD_RE.findall(rest)) == 1:
        return _latin_name([words[0].upper(), *given])  # "Wang, Jianguo"
    return _latin_name(words) if words else None


def _han_name(s: str) -> PersonName | None:
    if not s or s in _ROLES:
        return None
    for prefix in _PREFIX_TITLES:
        if s.startswith(prefix) and _is_surname(s[1:]):
            return PersonName(full=None, surname=s[1:], honorific=prefix)
    for title in _LONG_TITLES:
        if s.endswith(title) and len(s) > len(title):
            rest = s[: -len(title)]
            if _is_surname(rest):
                return PersonName(full=None, surname=rest, honorific=title)
            return _with_title(_full_name(rest), title)
    if s[-1] in _SHORT_TITLES and _is_surname(s[:-1]):
        return PersonName(full=None, surname=s[:-1], honorific=s[-1])
    return _full_name(s)


def _with_title(name: PersonName | None, title: str) -> PersonName | None:
    if name is None:
        return None
    return PersonName(full=name.full, surname=name.surname, honorific=title)


def _is_surname(s: str) -> bool:
    return s in SINGLE_SURNAMES or s in COMPOUND_SURNAMES


def _full_name(s: str) -> PersonName | None:
    if s in _ROLES:
        return None
    if _is_surname(s):
        return PersonName(full=None, surname=s, honorific=None)
    if len(s) >= 3 and s[:2] in COMPOUND_SURNAMES:
        return PersonName(full=s, surname=s[:2], honorific=None)
    if len(s) <= 4 and s[0] in SINGLE_SURNAMES:
        return PersonName(full=s, surname=s[0], honorific=None)
    return PersonName(full=s, surname=None, honorific=None)


def _latin_name(words: list[str]) -> PersonName | None:
    honorific = None
    if words[0].lower() in _LATIN_TITLES:
        honorific, words = words[0].lower(), words[1:]
    if not words:
        return None
    upper = [w for w in words if w.isupper() and len(w) > 1]
    lower = [w.lower() for w in words]
    if len(upper) == 1 and len(words) > 1:
        surname = upper[0].lower()  # "WANG Jianguo": capitals mark the surname
    elif lower[-1] in _pinyin_surnames() and lower[0] not in _pinyin_surnames():
        surname = lower[-1]
    elif len(words) == 1 or lower[0] in _pinyin_surnames():
        surname = lower[0]
    else:
        surname = lower[-1]  # a Western name: "John Smith"
    given = list(lower)
    given.remove(surname)
    if not given:
        return PersonName(full=None, surname=surname, honorific=honorific)
    if all(w in PINYIN_SYLLABLES for w in given):
        given = ["".join(given)]  # "Jian Guo" is how some sources spell 建国
    return PersonName(
        full=" ".join((surname, *given)), surname=surname, honorific=honorific
    )


@lru_cache(maxsize=1)
def _pinyin_surnames() -> frozenset[str]:
    # Every reading counts: 单 is "shan" as a surname but "dan" elsewhere.
    readings = set()
    for surname in (*SINGLE_SURNAMES, *COMPOUND_SURNAMES):
        syllables = pinyin(surname, style=Style.NORMAL, heteronym=True)
        if len(syllables) == 1:
            readings.update(syllables[0])
        else:
            readings.update(a + b for a in syllables[0] for b in syllables[1])
    return frozenset(readings)
