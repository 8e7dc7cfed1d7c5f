"""Building definitions in tests and running them on the test's worker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from orchestrator.config import Settings
from orchestrator.declarative.model import DeclarativeRequest, DeclarativeResult, DeclarativeStatus
from orchestrator.declarative.workflow import WORKFLOW_NAME
from tests.support import signed


def act(name: str, *args: Any, **fields: Any) -> dict[str, Any]:
    return {"type": "activity", "activityName": name, "args": list(args), **fields}


def seq(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "sequential", "blocks": list(blocks), **fields}


def par(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "parallel", "blocks": list(blocks), **fields}


def approval(**fields: Any) -> dict[str, Any]:
    return {"type": "approval", **fields}


def definition(*blocks: dict[str, Any], name: str = "test-definition") -> dict[str, Any]:
    return {"workflowName": name, "execution": seq(*blocks)}


async def start(
    client: Client,
    settings: Settings,
    document: dict[str, Any],
    requester: str = "alice",
    **fields: Any,
) -> WorkflowHandle[Any, DeclarativeResult]:
    workflow_id = f"test-declarative-{uuid.uuid4().hex[:12]}"
    return await client.start_workflow(
        WORKFLOW_NAME,
        signed(DeclarativeRequest(definition=document, requester=requester, **fields), workflow_id),
        id=workflow_id,
        task_queue=settings.temporal.task_queue,
        result_type=DeclarativeResult,
    )


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def status_of(handle: WorkflowHandle[Any, Any]) -> DeclarativeStatus:
    status: DeclarativeStatus = await handle.query("status", result_type=DeclarativeStatus)
    return status


async def wait_for_pending(
    handle: WorkflowHandle[Any, Any], count: int = 1, seconds: float = 15.0
) -> DeclarativeStatus:
    """Poll `status` until `count` approvals are pending."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        status = await status_of(handle)
        if len(status.pending_approvals) >= count:
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handle.id}: {count} approval(s) never pending: {status}")
        await asyncio.sleep(0.05)
