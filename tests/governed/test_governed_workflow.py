"""The governed workflow against the real OPA (repo policies) and the real dev server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from orchestrator.approvals.model import ApprovalReceipt
from orchestrator.config import OpaSettings, Settings
from orchestrator.governed.model import GovernedResult
from orchestrator.policy.client import OpaClient
from tests.support import RunningWorker, decide, failure_of, listed, status_of, wait_for_stage

pytestmark = pytest.mark.integration

RISKY = "Deploy the billing service to production"


async def test_low_risk_task_runs_without_approval(worker: RunningWorker) -> None:
    handle = await worker.start_governed("Generate the weekly usage report", "alice")
    result: GovernedResult = await handle.result()
    assert result.outcome == "completed"
    assert result.approval is None
    [decision] = result.decisions
    assert (decision.allow, decision.require_approval, decision.risk) == (True, False, "low")
    assert decision.decision_id and decision.policy_revision and decision.opa_version
    order = json.loads(await asyncio.to_thread(Path(result.agent.work_order).read_text))
    # Keyed on the run: a new run under this id does its own work (test_reused_id_*).
    assert order["idempotency_key"] == f"{handle.id}/{handle.result_run_id}/agent-task"


async def test_forbidden_task_is_denied_with_its_reason(worker: RunningWorker) -> None:
    handle = await worker.start_governed("Forbidden: drop the customer database", "alice")
    error = await failure_of(handle)
    assert error.type == "PolicyDenied"
    assert "forbidden" in error.message.lower()
    details = error.details[0]
    assert details["decision_id"] and details["reasons"]
    assert (await status_of(handle)).stage == "denied"


async def test_unknown_requester_is_denied(worker: RunningWorker) -> None:
    error = await failure_of(await worker.start_governed("Generate a report", "mallory"))
    assert error.type == "PolicyDenied"
    assert "mallory" in error.message


async def test_invalid_request_fails_fast_naming_the_field(worker: RunningWorker) -> None:
    error = await failure_of(await worker.start_governed("   ", "alice"))
    assert error.type == "InvalidRequest"
    assert error.non_retryable
    assert "task:" in error.message


async def test_risky_task_waits_requester_and_viewer_are_refused_then_approver_approves(
    worker: RunningWorker,
) -> None:
    # No production environment: one approver (standard), not dual control.
    handle = await worker.start_governed(RISKY, "alice")
    waiting = await wait_for_stage(handle, "awaiting_approval")
    assert waiting.approval_status == "pending" and waiting.approval_deadline

    with pytest.raises(WorkflowUpdateFailedError) as own:
        await decide(handle, "approve", "alice", "my own change")
    assert isinstance(own.value.cause, ApplicationError)
    assert own.value.cause.type == "ApprovalRefused"
    assert "alice" in own.value.cause.message

    with pytest.raises(WorkflowUpdateFailedError) as viewer:
        await decide(handle, "approve", "dave")
    assert viewer.value.cause.type == "ApprovalRefused"  # type: ignore[union-attr]

    assert (await status_of(handle)).stage == "awaiting_approval"
    receipt = await decide(handle, "approve", "bob", "looks good")
    assert (receipt.decision, receipt.approver) == ("approve", "bob")
    assert receipt.decision_id

    result: GovernedResult = await handle.result()
    assert result.approval is not None and result.approval.approver == "bob"
    final = await status_of(handle)
    assert [(a.approver, a.accepted) for a in final.approval_attempts] == [
        ("alice", False),
        ("dave", False),
        ("bob", True),
    ]

    with pytest.raises(RPCError, match="already completed"):
        await decide(handle, "reject", "carol")


async def test_two_concurrent_decisions_only_one_counts(worker: RunningWorker) -> None:
    # No production environment: one approver (standard), not dual control.
    handle = await worker.start_governed(RISKY, "alice")
    await wait_for_stage(handle, "awaiting_approval")
    outcomes = await asyncio.gather(
        decide(handle, "approve", "bob"), decide(handle, "reject", "carol"), return_exceptions=True
    )
    receipts = [o for o in outcomes if isinstance(o, ApprovalReceipt)]
    assert len(receipts) == 1, outcomes
    [loser] = [o for o in outcomes if not isinstance(o, ApprovalReceipt)]
    # Refused by the workflow as already decided; or, when the winner closed the run
    # while the loser's update was still on its way, aborted by Temporal without
    # reaching it (the CLI and the API say so: orchestrator/cli/runs.py, api/errors.py).
    if isinstance(loser, WorkflowUpdateFailedError):
        assert "already" in str(loser.cause).lower()
    else:
        assert isinstance(loser, RPCError), outcomes
        assert "aborted by closing workflow" in loser.message
    status = await status_of(handle)
    assert status.approval_status in ("approved", "rejected")
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()


async def test_rejected_approval_ends_the_workflow_as_rejected(worker: RunningWorker) -> None:
    handle = await worker.start_governed(RISKY, "alice", parameters={"environment": "production"})
    await wait_for_stage(handle, "awaiting_approval")
    await decide(handle, "reject", "carol", "not during the freeze")
    error = await failure_of(handle)
    assert error.type == "ApprovalRejected"
    assert "carol" in error.message and "freeze" in error.message
    assert (await status_of(handle)).approval_status == "rejected"


async def test_deciding_a_workflow_that_needs_no_approval_is_refused(
    worker: RunningWorker,
) -> None:
    handle = await worker.start_governed("Generate the weekly usage report", "alice")
    await handle.result()
    with pytest.raises(
        Exception, match=r"not waiting for approval|workflow execution already completed"
    ):
        await decide(handle, "approve", "bob")


async def test_pending_approvals_are_listed_by_search_attribute(
    worker: RunningWorker, client: Client
) -> None:
    handle = await worker.start_governed(RISKY, "erin", parameters={"environment": "production"})
    await wait_for_stage(handle, "awaiting_approval")
    query = f"WorkflowId = '{handle.id}' AND ApprovalStatus = 'pending'"
    assert await listed(client, query) == [handle.id]
    await handle.terminate("test done")


async def test_opa_down_keeps_the_workflow_at_the_gate(client: Client, settings: Settings) -> None:
    """Fail closed: with OPA unreachable the policy activity retries; nothing proceeds."""
    dead = replace(settings, opa=OpaSettings(url="http://127.0.0.1:9", timeout_seconds=0.5))
    async with RunningWorker.start(client, dead, OpaClient(dead.opa)) as running:
        handle = await running.start_governed("Generate a report", "alice")
        for _ in range(100):
            description = await handle.describe()
            pending = description.raw_description.pending_activities
            if pending and pending[0].attempt >= 2:
                break
            await asyncio.sleep(0.1)
        assert pending and pending[0].attempt >= 2
        assert "unreachable" in pending[0].last_failure.message
        assert (await status_of(handle)).stage == "policy_check"
        await handle.terminate("test done")


async def test_undefined_decision_fails_naming_the_path(client: Client, settings: Settings) -> None:
    wrong = replace(settings, opa=replace(settings.opa, decision_path="orchestrator/nothing/here"))
    async with RunningWorker.start(client, wrong, OpaClient(wrong.opa)) as running:
        handle = await running.start_governed("Generate a report", "alice")
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    cause = caught.value.cause.cause  # activity error -> application error
    assert isinstance(cause, ApplicationError)
    assert cause.type == "PolicyUndefined"
    assert "orchestrator/nothing/here" in cause.message and "policy is missing" in cause.message
