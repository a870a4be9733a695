from mdm.models.api_clients import ApiClient, ApiToken
from mdm.models.audit import AuditEvent, ErasureRecord
from mdm.models.decisions import DecisionMember, StewardDecision
from mdm.models.delivery import Delivery, DeliveryAttempt, DeliveryTarget, RemoteLink
from mdm.models.golden import GoldenIdAllocation, GoldenRecord
from mdm.models.idempotency import IdempotencyKey
from mdm.models.import_profiles import ImportProfile, ImportProfileUse
from mdm.models.imports import ImportJob, ImportRowError
from mdm.models.match_runs import MatchRun
from mdm.models.outbox import OutboxEvent
from mdm.models.review import ReviewTask
from mdm.models.sources import CrossReference, SourceRecord, SourceSystem
from mdm.models.survivorship import SurvivorshipPolicy
from mdm.models.sync_conflicts import InboundWebhook, SyncConflict

__all__ = [
    "ApiClient",
    "ApiToken",
    "AuditEvent",
    "CrossReference",
    "DecisionMember",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryTarget",
    "ErasureRecord",
    "GoldenIdAllocation",
    "GoldenRecord",
    "IdempotencyKey",
    "ImportJob",
    "ImportProfile",
    "ImportProfileUse",
    "ImportRowError",
    "InboundWebhook",
    "MatchRun",
    "OutboxEvent",
    "RemoteLink",
    "ReviewTask",
    "SourceRecord",
    "SourceSystem",
    "StewardDecision",
    "SurvivorshipPolicy",
    "SyncConflict",
]
