"""A model of merges and unmerges (RELIABILITY C3): whatever the sequence,
source records are never lost, each belongs to exactly one golden record,
golden IDs are never reused, merged-away IDs resolve to a live survivor, and
an unmerge restores the mapping and the values exactly."""

from itertools import count

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mdm.id_card import ATTRIBUTES
from mdm.models import CrossReference, GoldenRecord, SourceRecord, StewardDecision
from mdm.selectors import golden_record_resolve
from mdm.services.golden_records import golden_record_create, golden_record_merge
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_source_record
from tests.mdm.ui.helpers import make_steward

_serial = count(1)
NAMES = ["北京华盛科技有限公司", "华盛科技", "上海明远贸易有限公司", "明远贸易", "华盛"]
PHONES = ["010-65521234", "138 0013 8000", "021-5555 0000", ""]


class MergeModel(RuleBasedStateMachine):
    @initialize(
        records=st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(PHONES)),
            min_size=2,
            max_size=6,
        )
    )
    def create(self, records):
        self.steward = make_steward(f"s{next(_serial)}")
        self.sources = []
        self.golden_pks = []
        for name, phone in records:
            record = make_source_record(
                "erp", f"M-{next(_serial)}", FName=name, FTel=phone
            )
            self.sources.append(record.pk)
            self.golden_pks.append(golden_record_create(members=[record]).pk)
        self.issued = {g.golden_id: g.pk for g in self._goldens()}
        self.merges = []  # (decision, mapping before, values before), LIFO

    def _goldens(self):
        return GoldenRecord.objects.filter(pk__in=self.golden_pks)

    def _active(self):
        return list(self._goldens().filter(status="active").order_by("pk"))

    def _state(self):
        mapping = dict(
            CrossReference.objects.filter(
                source_record_id__in=self.sources
            ).values_list("source_record_id", "golden_id")
        )
        values = {
            g.pk: ({a: getattr(g, a) for a in ATTRIBUTES}, g.status, g.merged_into_id)
            for g in self._goldens()
        }
        return mapping, values

    @precondition(lambda self: len(self._active()) >= 2)
    @rule(data=st.data())
    def merge(self, data):
        active = self._active()
        survivor = data.draw(st.sampled_from(active))
        others = [g for g in active if g.pk != survivor.pk]
        absorbed = data.draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
        before = self._state()
        golden_record_merge(
            survivor=survivor, absorbed=absorbed, steward=self.steward, reason="model"
        )
        decision = StewardDecision.objects.filter(kind="merge").latest("pk")
        self.merges.append((decision, before))

    @precondition(lambda self: bool(self.merges))
    @rule()
    def unmerge_the_latest(self):
        decision, before = self.merges.pop()
        golden_record_unmerge(decision=decision, steward=self.steward, reason="model")
        mapping, values = self._state()
        assert mapping == before[0]
        assert {pk: v[0] for pk, v in values.items()} == {
            pk: v[0] for pk, v in before[1].items()
        }
        assert {pk: v[1:] for pk, v in values.items()} == {
            pk: v[1:] for pk, v in before[1].items()
        }

    @invariant()
    def every_source_record_is_kept_and_in_exactly_one_golden_record(self):
        assert SourceRecord.objects.filter(pk__in=self.sources).count() == len(
            self.sources
        )
        links = CrossReference.objects.filter(source_record_id__in=self.sources)
        assert sorted(links.values_list("source_record_id", flat=True)) == sorted(
            self.sources
        )

    @invariant()
    def golden_ids_are_stable_and_never_reused(self):
        for golden in self._goldens():
            assert self.issued[golden.golden_id] == golden.pk

    @invariant()
    def merged_away_ids_resolve_to_a_live_survivor(self):
        for golden_id in self.issued:
            assert golden_record_resolve(golden_id).record.status == "active"


@pytest.mark.django_db
def test_merges_and_unmerges_keep_the_invariants():
    run_state_machine_as_test(
        MergeModel,
        settings=settings(max_examples=20, stateful_step_count=12, deadline=None),
    )
