"""The JSON API against its own OpenAPI description, by schemathesis: for every operation, requests generated from
the description (valid and invalid values, missing and unexpected fields), sent by the office with its session
and CSRF token. No answer may be a 5xx, and every answer must be one the description documents (status, content
type, body shape): the description is exact, not a sketch.

On SQLite only (the rules are the same on both databases), and in the slow half: ~50 requests per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conftest import OFFICE, at
from web_support import api_csrf, make_app, sign_in

pytestmark = [pytest.mark.both_databases, pytest.mark.only_on("sqlite", "the API's rules are the same on both"),
              pytest.mark.slow]

EXAMPLES = 50  # generated requests per operation


def test_every_api_operation_answers_as_described_and_never_with_a_server_error(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", at(2020, 4, 3))
    client = sign_in(app, OFFICE)
    cookies, headers = dict(client.cookies), {"X-CSRF-Token": api_csrf(client)}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, "every route of the API is in the description"
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers_as_described(case) -> None:
            case.call_and_validate(headers=headers, cookies=cookies)

        try:
            answers_as_described()
        except (Exception, BaseExceptionGroup) as failed:  # noqa: BLE001 - a group of failures; try every operation
            failures.append(f"{operation.method.upper()} {operation.path}:\n{failed}")
    assert failures == [], "\n\n".join(failures)
