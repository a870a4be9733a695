"""Inbound field mappings: how each source system's payload fills the ID card.

A preset is data, not code: for each ID-card attribute, the payload fields to
read in order of preference. Address and contact parts are read the same way.
A field name with dots ("address.city") also reads into nested objects when
the payload has no key of that very name.
`id_card` is the identity mapping for payloads already in ID-card terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
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


def payload_map(payload: dict[str, Any], preset: str | dict[str, Any]) -> MappedPayload:
    """Map a source payload onto ID-card attributes.

    `preset` is the name of a preset, or rules of the same shape (a file
    import builds them from the column mapping the importer confirmed).
    """
    rules = PRESETS[preset] if isinstance(preset, str) else preset
    attributes: dict[str, Any] = {}
    for attribute, fields in rules["scalars"].items():
        value = _first_text(payload, fields)
        if value:
            attributes[attribute] = value
    # A CRM often holds the English name, alone or after the Chinese one,
    # in its one name field.
    name = attributes.get("legal_name")
    if name and "english_name" not in attributes:
        if _LATIN_ONLY.match(name):
            attributes["english_name"] = attributes.pop("legal_name")
        elif split := bilingual_name_split(name):
            attributes["legal_name"], attributes["english_name"] = split
    attributes["phones"] = _all_items(payload, rules["phones"])
    attributes["emails"] = _all_items(payload, rules["emails"])
    address = {part: _first_text(payload, f) for part, f in rules["address"].items()}
    attributes["addresses"] = (
        [_complete(address, ADDRESS_PARTS)] if any(address.values()) else []
    )
    contact = {part: _first_text(payload, f) for part, f in rules["contact"].items()}
    attributes["contacts"] = (
        [_complete(contact, CONTACT_PARTS)] if any(contact.values()) else []
    )
    return MappedPayload(
        attributes=attributes,
        created_at=_first_datetime(payload, rules["created"]),
        updated_at=_first_datetime(payload, rules["updated"]),
    )


def bilingual_name_split(name: str) -> tuple[str, str] | None:
    """("北京华盛科技有限公司", "Beijing Huasheng Technology Co., Ltd.") from
    the two written in one field; None unless the tail after the Chinese
    name is plainly English (two Latin words or more, nothing else)."""
    match = _BILINGUAL.match(name)
    if match is None or len(_LATIN_WORD.findall(match["en"])) < 2:
        return None
    return match["zh"].strip(), match["en"].strip()


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return " ".join(str(value).split())


def _get(payload: dict[str, Any], field: str) -> Any:
    if field in payload or "." not in field:
        return payload.get(field)
    value: Any = payload
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _first_text(payload: dict[str, Any], fields: list[str]) -> str:
    for field in fields:
        value = _text(_get(payload, field))
        if value:
            return value
    return ""


def _all_items(payload: dict[str, Any], fields: list[str]) -> list[str]:
    items: list[str] = []
    for field in fields:
        raw = _get(payload, field)
        values = raw if isinstance(raw, list) else [raw]
        for value in values:
            for item in _LIST_SEPARATORS.split(_text(value)):
                if item.strip() and item.strip() not in items:
                    items.append(item.strip())
    return items


def _complete(parts: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: parts.get(name, "") for name in names}


def _first_datetime(payload: dict[str, Any], fields: list[str]) -> datetime | None:
    for field in fields:
        parsed = parse_source_datetime(_text(_get(payload, field)))
        if parsed is not None:
            return parsed
    return None


def parse_source_datetime(value: str) -> datetime | None:
    """Parse ISO 8601, 2021/3/5 and 2021年3月5日; None when unparseable."""
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
    if parsed is None:
        parsed = datetime.combine(day, time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
