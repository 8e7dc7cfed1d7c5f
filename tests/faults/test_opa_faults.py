"""OPA down, slow, failing, garbled or missing its policy: nothing passes the gate.

Outage and slowness are retried until OPA answers again (the workflow waits at the gate,
then proceeds without anyone doing anything); an answer that can never become a decision
fails the workflow with a non-retryable error that says why.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from orchestrator.config import OpaSettings, Settings
from orchestrator.devstack import LocalStack
from orchestrator.governed.model import GovernedStatus
from orchestrator.policy.client import OpaClient
from tests.faults.opa_proxy import OpaProxy
from tests.support import RunningWorker, private_opa

pytestmark = pytest.mark.integration

OUTAGE_WORKFLOWS = 10
OUTAGE_SECONDS = 4.0


async def stage(handle: WorkflowHandle[Any, Any]) -> str:
    status: GovernedStatus = await handle.query("status", result_type=GovernedStatus)
    return status.stage


async def gate_attempts(handle: WorkflowHandle[Any, Any]) -> tuple[int, str]:
    pending = (await handle.describe()).raw_description.pending_activities
    if not pending:
        return 0, ""
    return pending[0].attempt, pending[0].last_failure.message


async def wait_for_attempts(handle: WorkflowHandle[Any, Any], at_least: int) -> str:
    for _ in range(200):
        attempts, message = await gate_attempts(handle)
        if attempts >= at_least:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id}: the gate was never retried")


async def test_opa_outage_blocks_every_workflow_until_opa_returns(
    stack: LocalStack, client: Client, settings: Settings, tmp_path: Path, figures: list[str]
) -> None:
    async with private_opa(stack, tmp_path) as opa:
        ours = replace(settings, opa=replace(opa.settings, timeout_seconds=0.5))
        async with RunningWorker.start(client, ours) as worker:
            await opa.stop()
            outage_started = time.monotonic()
            handles = [
                await worker.start_governed(f"Generate report {n}", "alice")
                for n in range(OUTAGE_WORKFLOWS)
            ]
            for handle in handles:
                await wait_for_attempts(handle, 2)
            # Keep OPA down a while longer: retries keep failing, nobody gets through.
            await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - outage_started))
            stages = [await stage(handle) for handle in handles]
            passed = sum(s != "policy_check" for s in stages)
            assert passed == 0, stages

            await opa.start()
            outage = time.monotonic() - outage_started
            back = time.monotonic()
            results = await asyncio.wait_for(
                asyncio.gather(*(handle.result() for handle in handles)), timeout=90
            )
            recovery = time.monotonic() - back
    assert all(result.outcome == "completed" for result in results)
    figures.append(
        f"OPA down {outage:.1f}s: {OUTAGE_WORKFLOWS} workflows started, {passed} passed the gate "
        f"during the outage; all {len(results)} completed {recovery:.1f}s after OPA returned, "
        "with no manual action"
    )


@pytest.mark.parametrize(
    ("mode", "error_type", "says"),
    [
        ("slow", None, "did not answer within"),
        ("error", None, "HTTP 500"),
        ("garbage", "PolicyMalformed", "not JSON"),
        ("undefined", "PolicyUndefined", "policy is missing"),
    ],
)
async def test_misbehaving_opa_gives_its_documented_outcome(
    client: Client,
    settings: Settings,
    base_settings: Settings,
    figures: list[str],
    mode: str,
    error_type: str | None,
    says: str,
) -> None:
    proxy = OpaProxy(upstream=base_settings.opa.url, mode=mode, delay_seconds=2.0)
    async with proxy.running():
        ours = replace(settings, opa=OpaSettings(url=proxy.url, timeout_seconds=0.5))
        async with RunningWorker.start(client, ours, OpaClient(ours.opa)) as worker:
            handle = await worker.start_governed("Generate the weekly usage report", "alice")
            if error_type is None:
                # Retryable: the workflow waits at the gate, then proceeds once OPA is well.
                message = await wait_for_attempts(handle, 2)
                assert says in message
                assert await stage(handle) == "policy_check"
                proxy.mode = "pass"
                result = await asyncio.wait_for(handle.result(), timeout=60)
                assert result.outcome == "completed"
                outcome = f"waited at the gate ({message!r}), completed once OPA answered"
            else:
                with pytest.raises(WorkflowFailureError) as caught:
                    await asyncio.wait_for(handle.result(), timeout=30)
                cause = caught.value.cause.cause
                assert isinstance(cause, ApplicationError)
                assert (cause.type, cause.non_retryable) == (error_type, True)
                assert says in cause.message
                outcome = f"failed at once, non-retryable {cause.type}: {cause.message[:80]}"
    figures.append(f"OPA {mode}: {outcome}; requests seen {proxy.requests}")
