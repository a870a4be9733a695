"""How many SQL statements one ingest PUT costs, pinned so it cannot grow
unnoticed. The count starts at the ingest's own first statement (the source
system's look-up): token checks and rate limiting before it are the API
layer's and are not pinned here.

Each statement is a round trip to the database under the record's locks;
if a change needs more, raise the pin in the same commit and say why.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.mdm.api.test_ingest_api import USCC, kingdee, put

pytestmark = pytest.mark.django_db

# source system; BEGIN, savepoint of record_ingest inside the audit's
# transaction; the record (locked); savepoint, insert and its history row,
# release (the insert race is recovered from); index catch-up; candidates
# with their links; golden-ID allocation; survivorship policy; golden record
# and its history row; link and its history row; outbox event; delivery
# targets; release; audit row; COMMIT.
NEW_RECORD = 21
# source system; BEGIN, savepoint; the record (locked); its link; release;
# audit row; COMMIT.
UNCHANGED = 8
# NEW_RECORD's first ten statements (up to the candidates); the USCC
# check of the candidate's golden record; link and its history row; the
# golden record (locked), its members, survivorship policy, update and its
# history row; the event's member list, event, delivery targets; release,
# audit row, COMMIT.
AUTO_MERGE = 24


def ingest_statements(api, source_id, payload, system="erp"):
    with CaptureQueriesContext(connection) as ctx:
        response = put(api, source_id, payload, system=system)
    assert response.status_code in (200, 201), response.json()
    sql = [q["sql"] for q in ctx.captured_queries]
    first = next(
        i for i, s in enumerate(sql) if s.startswith('SELECT "mdm_sourcesystem"')
    )
    return response.json(), sql[first:]


def test_a_new_record_costs_a_fixed_number_of_statements(erp_api):
    put(erp_api, "WARM-1", kingdee("WARM-1", name="上海远景物流有限公司"))  # index
    body, sql = ingest_statements(
        erp_api, "CUST-1", kingdee("CUST-1", FTaxRegisterCode=USCC)
    )
    assert body["match"]["decision"] == "new"
    assert len(sql) == NEW_RECORD, "\n".join(sql)


def test_an_unchanged_resend_costs_a_fixed_number_of_statements(erp_api):
    put(erp_api, "CUST-1", kingdee("CUST-1"))
    body, sql = ingest_statements(erp_api, "CUST-1", kingdee("CUST-1"))
    assert body["outcome"] == "unchanged"
    assert len(sql) == UNCHANGED, "\n".join(sql)


def test_an_auto_merge_costs_a_fixed_number_of_statements(erp_api, crm_api):
    put(
        erp_api,
        "CUST-1",
        kingdee("CUST-1", FTaxRegisterCode=USCC, FTel="010-65521234"),
    )
    body, sql = ingest_statements(
        crm_api,
        "001A",
        {
            "Id": "001A",
            "Name": "华盛科技(北京)有限公司",
            "Tax_ID__c": USCC,
            "Phone": "+86 10 6552 1234",
        },
        system="crm",
    )
    assert body["match"]["decision"] == "auto_merge"
    assert len(sql) == AUTO_MERGE, "\n".join(sql)
