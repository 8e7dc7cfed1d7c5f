"""AuditCheckpointWorkflow: what a Temporal Schedule starts to checkpoint the audit on time.

One activity does the work (orchestrator/audit/scheduled.py); the run's result says which
checkpoint it signed, so `orchestrator schedule describe audit-checkpoints` and the
Temporal UI show each scheduled checkpoint beside its run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from orchestrator.vocabulary import AUDIT_CHECKPOINT_ACTIVITY, AUDIT_CHECKPOINT_WORKFLOW


@dataclass(frozen=True)
class CheckpointMade:
    """One scheduled checkpoint: the log line it appended and the export it signed."""

    seq: int
    key_id: str
    records: int
    runs: int
    head: str
    window_from: str | None
    window_to: str
    export_file: str
    # Runs the export could not carry faithfully (orchestrator/audit/chain.py).
    problems: list[str] = field(default_factory=list)


@workflow.defn(name=AUDIT_CHECKPOINT_WORKFLOW)
class AuditCheckpointWorkflow:
    @workflow.run
    async def run(self) -> CheckpointMade:
        made: CheckpointMade = await workflow.execute_activity(
            AUDIT_CHECKPOINT_ACTIVITY,
            result_type=CheckpointMade,
            # An export reads every history of its window: minutes for a busy hour.
            start_to_close_timeout=timedelta(minutes=10),
            # Temporal unreachable for a while is retried; a missing key is not.
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1)),
        )
        return made
