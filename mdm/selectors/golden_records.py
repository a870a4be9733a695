"""Golden records by golden ID (a merged-away ID resolves to its
survivor), their member links, and a source record with its golden record."""

from __future__ import annotations

from dataclasses import dataclass

from mdm.golden_ids import golden_id_clean
from mdm.models import (
    CrossReference,
    GoldenRecord,
    SourceRecord,
)

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


def golden_record_members(golden: GoldenRecord) -> list[CrossReference]:
    return list(
        CrossReference.objects.select_related("source_record__source_system")
        .filter(golden=golden)
        .order_by("source_record__source_system__code", "source_record__source_id")
    )


def source_record_get(pk: int) -> SourceRecord:
    return SourceRecord.objects.select_related("source_system", "xref__golden").get(
        pk=pk
    )
