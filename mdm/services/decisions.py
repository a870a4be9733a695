"""Steward decisions that are not merges: not-a-match, kept for ever."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from mdm.models import DecisionMember, SourceRecord, StewardDecision
from mdm.services.errors import DomainError


@transaction.atomic
def decision_record_not_a_match(
    *, records: Sequence[SourceRecord], steward: AbstractBaseUser, reason: str
) -> StewardDecision:
    """Record that no two of `records` are the same customer; matching treats
    every pair among them as a hard constraint from now on."""
    distinct = {record.pk: record for record in records}
    if len(distinct) < 2:
        raise DomainError("A not-a-match decision needs at least two source records.")
    decision = StewardDecision.objects.create(
        kind=StewardDecision.Kind.NOT_A_MATCH,
        decided_by=steward,
        reason=reason,
        details={"records": [r.key for r in distinct.values()]},
    )
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=decision, source_record=record, group=index)
        for index, record in enumerate(distinct.values())
    )
    return decision
