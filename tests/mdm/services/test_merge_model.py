"""A model of merges, splits and their undoing (RELIABILITY C3): whatever the
sequence, source records are never lost, each belongs to exactly one golden
record, golden IDs are never reused, merged-away IDs resolve to a live
record, every live record has a source record, and undoing the latest
merge or split restores the mapping and the values byte for byte.

How many examples run is a settings profile chosen by HYPOTHESIS_PROFILE:
`ci`, C3's 1,000 examples of up to 50 steps; `nightly`, 10,000 (on
PostgreSQL, scripts/nightly). Unset, CI=true (as `.ci/run` sets it) runs
`ci` on SQLite, where an example costs half what it does on PostgreSQL, and
a short run on PostgreSQL, so that both passes fit CI's hour; outside CI, a
short run. Each example runs in a savepoint rolled back at its end, so the
1,000th example is as fast as the first. On PostgreSQL the rows an example
rolled back stay in the tables as dead tuples, and the autovacuum never
learns of them (the test's one transaction reports no statistics until it
ends): in an hour of a nightly run the tables grew to ~400 MB, and the
model's reads (sequential scans: the planner sees empty tables) slowed with
them, so that such runs never finished. A side connection vacuums
the database every VACUUM_EVERY examples; tuples whose (sub)transaction
aborted are dead to every snapshot, so VACUUM frees them while the test's
transaction is still open.
"""

import os
from itertools import count

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
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
from mdm.selectors.golden_records import golden_record_resolve
from mdm.services.errors import DomainError
from mdm.services.golden_records import golden_record_create, golden_record_merge
from mdm.services.split import golden_record_split, golden_record_split_undo
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_source_record
from tests.mdm.ui.helpers import make_steward

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
hypothesis_settings.register_profile(
    "c3-default", max_examples=25, stateful_step_count=20, **_COMMON
)
hypothesis_settings.register_profile(
    "c3-ci", max_examples=1000, stateful_step_count=50, **_COMMON
)
hypothesis_settings.register_profile(
    "c3-nightly", max_examples=10_000, stateful_step_count=50, **_COMMON
)
_CI_ON_SQLITE = os.environ.get("CI") == "true" and connection.vendor == "sqlite"
PROFILE = "c3-" + (
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _CI_ON_SQLITE else "default")
)

_serial = count(1)
_examples = count(1)
VACUUM_EVERY = 50


def _vacuum_from_a_side_connection():
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    ) as side:
        side.execute("VACUUM")


NAMES = ["北京华盛科技有限公司", "华盛科技", "上海明远贸易有限公司", "明远贸易", "华盛"]
PHONES = ["010-65521234", "138 0013 8000", "021-5555 0000", ""]
FIELDS = [*ATTRIBUTES, "uscc_valid"]


class MergeSplitModel(RuleBasedStateMachine):
    steward = None  # set by the test: one steward for every example

    @initialize(
        records=st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(PHONES)),
            min_size=2,
            max_size=6,
        )
    )
    def create(self, records):
        self.savepoint = transaction.savepoint()
        self.sources = []
        self.golden_pks = []
        for name, phone in records:
            record = make_source_record(
                "erp", f"M-{next(_serial)}", FName=name, FTel=phone
            )
            self.sources.append(record.pk)
            self.golden_pks.append(golden_record_create(members=[record]).pk)
        self.view = self.decisions = None
        self.issued = {g.golden_id: g.pk for g in self._goldens()}
        # (kind, decision, state before it): the undo of the latest restores it.
        self.done = []

    def teardown(self):
        if hasattr(self, "savepoint"):
            # Roll back to it and release it: an unreleased savepoint stays
            # open, and hundreds of them nested slow SQLite down ever more.
            transaction.savepoint_rollback(self.savepoint)
            transaction.savepoint_commit(self.savepoint)
            if (
                connection.vendor == "postgresql"
                and next(_examples) % VACUUM_EVERY == 0
            ):
                _vacuum_from_a_side_connection()

    def _goldens(self):
        return GoldenRecord.objects.filter(pk__in=self.golden_pks)

    def _view(self):
        """Golden records and members as the database has them now, read once
        per step (preconditions and invariants all look at it)."""
        if self.view is None:
            goldens = {g.pk: g for g in self._goldens().order_by("pk")}
            members = {pk: [] for pk in goldens}
            mapping = dict(
                CrossReference.objects.filter(
                    source_record_id__in=self.sources
                ).values_list("source_record_id", "golden_id")
            )
            for source, golden in sorted(mapping.items()):
                members[golden].append(source)
            self.view = (goldens, members, mapping)
        return self.view

    def _changed(self):
        self.view = self.decisions = None

    def _active(self):
        goldens, _members, _mapping = self._view()
        return [g for g in goldens.values() if g.status == "active"]

    def _members(self, golden):
        return self._view()[1][golden.pk]

    def _splittable(self):
        return [g for g in self._active() if len(self._members(g)) >= 2]

    def _state(self):
        goldens, _members, mapping = self._view()
        values = {
            g.pk: (
                {f: getattr(g, f) for f in FIELDS},
                g.lineage,
                g.status,
                g.merged_into_id,
            )
            for g in goldens.values()
        }
        return mapping, values

    def _assert_restored(self, before):
        mapping, values = self._state()
        assert mapping == before[0]
        # Records made since (by a split) are left merged into a live record.
        assert {pk: values[pk] for pk in before[1]} == before[1]

    @precondition(lambda self: len(self._active()) >= 2)
    @rule(data=st.data())
    def merge(self, data):
        active = self._active()
        survivor = data.draw(st.sampled_from(active))
        others = [g for g in active if g.pk != survivor.pk]
        absorbed = data.draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
        chosen = data.draw(st.none() | st.sampled_from(NAMES))
        before = self._state()
        golden_record_merge(
            survivor=survivor,
            absorbed=absorbed,
            steward=self.steward,
            reason="model",
            overrides={"legal_name": chosen} if chosen else None,
        )
        self._changed()
        decision = StewardDecision.objects.filter(kind="merge").latest("pk")
        self.done.append(("merge", decision, before))

    @precondition(lambda self: bool(self._splittable()))
    @rule(data=st.data())
    def split(self, data):
        golden = data.draw(st.sampled_from(self._splittable()))
        members = self._members(golden)
        labels = data.draw(
            st.lists(st.integers(1, 3), min_size=len(members), max_size=len(members))
        )
        if len(set(labels)) < 2:
            labels[-1] = labels[0] % 3 + 1
        keep = data.draw(st.none() | st.sampled_from(sorted(set(labels))))
        before = self._state()
        decision = golden_record_split(
            golden=golden,
            groups=dict(zip(members, labels, strict=True)),
            keep=keep,
            steward=self.steward,
            reason="model",
            expected_version=golden.version,
        )
        self._changed()
        for golden_id in decision.details["created"]:
            assert golden_id not in self.issued  # a golden ID is never reused
            record = GoldenRecord.objects.get(golden_id=golden_id)
            assert record.pk not in self.golden_pks
            self.issued[golden_id] = record.pk
            self.golden_pks.append(record.pk)
        self.done.append(("split", decision, before))

    @precondition(lambda self: bool(self.done))
    @rule()
    def undo_the_latest(self):
        kind, decision, before = self.done.pop()
        self._undo(kind, decision)
        self._changed()
        self._assert_restored(before)

    @rule(data=st.data())
    def look_up_a_golden_id(self, data):
        """Any golden ID ever issued finds a live record (always possible, so
        that some rule is enabled whatever swarm testing switches off)."""
        golden_id = data.draw(st.sampled_from(sorted(self.issued)))
        resolution = golden_record_resolve(golden_id)
        assert resolution.record.status == "active"
        assert resolution.chain[0] == golden_id

    @precondition(lambda self: bool(self._decisions()))
    @rule(data=st.data())
    def undo_any_decision(self, data):
        """Undo any earlier decision, out of order: it is done, or refused
        with a clear reason and nothing written."""
        decision = data.draw(st.sampled_from(self._decisions()))
        kind = "merge" if decision.kind == StewardDecision.Kind.MERGE else "split"
        before = self._state()
        try:
            self._undo(kind, decision)
        except DomainError:
            self._changed()
            assert self._state() == before
        else:
            self._changed()
            # The latest decision's "before" no longer describes the state.
            self.done = []

    def _decisions(self):
        if self.decisions is None:
            self.decisions = list(
                StewardDecision.objects.filter(
                    members__source_record_id__in=self.sources
                )
                .exclude(details__has_key="unmerge_of")
                .distinct()
                .order_by("pk")
            )
        return self.decisions

    def _undo(self, kind, decision):
        if kind == "merge":
            golden_record_unmerge(decision=decision, steward=self.steward, reason="m")
        else:
            golden = GoldenRecord.objects.get(golden_id=decision.details["golden"])
            golden_record_split_undo(
                decision=decision,
                steward=self.steward,
                reason="m",
                expected_version=golden.version,
            )

    @invariant()
    def every_source_record_is_kept_and_in_exactly_one_golden_record(self):
        assert SourceRecord.objects.filter(pk__in=self.sources).count() == len(
            self.sources
        )
        _goldens, _members, mapping = self._view()
        # The link is one row per source record (a OneToOne), so "in exactly
        # one" is "in at least one", and each link's record is one of ours.
        assert sorted(mapping) == sorted(self.sources)

    @invariant()
    def golden_ids_are_stable_and_never_reused(self):
        goldens, _members, _mapping = self._view()
        assert {g.golden_id: g.pk for g in goldens.values()} == self.issued

    @invariant()
    def merged_away_ids_resolve_to_a_live_record(self):
        goldens, _members, _mapping = self._view()
        for golden in goldens.values():
            seen = {golden.pk}
            while golden.merged_into_id is not None:
                golden = goldens[golden.merged_into_id]
                assert golden.pk not in seen  # no cycle
                seen.add(golden.pk)
            assert golden.status == "active"

    @invariant()
    def every_live_record_has_a_source_record(self):
        for golden in self._active():
            assert self._members(golden)


@pytest.mark.django_db
def test_merges_splits_and_undos_keep_the_invariants():
    # One steward for every example.
    MergeSplitModel.steward = make_steward()
    run_state_machine_as_test(
        MergeSplitModel, settings=hypothesis_settings.get_profile(PROFILE)
    )
