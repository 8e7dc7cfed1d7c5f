"""Checkpoints on the operator's schedule: a Temporal Schedule starts AuditCheckpointWorkflow
(orchestrator/audit/scheduled_workflow.py), whose one activity, here, exports every run
started since the log's last checkpoint, archives the export and signs it into the log.

Each scheduled window starts where the log's last checkpoint ends, so consecutive
checkpoints leave no time uncovered (what `audit verify --checkpoints` checks). The
activity runs on the audit task queue, which only a worker given the signing key polls
(orchestrator/worker.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.exceptions import ApplicationError

from orchestrator import durations
from orchestrator.audit import checkpoint
from orchestrator.audit import export as audit_export
from orchestrator.audit.runs import RunsUnavailable
from orchestrator.audit.scheduled_workflow import CheckpointMade
from orchestrator.config import Settings
from orchestrator.vocabulary import AUDIT_CHECKPOINT_ACTIVITY, AUDIT_CHECKPOINT_WORKFLOW

SCHEDULE_ID = "audit-checkpoints"


@dataclass(frozen=True)
class CheckpointActivities:
    """The activity, holding what it needs: the Temporal client it reads histories with,
    the signing key's file (read at each run, so a rotated key is used from the next),
    the checkpoint log and the folder exports are archived in."""

    client: Client
    key_file: Path
    log: Path
    archive: Path

    @activity.defn(name=AUDIT_CHECKPOINT_ACTIVITY)
    async def checkpoint(self) -> CheckpointMade:
        try:
            key = checkpoint.load_private_key(self.key_file)
            last = checkpoint.last_checkpoint(self.log)
        except checkpoint.CheckpointError as error:
            # Retrying cannot find a key or mend a log: the run fails, saying which.
            raise ApplicationError(
                str(error), type="CheckpointUnusable", non_retryable=True
            ) from None
        since = ((last or {}).get("window") or {}).get("to")
        try:
            exported = await audit_export.build(self.client, since)
        except RunsUnavailable as error:
            raise ApplicationError(str(error), type="RunsUnavailable") from None
        trailer = exported.entries[-1]
        file = self.archive / f"audit-{str(trailer['exported_at']).replace(':', '')}.jsonl"
        await asyncio.to_thread(_write, file, exported.text)
        signed = checkpoint.checkpoint_export(exported.entries, key, self.log)
        await asyncio.to_thread(checkpoint.write_beside, file, signed)
        activity.logger.info(
            "checkpoint %s: %s records of %s runs since %s, archived in %s",
            signed["seq"],
            exported.records,
            exported.runs,
            since or "all time",
            file,
        )
        return CheckpointMade(
            seq=signed["seq"],
            key_id=signed["key_id"],
            records=exported.records,
            runs=exported.runs,
            head=exported.head,
            window_from=since,
            window_to=str(trailer["exported_at"]),
            export_file=str(file),
            problems=exported.problems,
        )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def schedule(settings: Settings, every: timedelta) -> Schedule:
    """A checkpoint every `every`; one still running makes the next wait for the one after
    (SKIP), and a schedule that was down for hours takes one checkpoint, not one per
    missed interval (its window covers the hours anyway)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            AUDIT_CHECKPOINT_WORKFLOW,
            id=SCHEDULE_ID,
            task_queue=settings.audit_task_queue,
            static_summary="signs a checkpoint of the audit stream",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
        state=ScheduleState(
            note=f"signed audit checkpoint every {durations.compact(every.total_seconds())}"
        ),
    )


async def set_schedule(client: Client, settings: Settings, every: timedelta) -> ScheduleHandle:
    """Create the checkpoint schedule, or give the existing one the new interval."""
    wanted = schedule(settings, every)
    try:
        return await client.create_schedule(SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(SCHEDULE_ID)

        def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await handle.update(updater)
        return handle
