"""Shaping ID-card values for pages: text, masking, character diffs, lineage
and the engine's evidence. Everything a viewer sees passes through `shown`."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from matching.score import LOOKALIKE_LEVEL
from mdm.id_card import ADDRESS_PARTS, ATTRIBUTES, LIST_ATTRIBUTES, SCALAR_ATTRIBUTES
from mdm.masking import mask_json, mask_value
from mdm.models import GoldenRecord, SourceRecord, SurvivorshipPolicy

LIST_SEPARATOR = " · "
_E164_RE = re.compile(r"^\+\d{6,15}$")


def attribute_label(attribute: str) -> str:
    return GoldenRecord._meta.get_field(attribute).verbose_name


def shown(attribute: str, value: Any, *, reveal: bool) -> Any:
    """`value` as this reader may see it: masked unless `reveal`."""
    if reveal or value in (None, "", []):
        return value
    return mask_value(attribute, value)


def attribute_text(attribute: str, value: Any) -> str:
    """One line of text for an attribute value (lists joined)."""
    return LIST_SEPARATOR.join(attribute_items(attribute, value))


def attribute_items(attribute: str, value: Any) -> list[str]:
    """An attribute value as display strings, one per list item."""
    if value in (None, "", []):
        return []
    if attribute not in LIST_ATTRIBUTES:
        return [str(value)]
    return [_item_text(attribute, item) for item in value]


def _item_text(attribute: str, item: Any) -> str:
    if attribute == "phones" and _E164_RE.match(str(item)):
        # +8613800138000 reads as +86 138 0013 8000.
        return phonenumbers.format_number(
            phonenumbers.parse(str(item)),
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        )
    if attribute == "addresses" and isinstance(item, dict):
        text = ""
        for part in (item.get(key) or "" for key in ADDRESS_PARTS):
            if part not in text:
                text += part
        return text
    if attribute == "contacts" and isinstance(item, dict):
        name = item.get("name") or ""
        title = f"（{item['title']}）" if item.get("title") else ""
        reach = " ".join(v for v in (item.get("phone"), item.get("email")) if v)
        return f"{name}{title} {reach}".strip()
    return str(item)


def record_items(record: SourceRecord, attribute: str, *, reveal: bool) -> list[str]:
    """A source record's value as matching and survivorship see it: phones
    and e-mails standardised where they parsed (so that layout is no diff)."""
    value = record.attributes.get(attribute)
    if attribute in ("phones", "emails"):
        value = record.standardised.get(attribute) or value
    return attribute_items(attribute, shown(attribute, value, reveal=reveal))


@dataclass(frozen=True)
class AttributeRow:
    attribute: str
    label: str
    text: str
    origins: list[dict[str, Any]]  # where the value (or each list item) came from

    @property
    def editable(self) -> bool:
        """Scalar values can be set by hand; lists come from the sources."""
        return self.attribute in SCALAR_ATTRIBUTES

    @property
    def pinned_by(self) -> str:
        origin = self.origins[0] if len(self.origins) == 1 else {}
        return origin.get("steward", "")

    @property
    def rule(self) -> str:
        """The survivorship rule that decided the value, in words."""
        names = {origin.get("rule") for origin in self.origins} - {None}
        return str(RULE_LABELS.get(names.pop(), "")) if len(names) == 1 else ""


# What decided an attribute (the "rule" in lineage; mdm/survivorship_rules.py).
RULE_LABELS: dict[str, Promise] = {
    **{rule.value: rule.label for rule in SurvivorshipPolicy.Rule},
    "only_value": _("no other value offered"),
    "tie_break": _("full tie: the oldest record"),
    "union": _("union of all sources"),
}


def attribute_rows(
    values: dict[str, Any], lineage: dict[str, Any], *, reveal: bool
) -> list[AttributeRow]:
    """The ID card as rows: label, value text, lineage."""
    rows = []
    for attribute in ATTRIBUTES:
        origin = lineage.get(attribute)
        origins = origin if isinstance(origin, list) else [origin] if origin else []
        rows.append(
            AttributeRow(
                attribute=attribute,
                label=attribute_label(attribute),
                text=attribute_text(
                    attribute, shown(attribute, values.get(attribute), reveal=reveal)
                ),
                origins=origins,
            )
        )
    return rows


def golden_values(golden: GoldenRecord) -> dict[str, Any]:
    return {attribute: getattr(golden, attribute) for attribute in ATTRIBUTES}


@dataclass(frozen=True)
class ComparisonRow:
    attribute: str
    label: str
    left: list[tuple[str, bool]]  # (text, differs) segments
    right: list[tuple[str, bool]]
    same: bool
    empty: bool


def comparison_rows(
    left: SourceRecord, right: SourceRecord, *, reveal: bool
) -> list[ComparisonRow]:
    """The two records attribute by attribute, differing characters marked.
    Masking comes first, so that a diff cannot hint at hidden digits."""
    rows = []
    for attribute in ATTRIBUTES:
        a = record_items(left, attribute, reveal=reveal)
        b = record_items(right, attribute, reveal=reveal)
        if len(a) > 1 or len(b) > 1:
            left_segments, right_segments = _item_segments(a, b), _item_segments(b, a)
        else:
            left_segments, right_segments = diff_segments("".join(a), "".join(b))
        rows.append(
            ComparisonRow(
                attribute=attribute,
                label=attribute_label(attribute),
                left=left_segments,
                right=right_segments,
                same=a == b,
                empty=not a and not b,
            )
        )
    return rows


def _item_segments(items: list[str], others: list[str]) -> list[tuple[str, bool]]:
    # Several phones or e-mails: an item is the same or not, digit by digit
    # diffs of different numbers only confuse.
    segments: list[tuple[str, bool]] = []
    for index, item in enumerate(items):
        if index:
            segments.append((LIST_SEPARATOR, False))
        segments.append((item, item not in others))
    return segments


def diff_segments(
    a: str, b: str
) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Split `a` and `b` into runs that the other string shares or not."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        same = op == "equal"
        if a2 > a1:
            left.append((a[a1:a2], not same))
        if b2 > b1:
            right.append((b[b1:b2], not same))
    return left, right


@dataclass(frozen=True)
class EvidenceRow:
    comparison: str
    label: str
    text: str
    weight: float
    share: int  # bar length, percent of the heaviest row
    held: bool = False  # a reason the pair waits for a steward, whatever weighed

    @property
    def direction(self) -> str:
        return "for" if self.weight > 0 else "against" if self.weight < 0 else "none"


COMPARISON_LABELS: dict[str, Promise] = {
    "uscc": _("USCC / tax ID"),
    "name": _("name"),
    "branch": _("branch"),
    "region": _("region"),
    "phone": _("phone"),
    "email": _("e-mail"),
    "address": _("address"),
    "contact": _("contact person"),
}
# The engine explains in English; these are the shipped model's levels.
# A level not listed here (a retrained or custom model) shows the engine's text.
EVIDENCE_TEXTS: dict[tuple[str, str], Promise] = {
    ("uscc", "same_valid"): _("same USCC"),
    ("uscc", "different_valid"): _("different valid USCCs — never auto-merged"),
    ("uscc", "same_org_code"): _("same organisation code (old and new tax IDs)"),
    ("uscc", "same_unchecked"): _("same tax ID (not a valid USCC)"),
    ("uscc", "typo"): _("tax IDs one character apart"),
    ("uscc", "else"): _("tax IDs differ"),
    ("name", "exact_core"): _("same name after removing region and legal form"),
    ("name", "cross_script"): _("same name in Chinese and in Latin letters"),
    ("name", "jw92"): _("name %(similarity)s alike after removing the legal form"),
    ("name", "brand"): _("same brand, other business words"),
    ("name", "jw80"): _("name %(similarity)s alike after removing the legal form"),
    ("name", "else"): _("names differ — not merged without review"),
    ("name", LOOKALIKE_LEVEL): _(
        "a name mixes Latin letters with Cyrillic or Greek look-alikes — "
        "held for review"
    ),
    ("branch", "same"): _("same branch status"),
    ("branch", "else"): _(
        "one is a branch, the other the head office (or another branch)"
    ),
    ("region", "city"): _("same city"),
    ("region", "province"): _("same province, other city"),
    ("region", "else"): _("in different regions"),
    ("phone", "exact"): _("same phone number"),
    ("phone", "last7"): _("same last 7 phone digits"),
    ("phone", "else"): _("phone differs"),
    ("email", "exact"): _("same e-mail address"),
    ("email", "domain"): _("same company e-mail domain"),
    ("email", "else"): _("e-mail differs"),
    ("address", "exact"): _("same address"),
    ("address", "detail"): _("same district, street address %(similarity)s alike"),
    ("address", "district"): _("same district, other street"),
    ("address", "else"): _("address differs"),
    ("contact", "exact"): _("same contact person"),
    ("contact", "surname"): _("contact persons share a surname"),
    ("contact", "else"): _("contact person differs"),
}
# Levels that hold a pair for review whatever its score: shown first, though
# they weigh nothing.
HELD_LEVELS = frozenset({LOOKALIKE_LEVEL})
_SIMILARITY_RE = re.compile(r"\d+(?:\.\d+)?%")


def evidence_rows(
    evidence: list[dict[str, Any]],
) -> tuple[list[EvidenceRow], list[EvidenceRow]]:
    """(rows that weighed or hold the pair for review, zero-weight "no
    evidence" rows), the holding ones first, then the heaviest."""
    heaviest = max((abs(float(e.get("weight") or 0)) for e in evidence), default=0)
    rows = [
        EvidenceRow(
            comparison=str(e.get("comparison", "")),
            label=str(COMPARISON_LABELS.get(e.get("comparison"), e.get("comparison"))),
            text=_evidence_text(e),
            weight=float(e.get("weight") or 0),
            share=round(100 * abs(float(e.get("weight") or 0)) / heaviest)
            if heaviest
            else 0,
            held=e.get("level") in HELD_LEVELS,
        )
        for e in evidence
    ]
    rows.sort(key=lambda r: (not r.held, -abs(r.weight)))
    shown = [r for r in rows if r.weight or r.held]
    return shown, [r for r in rows if not (r.weight or r.held)]


def _evidence_text(evidence: dict[str, Any]) -> str:
    level = evidence.get("level", "")
    if level == "missing":
        return str(_("missing on one side: no evidence"))
    template = EVIDENCE_TEXTS.get((evidence.get("comparison", ""), level))
    text = str(evidence.get("text", ""))
    if template is None:
        return text
    similarity = _SIMILARITY_RE.search(text)
    if "%(similarity)s" in str(template) and similarity is None:
        return text
    return str(template) % {"similarity": similarity.group() if similarity else ""}


def payload_text(raw_payload: str, *, reveal: bool) -> str:
    """The payload as received, pretty-printed (and masked for viewers)."""
    try:
        parsed = json.loads(raw_payload)
    except json.JSONDecodeError:
        return raw_payload if reveal else mask_json(raw_payload)
    if not reveal:
        parsed = mask_json(parsed)
    return json.dumps(parsed, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: str
    after: str


def change_rows(
    changes: list[tuple[str, Any, Any]], *, reveal: bool
) -> list[ChangeRow]:
    """A golden record's history diff as readable (and masked) text."""
    rows = []
    for name, before, after in changes:
        if name in ATTRIBUTES:
            texts = [
                attribute_text(name, shown(name, value, reveal=reveal))
                for value in (before, after)
            ]
        elif name == "status":
            texts = [
                str(GoldenRecord.Status(v).label) if v else "" for v in (before, after)
            ]
        else:
            texts = [_plain(value) for value in (before, after)]
        label = GoldenRecord._meta.get_field(name).verbose_name
        rows.append(ChangeRow(label=str(label), before=texts[0], after=texts[1]))
    return rows


def _plain(value: Any) -> str:
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    return "" if value is None else str(value)
