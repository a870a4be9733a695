"""Standardise stage: pure functions from raw source strings to normalised,
comparable values, tuned for Chinese B2B customer records.

Every function accepts None or messy text and never raises on it; results are
frozen dataclasses or plain strings.
"""

from __future__ import annotations

from matching.standardise.addresses import Address, address
from matching.standardise.company_names import CompanyName, company_name
from matching.standardise.emails import Email, email
from matching.standardise.identifiers import TaxId, uscc, uscc_org_code, uscc_region
from matching.standardise.person_names import PersonName, person_name
from matching.standardise.phones import Phone, phones
from matching.standardise.region import region_conflict, same_province
from matching.standardise.text import has_confusable_script, normalise, to_pinyin

__all__ = [
    "Address",
    "CompanyName",
    "Email",
    "PersonName",
    "Phone",
    "TaxId",
    "address",
    "company_name",
    "email",
    "has_confusable_script",
    "normalise",
    "person_name",
    "phones",
    "region_conflict",
    "same_province",
    "to_pinyin",
    "uscc",
    "uscc_org_code",
    "uscc_region",
]
