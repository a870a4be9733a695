"""Company names: raw source strings to comparable parts.

A Chinese company name reads [region][brand][industry words][legal form]
[branch], with the region sometimes in brackets after the brand instead:
北京华盛科技有限公司上海分公司, 华盛科技(北京)有限公司. English names follow
the same pattern ("Beijing Huasheng Technology Co., Ltd. Shanghai Branch").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matching.standardise import region
from matching.standardise.industries import HAN_INDUSTRY, LATIN_INDUSTRY
from matching.standardise.legal_forms import (
    COUNTRY_WORDS,
    HAN_BRANCH_WORDS,
    HAN_LEGAL_FORMS,
    HAN_SHOP_EXCEPTIONS,
    LATIN_BRANCH_WORDS,
    LATIN_LEGAL_FORMS,
)
from matching.standardise.text import (
    HAN_CHARS,
    HAN_RE,
    LEADING_MARKS_RE,
    PINYIN_SYLLABLES,
    longest_by_start,
    normalise,
    to_pinyin,
    without_quotes,
)


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A company name split into the parts matching compares.

    `core` is the distinctive name (region, legal form and branch removed),
    `brand` the core without trailing industry words. `region`, `province` and
    `city` use canonical short names (北京, 广东, 深圳; districts in full).
    `latin_key` is comparable across scripts: 北京华盛科技有限公司 and "Beijing
    Huasheng Technology Co., Ltd." both give "huasheng technology".
    """

    raw: str
    normalised: str
    core: str
    brand: str
    industry_terms: tuple[str, ...]
    legal_form: str | None
    region: str | None
    province: str | None
    city: str | None
    branch: str | None
    is_branch: bool
    pinyin: str
    latin_key: str
    script: str
    tokens: tuple[str, ...]


_LETTER_RE = re.compile(r"[^\W\d_]")
_LATIN_RE = re.compile("[a-z\u00c0-\u024f]")
_SPACE_NEAR_HAN_RE = re.compile(f"\\s+(?=[{HAN_CHARS}()])|(?<=[{HAN_CHARS}()])\\s+")
# Stray marks at the end of a Chinese name (华盛科技有限公司。): anything but
# a letter, a digit or a bracket.
_TRAILING_MARKS_RE = re.compile(r"[^\w)]+$")
_BRACKET_RE = re.compile(r"\(([^()]*)\)")
_TRAILING_BRACKET_RE = re.compile(r"\(([^()]*)\)$")
_ORDINAL_TAIL_RE = re.compile("第?[一二三四五六七八九十百0-9]+$")
_HAN_BRANCH_TAIL_RE = re.compile(
    "(?P<head>.+(?:公司|集团|合伙\\)|厂))(?P<branch>[^()]*(?:"
    + "|".join(HAN_BRANCH_WORDS)
    + "))$"
)
_LATIN_WORD_RE = re.compile(r"[^\W_]+")
_MAX_HAN_LEGAL = max(map(len, HAN_LEGAL_FORMS))
# Longest industry word for each (reversed) two-character ending.
_HAN_INDUSTRY_ENDS = longest_by_start(word[::-1] for word in HAN_INDUSTRY)
_LATIN_LEGAL = {tuple(k.split()): v for k, v in LATIN_LEGAL_FORMS.items()}
_LATIN_BRANCH = {tuple(k.split()): v for k, v in LATIN_BRANCH_WORDS.items()}
_LATIN_INDUSTRY = {tuple(k.split()): v for k, v in LATIN_INDUSTRY.items()}


@lru_cache(maxsize=8192)
def company_name(raw: str | None) -> CompanyName | None:
    """Parse a company name in Chinese, English or a mix of both.

    Handles legal forms (有限公司, 股份有限公司, 集团, (有限合伙), 厂, 店, Co.,
    Ltd., GmbH …), region prefixes at province, city and district level with
    or without suffix (北京, 广东省深圳市), bracketed regions (华盛科技(北京)
    有限公司, "(Beijing)"), branches (上海分公司, "Shanghai Branch"),
    traditional characters, full-width letters, stray spaces, quotation marks
    and stray marks at either end of a Chinese name. A region that
    is the whole distinctive name is kept (北京银行, 上海电气).

    Args:
        raw: The name as it appears in the source system.

    Returns:
        None when the value holds no letters at all.
    """
    text = normalise(raw).lower()
    if raw is None or not _LETTER_RE.search(text):
        return None
    if HAN_RE.search(text):
        script = "mixed" if _LATIN_RE.search(text) else "han"
        text = _SPACE_NEAR_HAN_RE.sub("", without_quotes(text))
        text = _TRAILING_MARKS_RE.sub("", LEADING_MARKS_RE.sub("", text))
        return _han_name(raw, text, script)
    return _latin_name(raw, text)


def _han_name(raw: str, text: str, script: str) -> CompanyName | None:
    s, branch = _strip_han_branch(text)
    s, bracket_places, bracket_form = _strip_han_brackets(s)
    if not s or s in HAN_LEGAL_FORMS:
        return None  # "有限公司" or "(北京)" alone names nobody
    s, legal_form = _strip_han_legal(s)
    if bracket_form and (legal_form is None or bracket_form == "集团"):
        legal_form = bracket_form  # 华盛(集团)有限公司, 华盛投资中心(有限合伙)
    core, places, (brand, words) = _strip_han_region(s)
    if bracket_places and (not places or bracket_places[0].level > places[0].level):
        places = bracket_places
    if not brand:
        brand, words = core, ()
    terms = tuple(dict.fromkeys(HAN_INDUSTRY[w] for w in words))
    brand_pinyin = to_pinyin(brand)
    province, city = region.common(places)
    return CompanyName(
        raw=raw,
        normalised=text,
        core=core,
        brand=brand,
        industry_terms=terms,
        legal_form=legal_form,
        region=places[0].name if places else None,
        province=province,
        city=city,
        branch=branch,
        is_branch=branch is not None,
        pinyin=brand_pinyin + "".join(map(to_pinyin, words)),
        latin_key=" ".join((brand_pinyin, *terms)),
        script=script,
        tokens=tuple(dict.fromkeys((brand, *(w for t in terms for w in t.split())))),
    )


def _strip_han_branch(s: str) -> tuple[str, str | None]:
    while s.endswith(")") and (match := _TRAILING_BRACKET_RE.search(s)):
        content, head = match.group(1), s[: match.start()]
        if content.endswith(HAN_BRANCH_WORDS) or (
            len(content) > 1 and content.endswith("店")
        ):
            return head, content  # 华盛科技有限公司(上海分公司), 永辉超市(五一路店)
        if (
            f"({content})" in HAN_LEGAL_FORMS
            or content in COUNTRY_WORDS
            or _bracket_region(content)
            or _han_legal_suffix(head) is None
        ):
            break
        s = head  # an annotation after the legal form: 有限公司(原华盛电子)
    if not s.endswith(HAN_BRANCH_WORDS):
        return s, None
    if match := _HAN_BRANCH_TAIL_RE.match(s):
        return match["head"], match["branch"]
    for word in HAN_BRANCH_WORDS:
        if s.endswith(word) and len(s) > len(word):
            start = _han_branch_start(s[: -len(word)])
            return s[:start], s[start:]
    return s, None


def _han_branch_start(body: str) -> int:
    # No legal form separates head office from branch (招商银行深圳南山支行):
    # the branch starts at the rightmost region name, widened to the region
    # names right before it, or at 驻 (驻上海办事处), or at an ordinal.
    for i in range(len(body) - 2, 1, -1):
        if region.match_prefix(body, i)[1]:
            i = _extend_region_left(body, i)
            return i - 1 if i > 2 and body[i - 1] == "驻" else i
    if (i := body.rfind("驻")) >= 2:
        return i
    match = _ORDINAL_TAIL_RE.search(body)
    return match.start() if match and match.start() >= 2 else len(body)


def _extend_region_left(s: str, i: int) -> int:
    while True:
        for length in range(min(region.LONGEST_NAME, i - 2), 1, -1):
            if region.lookup(s[i - length : i]):
                i -= length
                break
        else:
            return i


def _han_legal_suffix(s: str) -> str | None:
    for length in range(min(_MAX_HAN_LEGAL, len(s) - 1), 0, -1):
        form = s[-length:]
        if form in HAN_LEGAL_FORMS:
            if form == "店" and s[-2] in HAN_SHOP_EXCEPTIONS:
                return None  # 酒店, 饭店: the business, not a shop
            return form
    return None


def _strip_han_legal(s: str) -> tuple[str, str | None]:
    form = _han_legal_suffix(s)
    if form is None:
        return s, None
    return s[: -len(form)], HAN_LEGAL_FORMS[form]


def _strip_han_brackets(
    s: str,
) -> tuple[str, tuple[region.Place, ...], str | None]:
    if "(" not in s and ")" not in s:
        return s, (), None
    places: tuple[region.Place, ...] = ()
    legal_form = None
    kept = []
    last = 0
    for match in _BRACKET_RE.finditer(s):
        kept.append(s[last : match.start()])
        last = match.end()
        content = match.group(1)
        if found := _bracket_region(content):
            if not places or found[0].level > places[0].level:
                places = found
        elif f"({content})" in HAN_LEGAL_FORMS:
            if legal_form is None or HAN_LEGAL_FORMS[f"({content})"] == "集团":
                legal_form = HAN_LEGAL_FORMS[f"({content})"]
        elif content not in COUNTRY_WORDS:
            kept.append(content)
    kept.append(s[last:])
    return "".join(kept).replace("(", "").replace(")", ""), places, legal_form


def _bracket_region(content: str) -> tuple[region.Place, ...]:
    end, places, _ = region.match_prefix(content)
    if places and end == len(content):
        return places
    return region.lookup(content)  # also 五指山, 昆山 without 市


def _strip_han_region(
    s: str,
) -> tuple[str, tuple[region.Place, ...], tuple[str, tuple[str, ...]]]:
    # Returns the core, its region, and the core split into brand and
    # industry words (computed here anyway, for the checks below).
    end, places, suffixed = region.match_prefix(s)
    if places:
        split = _split_han_industry(s[end:])
        brand = split[0]
        # Keep a region that is the distinctive name (北京银行, 上海电气), and
        # a suffixless one that would leave a one-character brand (长春藤 is
        # no company in 长春).
        if brand and (suffixed or len(brand) >= 2):
            return s[end:], places, split
    return s, (), _split_han_industry(s)


def _split_han_industry(core: str) -> tuple[str, tuple[str, ...]]:
    # The brand is "" when the whole core is industry words.
    words: list[str] = []
    s = core
    while longest := _HAN_INDUSTRY_ENDS.get(s[:-3:-1]):
        for length in range(min(longest, len(s)), 1, -1):
            word = s[-length:]
            if word in HAN_INDUSTRY:
                break
        else:
            break
        rest = s[:-length]
        if rest in COUNTRY_WORDS:
            break  # 中国建设银行 keeps 中国建设 as its brand
        words.append(word)
        s = rest
    return s, tuple(reversed(words))


def _latin_name(raw: str, text: str) -> CompanyName | None:
    s = text.replace("&", " and ").replace("+", " and ").replace("'", "")
    places: tuple[region.Place, ...] = ()
    if "(" in s:
        s, places = _strip_latin_brackets(s)
    words = _join_hong_kong(_LATIN_WORD_RE.findall(s))
    if not words or tuple(words) in _LATIN_LEGAL:
        return None
    words, branch = _strip_latin_branch(words)
    words, legal_form = _strip_latin_legal(words)
    words, prefix_places = _strip_latin_region(words)
    if prefix_places and (not places or prefix_places[0].level >= places[0].level):
        places = prefix_places
    brand, terms = _split_latin_industry(words)
    if not brand:
        brand, terms = words, ()
    key_words = (*_merge_pinyin(brand), *terms)
    province, city = region.common(places)
    return CompanyName(
        raw=raw,
        normalised=text,
        core=" ".join(words),
        brand=" ".join(brand),
        industry_terms=terms,
        legal_form=legal_form,
        region=places[0].name if places else None,
        province=province,
        city=city,
        branch=branch,
        is_branch=branch is not None,
        pinyin="".join(words),
        latin_key=" ".join(key_words),
        script="latin",
        tokens=tuple(dict.fromkeys(w for k in key_words for w in k.split())),
    )


def _strip_latin_brackets(s: str) -> tuple[str, tuple[region.Place, ...]]:
    places: tuple[region.Place, ...] = ()
    kept = []
    last = 0
    for match in _BRACKET_RE.finditer(s):
        kept.append(s[last : match.start()])
        last = match.end()
        words = _join_hong_kong(_LATIN_WORD_RE.findall(match.group(1)))
        content = " ".join(words)
        if content in COUNTRY_WORDS:
            continue
        if len(words) == 1 and region.latin_region(content)[0]:
            places = region.lookup(region.latin_region(content)[1]) or places
            continue
        kept.append(f" {content} ")
    kept.append(s[last:])
    return "".join(kept), places


def _join_hong_kong(words: list[str]) -> list[str]:
    for i in range(len(words) - 1):
        if words[i] == "hong" and words[i + 1] == "kong":
            return [*words[:i], "hongkong", *_join_hong_kong(words[i + 2 :])]
    return words


def _trailing_phrase(
    words: list[str], table: dict[tuple[str, ...], str], keep: int
) -> int:
    # Length of the longest phrase of `table` that ends `words` and leaves at
    # least `keep` words before it; 0 when none does.
    for length in range(min(4, len(words) - keep), 0, -1):
        if tuple(words[-length:]) in table:
            return length
    return 0


def _strip_latin_branch(words: list[str]) -> tuple[list[str], str | None]:
    length = _trailing_phrase(words, _LATIN_BRANCH, 1)
    if not length:
        return words, None
    start = len(words) - length
    if start > 1 and region.latin_region(words[start - 1])[0]:
        start -= 1
    return words[:start], " ".join(words[start:])


def _strip_latin_legal(words: list[str]) -> tuple[list[str], str | None]:
    legal_form = None
    while length := _trailing_phrase(words, _LATIN_LEGAL, 1):
        canonical = _LATIN_LEGAL[tuple(words[-length:])]
        if legal_form is None or canonical == "group":
            legal_form = canonical
        words = words[:-length]
    return words, legal_form


def _strip_latin_region(
    words: list[str],
) -> tuple[list[str], tuple[region.Place, ...]]:
    places: tuple[region.Place, ...] = ()
    while len(words) > 1:
        is_region, name = region.latin_region(words[0])
        if not is_region or words[0] in COUNTRY_WORDS:
            break
        brand, _ = _split_latin_industry(words[1:])
        if not brand:
            break  # "Shanghai Electric" is the name, not a place
        places = region.lookup(name) or places
        words = words[1:]
    return words, places


def _split_latin_industry(
    words: list[str],
) -> tuple[list[str], tuple[str, ...]]:
    terms: list[str] = []
    while length := _trailing_phrase(words, _LATIN_INDUSTRY, 0):
        rest = words[:-length]
        if len(rest) == 1 and rest[0] in COUNTRY_WORDS:
            break
        terms.append(_LATIN_INDUSTRY[tuple(words[-length:])])
        words = rest
    return words, tuple(dict.fromkeys(reversed(terms)))


def _merge_pinyin(words: list[str]) -> list[str]:
    # "Hua Sheng" is how some sources spell 华盛; the pinyin of the Chinese
    # name has no spaces, so runs of single-syllable words are joined.
    merged: list[str] = []
    run = ""
    for word in words:
        if word in PINYIN_SYLLABLES:
            run += word
            continue
        if run:
            merged.append(run)
            run = ""
        merged.append(word)
    if run:
        merged.append(run)
    return merged
