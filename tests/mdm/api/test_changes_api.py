import pytest

from mdm.selectors import api as selectors_api
from mdm.services.golden_records import golden_record_merge
from tests.builders import make_golden, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/golden-records/changes"


@pytest.fixture(autouse=True)
def no_settle_time(monkeypatch):
    monkeypatch.setattr(selectors_api, "CHANGES_SETTLE", selectors_api.timedelta(0))


def test_a_poller_pages_through_every_change_once(read_api):
    records = [make_golden(name=f"公司{i}有限公司") for i in range(5)]
    golden_record_merge(
        survivor=records[0], absorbed=[records[1]], steward=make_user(), reason="dup"
    )
    seen, cursor = [], ""
    while True:
        page = read_api.get(
            URL, {"cursor": cursor, "limit": 2} if cursor else {"limit": 2}
        )
        assert page.status_code == 200
        body = page.json()
        seen += body["results"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    ids = [c["golden"]["golden_id"] for c in seen]
    assert set(ids) == {r.golden_id for r in records}
    merged = [c for c in seen if c["golden"]["status"] == "merged"]
    assert merged[0]["merged_into"] == records[0].golden_id
    # Nothing new: the cursor stays, the page is empty.
    again = read_api.get(URL, {"cursor": cursor}).json()
    assert again == {"results": [], "next_cursor": cursor, "has_more": False}
    make_golden(name="后来有限公司")
    later = read_api.get(URL, {"cursor": cursor}).json()["results"]
    assert [c["golden"]["legal_name"] for c in later] == ["后来有限公司"]


def test_since_starts_at_a_time(read_api):
    make_golden(name="早有限公司")
    changes = read_api.get(URL).json()["results"]
    since = changes[-1]["changed_at"]
    make_golden(name="晚有限公司")
    names = [
        c["golden"]["legal_name"]
        for c in read_api.get(URL, {"since": since}).json()["results"]
    ]
    assert names[-1] == "晚有限公司" and "早有限公司" in names


def test_changes_are_held_back_until_they_settle(read_api, monkeypatch):
    monkeypatch.setattr(
        selectors_api, "CHANGES_SETTLE", selectors_api.timedelta(hours=1)
    )
    make_golden()
    assert read_api.get(URL).json()["results"] == []


@pytest.mark.parametrize(
    "params",
    [{"cursor": "bm9wZQ"}, {"cursor": "!!"}, {"since": "yesterday"}, {"limit": 5000}],
)
def test_a_bad_cursor_or_time_is_a_400(read_api, params):
    response = read_api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"] in {"InvalidKey", "ValidationError"}
