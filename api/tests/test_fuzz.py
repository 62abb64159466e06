"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets a few generated requests, sent with a key holding every scope;
none may answer a 5xx or a status its operation does not document, and every answer
must match its documented schema. The example budget keeps the run near a minute; raise
``FUZZ_EXAMPLES`` to dig deeper locally.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiKey
from accounts.services import create_api_key
from feedback.tests.factories import FeedbackFactory
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app():
    # Requests run in this thread on the test's connection; Django would close it after
    # each request (it is inside the test's transaction), so that handler is held off.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _fuzz(operation, headers, checks):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case):
        case.call_and_validate(headers=headers, checks=checks)

    fuzz()


def test_no_operation_answers_a_server_error_or_an_undocumented_status_or_shape(wsgi_app):
    FeedbackFactory()
    make_survey()
    _, raw = create_api_key(name="fuzz", scopes=list(ApiKey.Scope.values))
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    failures = {}
    for operation in operations:
        try:
            _fuzz(operation, headers, CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (one run lists them all)
            failures[operation.label] = str(exc).strip().splitlines()[:12]
    assert not failures, "\n\n".join(
        f"{label}:\n  " + "\n  ".join(lines) for label, lines in failures.items()
    )
