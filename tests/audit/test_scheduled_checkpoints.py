"""Checkpoints on a schedule: `orchestrator audit schedule --every D` makes a Temporal
Schedule whose runs, served by the worker that holds the signing key, each archive an
export of the runs since the last checkpoint and sign it into the log. Run on the real
dev server; the schedule is triggered rather than waited for."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.audit import checkpoint
from orchestrator.audit.scheduled import SCHEDULE_ID
from orchestrator.audit.scheduled_workflow import CheckpointMade
from orchestrator.config import Settings
from orchestrator.connection import pollers
from orchestrator.devstack import LocalStack
from orchestrator.schedules import service as schedules
from orchestrator.worker import build_audit_worker
from tests.support import BIN, RunningWorker, cli_env, run_orchestrator

pytestmark = pytest.mark.integration


@pytest.fixture
def signing(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings with its own signing key, checkpoint log and archive."""
    key, public = tmp_path / "audit.pem", tmp_path / "audit.pub.pem"
    assert checkpoint.write_keypair(key, public)
    return replace(
        settings,
        audit_signing_key_file=key,
        audit_checkpoint_log=tmp_path / "checkpoints.jsonl",
        audit_archive_dir=tmp_path / "exports",
    )


@contextlib.asynccontextmanager
async def audit_worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    worker = build_audit_worker(client, settings)
    assert worker is not None
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        await worker.shutdown()
        await task


async def triggered_checkpoint(client: Client) -> CheckpointMade:
    """Run the schedule now, as `orchestrator schedule trigger` does, and wait for the run."""
    workflow_id = await schedules.trigger(client.get_schedule_handle(SCHEDULE_ID))
    described = await client.get_schedule_handle(SCHEDULE_ID).describe()
    assert workflow_id, f"the schedule started no run: {described.info}"
    made: CheckpointMade = await client.get_workflow_handle(
        workflow_id, result_type=CheckpointMade
    ).result()
    return made


async def test_scheduled_checkpoints_cover_consecutive_windows_and_verify(
    stack: LocalStack, client: Client, signing: Settings, worker: RunningWorker, tmp_path: Path
) -> None:
    # The CLI's process has no key: the schedule only names the queue of the worker that has.
    done = await run_orchestrator(stack, signing, "audit", "schedule", "--every", "1h")
    assert done.returncode == 0, done.stderr
    assert f"schedule {SCHEDULE_ID} starts them on task queue {signing.audit_task_queue}" in (
        done.stdout
    )
    assert "no worker serves" in done.stderr
    try:
        result = await (await worker.start_governed("Generate the weekly usage report")).result()
        assert result.outcome == "completed"
        async with audit_worker(client, signing):
            made = [await triggered_checkpoint(client), await triggered_checkpoint(client)]
        described = await run_orchestrator(stack, signing, "schedule", "describe", SCHEDULE_ID)
        assert described.returncode == 0, described.stderr
        assert (
            f"runs      AuditCheckpointWorkflow on task queue {signing.audit_task_queue}"
            in described.stdout
        )
        assert "note      signed audit checkpoint every 1h" in described.stdout
        assert "for " not in described.stdout  # its runs take no request
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()

    first, second = checkpoint.read_log(signing.audit_checkpoint_log)
    # The runs say what they signed.
    assert [(m.seq, m.head, m.window_to) for m in made] == [
        (c["seq"], c["head"], c["window"]["to"]) for c in (first, second)
    ]
    # The first covers all time; each later one starts where the one before ended.
    assert first["window"]["from"] is None
    assert second["window"]["from"] == first["window"]["to"]
    assert (first["seq"], second["seq"]) == (0, 1)
    archived = sorted(signing.audit_archive_dir.glob("audit-*.jsonl"))
    assert len(archived) == 2
    assert result.workflow_id in archived[0].read_text()
    public = signing.audit_signing_key_file.with_name("audit.pub.pem")  # type: ignore[union-attr]
    for export in archived:
        beside = json.loads(checkpoint.beside(export).read_text())
        assert beside in (first, second)
        assert str(export) in {m.export_file for m in made}
        verified = await asyncio.to_thread(_verify, export, signing.audit_checkpoint_log, public)
        assert verified.startswith("ok: "), verified
        assert verified.endswith("as checkpointed and signed\n")


def _verify(export: Path, log: Path, public: Path) -> str:
    done = subprocess.run(
        [str(BIN / "orchestrator"), "audit", "verify", str(export), "--checkpoints", str(log),
         "--key", str(public)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.stdout + done.stderr


async def test_a_schedule_more_often_than_a_minute_is_refused(
    stack: LocalStack, settings: Settings
) -> None:
    done = await run_orchestrator(stack, settings, "audit", "schedule", "--every", "30s")
    assert done.returncode == 2
    assert done.stderr.strip() == "orchestrator: audit schedule: --every '30s' is under a minute."


async def test_an_audit_only_worker_serves_checkpoints_and_no_policy_work(
    stack: LocalStack, client: Client, signing: Settings
) -> None:
    env = {
        **cli_env(stack, signing),
        "ORCH_AUDIT_SIGNING_KEY_FILE": str(signing.audit_signing_key_file),
        "ORCH_AUDIT_CHECKPOINT_LOG": str(signing.audit_checkpoint_log),
        "ORCH_METRICS_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        str(BIN / "orchestrator"), "worker", "--audit-only",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            if await pollers(client, signing.audit_task_queue):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the audit-only worker never polled its queue")
        assert await pollers(client, signing.temporal.task_queue) == []
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    log = err.decode()
    assert process.returncode == 0, log
    assert f"scheduled audit checkpoints served on {signing.audit_task_queue}" in log
    assert "OPA at" not in log


async def test_an_audit_only_worker_without_the_signing_key_says_so(
    stack: LocalStack, settings: Settings
) -> None:
    env = {**cli_env(stack, settings), "ORCH_AUDIT_SIGNING_KEY_FILE": ""}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), "worker", "--audit-only"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "worker --audit-only signs checkpoints: set ORCH_AUDIT_SIGNING_KEY_FILE" in done.stderr
    assert "Traceback" not in done.stderr
