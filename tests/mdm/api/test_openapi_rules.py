"""What the API's validation refuses, the OpenAPI document says (T1), and
the API refuses what the document says it does."""

import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from mdm.api.serializers import NO_NUL, NOT_BLANK

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(generated, default=str))


def component(document, name):
    return document["components"]["schemas"][name]


def parameter(document, path, name):
    operation = document["paths"][path]["get"]
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_key_shapes_are_in_the_path_parameters(document):
    golden_id = parameter(document, "/api/v1/golden-records/{golden_id}", "golden_id")
    assert re.fullmatch(golden_id["schema"]["pattern"], "gr0000000013")
    assert not re.fullmatch(golden_id["schema"]["pattern"], "GR000000001")
    uscc = parameter(document, "/api/v1/golden-records/by-uscc/{uscc}", "uscc")
    assert re.fullmatch(uscc["schema"]["pattern"], "91110108MA01KPGK0L")


def test_strict_bodies_refuse_unknown_fields_and_keep_their_rules(document):
    keys = component(document, "BatchLookupInputRequest")
    assert keys["additionalProperties"] is False
    assert (
        keys["properties"]["keys"]["minItems"],
        keys["properties"]["keys"]["maxItems"],
    ) == (1, 1000)
    key = component(document, "BatchKeyRequest")
    assert [branch["required"] for branch in key["oneOf"]] == [
        ["golden_id"],
        ["source_system", "source_id"],
        ["uscc"],
    ]
    # a branch carries its fields' own schema (the slug pattern)
    assert (
        key["oneOf"][1]["properties"]["source_system"]["pattern"]
        == (key["properties"]["source_system"]["pattern"])
    )
    match = document["paths"]["/api/v1/golden-records/match"]["post"]
    assert match["requestBody"]["required"] is True


def test_text_patterns_follow_drf_trimming_and_nul_refusal():
    for text, kept in [
        ("a", True),
        (" a ", True),
        (" ", False),
        ("\x1c", False),
        ("\u3000", False),
        ("", False),
        ("a\x00", False),
    ]:
        assert bool(re.search(NOT_BLANK, text)) is kept, repr(text)
        assert (text.strip() != "" and "\x00" not in text) is kept, repr(text)
    assert re.search(NO_NUL, "")
    assert not re.search(NO_NUL, "a\x00b")


@pytest.mark.parametrize(
    "body",
    [
        {"legal_name": "华盛科技", "english_name": 0},
        {"legal_name": "华盛科技", "phones": [13800138000]},
        {"legal_name": "华盛科技", "addresses": [{"city": 10}]},
    ],
)
def test_text_fields_take_strings_only(erp_api, body):
    response = erp_api.post("/api/v1/golden-records/match", body, format="json")
    assert response.status_code == 400


def test_a_number_for_a_lookup_key_is_refused(read_api):
    response = read_api.post(
        "/api/v1/golden-records/lookup", {"keys": [{"uscc": 911101}]}, format="json"
    )
    assert response.status_code == 400
    assert "uscc" in json.dumps(response.json()["detail"])
