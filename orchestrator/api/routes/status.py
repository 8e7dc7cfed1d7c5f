"""Reading, not changing: where one workflow is and why, and which ones wait for approval."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from orchestrator.api.body import JsonBodyRoute
from orchestrator.api.dependencies import Caller, WorkflowId, read_only_opa, state
from orchestrator.api.errors import documented, rpc_error
from orchestrator.api.models import (
    NextEscalation,
    PendingApproval,
    PendingApprovals,
    WaitingApproval,
    WorkflowStatus,
)
from orchestrator.approvals.may_decide import judge
from orchestrator.approvals.waiting import Unanswered, Waiting, read_waiting
from orchestrator.vocabulary import (
    APPROVAL_STATUS,
    POLICY_DECISION,
    REQUESTER,
    STATUS_QUERY,
    TRACE_ID,
)

QUERY_TIMEOUT = timedelta(seconds=5)
PENDING_QUERY = "ApprovalStatus = 'pending' AND ExecutionStatus = 'Running'"

# The same route class as the other /v1 routes, though these take no body.
router = APIRouter(prefix="/v1", route_class=JsonBodyRoute)


@router.get(
    "/workflows/{workflow_id}",
    response_model=WorkflowStatus,
    summary="Where a workflow is and why",
    responses=documented(401, 404, 422, 429, 503),
)
async def workflow_status(
    workflow_id: WorkflowId, request: Request, identity: Caller
) -> WorkflowStatus:
    settings, _, temporal = state(request)
    client = await temporal.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        raise rpc_error(error, settings, workflow_id) from None
    detail = await _status_query(handle)
    attributes = description.typed_search_attributes
    trace_id = attributes.get(TRACE_ID) or (detail or {}).get("trace_id")
    return WorkflowStatus(
        workflow_id=workflow_id,
        run_id=description.run_id,
        workflow_type=description.workflow_type,
        execution_status=description.status.name if description.status else "UNKNOWN",
        started_at=description.start_time.isoformat() if description.start_time else None,
        closed_at=description.close_time.isoformat() if description.close_time else None,
        requester=attributes.get(REQUESTER),
        policy_decision=attributes.get(POLICY_DECISION),
        approval_status=attributes.get(APPROVAL_STATUS),
        trace_id=trace_id,
        detail=detail,
        temporal_ui=settings.workflow_link(workflow_id, description.run_id),
    )


async def _status_query(handle: WorkflowHandle[Any, Any]) -> dict[str, Any] | None:
    try:
        result = await handle.query(STATUS_QUERY, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
        return None  # no worker, not a governed workflow, or not answering in time
    return result if isinstance(result, dict) else {"value": result}


@router.get(
    "/approvals/pending",
    response_model=PendingApprovals,
    summary="Workflows waiting for an approval, and what you may decide",
    description="Each run with what it waits for (from its memo): the task or step, the "
    "requirement and its progress, the deadline, the next escalation, the policy's reasons, "
    "and what the caller may decide, asked of OPA read-only (`you_may`, `refusal`). "
    "`mine=true` keeps the approvals the caller may decide, among the first `limit` runs.",
    responses=documented(401, 422, 429, 503),
)
async def pending_approvals(
    request: Request,
    identity: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many runs.")] = 50,
    mine: Annotated[bool, Query(description="Only what the caller may decide.")] = False,
) -> PendingApprovals:
    settings, _, temporal = state(request)
    client = await temporal.client()
    try:
        executions = [e async for e in client.list_workflows(PENDING_QUERY, limit=limit)]
    except RPCError as error:
        raise rpc_error(error, settings) from None
    found = await asyncio.gather(*(read_waiting(client, e) for e in executions))
    waiting = [item for entry in found if isinstance(entry, list) for item in entry]
    await judge(read_only_opa(request), waiting, identity)
    items = []
    for execution, entry in zip(executions, found, strict=True):
        attributes = execution.typed_search_attributes
        approvals = [_waiting(item) for item in entry] if isinstance(entry, list) else []
        if mine:
            approvals = [approval for approval in approvals if approval.you_may]
            if not approvals:
                continue
        items.append(
            PendingApproval(
                workflow_id=execution.id,
                workflow_type=execution.workflow_type,
                requester=attributes.get(REQUESTER),
                started_at=execution.start_time.isoformat(),
                trace_id=attributes.get(TRACE_ID),
                status_url=f"/v1/workflows/{execution.id}",
                approvals=approvals,
                unanswered=entry.why if isinstance(entry, Unanswered) else None,
            )
        )
    return PendingApprovals(items=items)


def _waiting(item: Waiting) -> WaitingApproval:
    escalation = item.next_escalation
    return WaitingApproval(
        step=item.step or None,
        subject=item.subject,
        requester=item.requester,
        roles=item.roles,
        quorum=item.quorum,
        approved_by=item.approved_by,
        progress=item.progress,
        exclude_requester=item.exclude_requester,
        deadline=item.deadline or None,
        next_escalation=NextEscalation(
            action=escalation.action, roles=escalation.roles, at=escalation.at
        )
        if escalation
        else None,
        reasons=item.reasons,
        parameters=item.parameters,
        digest=item.digest,
        policy_revision=item.policy_revision,
        you_may=list(item.allowed),
        refusal=item.refusal,
    )
