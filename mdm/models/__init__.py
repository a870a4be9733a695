from mdm.models.api_clients import ApiClient, ApiToken
from mdm.models.decisions import DecisionMember, StewardDecision
from mdm.models.golden import GoldenIdAllocation, GoldenRecord
from mdm.models.imports import ImportJob, ImportRowError
from mdm.models.match_runs import MatchRun
from mdm.models.outbox import OutboxEvent
from mdm.models.review import ReviewTask
from mdm.models.sources import CrossReference, SourceRecord, SourceSystem

__all__ = [
    "ApiClient",
    "ApiToken",
    "CrossReference",
    "DecisionMember",
    "GoldenIdAllocation",
    "GoldenRecord",
    "ImportJob",
    "ImportRowError",
    "MatchRun",
    "OutboxEvent",
    "ReviewTask",
    "SourceRecord",
    "SourceSystem",
    "StewardDecision",
]
