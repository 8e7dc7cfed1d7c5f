"""Schemathesis drives the served API from its own OpenAPI schema: no input makes it fail.

Every operation gets generated requests (valid and invalid bodies, paths, headers and
queries, with and without alice's token) and all of schemathesis's default checks: never a
5xx, only documented statuses and bodies matching the schema, invalid input refused, valid
input accepted. Bounded: 25 examples per operation, a few seconds in all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from orchestrator.api import ApiConfig, create_app
from orchestrator.config import Settings
from tests.api.conftest import TOKENS, api_env
from tests.api.server import running_api

pytestmark = pytest.mark.integration


# The schema does not depend on where Temporal is; the requests go to a served API below.
# Schemathesis sends alice's token itself, so it can also leave it out (401 expected).
schema = schemathesis.openapi.from_dict(
    create_app(Settings.from_env({}), ApiConfig.from_env(api_env())).openapi(),
    config=SchemathesisConfig.from_dict(
        {"auth": {"openapi": {"HTTPBearer": {"bearer": TOKENS["alice"]}}}}
    ),
)


@pytest.fixture(scope="module")
def base_url(base_settings: Settings) -> Iterator[str]:
    """One real uvicorn for every operation, on a task queue no worker polls."""
    queue = replace(base_settings.temporal, task_queue=f"fuzz-{uuid.uuid4().hex[:10]}")
    # Schemathesis sends wrong tokens on purpose (its auth checks), all from 127.0.0.1: with
    # the default limit the address would soon get only 429s, and the rest of the run
    # would test nothing else. The limit itself is tested in test_api_edge.py.
    config = replace(ApiConfig.from_env(api_env()), auth_failure_limit=1_000_000)
    with running_api(replace(base_settings, temporal=queue), config) as url:
        yield url


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, base_url: str) -> None:
    # Rules that are not JSON Schema: a definition's own (known activities, references to
    # earlier results) and an event's mapping (its required fields, the task it makes).
    # A body that fits the API's schema may still be refused there with 422.
    semantic = case.operation.label in ("POST /v1/definitions/runs", "POST /v1/events/{name}")
    case.call_and_validate(
        base_url=base_url,
        timeout=30,
        excluded_checks=[positive_data_acceptance] if semantic else [],
    )
