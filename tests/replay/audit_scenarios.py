"""The scheduled checkpoint's scenario `python -m tests.replay.record audit TAG` records:
tests/histories/audit_checkpoint_<TAG>.json (one governed run, then its checkpoint)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from orchestrator.audit import checkpoint
from orchestrator.audit.scheduled_workflow import AuditCheckpointWorkflow
from orchestrator.worker import build_audit_worker
from tests.support import HISTORIES, RunningWorker


async def scenarios(worker: RunningWorker, tag: str) -> list[Path]:
    # The run is signed with the recording stack's development keys.
    os.environ["ORCH_IDENTITY_KEYS_FILE"] = str(worker.settings.identity_keys_file)
    await (await worker.start_governed("Generate the weekly usage report")).result()
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "audit.pem"
        checkpoint.write_keypair(key, Path(folder) / "audit.pub.pem")
        settings = replace(
            worker.settings,
            audit_signing_key_file=key,
            audit_checkpoint_log=Path(folder) / "checkpoints.jsonl",
            audit_archive_dir=Path(folder) / "exports",
        )
        audit = build_audit_worker(worker.client, settings)
        assert audit is not None
        running = asyncio.create_task(audit.run())
        try:
            handle = await worker.client.start_workflow(
                AuditCheckpointWorkflow.run,
                id=f"audit-checkpoints-{uuid.uuid4().hex[:8]}",
                task_queue=settings.audit_task_queue,
            )
            await handle.result()
        finally:
            await audit.shutdown()
            await running
    path = HISTORIES / f"audit_checkpoint_{tag}.json"
    path.write_text((await handle.fetch_history()).to_json())
    return [path]
