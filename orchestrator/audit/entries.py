"""Audit records flattened into the entries of the stream, before they are chained.

One entry per request, decision, approval attempt, step and outcome of a run, in time
order, each naming its run; a run whose history could not be read is one `unreadable`
entry. The entries' fields are the records' documents (orchestrator/audit/records.py).
"""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from typing import Any

from orchestrator.audit.records import AuditRecord, UnreadableRun, decision_document


class EntryKind(StrEnum):
    """The `kind` of an entry; CloudEvents types end in it, so never rename one."""

    REQUEST = "request"
    DECISION = "decision"
    APPROVAL = "approval"
    STEP = "step"
    OUTCOME = "outcome"
    UNREADABLE = "unreadable"
    # The trailer that closes a stream (orchestrator/audit/chain.py).
    END = "end"


def record_entries(record: AuditRecord) -> list[dict[str, Any]]:
    """One entry per request, decision, approval attempt, step and outcome, in time order."""
    common = {
        "workflow_id": record.workflow_id,
        "run_id": record.run_id,
        "workflow_type": record.workflow_type,
        "trace_id": record.trace_id,
    }
    middle: list[dict[str, Any]] = [
        *(
            {**common, "kind": EntryKind.DECISION.value, **decision_document(decision)}
            for decision in record.decisions
        ),
        *(
            {**common, "kind": EntryKind.APPROVAL.value, **asdict(approval)}
            for approval in record.approvals
        ),
        *({**common, "kind": EntryKind.STEP.value, **asdict(step)} for step in record.steps),
    ]
    # Stable sort: events of the same millisecond keep their history order.
    middle.sort(key=lambda entry: str(entry["at"]))
    request = {
        **common,
        "kind": EntryKind.REQUEST.value,
        "at": record.started_at,
        "requester": record.requester,
        "request": record.request,
    }
    outcome = {
        **common,
        "kind": EntryKind.OUTCOME.value,
        "at": record.closed_at,
        "status": record.status,
        "result": record.result,
        "failure": record.failure,
    }
    return [request, *middle, outcome]


def unreadable_entry(run: UnreadableRun) -> dict[str, Any]:
    """The one entry of a run whose history could not be read: which run, and why not."""
    return {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "trace_id": None,
        "kind": EntryKind.UNREADABLE.value,
        "at": run.started_at,
        "error": run.error,
    }


def run_entries(run: AuditRecord | UnreadableRun) -> list[dict[str, Any]]:
    """The entries of one run, read or not."""
    if isinstance(run, UnreadableRun):
        return [unreadable_entry(run)]
    return record_entries(run)
