"""The `orchestrator` CLI and the official `temporal` CLI against the real test stack."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.support import BIN, RunningWorker, cli_env, wait_for_stage
from tests.support import run_orchestrator as orchestrator

pytestmark = pytest.mark.integration


async def test_usage_errors_exit_2_with_one_line(stack: LocalStack, settings: Settings) -> None:
    missing = await orchestrator(stack, settings, "start", "--requester", "alice")
    assert missing.returncode == 2
    assert "--task" in missing.stderr

    bad_param = await orchestrator(
        stack, settings, "start", "--task", "x", "--requester", "alice", "--param", "oops"
    )
    assert bad_param.returncode == 2
    assert bad_param.stderr.strip() == (
        "orchestrator: --param 'oops': expected NAME=VALUE, e.g. environment=production."
    )
    assert "Traceback" not in bad_param.stderr


async def test_start_wait_low_risk_completes(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    done = await orchestrator(
        stack,
        settings,
        "start",
        "--task",
        "Generate the weekly usage report",
        "--requester",
        "alice",
        "--wait",
    )
    assert done.returncode == 0, done.stderr
    assert "outcome   completed" in done.stdout
    assert "policy    workflow.start: allow" in done.stdout


async def test_start_wait_forbidden_is_denied_exit_1(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    denied = await orchestrator(
        stack,
        settings,
        "start",
        "--task",
        "forbidden: wipe the audit log",
        "--requester",
        "alice",
        "--wait",
        "--json",
    )
    assert denied.returncode == 1
    outcome = json.loads(denied.stdout)
    assert outcome["outcome"] == "denied"
    assert outcome["error_type"] == "PolicyDenied"
    assert any("forbidden" in reason.lower() for reason in outcome["reasons"])
    assert outcome["decision_id"]


async def test_pending_list_refused_self_approval_and_approval(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    started = await orchestrator(
        stack,
        settings,
        "start",
        "--task",
        "Deploy the billing service to production",
        "--requester",
        "alice",
        "--param",
        "environment=production",
        "--json",
    )
    assert started.returncode == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]

    for _ in range(50):
        listing = await orchestrator(stack, settings, "list", "--pending", "--json")
        if workflow_id in {row["workflow_id"] for row in json.loads(listing.stdout)}:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"{workflow_id} never listed as pending: {listing.stdout}")

    own = await orchestrator(stack, settings, "approve", workflow_id, "--as", "alice")
    assert own.returncode == 1
    assert own.stderr.startswith("orchestrator: approve refused: alice may not approve")

    # Production changes need two approvers (dual control in policies/).
    approved = await orchestrator(stack, settings, "approve", workflow_id, "--as", "bob")
    assert approved.returncode == 0, approved.stderr
    assert f"{workflow_id}: approved by bob" in approved.stdout
    assert "1 of 2 approvals" in approved.stdout
    second = await orchestrator(stack, settings, "approve", workflow_id, "--as", "carol")
    assert second.returncode == 0, second.stderr
    assert "2 of 2 approvals" in second.stdout

    handle = worker.client.get_workflow_handle(workflow_id)
    await handle.result()
    status = await orchestrator(stack, settings, "status", workflow_id, "--json")
    info = json.loads(status.stdout)
    assert (info["stage"], info["approver"]) == ("completed", "carol")
    assert [a["accepted"] for a in info["approval_attempts"]] == [False, True, True]


async def test_official_temporal_cli_cannot_approve_without_a_credential(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    handle = await worker.start_governed(
        "Deploy the billing service to production",
        "alice",
        parameters={"environment": "production"},
    )
    await wait_for_stage(handle, "awaiting_approval")
    update = await asyncio.to_thread(
        subprocess.run,
        [
            str(BIN / "temporal"),
            "workflow",
            "update",
            "execute",
            "--address",
            stack.temporal_address,
            "--workflow-id",
            handle.id,
            "--name",
            "approve",
            "--input",
            json.dumps({"approver": "bob", "comment": "via temporal CLI"}),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # A name typed into a payload is not an identity: the update is refused before it
    # enters history, and the workflow keeps waiting for a signed approval.
    assert update.returncode != 0
    assert "needs a signed credential" in update.stderr
    await wait_for_stage(handle, "awaiting_approval")


async def test_unknown_workflow_and_unreachable_temporal_are_one_line_errors(
    stack: LocalStack, settings: Settings
) -> None:
    unknown = await orchestrator(stack, settings, "status", "no-such-workflow")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "orchestrator: no workflow with id 'no-such-workflow'."

    down = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), "list"],
        env={**cli_env(stack, settings), "TEMPORAL_ADDRESS": "127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert down.returncode == 1
    assert "cannot reach Temporal at 127.0.0.1:9" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
