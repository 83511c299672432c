"""schemathesis against a live server's ``/openapi.json``: generated requests for every
operation never get a 500, and every answer matches the documented schema.

Examples per operation are few and derandomized, so the whole run stays well under a
minute and fails the same way every time.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from headrace_server import HeadraceServer

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_no_server_errors_and_answers_match_the_schema(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = HeadraceServer(tmp_path, template=migrated_sqlite)
    try:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        admin = server.headers()  # the routes' work, not only their 401s, gets fuzzed
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS, headers=admin)

            try:
                check()
            except Exception as error:  # collect every operation's failure, then report
                failures.append(f"{operation.label}: {error}")
        assert operations > 30
        assert not failures, "\n\n".join(failures) + "\n\n" + server.log()[-3000:]
    finally:
        server.stop()
