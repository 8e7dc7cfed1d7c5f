"""Faults of a real cluster: a service or the database dies while the product works.

Each test kills one part of the session's cluster and starts it again as a supervisor
would, then checks nothing was lost: every workflow completes, the agent's side effect
(a work order in the outbox, keyed per run) happens exactly once, and runs waiting for
approval can still be approved. The figures are printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from orchestrator.config import Settings
from orchestrator.devstack import Ports, StackLayout, process
from orchestrator.devstack.cluster import ClusterStack
from orchestrator.devstack.services import worker_service
from orchestrator.governed.activities import Outbox
from orchestrator.governed.model import GovernedResult
from tests.support import RunningWorker, decide, start_governed, wait_for_stage

pytestmark = pytest.mark.integration

OPEN = 50
RISKY = "Deploy the billing service to production"  # one approval (no environment given)


def kill_and_wait(cluster: ClusterStack, name: str, sig: signal.Signals) -> None:
    pid = process.read_pid(cluster.layout, name)
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, sig)
    while process.is_alive(pid):
        time.sleep(0.01)


def restart(cluster: ClusterStack, name: str) -> None:
    """What a supervisor does once the process is gone: start it again, healthy."""
    process.start_all([cluster.service(name)], cluster.layout)


async def results(handles: list[WorkflowHandle[Any, GovernedResult]]) -> list[GovernedResult]:
    return await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=240)


async def test_history_killed_with_50_open_loses_nothing_and_repeats_no_side_effect(
    cluster: ClusterStack,
    cluster_client: Client,
    cluster_settings: Settings,
    tmp_path: Path,
    figures: list[str],
) -> None:
    # The worker is a process of its own, as deployed; paused while the runs are
    # started, so all 50 are open when it resumes and history dies under it.
    layout = StackLayout(root=tmp_path)
    outbox = Outbox(tmp_path / "outbox")
    queue = cluster_settings.temporal.task_queue
    env = {**cluster.client_env(), "TEMPORAL_TASK_QUEUE": queue, "OTEL_SDK_DISABLED": "true"}
    ports = replace(cluster.ports, worker_metrics=Ports.free().worker_metrics)
    spec = worker_service(ports, layout, env)
    spec = replace(spec, env={**spec.env, "ORCH_AGENT_OUTBOX": str(outbox.root)})
    await asyncio.to_thread(process.start_all, [spec], layout)
    worker_pid = process.read_pid(layout, "worker")
    assert worker_pid is not None
    try:
        os.killpg(worker_pid, signal.SIGSTOP)
        handles = [
            await start_governed(cluster_client, cluster_settings, f"Generate report {n}")
            for n in range(OPEN)
        ]
        waiting = [asyncio.ensure_future(h.result()) for h in handles]
        os.killpg(worker_pid, signal.SIGCONT)
        await asyncio.sleep(0.5)
        open_at_kill = sum(not w.done() for w in waiting)
        down = time.monotonic()
        await asyncio.to_thread(kill_and_wait, cluster, "temporal-history", signal.SIGKILL)
        await asyncio.sleep(2)  # the outage: the worker's calls fail meanwhile
        await asyncio.to_thread(restart, cluster, "temporal-history")
        downtime = time.monotonic() - down
        finished = await asyncio.wait_for(asyncio.gather(*waiting), timeout=240)
        recovered = time.monotonic() - down
    finally:
        await asyncio.to_thread(process.stop, "worker", layout)

    assert all(result.outcome == "completed" for result in finished)
    orders = sorted(path.name for path in outbox.root.glob("*.json"))
    runs = [(h.id, h.result_run_id or "") for h in handles]
    assert orders == sorted(outbox.path(f"{i}/{r}/agent-task").name for i, r in runs)
    figures.append(
        f"history SIGKILLed with {open_at_kill} of {OPEN} workflows open, back in "
        f"{downtime:.1f}s: 0 lost, all {len(finished)} completed {recovered:.1f}s after the "
        f"kill; work orders {len(orders)} (exactly one per workflow)"
    )


async def test_postgresql_restarted_mid_run_loses_nothing(
    cluster: ClusterStack, cluster_client: Client, cluster_settings: Settings, figures: list[str]
) -> None:
    async with RunningWorker.start(cluster_client, cluster_settings) as worker:
        approval = await worker.start_governed(RISKY, "alice")
        await wait_for_stage(approval, "awaiting_approval", seconds=30)
        running = [await worker.start_governed(f"Generate report {n}") for n in range(20)]
        down = time.monotonic()
        # A fast shutdown (SIGINT): sessions are cut, as in a failover or a restart.
        await asyncio.to_thread(kill_and_wait, cluster, "postgres", signal.SIGINT)
        await asyncio.to_thread(restart, cluster, "postgres")
        downtime = time.monotonic() - down
        finished = await results(running)
        await wait_for_stage(approval, "awaiting_approval", seconds=60)
        await decide(approval, "approve", "bob", "after the database restart")
        approved = await asyncio.wait_for(approval.result(), timeout=60)
    assert all(result.outcome == "completed" for result in finished)
    assert approved.outcome == "completed"
    figures.append(
        f"PostgreSQL stopped and started again in {downtime:.1f}s with {len(running) + 1} "
        f"workflows open: 0 lost, {len(finished)} completed, the one awaiting approval "
        "was approved afterwards"
    )


async def test_matching_killed_during_approvals_still_approvable(
    cluster: ClusterStack, cluster_client: Client, cluster_settings: Settings, figures: list[str]
) -> None:
    async with RunningWorker.start(cluster_client, cluster_settings) as worker:
        waiting = [await worker.start_governed(RISKY, "alice") for _ in range(5)]
        for handle in waiting:
            await wait_for_stage(handle, "awaiting_approval", seconds=30)
        await decide(waiting[0], "approve", "bob", "before the kill")
        down = time.monotonic()
        await asyncio.to_thread(kill_and_wait, cluster, "temporal-matching", signal.SIGKILL)
        await asyncio.to_thread(restart, cluster, "temporal-matching")
        downtime = time.monotonic() - down
        for handle in waiting[1:]:
            await decide(handle, "approve", "bob", f"after the kill {uuid.uuid4().hex[:4]}")
        approved = await results(waiting)
    assert all(result.outcome == "completed" for result in approved)
    assert all(r.approval is not None and r.approval.approver == "bob" for r in approved)
    figures.append(
        f"matching SIGKILLed with {len(waiting)} workflows at approval, back in "
        f"{downtime:.1f}s: one approved before, {len(waiting) - 1} after; all completed"
    )
