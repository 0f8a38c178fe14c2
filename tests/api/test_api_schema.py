"""Property-based test of the whole API from its OpenAPI schema: no input makes it fail with a 5xx.

Schemathesis generates valid and invalid requests for every operation (bounded examples
so the run stays well under a minute) and checks every response against the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import API_KEY
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from rag.pipeline import Pipeline

OPERATIONS = [
    (path, method.upper())
    for path, item in create_app(static_dir=None).openapi()["paths"].items()
    for method in item
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_input_breaks_the_api(pipeline: Pipeline, path: str, method: str) -> None:
    app = create_app(pipeline=pipeline)
    # Loaded before fuzzing: a 503 from /readyz while the model loads is readiness, not a
    # broken input (on a busy machine the warm-up outlasts the first requests).
    pipeline.warm_up()
    app.state.api.ready = True
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        # Every other check runs.  Schema-valid input may still be refused on purpose: a blank
        # question, a conversation ending with the assistant, bytes that are no newspaper page.
        case.call_and_validate(headers={"X-API-Key": API_KEY}, excluded_checks=[positive_data_acceptance])

    check()
