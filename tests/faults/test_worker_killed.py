"""Workers SIGKILLed at random moments while governed workflows are in flight.

Every workflow completes once a worker is back, and the agent's side effect (a work order
in the outbox, keyed by the idempotency key) happens exactly once per workflow.
`make faults` runs this with ORCH_FAULT_WORKFLOWS=200.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.devstack import LocalStack, Ports, StackLayout, process
from orchestrator.devstack.services import worker_service
from orchestrator.governed.activities import Outbox
from orchestrator.governed.model import GovernedRequest, GovernedResult
from orchestrator.governed.workflow import WORKFLOW_NAME
from tests.support import signed

pytestmark = pytest.mark.integration

WORKFLOWS = int(os.environ.get("ORCH_FAULT_WORKFLOWS", "50"))
KILLS = 3


def wait_until_dead(pid: int) -> None:
    while process.is_alive(pid):
        time.sleep(0.01)


async def test_killed_workers_lose_nothing_and_repeat_no_side_effect(
    stack: LocalStack, client: Client, tmp_path: Path, figures: list[str]
) -> None:
    seed = int(os.environ.get("ORCH_FAULT_SEED", str(random.randrange(10**6))))
    rng = random.Random(seed)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    layout = StackLayout(root=tmp_path)
    outbox = Outbox(tmp_path / "outbox")
    env = {**stack.client_env(), "TEMPORAL_TASK_QUEUE": queue, "OTEL_SDK_DISABLED": "true"}
    spec = worker_service(
        replace(stack.ports, worker_metrics=Ports.free().worker_metrics), layout, env
    )
    spec = replace(spec, env={**spec.env, "ORCH_AGENT_OUTBOX": str(outbox.root)})
    await asyncio.to_thread(process.start_all, [spec], layout)

    runs: list[str] = []  # the run of each id: agent work is keyed on the run

    async def start_all() -> list[str]:
        ids = []
        for number in range(WORKFLOWS):
            workflow_id = f"fault-kill-{queue}-{number}"
            handle = await client.start_workflow(
                WORKFLOW_NAME,
                signed(
                    GovernedRequest(
                        task=f"Generate report {number}, check it then file it", requester="alice"
                    ),
                    workflow_id,
                ),
                id=workflow_id,
                task_queue=queue,
                result_type=GovernedResult,
            )
            ids.append(workflow_id)
            runs.append(handle.result_run_id or "")
            await asyncio.sleep(rng.uniform(0, 0.04))
        return ids

    async def kill_repeatedly() -> list[float]:
        moments = []
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            pid = process.read_pid(layout, "worker")
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            moments.append(time.monotonic())
            # As a supervisor would: restart once the old process is gone.
            await asyncio.to_thread(wait_until_dead, pid)
            await asyncio.to_thread(process.start_all, [spec], layout)
        return moments

    started = time.monotonic()
    try:
        ids, _ = await asyncio.gather(start_all(), kill_repeatedly())
        results = await asyncio.wait_for(
            asyncio.gather(
                *(client.get_workflow_handle(i, result_type=GovernedResult).result() for i in ids)
            ),
            timeout=240,
        )
    finally:
        await asyncio.to_thread(process.stop, "worker", layout)
    elapsed = time.monotonic() - started

    assert all(result.outcome == "completed" for result in results)
    orders = sorted(path.name for path in outbox.root.glob("*.json"))
    expected = sorted(
        outbox.path(f"{i}/{r}/agent-task").name for i, r in zip(ids, runs, strict=True)
    )
    assert orders == expected  # one work order per workflow: none lost, none doubled

    retried = 0
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        retried += any(attempt > 1 for attempt in attempts)
    figures.append(
        f"{WORKFLOWS} workflows, {KILLS} SIGKILLs (seed {seed}): all completed in {elapsed:.1f}s; "
        f"{retried} had an activity retried after a kill; work orders {len(orders)} "
        f"(exactly one per workflow)"
    )
