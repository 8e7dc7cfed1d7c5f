"""Policy unavailable past its budget: recorded as its own outcome, then wait or fail.

OPA here is a port nobody listens on, so every attempt is refused at once and the budget
(a couple of seconds) runs out quickly; never fail-open.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from orchestrator.config import Settings
from orchestrator.governed.model import GovernedRequest, GovernedStatus
from tests.support import RunningWorker

pytestmark = pytest.mark.integration


def test_fail_open_is_refused_with_a_reason() -> None:
    for mode in ("open", "fail-open", "allow"):
        problems = GovernedRequest("x", "alice", on_policy_unavailable=mode).problems()
        assert problems == [
            f"on_policy_unavailable: {mode!r}: fail-open is not offered: policy unavailable "
            "never lets work through; choose wait or fail"
        ]
    assert GovernedRequest("x", "alice", policy_budget_seconds=0).problems() == [
        "policy_budget_seconds: must be between 1 and 86400"
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_fail_mode_records_unavailable_then_fails(client: Client, settings: Settings) -> None:
    down = replace(settings, opa=replace(settings.opa, url=f"http://127.0.0.1:{closed_port()}"))
    async with RunningWorker.start(client, down) as worker:
        handle = await worker.start_governed(
            "Generate the weekly usage report",
            on_policy_unavailable="fail",
            policy_budget_seconds=2,
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        status = await handle.query("status", result_type=GovernedStatus)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PolicyUnavailable"
    assert "gave no decision within 2s" in cause.message
    assert [d.outcome for d in status.decisions] == ["unavailable"]
    assert not status.decisions[0].allow


async def test_wait_mode_records_each_budget_and_keeps_waiting(
    client: Client, settings: Settings
) -> None:
    down = replace(settings, opa=replace(settings.opa, url=f"http://127.0.0.1:{closed_port()}"))
    async with RunningWorker.start(client, down) as worker:
        handle = await worker.start_governed(
            "Generate the weekly usage report", policy_budget_seconds=1
        )
        for _ in range(100):
            status = await handle.query("status", result_type=GovernedStatus)
            if len(status.decisions) >= 2:
                break
            await asyncio.sleep(0.1)
        await handle.terminate("test over")
    assert {d.outcome for d in status.decisions} == {"unavailable"}
    assert status.stage == "policy_check"  # still closed, still waiting
