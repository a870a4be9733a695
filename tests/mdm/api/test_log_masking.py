"""Django logs every 4xx/5xx answer with the request attached; a lookup by
USCC, or by a source key that is one, carries the number in its path.
Neither the text nor the JSON log line (LOG_FORMAT=json writes extra fields
such as the request) may show it (W7)."""

import io
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from mdm.log_masking import MaskPersonalData

pytestmark = pytest.mark.django_db

USCC = "91110108MA01R5X14L"  # valid check character, held by no record


@pytest.fixture
def request_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_a_404_for_a_key_holding_a_uscc_is_logged_without_it(read_api, request_log):
    # ERP customer numbers are often the customer's tax ID.
    response = read_api.get(f"/api/v1/golden-records/by-source/erp/{USCC}")
    assert response.status_code == 404
    line = request_log.getvalue()
    assert "Not Found" in line and "by-source" in line
    assert USCC not in line


def test_extra_fields_are_masked_and_numbers_kept():
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "see %s", (USCC,), None
    )
    record.request = f"<WSGIRequest: GET '/by-uscc/{USCC}'>"
    record.status_code = 404
    MaskPersonalData().filter(record)
    assert USCC not in record.getMessage()
    assert USCC not in record.request and "by-uscc" in record.request
    assert record.status_code == 404
