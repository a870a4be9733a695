"""The API against its own OpenAPI schema (RELIABILITY T1): generated
valid and invalid requests (a bounded number per operation) under every
schemathesis check find no 5xx, no undocumented status or header, no
response that breaks the schema, no invalid data accepted, no valid data
refused, no endpoint open without its token and no method answered that
the schema does not list.

"Valid data accepted" allows four refusals, of rules OpenAPI 3.0 cannot
state: a golden ID's check digit, a change-feed cursor the server signed,
"give at least one of name, phone or e-mail" across query parameters, and
an Idempotency-Key drawn again for another request. Every other rule the
API checks is in the schema (mdm/api/openapi_schema.py), so random data
that fits it gets through.
"""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks

from mdm.wsgi import application
from tests.builders import make_golden
from tests.mdm.api.conftest import client_with_token

load_all_checks()
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

# The refusals "valid data accepted" allows (see the module doc): status,
# and a phrase of the answer's detail.
UNSTATABLE_RULES = (
    (400, "has a wrong check digit"),
    (400, "This cursor was not issued by this API."),
    (400, "Give at least one of name, phone, email."),
    # A key binds to its first request: the examples of one operation share
    # the test's database, so a drawn key is sometimes drawn again.
    (422, "This Idempotency-Key was used for"),
)


def valid_data_accepted(ctx, response, case):
    """schemathesis's positive_data_acceptance, but for UNSTATABLE_RULES."""
    refusals = [p for status, p in UNSTATABLE_RULES if status == response.status_code]
    if refusals:
        detail = json.dumps(response.json().get("detail"))
        if any(phrase in detail for phrase in refusals):
            return None
    return positive_data_acceptance(ctx, response, case)


# They end the very token the run authenticates with; tests cover them.
SKIPPED = {"token_rotate", "token_revoke"}


def _load_schema():
    # Generated in-process (the same document /api/v1/schema serves), so that
    # collecting this module needs no database.
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(
        json.loads(json.dumps(document, default=str))
    )
    loaded.app = application
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    )
    return loaded.exclude(operation_id=list(SKIPPED))


schema = _load_schema()


@pytest.fixture
def admin_token(db, settings, in_test_transaction):
    config = dict(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(
        config["DEFAULT_THROTTLE_RATES"], "100000/s"
    )
    settings.REST_FRAMEWORK = config
    make_golden(FTaxRegisterCode="91110108MA01KPGK0L", FTel="13800138000")
    return client_with_token("fuzzer", None, ["admin"]).secret


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_its_schema(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        additional_checks=[valid_data_accepted],
        excluded_checks=[positive_data_acceptance],
    )
