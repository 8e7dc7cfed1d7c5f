"""Approve and reject: one route each, one implementation for both. The caller is the
approver; the API vouches for it with its own key, and OPA judges it in the workflow."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from fastapi import APIRouter, Request
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from orchestrator.api.body import JsonBodyRoute
from orchestrator.api.dependencies import Caller, WorkflowId, api_key, state
from orchestrator.api.errors import ApiError, documented, refusal, rpc_error
from orchestrator.api.models import Decision, Receipt
from orchestrator.approvals.client import ApprovalAmbiguous, send_decision
from orchestrator.approvals.model import APPROVE, REJECT
from orchestrator.connection import NoWorker, require_worker
from orchestrator.policy.contract import ApprovalDecision
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, GOVERNED_WORKFLOW

DECISION_TIMEOUT = 30.0
DECISION_RESPONSES = documented(400, 401, 403, 404, 409, 413, 415, 422, 429, 503, 504)

# Every /v1 route with a body checks it before FastAPI parses it (415, 400, 422).
router = APIRouter(prefix="/v1", route_class=JsonBodyRoute)


async def take_decision(
    request: Request, workflow_id: str, kind: ApprovalDecision, identity: str, body: Decision | None
) -> Receipt:
    """Sign `kind` for `identity` with the API's key and send it; ApiError says why not.

    Shared by the `/v1` routes and the console (orchestrator/console/actions.py)."""
    settings, _, temporal = state(request)
    # The API vouches for the caller its bearer token authenticated, with its own key.
    key = api_key(settings, "Approvals")
    client = await temporal.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        raise rpc_error(error, settings, workflow_id) from None
    if body is not None and body.step is not None:
        _check_step_allowed(description)
    await _check_worker(client, description)
    try:
        async with asyncio.timeout(DECISION_TIMEOUT):
            receipt = await send_decision(
                handle,
                kind,
                key,
                identity,
                comment=body.comment if body else "",
                step=body.step if body else None,
            )
    except ApprovalAmbiguous as error:
        raise ApiError(409, "ambiguous", str(error), workflow_id=workflow_id) from None
    except WorkflowUpdateFailedError as failed:
        raise refusal(failed, kind, workflow_id) from None
    except RPCError as error:
        raise rpc_error(error, settings, workflow_id) from None
    except TimeoutError:
        raise ApiError(
            504,
            "timeout",
            f"Workflow {workflow_id} did not take the decision within {DECISION_TIMEOUT:g}s "
            "(is a worker running?); check its status before trying again.",
            workflow_id=workflow_id,
        ) from None
    return Receipt(workflow_id=workflow_id, **asdict(receipt))


async def _check_worker(client: Client, description: WorkflowExecutionDescription) -> None:
    """503 within seconds when no worker polls the run's queue: the update would otherwise
    wait out DECISION_TIMEOUT. A closed run is left to the update to report."""
    if description.status != WorkflowExecutionStatus.RUNNING:
        return
    try:
        await require_worker(client, description.task_queue)
    except NoWorker as error:
        raise ApiError(503, "no_worker", str(error), workflow_id=description.id) from None


def _check_step_allowed(description: WorkflowExecutionDescription) -> None:
    """422 for a `step` on a workflow that has none, before anything is sent to it: the
    governed workflow would ignore it, and the caller would think a step was decided."""
    if description.workflow_type == DECLARATIVE_WORKFLOW:
        return
    what = (
        "governed workflows have no steps"
        if description.workflow_type == GOVERNED_WORKFLOW
        else f"{description.workflow_type} workflows have no steps"
    )
    raise ApiError(
        422,
        "validation_error",
        f"body.step: {what}; omit it (it names the pending step of a declarative workflow).",
        field="body.step",
        workflow_id=description.id,
    )


def _decision_route(kind: ApprovalDecision, summary: str, description: str = "") -> None:
    """POST /v1/workflows/{workflow_id}/<kind>, named `kind` (its OpenAPI operation id).

    `kind` is both the path's last segment and the workflow update the route sends."""

    async def decide(
        workflow_id: WorkflowId, request: Request, identity: Caller, body: Decision | None = None
    ) -> Receipt:
        return await take_decision(request, workflow_id, kind, identity, body)

    router.add_api_route(
        f"/workflows/{{workflow_id}}/{kind}",
        decide,
        methods=["POST"],
        name=kind,
        response_model=Receipt,
        summary=summary,
        description=description,
        responses=DECISION_RESPONSES,
    )


_decision_route(
    APPROVE,
    "Approve a workflow waiting for approval (you are the approver)",
    "OPA decides whether the caller may approve: never their own request.",
)
_decision_route(REJECT, "Reject a workflow waiting for approval (you are the approver)")
