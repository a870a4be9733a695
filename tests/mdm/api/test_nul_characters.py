"""A NUL character (U+0000) cannot be stored by PostgreSQL: a payload or
source ID holding one is a 400 naming the field, on every database, and
nothing is written; in a batch only that item fails."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.models import SourceRecord
from mdm.nul_characters import nul_path
from mdm.services.errors import PayloadError
from mdm.services.source_records import payload_parse

pytestmark = pytest.mark.django_db

RECORDS = "/api/v1/systems/erp/records"


def test_a_put_with_a_nul_in_a_field_is_a_400_and_writes_nothing(erp_api):
    body = json.dumps({"FName": "北京华盛\u0000科技有限公司", "FTel": "010-65521234"})
    response = erp_api.generic(
        "PUT", f"{RECORDS}/C-1", body, content_type="application/json", secure=True
    )
    assert response.status_code == 400
    assert "FName" in response.json()["detail"]
    assert not SourceRecord.objects.exists()


def test_a_nul_in_a_key_or_a_nested_value_is_found():
    assert nul_path({"a": {"b\u0000": 1}}) == "a.b\u0000"
    assert nul_path({"contacts": [{"tel": "1"}, {"tel": "2\u0000"}]}) == (
        "contacts[1].tel"
    )
    assert nul_path({"a": ["x", 1, None, {"b": "y"}]}) is None


# Text rich in NULs, backslashes and the letters of an escaped NUL.
_TEXT = st.text(alphabet=st.sampled_from("\x00\\u0a华 "), max_size=8)
_JSON = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.django_db(False)
@given(st.dictionaries(_TEXT, _JSON, max_size=4), st.booleans())
def test_a_payload_is_refused_exactly_when_it_holds_a_nul(payload, as_text):
    # The parse looks for a NUL only in text holding the escape \u0000.
    sent = json.dumps(payload) if as_text else payload
    where = nul_path(payload)
    if where is None:
        assert payload_parse(sent)[0] == payload
    else:
        with pytest.raises(PayloadError, match="NUL"):
            payload_parse(sent)


def test_a_batch_item_with_a_nul_fails_alone(erp_api):
    items = [
        {"source_id": "C-1", "payload": {"FName": "北京华盛科技有限公司"}},
        {"source_id": "C-2", "payload": {"FName": "上海明远\u0000贸易有限公司"}},
        {"source_id": "C-3", "payload": {"FName": "广州天马物流有限公司"}},
    ]
    response = erp_api.post(
        f"{RECORDS}/batch", {"records": items}, format="json", secure=True
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("error") for r in results] == [None, "PayloadError", None]
    assert "FName" in results[1]["detail"] and "NUL" in results[1]["detail"]
    assert sorted(SourceRecord.objects.values_list("source_id", flat=True)) == [
        "C-1",
        "C-3",
    ]


def test_a_source_id_with_a_nul_is_refused(erp_api):
    response = erp_api.generic(
        "PUT", f"{RECORDS}/C%001", "{}", content_type="application/json", secure=True
    )
    assert response.status_code in {400, 404}
    items = [{"source_id": "C\u00001", "payload": {"FName": "北京华盛科技有限公司"}}]
    response = erp_api.post(
        f"{RECORDS}/batch", {"records": items}, format="json", secure=True
    )
    assert response.status_code == 400
    assert not SourceRecord.objects.exists()
