"""Inbound field mappings: how each source system's payload fills the ID card.

A preset is data, not code: for each ID-card attribute, the payload fields to
read in order of preference. Address and contact parts are read the same way.
A field name with dots ("address.city") also reads into nested objects when
the payload has no key of that very name.
`id_card` is the identity mapping for payloads already in ID-card terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from mdm.id_card import ADDRESS_PARTS, CONTACT_PARTS, SCALAR_ATTRIBUTES

# Several phones or emails in one cell: "010-6552 1234 / 138 0013 8000".
_LIST_SEPARATORS = re.compile(r"[;；,，、/|\n]+")
_LATIN_ONLY = re.compile(r"^[\x00-\x7f]+$")
# "北京华盛科技有限公司 Beijing Huasheng Technology Co., Ltd." (or the English
# in brackets): a Chinese name, then an ASCII-only tail starting with a letter.
_BILINGUAL = re.compile(
    r"^(?P<zh>.*[\u3400-\u9fff][^\x00-\x7f]*?)\s*[(（]?\s*"
    r"(?P<en>[A-Za-z][\x20-\x7e]*?)\s*[)）]?\s*$"
)
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_CHINESE_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")
_SLASH_DATE = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})\s*$")

PRESETS: dict[str, dict[str, Any]] = {
    "kingdee_k3cloud": {
        "label": "Kingdee K/3 Cloud customer",
        "source_id": ["FNumber"],
        "scalars": {
            "legal_name": ["FName"],
            "short_name": ["FShortName"],
            "uscc": ["FTaxRegisterCode"],
            "industry": ["FIndustry"],
            "customer_level": ["FCustLevel"],
        },
        # FTEL / FADDRESS: the spelling of K/3 Cloud's own field keys, as its
        # WebAPI returns them (connectors/erp/kingdee); exports vary.
        "phones": ["FTel", "FTEL", "FMobile"],
        "emails": ["FEMail"],
        "address": {
            "province": ["FProvince"],
            "city": ["FCity"],
            "detail": ["FAddress", "FADDRESS"],
        },
        "contact": {"name": ["FContact"], "phone": ["FContactTel"]},
        "created": ["FCreateDate"],
        "updated": ["FModifyDate"],
    },
    "salesforce_account": {
        "label": "Salesforce Account",
        "source_id": ["Id"],
        "scalars": {
            "legal_name": ["Name"],
            "uscc": ["Tax_ID__c", "TaxId__c"],
            "industry": ["Industry"],
            "customer_level": ["Rating"],
        },
        "phones": ["Phone"],
        "emails": ["Email__c"],
        "address": {
            "province": ["BillingState"],
            "city": ["BillingCity"],
            "detail": ["BillingStreet"],
        },
        "contact": {"name": ["Contact_Name__c"]},
        "created": ["CreatedDate"],
        "updated": ["LastModifiedDate"],
    },
    "legacy_excel": {
        "label": "Legacy Excel sheet",
        "source_id": ["编号", "客户编号", "ID"],
        "scalars": {
            "legal_name": ["客户名称", "公司名称", "单位名称", "Customer Name"],
            "short_name": ["简称", "客户简称"],
            "uscc": ["税号", "纳税人识别号", "统一社会信用代码", "Tax ID"],
            "industry": ["行业"],
            "customer_level": ["客户等级", "等级"],
        },
        "phones": ["联系电话", "手机", "电话", "Phone"],
        "emails": ["邮箱", "电子邮箱", "Email"],
        "address": {"detail": ["地址", "公司地址", "Address"]},
        "contact": {"name": ["联系人", "Contact"]},
        "created": ["录入日期", "创建日期"],
        "updated": [],
    },
    # A party.party export (phone, street, ...) or what the Tryton connector
    # reads (connectors/erp/tryton/mapping.py: phones and emails as lists,
    # the first address under "address"), so its inbound changes map too.
    "tryton_party": {
        "label": "Tryton party (party.party)",
        "source_id": ["code", "id"],
        "scalars": {
            "legal_name": ["name"],
            "uscc": ["tax_identifier", "identifier"],
        },
        "phones": ["phone", "mobile", "phones"],
        "emails": ["email", "emails"],
        "address": {
            "province": ["subdivision"],
            "city": ["city", "address.city"],
            "detail": ["street", "address.street"],
        },
        "contact": {"name": ["contact_name"]},
        "created": ["create_date"],
        "updated": ["write_date"],
    },
    "id_card": {
        "label": "ID-card fields",
        "source_id": ["source_id"],
        "scalars": {name: [name] for name in SCALAR_ATTRIBUTES},
        "phones": ["phones", "phone"],
        "emails": ["emails", "email"],
        "address": {part: [part] for part in ADDRESS_PARTS},
        "contact": {
            "name": ["contact"],
            "title": ["contact_title"],
            "phone": ["contact_phone"],
            "email": ["contact_email"],
        },
        "created": ["created_at"],
        "updated": ["updated_at"],
    },
}


_RULE_SHAPE = {
    "source_id": list,
    "scalars": dict,
    "phones": list,
    "emails": list,
    "address": dict,
    "contact": dict,
    "created": list,
    "updated": list,
}


def mapping_errors(rules: Any) -> list[str]:
    """What is wrong with edited mapping rules (empty list: nothing)."""
    if not isinstance(rules, dict):
        return ["The mapping must be a JSON object."]
    json_names = {list: "array", dict: "object"}
    errors = [
        f"'{key}' must be a JSON {json_names[kind]}"
        for key, kind in _RULE_SHAPE.items()
        if not isinstance(rules.get(key), kind)
    ]
    errors += [
        f"unknown key '{key}'" for key in rules if key not in {*_RULE_SHAPE, "label"}
    ]
    scalars = rules.get("scalars") if isinstance(rules.get("scalars"), dict) else {}
    errors += [
        f"unknown ID-card attribute '{name}'"
        for name in scalars
        if name not in SCALAR_ATTRIBUTES
    ]
    return errors


@dataclass(frozen=True)
class MappedPayload:
    attributes: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None


Mapper = Callable[[dict[str, Any]], MappedPayload]


def payload_map(payload: dict[str, Any], preset: str | dict[str, Any]) -> MappedPayload:
    """Map a source payload onto ID-card attributes.

    `preset` is the name of a preset, or rules of the same shape (a file
    import builds them from the column mapping the importer confirmed).
    """
    return payload_mapper(preset)(payload)


def payload_mapper(preset: str | dict[str, Any]) -> Mapper:
    """`payload_map` with the rules read once, for mapping many payloads (an
    import maps every row of a file with the same rules). Times without an
    offset are read in the time zone current when the mapper is made."""
    rules = PRESETS[preset] if isinstance(preset, str) else preset
    scalars = [(name, _text_reader(f)) for name, f in rules["scalars"].items()]
    phones, emails = _items_reader(rules["phones"]), _items_reader(rules["emails"])
    address = _parts_reader(rules["address"], ADDRESS_PARTS)
    contact = _parts_reader(rules["contact"], CONTACT_PARTS)
    zone = timezone.get_current_timezone()
    created = _datetime_reader(rules["created"], zone)
    updated = _datetime_reader(rules["updated"], zone)

    def mapped(payload: dict[str, Any]) -> MappedPayload:
        attributes: dict[str, Any] = {}
        for name, read in scalars:
            if value := read(payload):
                attributes[name] = value
        _split_english_name(attributes)
        attributes["phones"] = phones(payload)
        attributes["emails"] = emails(payload)
        attributes["addresses"] = address(payload)
        attributes["contacts"] = contact(payload)
        return MappedPayload(
            attributes=attributes,
            created_at=created(payload),
            updated_at=updated(payload),
        )

    return mapped


def _split_english_name(attributes: dict[str, Any]) -> None:
    # A CRM often holds the English name, alone or after the Chinese one,
    # in its one name field.
    name = attributes.get("legal_name")
    if name and "english_name" not in attributes:
        if _LATIN_ONLY.match(name):
            attributes["english_name"] = attributes.pop("legal_name")
        elif split := bilingual_name_split(name):
            attributes["legal_name"], attributes["english_name"] = split


def bilingual_name_split(name: str) -> tuple[str, str] | None:
    """("北京华盛科技有限公司", "Beijing Huasheng Technology Co., Ltd.") from
    the two written in one field; None unless the tail after the Chinese
    name is plainly English (two Latin words or more, nothing else)."""
    match = _BILINGUAL.match(name)
    if match is None or len(_LATIN_WORD.findall(match["en"])) < 2:
        return None
    return match["zh"].strip(), match["en"].strip()


def scalar_text(value: Any) -> str:
    """A payload value as text: a whole number written as a float (pandas'
    to_json of an integer column with gaps: 13800138000.0) without its
    ".0", so a phone or an ID stays what it is; nothing for an object."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return " ".join(str(value).split())


def _getter(field: str) -> Callable[[dict[str, Any]], Any]:
    if "." not in field:
        return lambda payload: payload.get(field)
    parts = field.split(".")

    def get(payload: dict[str, Any]) -> Any:
        if field in payload:
            return payload[field]
        value: Any = payload
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return get


def _text_reader(fields: list[str]) -> Callable[[dict[str, Any]], str]:
    """The first non-blank text among `fields`."""
    getters = [_getter(field) for field in fields]

    def read(payload: dict[str, Any]) -> str:
        for get in getters:
            if value := scalar_text(get(payload)):
                return value
        return ""

    return read


def _items_reader(fields: list[str]) -> Callable[[dict[str, Any]], list[str]]:
    """Every item of `fields`, a list or several in one text, once each."""
    getters = [_getter(field) for field in fields]

    def read(payload: dict[str, Any]) -> list[str]:
        items: list[str] = []
        for get in getters:
            raw = get(payload)
            for value in raw if isinstance(raw, list) else [raw]:
                for item in _LIST_SEPARATORS.split(scalar_text(value)):
                    if (item := item.strip()) and item not in items:
                        items.append(item)
        return items

    return read


def _parts_reader(
    rules: dict[str, list[str]], names: tuple[str, ...]
) -> Callable[[dict[str, Any]], list[dict[str, str]]]:
    """The addresses (or contacts) of a payload, every part in `names`
    present; none whose parts are all blank. One, unless a part's value is
    a list (the rows of a customer whose name cell is merged down over its
    contacts' rows: `mdm.services.merged_rows`): then one per position, a
    plain value going with each, the same one once."""
    getters = [
        (part, [_getter(field) for field in fields]) for part, fields in rules.items()
    ]

    def read(payload: dict[str, Any]) -> list[dict[str, str]]:
        raw = [(part, [get(payload) for get in gets]) for part, gets in getters]
        width = 1
        for _, values in raw:
            for value in values:
                if isinstance(value, list):
                    width = max(width, len(value))
        entries: list[dict[str, str]] = []
        for position in range(width):
            parts = {part: _text_at(values, position) for part, values in raw}
            if any(parts.values()):
                entry = {name: parts.get(name, "") for name in names}
                if entry not in entries:
                    entries.append(entry)
        return entries

    return read


def _text_at(values: list[Any], position: int) -> str:
    """The first non-blank text among a part's field values, a list's item
    at `position`."""
    for value in values:
        if isinstance(value, list):
            value = value[position] if position < len(value) else None
        if text := scalar_text(value):
            return text
    return ""


def _datetime_reader(
    fields: list[str], zone: tzinfo
) -> Callable[[dict[str, Any]], datetime | None]:
    """The first of `fields` that parses as a date or time."""
    getters = [_getter(field) for field in fields]

    def read(payload: dict[str, Any]) -> datetime | None:
        for get in getters:
            parsed = parse_source_datetime(scalar_text(get(payload)), zone)
            if parsed is not None:
                return parsed
        return None

    return read


def parse_source_datetime(value: str, zone: tzinfo | None = None) -> datetime | None:
    """Parse ISO 8601, 2021/3/5 and 2021年3月5日; None when unparseable.

    A value without an offset is a time in `zone` (default: the current time
    zone).
    """
    parsed = _parsed_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, zone)
    return parsed


# Dates repeat down a column (every record created on one day): each is
# parsed once.
@lru_cache(maxsize=4096)
def _parsed_datetime(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value.replace("Z", "+00:00"))
        day = None if parsed else parse_date(value)
    except ValueError:
        return None
    if parsed is None and day is None:
        match = _CHINESE_DATE.match(value) or _SLASH_DATE.match(value)
        if match is None:
            return None
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    return parsed if parsed is not None else datetime.combine(day, time.min)
