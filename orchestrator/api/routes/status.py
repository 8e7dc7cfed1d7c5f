"""Reading, not changing: where one workflow is and why, and which ones wait for approval."""

from __future__ import annotations

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
from orchestrator.api.dependencies import Caller, WorkflowId, state
from orchestrator.api.errors import documented, rpc_error
from orchestrator.api.models import PendingApproval, PendingApprovals, WorkflowStatus
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
    summary="Workflows waiting for an approval",
    responses=documented(401, 422, 429, 503),
)
async def pending_approvals(
    request: Request,
    identity: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many.")] = 50,
) -> PendingApprovals:
    settings, _, temporal = state(request)
    client = await temporal.client()
    items = []
    try:
        async for execution in client.list_workflows(PENDING_QUERY, limit=limit):
            attributes = execution.typed_search_attributes
            items.append(
                PendingApproval(
                    workflow_id=execution.id,
                    workflow_type=execution.workflow_type,
                    requester=attributes.get(REQUESTER),
                    started_at=execution.start_time.isoformat(),
                    trace_id=attributes.get(TRACE_ID),
                    status_url=f"/v1/workflows/{execution.id}",
                )
            )
    except RPCError as error:
        raise rpc_error(error, settings) from None
    return PendingApprovals(items=items)
