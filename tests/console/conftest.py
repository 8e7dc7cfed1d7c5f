"""The console under test: the API's app over httpx, browsers as cookie jars per person.

The app is the real one (`create_app`), on the session's Temporal, OPA and Jaeger; tokens
are the API tests' (tests/api/conftest.py), so sign-in goes through the same
token-to-identity check the API uses.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from orchestrator.api import ApiConfig, create_app
from orchestrator.config import Settings
from tests.api.conftest import TOKENS, api_env

BASE_URL = "http://console.test"
Browser = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def web_config() -> ApiConfig:
    return ApiConfig.from_env(api_env())


@pytest.fixture
async def web(settings: Settings, client: Client, web_config: ApiConfig) -> AsyncIterator[FastAPI]:
    """The API's app with the console, in this test's event loop."""
    app = create_app(settings, web_config, client=client)
    yield app
    await app.state.console.aclose()


@pytest.fixture
def browser(web: FastAPI) -> Browser:
    """`async with browser("bob") as bob:` a client with its own cookies, signed in as bob
    through the sign-in form (no identity: not signed in)."""

    @contextlib.asynccontextmanager
    async def open_browser(
        identity: str | None = None, base_url: str = BASE_URL
    ) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            if identity is not None:
                signed = await sign_in(http, TOKENS[identity])
                assert signed.status_code == 303, signed.text
            yield http

    return open_browser


async def sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """Sign in as a person does: the sign-in page (its cookie and CSRF token), then the form."""
    page = await http.get("/console/sign-in")
    return await http.post("/console/sign-in", data={"token": token, "csrf": csrf_of(page.text)})


def csrf_of(page: str) -> str:
    """The CSRF token the page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def article_of(page: str, workflow_id: str) -> str:
    """The inbox article of one workflow's approval (its HTML, unescaped)."""
    found = re.search(
        rf'<article class="approval" data-workflow-id="{re.escape(workflow_id)}".*?</article>',
        page,
        re.S,
    )
    assert found, f"no approval article for {workflow_id}"
    return html.unescape(found.group(0))


def result_of(page: str) -> str:
    found = re.search(r'<p role="status" class="result[^"]*">(.*?)</p>', page, re.S)
    assert found, "the page shows no result"
    return html.unescape(found.group(1)).strip()


@pytest.fixture
async def terminate_after() -> AsyncIterator[list[WorkflowHandle[Any, Any]]]:
    """Runs a test leaves waiting are terminated: the inbox of later tests stays theirs."""
    handles: list[WorkflowHandle[Any, Any]] = []
    yield handles
    for handle in handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")
