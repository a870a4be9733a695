"""Chinese region names: gazetteer lookups and the helpers the comparer uses.

Canonical region names are short for provinces and cities ("北京", "广东",
"深圳", and "昆山" for a county-level city) and full for districts and counties
("浦东新区", "南山区", "长沙县"), whose short forms are ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matching.standardise.regions import ADCODES, MINORITY_NATIONS
from matching.standardise.text import longest_by_start, to_pinyin


@dataclass(frozen=True, slots=True)
class Place:
    """One administrative division.

    `level` is 1 for a province, 2 for a prefecture (or a county-level unit
    governed directly by its province, such as 仙桃市), 3 for a district,
    county or county-level city. `city` is the canonical name of the prefecture
    it lies in (the province itself for 北京, 上海, 天津, 重庆, 香港 and 澳门).
    """

    code: str
    level: int
    name: str
    full_name: str
    province: str
    city: str | None


# Province-level units that are a single city: the four municipalities and
# the two special administrative regions.
_CITY_PROVINCES = frozenset({"11", "12", "31", "50", "81", "82"})
_PROVINCE_SUFFIX_RE = re.compile(
    "(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$"
)
_PREFECTURE_SUFFIX_RE = re.compile("(?:市|地区|盟|林区)$")
_NATION_SUFFIX_RE = re.compile(
    "(?:" + "|".join(sorted(MINORITY_NATIONS, key=len, reverse=True)) + ")族?$"
)
_ITEM_RE = re.compile(r"(\d{6})(\S+)")


def _short_name(full: str, level: int) -> str:
    if level == 1:
        short = _PROVINCE_SUFFIX_RE.sub("", full)
    elif full.endswith("自治州"):
        short = full[:-3]
        while (stripped := _NATION_SUFFIX_RE.sub("", short)) != short:
            short = stripped
    elif level == 2:
        short = _PREFECTURE_SUFFIX_RE.sub("", full)
    else:
        short = full[:-1] if full.endswith("市") else full
    return short if len(short) >= 2 else full


def _build() -> tuple[dict[str, tuple[Place, ...]], dict[str, tuple[Place, ...]]]:
    items = _ITEM_RE.findall(ADCODES)
    full_names = dict(items)
    keys: dict[str, list[Place]] = {}
    canonical: dict[str, list[Place]] = {}
    for code, full in items:
        province_full = full_names[code[:2] + "0000"]
        province = _short_name(province_full, 1)
        city_province = code[:2] in _CITY_PROVINCES
        if code[2:] == "0000":
            level, city = 1, province if city_province else None
        elif code[4:] == "00" or code[2:4] == "90":
            if full == province_full:
                continue  # 110100 北京市 repeats the municipality
            level, city = 2, _short_name(full, 2)
        else:
            parent = full_names.get(code[:4] + "00")
            level = 3
            city = province if city_province else parent and _short_name(parent, 2)
        place = Place(code, level, _short_name(full, level), full, province, city)
        name = place.name
        keys.setdefault(full, []).append(place)
        canonical.setdefault(name, []).append(place)
        # Suffixless forms are accepted for provinces and prefecture-level
        # cities only: county-level short names (东方, 东阳 …) and those of
        # autonomous prefectures and 地区 (阿里, 海西 …) too often start a
        # brand.
        if name != full and (
            level == 1 or (level == 2 and code[2:4] != "90" and full.endswith("市"))
        ):
            keys.setdefault(name, []).append(place)
        if level == 2 and full.endswith("自治州"):
            keys.setdefault(name + "州", []).append(place)
    return (
        {k: tuple(v) for k, v in keys.items()},
        {k: tuple(v) for k, v in canonical.items()},
    )


_BY_KEY, _BY_CANONICAL = _build()
_KEY_LENGTHS = longest_by_start(_BY_KEY)
LONGEST_NAME = max(_KEY_LENGTHS.values())


def lookup(name: str | None) -> tuple[Place, ...]:
    """Places a region name can denote (several for 朝阳区, in 北京 and 长春).

    Accepts full names (深圳市), accepted short forms (深圳) and canonical
    names (昆山). A name that is both a province and a city (吉林) denotes the
    province.

    Args:
        name: A region name, already normalised.
    """
    if not name:
        return ()
    found = _BY_KEY.get(name) or _BY_CANONICAL.get(name) or ()
    return _highest(found)


def _highest(places: tuple[Place, ...]) -> tuple[Place, ...]:
    if len(places) < 2:
        return places
    top = min(p.level for p in places)
    return tuple(p for p in places if p.level == top)


def _within(child: Place, parent: Place) -> bool:
    return (
        child.level > parent.level
        and child.province == parent.province
        and (parent.level == 1 or child.city == parent.city)
    )


# What cascaded province / city / district pickers put in the city slot of
# a municipality (the national list's placeholder row).
_PLACEHOLDER = "市辖区"


def match_prefix(s: str, start: int = 0) -> tuple[int, tuple[Place, ...], bool]:
    """Longest chain of nested region names at `s[start:]`.

    "广东省深圳市南山区科技园" matches up to 科技园 and gives 南山区 in Shenzhen.
    Each name must lie within the previous one. Bare two-character district
    names (城区, 郊区, 东区) only count after their city. A name repeated
    (北京市北京市) and the 市辖区 placeholder of cascaded pickers are passed
    over.

    Args:
        s: Normalised text without spaces.
        start: Where to start matching.

    Returns:
        The end of the match, the places the most specific name may denote
        (empty when nothing matched), and whether every name in the chain
        carried its suffix (深圳市 rather than 深圳).
    """
    pos, current, suffixed = start, (), True
    while True:
        if current and s.startswith(_PLACEHOLDER, pos):
            pos += len(_PLACEHOLDER)  # 北京市市辖区海淀区
        if not (longest := _KEY_LENGTHS.get(s[pos : pos + 2], 0)):
            break
        for length in range(min(longest, len(s) - pos), 1, -1):
            key = s[pos : pos + length]
            candidates = _BY_KEY.get(key)
            if not candidates:
                continue
            if current:
                inside = tuple(
                    p for p in candidates if any(_within(p, c) for c in current)
                )
                if not inside and not set(candidates).isdisjoint(current):
                    pos += length  # the same name again: 北京市北京市海淀区
                    break
                candidates = inside
            else:
                candidates = tuple(
                    p for p in candidates if p.level < 3 or len(p.full_name) > 2
                )
            if candidates:
                current = _highest(candidates)
                suffixed = suffixed and any(p.full_name == key for p in current)
                pos += length
                break
        else:
            break
    return pos, current, suffixed


def common(places: tuple[Place, ...]) -> tuple[str | None, str | None]:
    """The province and city shared by all `places` (None where they differ).

    Args:
        places: Candidates for one region name.
    """
    provinces = {p.province for p in places}
    cities = {p.city for p in places}
    province = provinces.pop() if len(provinces) == 1 else None
    city = cities.pop() if len(cities) == 1 else None
    return province, city


def _compatible(a: Place, b: Place) -> bool:
    if a.province != b.province:
        return False
    if a.city is not None and b.city is not None and a.city != b.city:
        return False
    return a.level < 3 or b.level < 3 or a.code == b.code


@lru_cache(maxsize=65536)
def region_conflict(a_region: str | None, b_region: str | None) -> bool:
    """Whether two known regions cannot be the same place.

    北京 vs 上海 and 深圳 vs 广州 conflict; 广东 vs 深圳 and 北京 vs 朝阳区 do
    not (one contains the other). Unknown or missing regions never conflict.
    An ambiguous district (朝阳区 lies in Beijing and in Changchun) conflicts
    only when none of its readings fits.

    Args:
        a_region: Region name of the first record (canonical, short or full).
        b_region: Region name of the second record.
    """
    a, b = lookup(a_region), lookup(b_region)
    if not a or not b:
        return False
    return not any(_compatible(x, y) for x in a for y in b)


@lru_cache(maxsize=65536)
def same_province(a: str | None, b: str | None) -> bool:
    """Whether two region names both lie, unambiguously, in one province.

    Args:
        a: Region name (province, city or district; canonical, short or full).
        b: Region name.
    """
    pa, pb = common(lookup(a))[0], common(lookup(b))[0]
    return pa is not None and pa == pb


# Romanised names whose pinyin is not the usual spelling, or that would be
# ambiguous (陕西 and 山西 are both "shanxi" in toneless pinyin).
_LATIN_OVERRIDES = {
    "shaanxi": "陕西",
    "shanxi": "山西",
    "hongkong": "香港",
    "macau": "澳门",
    "macao": "澳门",
    "tibet": "西藏",
    "peking": "北京",
    "canton": "广州",
    "amoy": "厦门",
    "tientsin": "天津",
}


@lru_cache(maxsize=1)
def _latin_regions() -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for key, places in _BY_KEY.items():
        place = places[0]
        if key != place.name or place.level > 2:
            continue
        word = to_pinyin(key)
        # Two places with one spelling (福州 and 抚州 are both "fuzhou"): the
        # word is still a region, but which one is unknown.
        table[word] = None if table.get(word, key) != key else key
    table.update(_LATIN_OVERRIDES)
    return table


def latin_region(word: str) -> tuple[bool, str | None]:
    """Whether a romanised word names a province or city, and which.

    "beijing" → (True, "北京"); "fuzhou" → (True, None) since it may be 福州
    or 抚州; "huasheng" → (False, None).

    Args:
        word: One lower-case word ("hong kong" written as "hongkong").
    """
    table = _latin_regions()
    return word in table, table.get(word)
