import pytest

from mdm.selectors.decisions import not_a_match_pairs
from mdm.services.decisions import decision_record_not_a_match
from mdm.services.errors import DomainError
from tests.builders import make_source_record, make_user

pytestmark = pytest.mark.django_db


def test_every_pair_of_a_not_a_match_set_is_remembered():
    steward = make_user()
    a, b, c = (
        make_source_record(FName=n)
        for n in ["北京华盛科技有限公司", "上海华盛科技有限公司", "华盛贸易"]
    )
    decision = decision_record_not_a_match(
        records=[a, b, c], steward=steward, reason="other cities"
    )
    pairs = {tuple(sorted(p)) for p in [(a.pk, b.pk), (a.pk, c.pk), (b.pk, c.pk)]}
    assert not_a_match_pairs() == pairs
    assert decision.decided_by == steward


def test_it_needs_two_distinct_records():
    record = make_source_record()
    with pytest.raises(DomainError):
        decision_record_not_a_match(
            records=[record, record], steward=make_user(), reason=""
        )
