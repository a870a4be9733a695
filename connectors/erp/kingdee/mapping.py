"""ID card <-> Kingdee BD_Customer (客户), as pure functions.

The mapped payload is the Save `Model` itself (field keys as Kingdee's
BD_Customer template spells them); `row_to_fields` and `view_to_fields`
read ExecuteBillQuery rows and View results back into that shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import FieldMapping

FORM_ID = "BD_Customer"


def default_mapping(org_number: str) -> FieldMapping:
    """The shipped mapping for customers created in organisation `org_number`.

    FNumber is the golden ID and the organisations are fixed at creation
    ("theirs": Kingdee refuses to move a customer to another creating
    organisation); the invoice title is the ERP's once it has one.
    """
    return FieldMapping.from_data(
        [
            {
                "target": "FCreateOrgId.FNumber",
                "constant": org_number,
                "ownership": "theirs",
            },
            {
                "target": "FUseOrgId.FNumber",
                "constant": org_number,
                "ownership": "theirs",
            },
            {"target": "FNumber", "source": "golden_id", "ownership": "theirs"},
            {"target": "FName", "source": "id_card.legal_name", "max_length": 255},
            {"target": "FShortName", "source": "id_card.short_name", "max_length": 255},
            {"target": "FTaxRegisterCode", "source": "id_card.uscc"},
            {"target": "FTEL", "source": "id_card.phones.0"},
            {
                "target": "FADDRESS",
                "source": "id_card.derived.address",
                "max_length": 255,
            },
            {
                "target": "FINVOICETITLE",
                "source": "id_card.legal_name",
                "ownership": "fill_if_empty",
                "max_length": 255,
            },
        ]
    )


# What ExecuteBillQuery reads: the mapped fields plus id, version, status.
QUERY_FIELDS = (
    "FCUSTID",
    "FNumber",
    "FName",
    "FShortName",
    "FTaxRegisterCode",
    "FTEL",
    "FADDRESS",
    "FINVOICETITLE",
    "FCreateOrgId.FNumber",
    "FUseOrgId.FNumber",
    "FModifyDate",
    "FForbidStatus",
    "FDocumentStatus",
)
_META = ("FCUSTID", "FModifyDate", "FForbidStatus", "FDocumentStatus")


def derived_view(id_card: Mapping[str, Any]) -> dict[str, Any]:
    """FADDRESS is one line: province, city, district, detail in Chinese
    order, the city left out when it repeats the province (直辖市)."""
    addresses = id_card.get("addresses") or []
    if not addresses:
        return {"address": ""}
    first = addresses[0]
    parts = [first.get(k) or "" for k in ("province", "city", "district", "detail")]
    if parts[0] == parts[1]:
        parts[1] = ""
    return {"address": "".join(parts)}


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _META:
            continue
        head, _, tail = key.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value or ""
        else:
            out[head] = value if value is not None else ""
    return out


def row_to_fields(row: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ExecuteBillQuery row of QUERY_FIELDS: (mapped fields, meta)."""
    flat = dict(zip(QUERY_FIELDS, row, strict=True))
    return _nest(flat), {k: flat[k] for k in _META}


def _text(value: Any) -> str:
    # Multi-language fields come as [{"Key": 2052, "Value": "..."}].
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping) and item.get("Key") == 2052:
                return item.get("Value") or ""
        return (value[0].get("Value") or "") if value else ""
    return value or ""


def view_to_fields(model: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A View result (property names without the F prefix): (fields, meta)."""
    fields = {
        "FCreateOrgId": {"FNumber": (model.get("CreateOrgId") or {}).get("Number", "")},
        "FUseOrgId": {"FNumber": (model.get("UseOrgId") or {}).get("Number", "")},
        "FNumber": model.get("Number") or "",
        "FName": _text(model.get("Name")),
        "FShortName": _text(model.get("ShortName")),
        "FTaxRegisterCode": model.get("TaxRegisterCode") or "",
        "FTEL": model.get("TEL") or "",
        "FADDRESS": model.get("ADDRESS") or "",
        "FINVOICETITLE": model.get("INVOICETITLE") or "",
    }
    meta = {
        "FCUSTID": model.get("Id"),
        "FModifyDate": model.get("ModifyDate") or "",
        "FForbidStatus": model.get("ForbidStatus") or "A",
        "FDocumentStatus": model.get("DocumentStatus") or "",
    }
    return fields, meta


def changed_fields(payload: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Top-level Model keys whose value differs from the record's."""
    return [key for key, value in payload.items() if current.get(key) != value]
