"""Postal addresses: region parts and a comparable detail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matching.standardise import region
from matching.standardise.text import (
    HAN_CHARS,
    HAN_RE,
    LEADING_MARKS_RE,
    normalise,
    without_quotes,
)


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address.

    `province` and `city` are canonical short names (北京, 广东, 深圳),
    `district` the full district or county name (朝阳区, 昆山市). `detail` is the rest
    of the address as written; `normalised` joins all parts with building and
    room spellings unified (A座1201室 and A栋1201 compare equal), for
    comparison only.
    """

    province: str | None
    city: str | None
    district: str | None
    detail: str
    normalised: str


_SPACE_NEAR_HAN_RE = re.compile(f"\\s+(?=[{HAN_CHARS}])|(?<=[{HAN_CHARS}])\\s+")
_COUNTRY_PREFIX_RE = re.compile(
    r"^(?:中华人民共和国|中国|china|p\.?r\.? ?china)[\s,，]*", re.I
)
_POSTCODE_RE = re.compile(r"(?:邮编|邮政编码)[:\s]*[0-9]{6}|^[0-9]{6}(?![0-9])\s*")
_LEADING_PUNCT_RE = re.compile(r"^[\s,，、:;\-]+")
_DETAIL_NOISE_RE = re.compile(r"[\s,，、。.;；:()'\"]+")
_BUILDING_RE = re.compile("号楼|幢|座|(?<=[0-9])#")
_ROOM_RE = re.compile("(?<=[0-9])(?:室|房|号房)")
_FLOOR_RE = re.compile("(?<=[0-9])(?:楼|f)(?![0-9a-z])")
_ORDINAL_RE = re.compile("第(?=[0-9])")
_LATIN_WORD_RE = re.compile("[a-z]+")


@lru_cache(maxsize=16384)
def address(raw: str | None) -> Address | None:
    """Parse a Chinese postal address.

    北京市朝阳区建国路88号SOHO现代城A座1201 gives province 北京, city 北京,
    district 朝阳区 and detail 建国路88号SOHO现代城A座1201. Suffixless names
    (深圳南山区) and a missing province (inferred from the city) are handled,
    as are a leading 中国, postcodes, quotation marks, a region repeated or
    padded as cascaded pickers fill them in (北京市北京市海淀区,
    北京市市辖区海淀区) and stray leading marks. For an address in English only the
    province and city are recognised.

    Args:
        raw: The address as it appears in the source system.

    Returns:
        None when the value holds no letters or digits.
    """
    text = normalise(raw)
    if not any(c.isalnum() for c in text):
        return None
    if not HAN_RE.search(text):
        return _latin_address(text)
    # Marks at the end may mean something (3# is building 3): only the
    # leading ones go.
    s = LEADING_MARKS_RE.sub("", _SPACE_NEAR_HAN_RE.sub("", without_quotes(text)))
    s = _COUNTRY_PREFIX_RE.sub("", s)
    s = _POSTCODE_RE.sub("", s)
    end, places, _ = region.match_prefix(s)
    province, city = region.common(places)
    district = places[0].full_name if places and places[0].level == 3 else None
    detail = _LEADING_PUNCT_RE.sub("", s[end:])
    parts = (province, city if city != province else None, district)
    normalised = "".join(p for p in parts if p) + _canonical_detail(detail)
    return Address(province, city, district, detail, normalised)


def _canonical_detail(detail: str) -> str:
    d = _DETAIL_NOISE_RE.sub("", detail.lower())
    d = _BUILDING_RE.sub("栋", d)
    d = _ROOM_RE.sub("", d)
    d = _FLOOR_RE.sub("层", d)
    return _ORDINAL_RE.sub("", d)


def _latin_address(text: str) -> Address:
    lower = text.lower()
    places: tuple[region.Place, ...] = ()
    for word in _LATIN_WORD_RE.findall(lower.replace("hong kong", "hongkong")):
        found = region.lookup(region.latin_region(word)[1])
        if found and (not places or found[0].level > places[0].level):
            places = found
    province, city = region.common(places)
    normalised = " ".join(_DETAIL_NOISE_RE.sub(" ", lower).split())
    return Address(province, city, None, text, normalised)
