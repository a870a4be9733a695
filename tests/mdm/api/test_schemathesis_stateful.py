"""RELIABILITY T1, stateful: schemathesis chains the API's operations along
the links it infers from the schema (the golden ID one answer gives is the
next call's path parameter: search → golden record → members → history),
and every step passes the same checks as the single-operation test
(tests/mdm/api/test_schemathesis.py, with its four rules OpenAPI cannot
state).

The links from a PUT (to the by-source lookup, the batch calls) are found
too, but schemathesis starts its chains only from calls likely to succeed
with random data (searches, lists), not from a PUT to a random source ID;
the PUT runs in the single-operation test."""

from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks

from tests.mdm.api.test_schemathesis import (  # noqa: F401
    admin_token,
    schema,
    valid_data_accepted,
)

load_all_checks()
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

Workflow = schema.as_state_machine()


def test_the_links_between_operations_were_found():
    # Without them the run below would be single calls in a random order.
    links = [name for name in dir(Workflow) if "__" in name and name[0].isupper()]
    for source, target in [
        ("GET_api_v1_golden_records_search", "GET_api_v1_golden_records_golden_id_"),
        ("GET_api_v1_golden_records_golden_id_", "golden_id_members"),
        ("GET_api_v1_golden_records_golden_id_members", "golden_id_history"),
        ("PUT_api_v1_systems_system_records", "GET_api_v1_golden_records_by_source"),
    ]:
        assert any(
            name.startswith(source) and target in name.split("__", 1)[1]
            for name in links
        ), (source, target, links)


def test_chained_calls_keep_the_schema(admin_token):  # noqa: F811
    class Steps(Workflow):
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {admin_token}"}}

        def before_call(self, case):
            # The steps generate a session cookie (the API also takes the
            # web UI's sessions); the token is the only credential here.
            case.cookies = {}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(
                response,
                headers=self.get_call_kwargs(case)["headers"],
                additional_checks=[*additional_checks, valid_data_accepted],
                excluded_checks=[positive_data_acceptance],
            )

    Steps.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
