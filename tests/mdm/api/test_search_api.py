import pytest

from mdm.models import GoldenRecord, OutboxEvent, SourceRecord
from mdm.selectors.names import _name_candidates_prefix, on_postgres
from tests.builders import make_golden

pytestmark = pytest.mark.django_db

URL = "/api/v1/golden-records/search"


@pytest.fixture
def companies(db):
    return {
        "huasheng": make_golden(
            name="北京华盛科技有限公司", FTel="010-6552 1234", FEMail="info@huasheng.cn"
        ),
        "other": make_golden(name="深圳市鑫源贸易有限公司", FTel="0755-8888 0000"),
    }


@pytest.mark.parametrize(
    "name", ["华盛科技", "北京华盛科技", "huasheng keji", "Huasheng Technology"]
)
def test_a_name_in_chinese_pinyin_or_english_finds_the_company(
    read_api, companies, name
):
    response = read_api.get(URL, {"name": name})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["golden"]["golden_id"] == companies["huasheng"].golden_id
    assert 0.6 <= results[0]["score"] <= 1
    assert results[0]["matched"]["name"] == results[0]["score"]


def test_phone_and_email_find_the_company(read_api, companies):
    by_phone = read_api.get(URL, {"phone": "+86 10 65521234"}).json()["results"]
    assert [r["golden"]["golden_id"] for r in by_phone] == [
        companies["huasheng"].golden_id
    ]
    by_email = read_api.get(URL, {"email": "INFO@huasheng.cn"}).json()["results"]
    assert [r["golden"]["golden_id"] for r in by_email] == [
        companies["huasheng"].golden_id
    ]


def test_results_are_ranked_by_the_mean_over_criteria(read_api, companies):
    results = read_api.get(URL, {"name": "鑫源贸易", "phone": "010 6552 1234"}).json()[
        "results"
    ]
    assert {r["golden"]["golden_id"] for r in results} == {
        companies["huasheng"].golden_id,
        companies["other"].golden_id,
    }
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(r["score"] <= 0.5 for r in results)


@pytest.mark.parametrize(
    "params", [{}, {"name": " "}, {"name": "x", "limit": 0}, {"nmae": "华盛"}]
)
def test_bad_search_parameters_are_a_400(read_api, params):
    response = read_api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"


def test_search_before_create_explains_and_stores_nothing(erp_api, companies):
    counts = (
        SourceRecord.objects.count(),
        GoldenRecord.objects.count(),
        OutboxEvent.objects.count(),
    )
    response = erp_api.post(
        "/api/v1/golden-records/match",
        {"legal_name": "北京华盛科技有限公司", "phones": ["010-65521234"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] in {"auto_merge", "review"}
    best = body["candidates"][0]
    assert best["golden"]["golden_id"] == companies["huasheng"].golden_id
    assert {e["comparison"] for e in best["explanation"]} >= {"name", "phone"}
    assert (
        SourceRecord.objects.count(),
        GoldenRecord.objects.count(),
        OutboxEvent.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phones": ["123"]},
        {"legal_name": 5, "unknown": 1},
        {"legal_name": "x", "phones": "13800138000"},
        {"legal_name": "x" * 301},
    ],
)
def test_a_bad_candidate_is_a_400(erp_api, body):
    response = erp_api.post("/api/v1/golden-records/match", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_unknown_source_system_is_a_404(erp_api):
    response = erp_api.post(
        "/api/v1/golden-records/match",
        {"legal_name": "华盛", "source_system": "sap"},
        format="json",
    )
    assert response.status_code == 404


def test_an_english_name_is_found_among_many_sharing_its_industry_words(read_api):
    # The brand is looked up first on PostgreSQL; the industry words alone
    # would bring in every building-materials company before it.
    for brand in ("Anlong", "Baoyu", "Chenxi", "Dingfeng", "Fangjie", "Fangming"):
        make_golden(name=f"{brand} Building Materials (Nanjing) Company Limited")
    english = make_golden(name="Fanglei Building Materials (Nanjing) Company Limited")
    chinese = make_golden(name="南京方磊建材有限公司")
    results = read_api.get(URL, {"name": "Fanglei Building Materials"}).json()[
        "results"
    ]
    assert results[0]["golden"]["golden_id"] == english.golden_id
    assert chinese.golden_id in [r["golden"]["golden_id"] for r in results]


def test_a_pinyin_brand_written_in_syllables_finds_the_chinese_company(read_api):
    # "hao fa zhen" is keyed "haofazhen industrial": the brand-prefix pass
    # (PostgreSQL) joins the syllables; the trigram passes find it elsewhere.
    company = make_golden(name="合肥市豪发振实业有限公司")
    make_golden(name="浩发正电子有限责任公司")
    make_golden(name="深圳市鑫源贸易有限公司")
    results = read_api.get(URL, {"name": "Hao Fa Zhen Industrial Company Limited"})
    assert results.json()["results"][0]["golden"]["golden_id"] == company.golden_id


def test_a_brand_spelt_differently_is_still_found(read_api):
    # No Latin key starts with the misspelt brand: the trigram passes run.
    for brand in ("Anlong", "Baoyu", "Chenxi"):
        make_golden(name=f"{brand} Building Materials (Nanjing) Company Limited")
    english = make_golden(name="Fanglei Building Materials (Nanjing) Company Limited")
    results = read_api.get(URL, {"name": "Fangliei Building Materials"}).json()
    assert results["results"][0]["golden"]["golden_id"] == english.golden_id


@pytest.mark.skipif(not on_postgres(), reason="b-tree prefix pass: PostgreSQL")
def test_the_brand_prefix_pass_reads_latin_keys_by_prefix_only(read_api):
    company = make_golden(name="合肥市豪发振实业有限公司")
    make_golden(name="浩发正电子有限责任公司")  # haofazheng: shares the prefix
    make_golden(name="深圳市鑫源贸易有限公司")
    found = _name_candidates_prefix("hao fa zhen", "haofazhen industrial")
    assert [r.pk for r in found][:1] == [company.xrefs.get().source_record_id]
    assert len(found) == 2
    assert _name_candidates_prefix("hao", "hao") == []  # too short to narrow
    assert _name_candidates_prefix("hao_fa%", "hao_fa%") == []  # no wildcards
