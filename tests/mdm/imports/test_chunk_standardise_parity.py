"""An import stores exactly the standardised values it stored before the
phone shortcuts, and leaves the garbage collector as it found it.

The shortcuts (`_cn_is_landline` on compiled metadata, `_rewrite_artefacts`
skipping rewrites that cannot apply) must not change one byte of the
`standardised` JSON: a re-import would otherwise rewrite every row and
matching could move. Each row is standardised as the import does it, then
again with both shortcuts swapped for the long way.
"""

from __future__ import annotations

import gc
import json
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.chinese_b2b import generate
from mdm.mapping_presets import payload_map
from mdm.matching_adapter import attributes_standardise
from mdm.models import SourceRecord, SourceSystem
from mdm.services.imports import import_job_confirm, import_job_create, import_job_run
from tests.matching.standardise.phones_long_way import (
    MESSY,
    PHONES,
    landline_the_long_way,
    rewrite_the_long_way,
)

PRESETS = {
    "erp": "kingdee_k3cloud",
    "crm": "salesforce_account",
    "legacy": "legacy_excel",
}


def standardised_json(attributes) -> str:
    PHONES.phones.cache_clear()
    PHONES._parse_one.cache_clear()
    return json.dumps(attributes_standardise(attributes), ensure_ascii=False)


def standardised_the_long_way(attributes) -> str:
    with mock.patch.multiple(
        PHONES,
        _cn_is_landline=landline_the_long_way,
        _rewrite_artefacts=rewrite_the_long_way,
    ):
        return standardised_json(attributes)


def test_generated_customers_standardise_as_before():
    dataset = generate(companies=800, seed=11)
    rows = [payload_map(r.payload, PRESETS[r.system]) for r in dataset.records]
    assert len(rows) > 800
    for row in rows:
        attributes = row.attributes
        expected = standardised_the_long_way(attributes)
        assert standardised_json(attributes) == expected, attributes


NAMES = st.sampled_from(
    ["北京华盛科技有限公司", "华盛科技(北京)有限公司", "深圳 新星电子 有限公司"]
    + ["ＡＢＣ贸易有限公司", "Beijing Huasheng Technology Co., Ltd.", "", "  "]
)
ADDRESSES = st.sampled_from(
    ["北京市朝阳区建国路88号", "深圳南山区科技园", "中国 上海市浦东新区 100号", ""]
)


@settings(max_examples=300, deadline=None)
@given(
    name=NAMES,
    phone_cells=st.lists(MESSY, max_size=3),
    uscc=st.sampled_from(["", "91110108MA01KPGK0L", "９１１１０１０８ＭＡ０１", "无"]),
    address=ADDRESSES,
)
def test_messy_rows_standardise_as_before(name, phone_cells, uscc, address):
    payload = {
        "客户名称": name,
        "联系电话": " / ".join(phone_cells),
        "手机": phone_cells[0] if phone_cells else None,
        "税号": uscc,
        "地址": address,
    }
    attributes = payload_map(payload, "legacy_excel").attributes
    assert standardised_json(attributes) == standardised_the_long_way(attributes)


@pytest.mark.django_db
def test_an_import_leaves_the_collector_unfrozen():
    content = "客户编号,客户名称,联系电话\r\nL-1,北京华盛科技有限公司,010-6552 1234\r\n"
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(
        system=system, content=content.encode(), filename="customers.csv"
    )
    import_job_confirm(job=job, mapping=job.mapping)
    job = import_job_run(job=job)
    assert job.status == "done", job.error
    assert SourceRecord.objects.get(source_id="L-1").standardised["phones"] == [
        "+861065521234"
    ]
    assert gc.get_freeze_count() == 0
