"""Reading the runs to audit from Temporal: one history, or every governed run since.

The only module of orchestrator/audit that talks to Temporal. What Temporal refuses
raises RunsUnavailable, whose message is written for the person at the terminal; a run
whose history Temporal refuses during a listing is an UnreadableRun, so the rest go on.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.audit.history import read_run
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, GOVERNED_WORKFLOW

# Histories fetched at once during an export: enough to hide latency, gentle on the server.
FETCH_CONCURRENCY = 8


class RunsUnavailable(Exception):
    """Temporal has no such workflow, or refused to list or read it."""


def started_since(seconds: float) -> str | None:
    """The UTC timestamp `seconds` ago, as a visibility query compares StartTime with
    (None: further back than datetime goes, so every run there is)."""
    try:
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    except OverflowError:
        return None
    return cutoff.isoformat(timespec="seconds").replace("+00:00", "Z")


async def fetch_history(client: Client, workflow_id: str) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise RunsUnavailable(f"no workflow with id {workflow_id!r}.") from None
        raise RunsUnavailable(
            f"Temporal refused the history of {workflow_id}: {error.message}"
        ) from None


async def governed_runs(client: Client, since: str | None) -> list[AuditRecord | UnreadableRun]:
    """Every governed and declarative run started since, oldest first: its audit record,
    or an UnreadableRun saying why there is none."""
    query = f"WorkflowType IN ('{GOVERNED_WORKFLOW}', '{DECLARATIVE_WORKFLOW}')"
    if since:
        query += f' AND StartTime >= "{since}"'
    try:
        executions = [execution async for execution in client.list_workflows(query)]
    except RPCError as error:
        raise RunsUnavailable(f"Temporal refused the workflow listing: {error.message}") from None
    # Visibility has no portable ORDER BY: sort here, oldest first, so the order is stable.
    executions.sort(key=lambda execution: (execution.start_time, execution.id, execution.run_id))
    return await _runs(client, executions)


async def governed_records(client: Client, since: str | None) -> list[AuditRecord]:
    """The audit records of the runs governed_runs could read (for reports that count)."""
    return [run for run in await governed_runs(client, since) if isinstance(run, AuditRecord)]


async def _runs(
    client: Client, executions: list[WorkflowExecution]
) -> list[AuditRecord | UnreadableRun]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(execution: WorkflowExecution) -> AuditRecord | UnreadableRun:
        async with gate:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            try:
                history = await handle.fetch_history()
            except RPCError as error:
                return UnreadableRun(
                    workflow_id=execution.id,
                    run_id=execution.run_id or "",
                    workflow_type=execution.workflow_type,
                    started_at=execution.start_time.isoformat(timespec="milliseconds").replace(
                        "+00:00", "Z"
                    ),
                    error=f"Temporal refused the history: {error.message}",
                )
            return await read_run(history, client.data_converter)

    return list(await asyncio.gather(*(one(execution) for execution in executions)))
