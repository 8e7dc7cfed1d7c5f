"""The API under test: tokens for the directory's people, the example event mappings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from orchestrator.api import ApiConfig, create_app
from orchestrator.config import Settings
from orchestrator.devstack.services import REPO_ROOT

# Temporal at a closed port: a request that got past the API's own checks answers 503.
OFFLINE = Settings.from_env({"TEMPORAL_ADDRESS": "127.0.0.1:9"})

EXAMPLE_CONFIG = REPO_ROOT / "deploy" / "api.example.yaml"
TOKENS = {
    "alice": "alice-token-3f9c1d2e8b7a",
    "bob": "bob-token-8e2d4c6a1f0b",
    "carol": "carol-token-5a7b9c1d3e2f",
    "dave": "dave-token-0c2e4a6b8d1f",
    "erin": "erin-token-7d1f3b5a9c2e",
}


def auth(identity: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[identity]}"}


def api_env() -> dict[str, str]:
    return {
        "ORCH_API_TOKENS": ",".join(f"{token}:{who}" for who, token in TOKENS.items()),
        "ORCH_API_CONFIG": str(EXAMPLE_CONFIG),
    }


@pytest.fixture
def api_config() -> ApiConfig:
    return ApiConfig.from_env(api_env())


@pytest.fixture
async def api(
    settings: Settings, client: Client, api_config: ApiConfig
) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app in this test's event loop, on the test's task queue, over httpx."""
    app = create_app(settings, api_config, client=client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


@pytest.fixture
async def offline() -> AsyncIterator[httpx.AsyncClient]:
    """The app with Temporal unreachable: for what the API decides before it needs Temporal."""
    app = create_app(OFFLINE, ApiConfig.from_env(api_env()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


def error_of(response: httpx.Response) -> dict[str, str]:
    """The error envelope, checked: JSON, only `error`, never a traceback."""
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    assert "Traceback" not in response.text
    error: dict[str, str] = body["error"]
    return error
