"""The operator's first hour, against the real stack: a missing worker named within
seconds, progress while `start --wait` waits, what `list --pending` and `status` say about a
waiting approval, `--mine`, and every refusal also on stdout under --json."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from typing import Any

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.support import BIN, RunningWorker, cli_env

pytestmark = pytest.mark.integration

DEPLOY = "Deploy the billing service to production"
REPORT = "Generate the weekly usage report"


async def orchestrator(
    stack: LocalStack, settings: Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, without the developer's ORCH_IDENTITY."""
    environment = cli_env(stack, settings)
    environment.pop("ORCH_IDENTITY", None)
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON error object a refused command prints on stdout under --json."""
    document = json.loads(done.stdout)
    assert set(document) == {"error"}, document
    error: dict[str, Any] = document["error"]
    assert error["exit_code"] == done.returncode
    assert done.stderr.strip() == f"orchestrator: {error['message']}"
    return error


async def pending_rows(
    stack: LocalStack, settings: Settings, workflow_id: str, *more: str
) -> list[dict[str, Any]]:
    """`list --pending --json` rows of `workflow_id`, once visibility lists it."""
    for _ in range(100):
        listing = await orchestrator(stack, settings, "list", "--pending", "--json", *more)
        assert listing.returncode == 0, listing.stderr
        rows = [row for row in json.loads(listing.stdout) if row["workflow_id"] == workflow_id]
        if rows or more:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} never listed as pending")


async def test_without_a_worker_status_and_approve_say_so_and_json_refusals_are_on_stdout(
    stack: LocalStack, settings: Settings, client: Client
) -> None:
    # The test's own task queue: nothing has ever polled it.
    queue = settings.temporal.task_queue
    started = await orchestrator(
        stack, settings, "start", "--task", DEPLOY, "--requester", "alice", "--json"
    )
    assert started.returncode == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]
    no_worker = (
        f"no worker is polling task queue {queue!r}: start one with `make worker` "
        "(or `orchestrator worker`), then try again."
    )
    try:
        status = await orchestrator(stack, settings, "status", workflow_id)
        assert (status.returncode, status.stdout) == (1, "")
        assert status.stderr == f"orchestrator: {no_worker}\n"

        approve = await orchestrator(
            stack, settings, "approve", workflow_id, "--as", "bob", "--json"
        )
        assert approve.returncode == 1
        assert error_of(approve) == {"code": "no_worker", "message": no_worker, "exit_code": 1}
    finally:
        await client.get_workflow_handle(workflow_id).terminate("test done")

    unknown = await orchestrator(stack, settings, "status", "no-such-workflow", "-o", "jsonl")
    assert unknown.returncode == 1 and len(unknown.stdout.splitlines()) == 1
    assert error_of(unknown)["code"] == "not_found"

    # Schedule commands that printed only text have JSON now (no worker needed either);
    # the backfilled window holds no hourly run, so nothing starts.
    schedule_id = f"sched-cli-{uuid.uuid4().hex[:8]}"
    created = await orchestrator(
        stack, settings, "schedule", "create", "--task", REPORT, "--requester", "alice",
        "--interval", "1h", "--paused", "--id", schedule_id, "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["schedule_id"] == schedule_id
    unpaused = await orchestrator(stack, settings, "schedule", "unpause", schedule_id, "--json")
    assert json.loads(unpaused.stdout) == {
        "schedule_id": schedule_id,
        "paused": False,
        "note": "unpaused with the orchestrator CLI",
    }
    backfill = await orchestrator(
        stack, settings, "schedule", "backfill", schedule_id, "--from", "2026-01-01T00:10:00Z",
        "--to", "2026-01-01T00:20:00Z", "-o", "json",
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stderr
    assert json.loads(backfill.stdout)["backfill"]["overlap"] == "allow_all"
    deleted = await orchestrator(stack, settings, "schedule", "delete", schedule_id, "--json")
    assert json.loads(deleted.stdout) == {"schedule_id": schedule_id, "deleted": True}
    again = await orchestrator(stack, settings, "schedule", "delete", schedule_id, "--json")
    assert error_of(again) == {
        "code": "not_found",
        "message": f"no schedule with id {schedule_id!r}.",
        "exit_code": 1,
    }


async def test_a_waiting_approval_from_start_wait_to_the_second_approver(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    workflow_id = f"daily-{uuid.uuid4().hex[:8]}"
    environment = cli_env(stack, settings)
    environment.pop("ORCH_IDENTITY", None)
    waiting = await asyncio.create_subprocess_exec(
        str(BIN / "orchestrator"), "start", "--task", DEPLOY, "--requester", "alice",
        "--param", "environment=production", "--id", workflow_id, "--wait", "--json",
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert waiting.stderr is not None

    async def progress() -> str:
        line = await asyncio.wait_for(waiting.stderr.readline(), 60)  # type: ignore[union-attr]
        assert line, "start --wait ended without a progress line"
        return line.decode().rstrip("\n")

    try:
        first = await progress()
        assert first.startswith("waiting for approval: 0 of 2 ("), first
        assert ", deadline " in first

        [row] = await pending_rows(stack, settings, workflow_id)
        assert (row["subject"], row["requester"], row["progress"]) == (
            DEPLOY,
            "alice",
            "0 of 2 approvals",
        )
        assert row["reasons"] and row["roles"] and row["deadline"]
        assert "next_escalation" in row
        assert [r["workflow_id"] for r in await pending_rows(
            stack, settings, workflow_id, "--mine", "--as", "bob"
        )] == [workflow_id]  # fmt: skip
        # The requester may not decide their own request: not theirs to decide.
        assert await pending_rows(stack, settings, workflow_id, "--mine", "--as", "alice") == []

        text = await orchestrator(stack, settings, "list", "--pending", "--requester", "alice")
        assert f"{workflow_id}  task: {DEPLOY}" in text.stdout.splitlines()

        status = await orchestrator(stack, settings, "status", workflow_id)
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert f"task      {DEPLOY}" in lines
        assert any(line.startswith("waiting   0 of 2 approvals (roles ") for line in lines)

        own = await orchestrator(stack, settings, "approve", workflow_id, "--as", "alice", "--json")
        assert own.returncode == 1
        refused = error_of(own)
        assert refused["code"] == "refused"
        assert refused["message"].startswith("approve refused: alice may not approve")

        bob = await orchestrator(stack, settings, "approve", workflow_id, "--as", "bob", "--json")
        assert bob.returncode == 0, bob.stderr
        assert json.loads(bob.stdout)["approver"] == "bob"
        second = await progress()
        assert second.startswith("waiting for approval: 1 of 2 (") and "approved by bob" in second

        carol = await orchestrator(stack, settings, "approve", workflow_id, "--as", "carol")
        assert carol.returncode == 0, carol.stderr
        out, rest = await asyncio.wait_for(waiting.communicate(), 60)
        assert waiting.returncode == 0, rest.decode()
        assert json.loads(out)["outcome"] == "completed"  # stdout: the answer alone
    finally:
        if waiting.returncode is None:
            waiting.kill()
            await waiting.wait()

    # Filters combine: alice's completed runs include it, bob's do not.
    for _ in range(100):
        mine = await orchestrator(
            stack, settings, "list", "--requester", "alice", "--status", "completed",
            "--limit", "100", "-o", "jsonl",
        )  # fmt: skip
        rows = [json.loads(line) for line in mine.stdout.splitlines()]
        if workflow_id in {row["workflow_id"] for row in rows}:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"{workflow_id} never listed as alice's completed run")
    assert {(row["Requester"], row["status"]) for row in rows} == {("alice", "COMPLETED")}
    bobs = await orchestrator(
        stack, settings, "list", "--requester", "bob", "--limit", "100", "--json"
    )
    assert workflow_id not in {row["workflow_id"] for row in json.loads(bobs.stdout)}
