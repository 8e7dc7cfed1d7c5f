"""The runs list (filtered by search attributes) and one run's page: read, never changed.

Filter values are checked against what the attributes can hold before they reach the
visibility query, and go in as quoted literals that cannot hold a quote: no text a
visitor types is ever part of the query's syntax. A run's page combines what history
proves (the audit record: every decision and approval attempt, refused ones included)
with what the `status` query says now (stage, pending approvals, escalations, steps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionDescription
from temporalio.service import RPCError

from orchestrator.approvals.waiting import QUERY_TIMEOUT, Waiting, waiting_of
from orchestrator.audit.history import read_run
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.console.cursor import Cursors
from orchestrator.console.inbox import PAGE_SIZE, listed_page
from orchestrator.console.steps import StepNode, step_tree
from orchestrator.governed.model import REQUESTER_PATTERN
from orchestrator.vocabulary import (
    APPROVAL_STATUS,
    DECLARATIVE_WORKFLOW,
    GOVERNED_WORKFLOW,
    POLICY_DECISION,
    REQUESTER,
    STATUS_QUERY,
    TRACE_ID,
    WORKFLOW_DEFINITION,
)

DECISIONS = ("allow", "deny", "approval_required", "unavailable", "branch_denied")
APPROVALS = ("none", "not_required", "pending", "approved", "rejected", "expired")
DEFINITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,127}$")
BASE_QUERY = f"WorkflowType IN ('{GOVERNED_WORKFLOW}', '{DECLARATIVE_WORKFLOW}')"


class FilterError(ValueError):
    """A filter value the attribute cannot hold; the message names the filter."""


@dataclass(frozen=True)
class Filters:
    requester: str = ""
    decision: str = ""
    approval: str = ""
    definition: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        found = cls(**{name: params.get(name, "").strip() for name in FILTER_NAMES})
        if found.requester and not REQUESTER_PATTERN.match(found.requester):
            raise FilterError(
                "requester: a user id like alice (lower case letters, digits, . _ @ -)"
            )
        if found.decision and found.decision not in DECISIONS:
            raise FilterError(f"decision: one of {', '.join(DECISIONS)}")
        if found.approval and found.approval not in APPROVALS:
            raise FilterError(f"approval: one of {', '.join(APPROVALS)}")
        if found.definition and not DEFINITION_PATTERN.match(found.definition):
            raise FilterError("definition: a definition name (letters, digits, space . _ : / -)")
        return found

    def query(self) -> str:
        # Every value matched a pattern without quotes or backslashes (parse), so the
        # quoted literal is exactly the value.
        parts = [BASE_QUERY]
        for key, value in (
            (REQUESTER.name, self.requester),
            (POLICY_DECISION.name, self.decision),
            (APPROVAL_STATUS.name, self.approval),
            (WORKFLOW_DEFINITION.name, self.definition),
        ):
            if value:
                parts.append(f"{key} = '{value}'")
        return " AND ".join(parts)


FILTER_NAMES = ("requester", "decision", "approval", "definition")


@dataclass(frozen=True)
class RunRow:
    workflow_id: str
    workflow_type: str
    status: str
    started_at: str
    requester: str
    decision: str
    approval: str
    definition: str


@dataclass
class RunsPage:
    page: int
    pages: int
    total: int
    rows: list[RunRow] = field(default_factory=list)
    after: str = ""  # the next page's cursor


async def list_runs(
    client: Client, filters: Filters, page: int, cursors: Cursors, after: str | None = None
) -> RunsPage:
    listed = await listed_page(client, filters.query(), page, cursors, after)
    rows = [_row(execution) for execution in listed.runs]
    pages = max(1, math.ceil(listed.total / PAGE_SIZE))
    return RunsPage(page, pages, listed.total, rows, listed.after)


def _row(execution: WorkflowExecution) -> RunRow:
    attributes = execution.typed_search_attributes
    return RunRow(
        workflow_id=execution.id,
        workflow_type=execution.workflow_type,
        status=execution.status.name if execution.status else "UNKNOWN",
        started_at=execution.start_time.isoformat(),
        requester=attributes.get(REQUESTER) or "",
        decision=attributes.get(POLICY_DECISION) or "",
        approval=attributes.get(APPROVAL_STATUS) or "",
        definition=attributes.get(WORKFLOW_DEFINITION) or "",
    )


@dataclass
class RunView:
    """Everything the run page shows."""

    workflow_id: str
    run_id: str
    workflow_type: str
    execution_status: str
    started_at: str
    closed_at: str
    requester: str
    trace_id: str
    temporal_ui: str
    stage: str
    status_problem: str
    audit: AuditRecord | None
    audit_problem: str
    waiting: list[Waiting] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    steps: StepNode | None = None


async def describe(client: Client, workflow_id: str) -> WorkflowExecutionDescription | None:
    """The run's description, None when there is no such workflow (other errors raise)."""
    try:
        return await client.get_workflow_handle(workflow_id).describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status.name == "NOT_FOUND":
            return None
        raise


async def run_view(
    client: Client, description: WorkflowExecutionDescription, temporal_ui: str
) -> RunView:
    handle = client.get_workflow_handle(description.id, run_id=description.run_id)
    attributes = description.typed_search_attributes
    status: dict[str, Any] = {}
    problem = ""
    try:
        answer = await handle.query(STATUS_QUERY, rpc_timeout=QUERY_TIMEOUT)
        status = answer if isinstance(answer, dict) else {}
    except Exception as error:  # no worker, or a query it cannot answer
        problem = f"The live status is not available now ({type(error).__name__})."
    record = await read_run(await handle.fetch_history(), client.data_converter)
    audit = record if isinstance(record, AuditRecord) else None
    audit_problem = record.error if isinstance(record, UnreadableRun) else ""
    request = audit.request if audit else {}
    view = RunView(
        workflow_id=description.id,
        run_id=description.run_id,
        workflow_type=description.workflow_type,
        execution_status=description.status.name if description.status else "UNKNOWN",
        started_at=description.start_time.isoformat() if description.start_time else "",
        closed_at=description.close_time.isoformat() if description.close_time else "",
        requester=attributes.get(REQUESTER) or (audit.requester if audit else ""),
        trace_id=attributes.get(TRACE_ID) or str(status.get("trace_id") or ""),
        temporal_ui=temporal_ui,
        stage=str(status.get("stage") or ""),
        status_problem=problem,
        audit=audit,
        audit_problem=audit_problem,
    )
    if status:
        view.waiting = waiting_of(handle, description.workflow_type, status, request)
        view.escalations = _escalations(status)
    if description.workflow_type == DECLARATIVE_WORKFLOW and isinstance(request, dict):
        view.steps = step_tree(request.get("definition"), status)
    return view


def _escalations(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Escalation steps taken so far, oldest first, with the approval they belong to."""
    found = [{"approval": "", **entry} for entry in status.get("escalations") or []]
    for record in status.get("approvals") or []:
        if isinstance(record, dict):
            path = str(record.get("path") or "")
            found += [{"approval": path, **entry} for entry in record.get("escalations") or []]
    return sorted(found, key=lambda entry: str(entry.get("at") or ""))
