"""ID card <-> Salesforce Account, as pure functions.

The mapped payload is the Account JSON body (API field names). The golden
ID lives in an external-ID field (`Golden_ID__c` by default: a custom
Text(12) field marked External ID and Unique in the org).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import FieldMapping

SOBJECT = "Account"


def default_mapping(external_id_field: str) -> FieldMapping:
    """The shipped Account mapping. Name, phone and tax ID are ours; the
    billing address and rating only fill what sales left empty."""
    return FieldMapping.from_data(
        [
            {"target": external_id_field, "source": "golden_id"},
            {"target": "Name", "source": "id_card.legal_name", "max_length": 255},
            {"target": "Phone", "source": "id_card.phones.0", "max_length": 40},
            {"target": "Tax_ID__c", "source": "id_card.uscc"},
            {
                "target": "BillingStreet",
                "source": "id_card.derived.street",
                "ownership": "fill_if_empty",
            },
            {
                "target": "BillingCity",
                "source": "id_card.derived.city",
                "ownership": "fill_if_empty",
            },
            {
                "target": "BillingState",
                "source": "id_card.derived.province",
                "ownership": "fill_if_empty",
            },
            {
                "target": "Rating",
                "source": "id_card.customer_level",
                "value_map": {"A": "Hot", "B": "Warm", "C": "Cold"},
                "value_map_strict": True,
                "ownership": "fill_if_empty",
            },
        ]
    )


def derived_view(id_card: Mapping[str, Any]) -> dict[str, Any]:
    addresses = id_card.get("addresses") or []
    first = addresses[0] if addresses else {}
    return {
        "street": "".join(first.get(k) or "" for k in ("district", "detail")),
        "city": first.get("city") or "",
        "province": first.get("province") or "",
    }


def record_to_fields(
    record: Mapping[str, Any], fields: tuple[str, ...]
) -> dict[str, Any]:
    """An Account as read (REST or SOQL) in the payload's shape."""
    return {
        name: record.get(name) if record.get(name) is not None else ""
        for name in fields
    }


def changed_fields(
    payload: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if current.get(k) != v}
