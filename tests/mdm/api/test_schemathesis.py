"""The API against its own OpenAPI schema (RELIABILITY T1): generated
valid and invalid requests (a bounded number per operation) under every
schemathesis check but one find no 5xx, no undocumented status or header,
no response that breaks the schema, no invalid data accepted, no endpoint
open without its token and no method answered that the schema does not
list.

Left out: "schema-valid data is accepted". A golden ID carries a check
digit, a change-feed cursor is signed, and "give at least one of name,
phone or e-mail" cannot be said in OpenAPI 3.0: random data that fits the
schema is rightly answered 400 there.
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
        excluded_checks=[positive_data_acceptance],
    )
