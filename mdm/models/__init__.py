from mdm.models.decisions import DecisionMember, StewardDecision
from mdm.models.golden import GoldenIdAllocation, GoldenRecord
from mdm.models.sources import CrossReference, SourceRecord, SourceSystem

__all__ = [
    "CrossReference",
    "DecisionMember",
    "GoldenIdAllocation",
    "GoldenRecord",
    "SourceRecord",
    "SourceSystem",
    "StewardDecision",
]
