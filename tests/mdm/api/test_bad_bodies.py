import json

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/systems/erp/records/batch"


def post_raw(api, body: bytes, content_type="application/json"):
    return api.generic("POST", URL, body, content_type=content_type)


def test_an_oversized_body_is_refused_not_a_500(erp_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"records": [{"source_id": "x", "payload": {"a": "b" * 20_000}}]})
    response = post_raw(erp_api, body.encode())
    assert response.status_code in {400, 413}


def test_deeply_nested_json_is_a_400(erp_api):
    body = ("[" * 100_000 + "]" * 100_000).encode()
    assert post_raw(erp_api, body).status_code == 400


def test_a_wrong_content_type_is_a_415(erp_api):
    assert (
        post_raw(erp_api, b"a=b", "application/x-www-form-urlencoded").status_code
        == 415
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"records": "x"},
        {"records": [{"payload": {}}]},
        {"records": [1]},
        {"records": [{"source_id": "", "payload": {}}]},
    ],
)
def test_wrong_shapes_are_400s_with_a_message(erp_api, body):
    response = erp_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]
