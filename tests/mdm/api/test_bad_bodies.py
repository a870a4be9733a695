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


class CountingInput:
    """A request body stream that counts what the application reads."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b" " * n

    def readline(self, *args) -> bytes:
        return self.read(*args)


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    erp_api, settings, in_test_transaction
):
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    declared = 50 * 1024 * 1024
    body = CountingInput(declared)
    environ = RequestFactory()._base_environ(
        PATH_INFO=URL,
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(declared),
        HTTP_AUTHORIZATION=f"Bearer {erp_api.secret}",
        **{"wsgi.input": body, "wsgi.url_scheme": "https"},
    )
    statuses = []
    WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    assert statuses[0].split()[0] in {"400", "413"}
    assert body.read_bytes <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
