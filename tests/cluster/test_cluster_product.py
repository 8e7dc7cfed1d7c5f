"""The product on a real Temporal cluster (four services on PostgreSQL), with nothing of
its own: the same worker, CLI and settings as on the dev server, only other addresses."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.devstack.cluster import ClusterStack
from orchestrator.governed.model import GovernedResult
from orchestrator.vocabulary import APPROVAL_STATUS, POLICY_DECISION, REQUESTER
from tests.declarative.support import NIGHTLY, start
from tests.schedules.cli import run_cli
from tests.support import BIN, RunningWorker, decide, listed, wait_for_stage

pytestmark = pytest.mark.integration


async def test_two_person_approval_search_attributes_and_a_declarative_run(
    cluster_client: Client, cluster_settings: Settings
) -> None:
    async with RunningWorker.start(cluster_client, cluster_settings) as worker:
        production = await worker.start_governed(
            "Deploy the billing service to production",
            "alice",
            parameters={"environment": "production"},
        )
        await wait_for_stage(production, "awaiting_approval", seconds=30)
        # Search attributes live in the cluster's visibility database (PostgreSQL).
        assert await listed(
            cluster_client,
            f'WorkflowId = "{production.id}" AND {APPROVAL_STATUS.name} = "pending"',
            seconds=30,
        ) == [production.id]
        await decide(production, "approve", "bob", "first of two")
        await decide(production, "approve", "carol", "second of two")
        approved = await asyncio.wait_for(production.result(), timeout=60)

        declarative = await start(cluster_client, cluster_settings, NIGHTLY)
        nightly = await asyncio.wait_for(declarative.result(), timeout=60)

    assert approved.outcome == "completed"
    assert approved.approval is not None and approved.approval.approver == "carol"
    attributes = (await production.describe()).typed_search_attributes
    assert attributes.get(REQUESTER) == "alice"
    assert attributes.get(POLICY_DECISION) == "approval_required"
    assert attributes.get(APPROVAL_STATUS) == "approved"
    assert nightly.outcome == "completed"


async def test_a_schedule_triggers_a_governed_run(
    cluster_client: Client, cluster_settings: Settings
) -> None:
    schedule_id = f"cluster-{cluster_settings.temporal.task_queue}"
    async with RunningWorker.start(cluster_client, cluster_settings):
        created = await run_cli(
            cluster_settings, cluster_client, "schedule", "create",
            "--task", "Generate the weekly usage report", "--requester", "alice",
            "--interval", "1h", "--id", schedule_id,
        )  # fmt: skip
        assert created.code == 0, created.err
        try:
            triggered = await run_cli(
                cluster_settings, cluster_client, "schedule", "trigger", schedule_id, "--json"
            )
            assert triggered.code == 0, triggered.err
            workflow_id = json.loads(triggered.out)["workflow_id"]
            handle = cluster_client.get_workflow_handle(workflow_id, result_type=GovernedResult)
            result = await asyncio.wait_for(handle.result(), timeout=60)
        finally:
            await cluster_client.get_schedule_handle(schedule_id).delete()
    assert result.outcome == "completed"
    [decision] = result.decisions
    assert decision.action == "workflow.start" and decision.allow


async def test_audit_export_of_the_cluster_is_checkpointed_and_verifies(
    cluster: ClusterStack, cluster_client: Client, cluster_settings: Settings, tmp_path: Path
) -> None:
    async with RunningWorker.start(cluster_client, cluster_settings) as worker:
        handle = await worker.start_governed("Generate the audit sample report", "alice")
        await asyncio.wait_for(handle.result(), timeout=60)
    env = {**cluster.client_env(), "PATH": str(BIN)}
    stream = tmp_path / "audit.jsonl"
    exported = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), "audit", "export", "--since", "1h", "--output", str(stream)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert handle.id in stream.read_text()
    # Signed: the checkpoint beside the file and in the stack's append-only log.
    assert "signed with key" in exported.stderr
    assert Path(f"{stream}.checkpoint.json").exists()
    anchored = [
        "--checkpoints", str(cluster.layout.audit_checkpoints),
        "--key", str(cluster.layout.audit_public_key),
    ]  # fmt: skip
    verified = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), "audit", "verify", str(stream), *anchored],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok: ")
    assert verified.stdout.strip().endswith("as checkpointed and signed")
