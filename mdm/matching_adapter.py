"""The only bridge between the ORM and the matching engine: ID-card
attributes in, standardised values and `matching.Record`s out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import matching
from matching import standardise
from matching.prepare import COMPANY_FIELDS, prepare_table


def attributes_standardise(attributes: dict[str, Any]) -> dict[str, Any]:
    """Standardised values of one record's ID-card attributes, as stored on
    the source record for matching, search and survivorship."""
    result: dict[str, Any] = {}
    name = standardise.company_name(
        attributes.get("legal_name") or attributes.get("short_name")
    )
    if name is not None:
        result.update(
            name_core=name.core,
            name_region=name.region,
            name_legal_form=name.legal_form,
            name_branch=name.branch,
            name_is_branch=name.is_branch,
            name_pinyin=name.pinyin,
            name_latin_key=name.latin_key,
        )
    english = standardise.company_name(attributes.get("english_name"))
    if english is not None:
        result["english_latin_key"] = english.latin_key
    tax_id = standardise.uscc(attributes.get("uscc"))
    if tax_id is not None:
        result.update(uscc=tax_id.value, uscc_valid=tax_id.valid, uscc_kind=tax_id.kind)
    result["phones"] = _unique(
        phone.e164
        for raw in attributes.get("phones", [])
        for phone in standardise.phones(raw)
    )
    result["emails"] = _unique(
        parsed.address
        for raw in attributes.get("emails", [])
        if (parsed := standardise.email(raw)) is not None
    )
    addresses = [_address_text(a) for a in attributes.get("addresses", [])]
    parsed_address = standardise.address(next((a for a in addresses if a), None))
    if parsed_address is not None:
        result["address"] = {
            "province": parsed_address.province,
            "city": parsed_address.city,
            "district": parsed_address.district,
            "detail": parsed_address.detail,
        }
    return result


def matching_fields(attributes: dict[str, Any]) -> dict[str, str | None]:
    """The flat company fields the matching engine reads (`name`, `uscc`, ...)."""
    contacts = attributes.get("contacts") or [{}]
    addresses = [_address_text(a) for a in attributes.get("addresses", [])]
    return {
        "name": attributes.get("legal_name") or attributes.get("short_name") or None,
        "english_name": attributes.get("english_name") or None,
        "uscc": attributes.get("uscc") or None,
        "phone": ";".join(attributes.get("phones", [])) or None,
        "email": ";".join(attributes.get("emails", [])) or None,
        "address": next((a for a in addresses if a), None),
        "contact": contacts[0].get("name") or None,
    }


def _address_text(address: dict[str, str]) -> str:
    parts = [address.get(p) or "" for p in ("province", "city", "district", "detail")]
    text = ""
    for part in parts:
        if part and part not in text:
            text += part
    return text


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def source_record_as_matching_record(record) -> matching.Record:
    """A source record as the engine sees it: id = primary key as text."""
    return matching.Record(
        id=str(record.pk),
        source=record.source_system.code,
        fields=matching_fields(record.attributes),
    )


def source_rows_as_matching_table(
    rows: Iterable[tuple[int, str, dict[str, Any]]], schema: str
) -> matching.Table:
    """(primary key, system code, ID-card attributes) rows, standardised for
    the engine as one table: what `source_record_as_matching_record` gives
    for each row, without a `Record` object per row (index builds at a
    million records)."""
    ids: list[str] = []
    sources: list[str] = []
    columns: dict[str, list[str | None]] = {name: [] for name in COMPANY_FIELDS}
    for pk, system, attributes in rows:
        ids.append(str(pk))
        sources.append(system)
        for name, value in matching_fields(attributes).items():
            columns[name].append(value)
    return prepare_table(
        ids, columns, schema, sources=np.asarray(sources, dtype=object)
    )
