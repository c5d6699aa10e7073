"""Schemathesis fuzzes /api/v1 from its own OpenAPI document with a valid key: no
server error, every status and body as documented, invalid input refused. Path and
body ids are pointed at a real class and plan of the key's institution, so the
generated data reaches the domain rules and the database (on PostgreSQL too when the
suite runs there), not only the 404 of an unknown id.

One check is left out: ``positive_data_acceptance`` expects every schema-valid request
to succeed, but some rules cannot be written in OpenAPI (the end date not before the
start date, a professional class naming where it is sent): such requests get a 422
with the Chinese reason, as the pages refuse them. Every other check runs, including
the rejection of invalid data."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation

from .api_helpers import approved_plan, new_key

EXAMPLES = 25


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def fuzz_target(app, ctx):
    old = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    plan = approved_plan(app, "模糊测试计划")
    _, token = new_key(name="模糊测试")
    from .api_helpers import Api

    api = Api(app.test_client(), token)
    cls = api.post("/api/v1/classes", {"plan_id": plan.id, "name": "模糊测试班", "hours": 8,
                                       "start_date": "2026-03-01", "end_date": "2026-03-02",
                                       "planned_trainees": 10}).json
    yield {"token": token, "plan_id": plan.id, "class_id": cls["id"]}
    app.config["API_RATE_LIMIT"] = old


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_its_openapi_document(case, fuzz_target):
    if case.path_parameters:
        for name in ("class_id", "plan_id"):
            if name in case.path_parameters and isinstance(case.path_parameters[name], int):
                case.path_parameters[name] = fuzz_target[name]
    if isinstance(case.body, dict) and isinstance(case.body.get("plan_id"), int):
        case.body["plan_id"] = fuzz_target["plan_id"]
    # A negative header case means "no valid key": send none and expect the refusal.
    meta = case.meta
    unauthenticated = meta is not None and meta.generation.mode.is_negative and any(
        location == ParameterLocation.HEADER and info.mode.is_negative for location, info in meta.components.items())
    headers = {} if unauthenticated else {"Authorization": f"Bearer {fuzz_target['token']}"}
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
