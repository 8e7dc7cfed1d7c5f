"""A missing worker is told within seconds, not after a query's 30 s timeout."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.connection import NoWorker, pollers, require_worker
from tests.support import RunningWorker, poll

pytestmark = pytest.mark.integration


async def test_a_queue_nobody_polls_names_the_queue_and_the_fix(client: Client) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    with pytest.raises(NoWorker) as raised:
        await require_worker(client, queue)
    assert queue in str(raised.value) and "make worker" in str(raised.value)


async def test_a_running_worker_is_seen_polling(client: Client, settings: Settings) -> None:
    async with RunningWorker.start(client, settings):
        seen = await poll(
            lambda: pollers(client, settings.temporal.task_queue), bool, "a poller", 10
        )
        assert seen
        await require_worker(client, settings.temporal.task_queue)
