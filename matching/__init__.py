"""golden-record matching engine: plain records in, scored pairs and clusters out.

No Django, no I/O (except `matching.cli`), no settings.
"""

from __future__ import annotations

from matching.blocking import blocking_report, candidate_pairs
from matching.config import (
    BlockingRule,
    Comparison,
    EMSettings,
    Level,
    MatchConfig,
    Test,
)
from matching.pipeline import (
    explain_pair,
    learn_from_decisions,
    run_pipeline,
    scored_pairs,
    train,
)
from matching.prepare import concat_tables, prepare_records, prepare_table
from matching.presets import preset
from matching.single import RecordIndex, match_one
from matching.types import (
    BlockingReport,
    Candidate,
    FieldEvidence,
    MatchResult,
    Record,
    ScoredPair,
    Table,
)

__all__ = [
    "BlockingReport",
    "BlockingRule",
    "Candidate",
    "Comparison",
    "EMSettings",
    "FieldEvidence",
    "Level",
    "MatchConfig",
    "MatchResult",
    "Record",
    "RecordIndex",
    "ScoredPair",
    "Table",
    "Test",
    "blocking_report",
    "candidate_pairs",
    "concat_tables",
    "explain_pair",
    "learn_from_decisions",
    "match_one",
    "prepare_records",
    "prepare_table",
    "preset",
    "run_pipeline",
    "scored_pairs",
    "train",
]
