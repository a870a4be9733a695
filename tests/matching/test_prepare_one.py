"""The one-record prepare (plain Python) gives exactly the table the pandas
path gives for a single row: the real-time path depends on it."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import Record
from matching.prepare import (
    COMPANY_FIELDS,
    PERSON_FIELDS,
    prepare_one,
    prepare_table,
    records_to_fields,
)
from tests.matching.people import people

# Lone surrogates are left out: pandas' own answer for them differs from
# call to call (both paths hand such text to pandas).
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
EDGE = [None, "", "   ", "0", "-", "（", "ＡＢＣ１２３", "None", "nan", " x "]


def _pandas_path(record: Record, schema: str):
    fields = PERSON_FIELDS if schema == "person" else COMPANY_FIELDS
    ids, sources, cols = records_to_fields([record], fields)
    return prepare_table(ids, cols, schema, sources)


def assert_same_table(fast, slow):
    assert fast.ids.dtype == slow.ids.dtype and fast.ids.tolist() == slow.ids.tolist()
    assert fast.sources.tolist() == slow.sources.tolist()
    assert list(fast.columns) == list(slow.columns)
    for name, expected in slow.columns.items():
        got = fast.columns[name]
        assert got.codes.dtype == expected.codes.dtype, name
        assert got.codes.shape == expected.codes.shape, name
        assert np.array_equal(got.codes, expected.codes), name
        assert got.values.dtype == expected.values.dtype, name
        assert got.values.tolist() == expected.values.tolist(), name
        assert got.counts.dtype == expected.counts.dtype, name
        assert np.array_equal(got.counts, expected.counts), name
        assert got.total == expected.total, name


@pytest.fixture(scope="module")
def company_values():
    chinese_b2b = pytest.importorskip("fixtures.chinese_b2b")
    data = chinese_b2b.generate(companies=300, seed=11)
    pools = {name: set(EDGE) for name in COMPANY_FIELDS}
    for record in data.records:
        for name in COMPANY_FIELDS:
            pools[name].add(record.flat.get(name))
    return data.records, {k: sorted(v, key=repr) for k, v in pools.items()}


def test_every_generated_company_prepares_alike(company_values):
    records, _ = company_values
    for r in records:
        record = Record(r.key, r.system, r.flat)
        assert_same_table(
            prepare_one(record, "company_cn"), _pandas_path(record, "company_cn")
        )


def test_every_generated_person_prepares_alike():
    records, _ = people(150, seed=3)
    for record in records:
        assert_same_table(prepare_one(record, "person"), _pandas_path(record, "person"))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mixed_company_fields_prepare_alike(company_values, data):
    # fields drawn independently from real values, edge cases and free text:
    # combinations the generator never makes (a name with another's phone,
    # an English name alone, blanks)
    _, pools = company_values
    fields = {
        name: data.draw(st.one_of(st.sampled_from(pools[name]), TEXT), label=name)
        for name in COMPANY_FIELDS
    }
    record = Record("q1", "erp", fields)
    assert_same_table(
        prepare_one(record, "company_cn"), _pandas_path(record, "company_cn")
    )


@settings(max_examples=200, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {
            name: st.one_of(
                st.sampled_from(
                    EDGE + ["robert", "Bob", "O'Neil", "1985-03-07", "12 Oak St"]
                ),
                TEXT,
            )
            for name in PERSON_FIELDS
        }
    )
)
def test_mixed_person_fields_prepare_alike(fields):
    record = Record("p1", "crm", fields)
    assert_same_table(prepare_one(record, "person"), _pandas_path(record, "person"))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(["a", "b", "华盛", "", " ", "a\x00", "a\x00b"]),
            # no lone surrogates: both paths leave them to pandas, whose
            # answer for them differs from call to call
            st.text(alphabet=st.characters(exclude_categories=["Cs"])),
        ),
        max_size=40,
    )
)
def test_small_encodes_match_pandas_factorize(values):
    import pandas as pd

    from matching.prepare import encode

    codes, uniques = encode(values)
    expected_codes, expected_uniques = pd.factorize(
        np.asarray(values, dtype=object), use_na_sentinel=True
    )
    assert codes.dtype == np.int32 and uniques.dtype == object
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == list(expected_uniques)
