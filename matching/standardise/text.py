"""Text normalisation shared by every standardiser.

`normalise` is the first step for any raw source string: the same value typed in
an ERP (full-width, traditional characters, stray zero-width spaces pasted from
a web page) and in a CRM must come out identical.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from opencc import OpenCC
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

# Invisible format characters: zero-width spaces and joiners, bidi embeddings,
# overrides and isolates, soft hyphen, variation selectors, tag characters, and
# C0/C1 controls other than the ones Python treats as whitespace (those are
# collapsed to a space instead).
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u034f\u061c\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)
_WHITESPACE_RE = re.compile(r"\s+")
_BRACKETS = str.maketrans("【[〔〖】]〕〗", "(((())))")
HAN_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RE = re.compile(f"[{HAN_CHARS}]")
# Quotation marks tell no two names or addresses apart: 杭州“西湖”茶业有限公司,
# or a whole value quoted by an export ("…", 《…》, 「…」, Excel's text prefix ').
_QUOTES_RE = re.compile("[\"'`“”‘’「」『』《》〈〉]")
# Marks other than brackets that lead a value: *华盛科技, 、北京市.
LEADING_MARKS_RE = re.compile(r"^[^\w(]+")

_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
_LATIN_RE = re.compile("[A-Za-z\u00c0-\u024f]")
_CYRILLIC_GREEK_RE = re.compile("[\u0370-\u03ff\u0400-\u04ff]")
# Cyrillic and Greek letters that render like Latin ones.
_LOOKALIKES = frozenset("аеорсухіјѕԁԛԝһӏүАВЕКМНОРСТУХІЈЅҮҺӀԚԜΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοινρυ")


@lru_cache(maxsize=1)
def _t2s_tables() -> tuple[OpenCC, frozenset[str]]:
    # OpenCC's pure-Python converter costs ~60 µs a call, so strings without
    # any character it could change skip it. That set is every traditional
    # character plus those that only change inside a phrase (覆 in 反覆 → 反复).
    converter = OpenCC("t2s")
    converter.convert("")  # loads the dictionaries into dict_cache
    changeable: set[str] = set()
    for _, _, mapping in converter.dict_cache.values():
        for key, value in mapping.items():
            value = value.split(" ")[0]
            changeable.update(a for a, b in zip(key, value, strict=False) if a != b)
    return converter, frozenset(changeable)


def _to_simplified(s: str) -> str:
    converter, changeable = _t2s_tables()
    if changeable.isdisjoint(s):
        return s
    return _t2s_convert(converter, s)


@lru_cache(maxsize=16384)
def _t2s_convert(converter: OpenCC, s: str) -> str:
    # A few OpenCC mappings chain (薴 → 苧 → 苎); run to a fixed point so that
    # normalise stays idempotent.
    for _ in range(4):
        converted = converter.convert(s)
        if converted == s:
            break
        s = converted
    return s


def normalise(s: str | None) -> str:
    """Normalise a raw source string for comparison.

    NFKC (full-width letters, digits and punctuation become half-width), strip
    zero-width and bidi control characters, convert traditional Chinese to
    simplified, unify brackets （）【】[] to (), collapse whitespace and strip.
    Case is kept.

    Args:
        s: Raw text; None is treated as the empty string.
    """
    if not s:
        return ""
    if s.isascii() and s.isprintable():
        # Most phones, e-mails and English names. No step below changes
        # printable ASCII but the brackets and runs of spaces (the invisible
        # characters and the traditional ones all lie outside it).
        s = s.translate(_BRACKETS)
        return _WHITESPACE_RE.sub(" ", s).strip() if "  " in s else s.strip()
    s = _INVISIBLE_RE.sub("", s)
    s = unicodedata.normalize("NFKC", s)
    s = _to_simplified(s).translate(_BRACKETS)
    return _WHITESPACE_RE.sub(" ", s).strip()


def without_quotes(s: str) -> str:
    """`s` without quotation marks, straight or curly, Chinese or Western."""
    return _QUOTES_RE.sub("", s)


def has_confusable_script(s: str | None) -> bool:
    """Whether Latin text is mixed with Cyrillic or Greek look-alike letters.

    True for "Huаsheng" with a Cyrillic "а", or for a word spelt only with
    look-alikes ("Со") next to Latin words. Such values are usually a copy-paste
    accident or spoofing and should be flagged for review.

    Args:
        s: Raw text.
    """
    if not s or s.isascii():  # nothing in ASCII looks Cyrillic or Greek
        return False
    s = normalise(s)
    if not _CYRILLIC_GREEK_RE.search(s) or not _LATIN_RE.search(s):
        return False
    has_latin_word = has_lookalike_word = False
    for word in _LETTER_RUN_RE.findall(s):
        latin = _LATIN_RE.search(word) is not None
        foreign = _CYRILLIC_GREEK_RE.search(word) is not None
        if latin and foreign:
            return True
        has_latin_word = has_latin_word or latin
        has_lookalike_word = has_lookalike_word or (
            foreign and _LOOKALIKES.issuperset(word)
        )
    return has_latin_word and has_lookalike_word


_TONE_MARKS = str.maketrans(
    {
        **dict.fromkeys("āáǎà", "a"),
        **dict.fromkeys("ēéěèêếề", "e"),
        **dict.fromkeys("īíǐì", "i"),
        **dict.fromkeys("ōóǒò", "o"),
        **dict.fromkeys("ūúǔù", "u"),
        **dict.fromkeys("üǖǘǚǜ", "v"),
        **dict.fromkeys("ńňǹ", "n"),
        "ḿ": "m",
        **dict.fromkeys("\u0300\u0301\u0304\u030c"),
    }
)


def longest_by_start(keys: Iterable[str]) -> dict[str, int]:
    """Length of the longest key for each two-character start.

    Dictionary scans use it to skip the positions where no key starts, which
    are most of them.

    Args:
        keys: Dictionary keys of two characters or more.
    """
    lengths: dict[str, int] = {}
    for key in keys:
        lengths[key[:2]] = max(lengths.get(key[:2], 0), len(key))
    return lengths


@lru_cache(maxsize=1)
def _phrase_lengths() -> dict[str, int]:
    return longest_by_start(PHRASES_DICT)


@lru_cache(maxsize=65536)
def to_pinyin(s: str) -> str:
    """Toneless pinyin of `s`, lower case, without spaces ("华盛" → "huasheng").

    Gives what ``"".join(pypinyin.lazy_pinyin(s))`` gives (so 重庆 is
    "chongqing" and 银行 "yinhang"), reading pypinyin's phrase and character
    dictionaries directly: its own pipeline costs ~30 µs a call, which is the
    whole time budget of a company name. Characters other than Han pass
    through, lower-cased.

    Args:
        s: Normalised (simplified) text.
    """
    phrase_lengths = _phrase_lengths()
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        # Forward maximum matching over the phrase dictionary, as pypinyin's
        # default segmenter does.
        length = 1
        if longest := phrase_lengths.get(s[i : i + 2]):
            for length in range(min(longest, n - i), 0, -1):
                if length == 1 or s[i : i + length] in PHRASES_DICT:
                    break
        out.append(_reading(s[i : i + length]))
        i += length
    return "".join(out)


@lru_cache(maxsize=65536)
def _reading(segment: str) -> str:
    if len(segment) > 1:
        readings = [r[0] for r in PHRASES_DICT[segment]]
    else:
        reading = PINYIN_DICT.get(ord(segment))
        readings = [reading.split(",", 1)[0] if reading else segment]
    return "".join(readings).translate(_TONE_MARKS).lower()


# Toneless pinyin syllables of two letters or more (a, e, o and the rare
# interjections left out), for spotting romanised Chinese in Latin text.
PINYIN_SYLLABLES = frozenset(
    (
        "ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing "
        "bo bu ca cai can cang cao ce cen ceng cha chai chan chang chao che chen "
        "cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong "
        "cou cu cuan cui cun cuo da dai dan dang dao de dei deng di dia dian diao "
        "die ding diu dong dou du duan dui dun duo ei en eng er fa fan fang fei "
        "fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua "
        "guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou "
        "hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing "
        "jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku "
        "kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia "
        "lian liang liao lie lin ling liu lo long lou lu luan lun luo lv ma mai "
        "man mang mao mei men meng mi mian miao mie min ming miu mo mou mu na nai "
        "nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nu "
        "nuan nuo nv ou pa pai pan pang pao pei pen peng pi pian piao pie pin "
        "ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que "
        "qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai "
        "san sang sao se sen seng sha shai shan shang shao she shen sheng shi "
        "shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui "
        "sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu "
        "tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang "
        "xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin "
        "ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha "
        "zhai zhan zhang zhao zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan "
        "zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo "
    ).split()
)
