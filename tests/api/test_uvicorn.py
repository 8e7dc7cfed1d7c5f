"""The API served by a real uvicorn (as `orchestrator api` serves it), over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from orchestrator.api import ApiConfig
from orchestrator.config import ConfigError, Settings
from tests.api.conftest import auth
from tests.api.server import running_api
from tests.support import RunningWorker

pytestmark = pytest.mark.integration


@pytest.fixture
async def http(settings: Settings, api_config: ApiConfig) -> AsyncIterator[httpx.AsyncClient]:
    with running_api(settings, api_config) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as session:
            yield session


async def test_served_api_starts_a_traced_workflow_end_to_end(
    http: httpx.AsyncClient, client: Client, worker: RunningWorker
) -> None:
    assert (await http.get("/readyz")).json() == {"status": "ok", "temporal": "ok"}
    assert (await http.get("/openapi.json")).json()["info"]["title"] == "policy-orchestrator API"

    trace_id = uuid.uuid4().hex
    started = await http.post(
        "/v1/workflows",
        headers={**auth("bob"), "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"},
        json={"task": "Generate the weekly usage report"},
    )
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    await client.get_workflow_handle(workflow_id).result()
    status = (await http.get(f"/v1/workflows/{workflow_id}", headers=auth("bob"))).json()
    assert (status["execution_status"], status["requester"]) == ("COMPLETED", "bob")
    assert status["trace_id"] == trace_id


async def test_served_api_refuses_without_token_and_over_the_size_limit(
    http: httpx.AsyncClient,
) -> None:
    anonymous = await http.post("/v1/workflows", json={"task": "x"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="orchestrator"'
    big = await http.post(
        "/v1/workflows", headers=auth("alice"), content=b"{" + b" " * 300_000 + b"}"
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    assert "server" not in big.headers


async def test_served_api_limits_wrong_tokens_by_the_peer_address(
    http: httpx.AsyncClient,
) -> None:
    """Over real HTTP the client address is the socket's peer (no proxy headers trusted)."""
    wrong = {"Authorization": "Bearer not-a-token"}
    statuses = [
        (await http.get("/v1/approvals/pending", headers=wrong)).status_code for _ in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    refused = await http.get("/v1/approvals/pending", headers=auth("bob"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["code"] == "too_many_requests"


def test_the_api_refuses_to_serve_without_tokens(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="no API tokens"), running_api(settings, ApiConfig()):
        pass
