"""What one waiting approval is, as the console shows it.

Runs since the `approval-memo` patch keep what waits in their memo (orchestrator/
approvals/memo.py), which visibility returns with the list: `from_memo` reads it. Older
runs are asked: their `status` query (the live requirement, the digest, who approved so
far) and their start input (the task and parameters, which the query does not repeat).

A governed run waits for at most one approval, a declarative run for one per pending
step (`step` is its path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from orchestrator.approvals.memo import MEMO_KEY, NextEscalation
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, REQUESTER, STATUS_QUERY

# How long a run's worker gets to answer `status` before the run shows as unanswered.
QUERY_TIMEOUT = timedelta(seconds=3)


@dataclass
class Waiting:
    """One approval waiting for a decision, and whether the viewer may take it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    step: str  # "" for a governed run
    subject: str  # the task, or the step's description
    requester: str
    roles: list[str]
    quorum: int
    approved_by: list[str]
    exclude_requester: bool
    deadline: str
    digest: str
    reasons: list[str]
    parameters: dict[str, Any]
    policy_revision: str
    definition: str | None = None
    kind: str | None = None
    next_escalation: NextEscalation | None = None
    # True when the memo left the parameters out (too large): read the start input.
    parameters_missing: bool = False
    # Filled by may_decide.py: the decisions the viewer may take, and why not the others.
    allowed: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)

    @property
    def progress(self) -> str:
        return f"{len(self.approved_by)} of {self.quorum} approvals"


async def start_input(client: Client, workflow_id: str, run_id: str = "") -> dict[str, Any]:
    """The run's start input (the request), decoded; {} when it cannot be read.

    Only the first event is fetched: what was asked never changes after the start.
    """
    handle = client.get_workflow_handle(workflow_id, run_id=run_id or None)
    try:
        async for event in handle.fetch_history_events(
            page_size=1, rpc_timeout=timedelta(seconds=5)
        ):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            values = await client.data_converter.decode(list(payloads)) if payloads else []
            first = values[0] if values else None
            return first if isinstance(first, dict) else {}
    except Exception:  # an unreadable input shows as missing, never a 500
        return {}
    return {}


async def from_memo(execution: WorkflowExecution) -> list[Waiting] | None:
    """What the run's memo says waits; None when it has no such memo (an older run).

    Entries whose parameters were too large for the memo carry `parameters=None`; the
    caller reads those from the start input (`start_input`).
    """
    try:
        entries = await execution.memo_value(MEMO_KEY, None)
    except Exception:  # an undecodable memo: ask the run instead
        return None
    if not isinstance(entries, list):
        return None
    return [_from_entry(execution, _dict(entry)) for entry in entries]


def _from_entry(execution: WorkflowExecution, entry: dict[str, Any]) -> Waiting:
    escalation = _dict(entry.get("next_escalation"))
    parameters = entry.get("parameters")
    return Waiting(
        workflow_id=execution.id,
        run_id=str(entry.get("run_id") or execution.run_id or ""),
        workflow_type=execution.workflow_type,
        step=str(entry.get("step") or ""),
        subject=str(entry.get("subject") or ""),
        requester=str(entry.get("requester") or ""),
        roles=_strings(entry.get("roles")),
        quorum=int(entry.get("quorum") or 1),
        approved_by=_strings(entry.get("approved_by")),
        exclude_requester=bool(entry.get("exclude_requester", True)),
        deadline=str(entry.get("deadline") or ""),
        digest=str(entry.get("digest") or ""),
        reasons=_strings(entry.get("reasons")),
        parameters=parameters if isinstance(parameters, dict) else {},
        parameters_missing=not isinstance(parameters, dict),
        policy_revision=str(entry.get("policy_revision") or ""),
        definition=str(entry["definition"]) if entry.get("definition") else None,
        kind=str(entry["kind"]) if entry.get("kind") else None,
        next_escalation=NextEscalation(
            str(escalation.get("action") or ""),
            _strings(escalation.get("roles")),
            str(escalation.get("at") or ""),
        )
        if escalation
        else None,
    )


def waiting_of(
    handle: WorkflowHandle[Any, Any],
    workflow_type: str,
    status: dict[str, Any],
    request: dict[str, Any],
) -> list[Waiting]:
    """Every approval `status` says is pending (bound runs only: older ones sign nothing)."""
    if workflow_type == DECLARATIVE_WORKFLOW or "pending_approvals" in status:
        return [
            item
            for entry in status.get("pending_approvals") or []
            if (item := _step(handle, status, entry)) is not None
        ]
    view = status.get("pending_approval")
    if not isinstance(view, dict):
        return []
    decision = _dict(status.get("decision"))
    requirement = _dict(decision.get("approval"))
    return [
        Waiting(
            workflow_id=handle.id,
            run_id=str(view.get("run_id") or ""),
            workflow_type=workflow_type,
            step="",
            subject=str(request.get("task") or ""),
            requester=str(status.get("requester") or request.get("requester") or ""),
            roles=_strings(view.get("approver_roles")),
            quorum=int(view.get("quorum") or 1),
            approved_by=_strings(view.get("approved_by")),
            exclude_requester=bool(requirement.get("exclude_requester", True)),
            deadline=str(view.get("deadline") or ""),
            digest=str(view.get("digest") or ""),
            reasons=_strings(status.get("reasons")),
            parameters=_dict(request.get("parameters")),
            policy_revision=str(decision.get("policy_revision") or ""),
            kind=str(request["kind"]) if request.get("kind") else None,
            next_escalation=_next_escalation(
                requirement, status, str(view.get("deadline") or ""), request
            ),
        )
    ]


@dataclass
class Unanswered:
    """A run listed as waiting whose status could not be read now."""

    workflow_id: str
    workflow_type: str
    requester: str
    why: str


async def read_waiting(
    client: Client, execution: WorkflowExecution, with_request: bool = True
) -> list[Waiting] | Unanswered:
    """The approvals one run waits for, or why they cannot be told now."""
    remembered = await from_memo(execution)
    if remembered is not None:
        if with_request and any(item.parameters_missing for item in remembered):
            request = await start_input(client, execution.id, execution.run_id)
            for item in remembered:
                if item.parameters_missing:
                    item.parameters = request.get("parameters") or {}
        return remembered
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    requester = execution.typed_search_attributes.get(REQUESTER) or ""
    try:
        status: Any = await handle.query(STATUS_QUERY, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError) as error:
        why = "no worker answered in time" if isinstance(error, RPCError) else str(error)
        return Unanswered(execution.id, execution.workflow_type, requester, why)
    if not isinstance(status, dict):
        return Unanswered(execution.id, execution.workflow_type, requester, "no status")
    governed = execution.workflow_type != DECLARATIVE_WORKFLOW
    request = await start_input(client, execution.id, execution.run_id) if governed else {}
    return waiting_of(handle, execution.workflow_type, status, request if with_request else {})


def _step(handle: WorkflowHandle[Any, Any], status: dict[str, Any], entry: Any) -> Waiting | None:
    entry = _dict(entry)
    view = _dict(entry.get("view"))
    if not view:
        return None
    path = str(entry.get("path") or "")
    # The step's own decision (its path without the "#approval" suffix) names the revision.
    base = path.removesuffix("#approval")
    revision = ""
    reasons: list[str] = []
    for decision in status.get("decisions") or []:
        decision = _dict(decision)
        if decision.get("path") == base:
            revision = str(decision.get("policy_revision") or "")
            reasons = _strings(decision.get("reasons"))
    name = str(status.get("workflow_name") or "")
    return Waiting(
        workflow_id=handle.id,
        run_id=str(view.get("run_id") or ""),
        workflow_type=DECLARATIVE_WORKFLOW,
        step=path,
        subject=str(entry.get("description") or path),
        requester=str(status.get("requester") or ""),
        roles=_strings(view.get("approver_roles")),
        quorum=int(view.get("quorum") or 1),
        approved_by=_strings(view.get("approved_by")),
        exclude_requester=True,  # the status does not carry it; the policy's default
        deadline=str(view.get("deadline") or entry.get("deadline") or ""),
        digest=str(view.get("digest") or ""),
        reasons=reasons,
        parameters={"definition": name, "step": path},
        policy_revision=revision,
        definition=name or None,
    )


def _next_escalation(
    requirement: dict[str, Any], status: dict[str, Any], deadline: str, request: dict[str, Any]
) -> NextEscalation | None:
    """The first escalation step not yet taken, and when it is due.

    Steps run in order, so the next one is the step after those already recorded. The
    approval opened `min(request timeout, requirement deadline)` before its deadline.
    """
    steps = [_dict(step) for step in requirement.get("escalation") or []]
    done = len(status.get("escalations") or [])
    if done >= len(steps):
        return None
    step = steps[done]
    at = ""
    try:
        end = datetime.fromisoformat(deadline)
        window = min(
            float(request.get("approval_timeout_seconds") or 24 * 3600),
            float(requirement.get("deadline_seconds") or 24 * 3600),
        )
        moment = end - timedelta(seconds=window) + timedelta(seconds=float(step["after_seconds"]))
        if moment >= end:
            return None  # the deadline comes first: this step never runs
        at = moment.isoformat()
    except (KeyError, TypeError, ValueError):
        pass
    return NextEscalation(str(step.get("action") or ""), _strings(step.get("roles")), at)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value or []] if isinstance(value, list) else []
