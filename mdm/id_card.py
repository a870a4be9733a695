"""The customer ID card: the attributes a golden record carries.

Scalar attributes hold one surviving value; multi-valued attributes are the
union of their members' values with duplicates folded.
"""

from __future__ import annotations

SCALAR_ATTRIBUTES: tuple[str, ...] = (
    "legal_name",
    "short_name",
    "english_name",
    "uscc",
    "industry",
    "customer_level",
)
LIST_ATTRIBUTES: tuple[str, ...] = ("phones", "emails", "addresses", "contacts")
ATTRIBUTES: tuple[str, ...] = SCALAR_ATTRIBUTES + LIST_ATTRIBUTES

ADDRESS_PARTS: tuple[str, ...] = ("province", "city", "district", "detail")
CONTACT_PARTS: tuple[str, ...] = ("name", "title", "phone", "email")
