"""Reads with business meaning."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from django.db.models import Count, Q

from mdm.golden_ids import golden_id_clean
from mdm.models import DecisionMember, GoldenRecord, SourceSystem, StewardDecision

# A merge chain longer than this means corrupt data, not a real history.
MAX_MERGE_CHAIN = 1000


@dataclass(frozen=True)
class GoldenResolution:
    record: GoldenRecord  # the live survivor
    chain: list[str]  # golden IDs followed, the requested one first


def golden_record_resolve(golden_id: str) -> GoldenResolution:
    """Find a golden record by ID; a merged-away ID resolves to its survivor.

    Raises InvalidGoldenId for a malformed ID (e.g. a typo caught by the check
    digit) and GoldenRecord.DoesNotExist for an unknown one.
    """
    record = GoldenRecord.objects.get(golden_id=golden_id_clean(golden_id))
    chain = [record.golden_id]
    while record.merged_into_id is not None:
        if len(chain) > MAX_MERGE_CHAIN:
            raise RuntimeError(f"merge chain from {chain[0]} does not end")
        record = GoldenRecord.objects.get(pk=record.merged_into_id)
        chain.append(record.golden_id)
    return GoldenResolution(record=record, chain=chain)


def not_a_match_pairs() -> set[tuple[int, int]]:
    """Every pair of source-record ids a steward declared not to match."""
    members: dict[int, list[int]] = {}
    rows = DecisionMember.objects.filter(
        decision__kind=StewardDecision.Kind.NOT_A_MATCH
    ).values_list("decision_id", "source_record_id")
    for decision_id, record_id in rows:
        members.setdefault(decision_id, []).append(record_id)
    return {
        (min(a, b), max(a, b))
        for ids in members.values()
        for a, b in combinations(sorted(ids), 2)
    }


@dataclass(frozen=True)
class SystemCount:
    code: str
    name: str
    records: int
    active: int


@dataclass(frozen=True)
class Overview:
    systems: list[SystemCount]
    source_records: int
    golden_active: int
    golden_merged: int
    decisions: int


def master_data_overview() -> Overview:
    """Counts for the overview page: records per system, golden records."""
    systems = [
        SystemCount(s.code, s.name, s.record_count, s.active_count)
        for s in SourceSystem.objects.annotate(
            record_count=Count("records"),
            active_count=Count("records", filter=Q(records__is_active=True)),
        ).order_by("code")
    ]
    golden = GoldenRecord.objects.values("status").annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in golden}
    return Overview(
        systems=systems,
        source_records=sum(s.records for s in systems),
        golden_active=by_status.get(GoldenRecord.Status.ACTIVE, 0),
        golden_merged=by_status.get(GoldenRecord.Status.MERGED, 0),
        decisions=StewardDecision.objects.count(),
    )


def not_a_match_partners(record_id: int) -> set[int]:
    """Source records a steward declared not to match `record_id`."""
    decisions = DecisionMember.objects.filter(
        source_record_id=record_id, decision__kind=StewardDecision.Kind.NOT_A_MATCH
    ).values("decision_id")
    return set(
        DecisionMember.objects.filter(decision_id__in=decisions)
        .exclude(source_record_id=record_id)
        .values_list("source_record_id", flat=True)
    )
