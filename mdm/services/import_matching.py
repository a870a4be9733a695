"""Matching what an import loaded, at a cost that follows the file.

A batch run (mdm/services/batch_matching.py) trains the model anew and
scores every active record: at a million records it costs many minutes
whatever the file's size, and its new model sends every app process back to
rebuilding its real-time index. So an import that leaves few records without
a golden record (at most IMPORT_MATCH_BATCH_PERCENT of the active ones)
places each of them as a REST ingest places a new record: matched against
the real-time index with the model in force, then joined, queued for review
or given a golden record of its own. A bigger import, or one before any
batch run has trained a model on this data, starts a batch run.

Every active record without a golden record is placed, not only this
import's: records left by an import that crashed while matching, or by one
loaded with matching off, are placed by the next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from django.conf import settings

from mdm.models import MatchRun, SourceRecord
from mdm.services.batch_matching import matching_run_batch
from mdm.services.ingestion import source_record_place

BATCH = "batch"
ONE_BY_ONE = "one_by_one"
# Records placed one by one between two progress reports.
REPORT_EVERY = 50


@dataclass(frozen=True)
class ImportMatching:
    path: str  # BATCH or ONE_BY_ONE; "" when every record was placed already
    records: int  # records without a golden record when matching began
    placed: int = 0
    # ONE_BY_ONE: records per decision (auto_merge, review, new);
    # BATCH: the run's golden_created, records_joined_existing, review_tasks.
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


Report = Callable[[ImportMatching], None]


def matching_after_import(*, report: Report | None = None) -> ImportMatching:
    """Place every active record that has no golden record (module doc);
    `report` hears how far it is: when it starts, as it goes, when done."""
    report = report or (lambda state: None)
    unplaced = SourceRecord.objects.filter(is_active=True, xref__isnull=True)
    count = unplaced.count()
    if not count:
        return ImportMatching(path="", records=0)
    if _batch_needed(count):
        report(ImportMatching(path=BATCH, records=count))
        stats = matching_run_batch().stats
        state = ImportMatching(
            path=BATCH,
            records=count,
            placed=count,
            outcomes={
                key: stats[key]
                for key in ("golden_created", "records_joined_existing", "review_tasks")
            },
        )
        report(state)
        return state
    state = ImportMatching(path=ONE_BY_ONE, records=count)
    report(state)
    decisions: Counter[str] = Counter()
    ids = list(unplaced.order_by("pk").values_list("pk", flat=True))
    for done, record_id in enumerate(ids, 1):
        match = source_record_place(record_id=record_id)
        if match is not None:
            decisions[match.decision] += 1
        if done % REPORT_EVERY == 0 or done == len(ids):
            state = replace(state, placed=done, outcomes=dict(decisions))
            report(state)
    return state


def _batch_needed(unplaced: int) -> bool:
    trained_here = (
        MatchRun.objects.filter(status=MatchRun.Status.DONE).exclude(config={}).exists()
    )
    if not trained_here:
        return True
    active = SourceRecord.objects.filter(is_active=True).count()
    return unplaced * 100 > active * settings.IMPORT_MATCH_BATCH_PERCENT
