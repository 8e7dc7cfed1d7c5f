"""The inbox's data: every approval waiting in a running workflow, a page at a time.

Visibility lists the runs (ApprovalStatus = 'pending') with their memos, which say what
waits (orchestrator/approvals/memo.py), and OPA tells whether the viewer may decide it.
So a page costs one list and its policy questions. Runs older than the memo are asked
instead (their `status` query and start input); those calls, and the policy's, run for
at most CONCURRENCY runs at once, and a run whose worker does not answer within
QUERY_TIMEOUT shows as such instead of holding the page.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from orchestrator.console.may_decide import judge
from orchestrator.console.waiting import Waiting, from_memo, start_input, waiting_of
from orchestrator.policy.client import OpaClient
from orchestrator.vocabulary import (
    DECLARATIVE_WORKFLOW,
    GOVERNED_WORKFLOW,
    REQUESTER,
    STATUS_QUERY,
)

PAGE_SIZE = 50
CONCURRENCY = 16
QUERY_TIMEOUT = timedelta(seconds=3)
PENDING_QUERY = (
    f"WorkflowType IN ('{GOVERNED_WORKFLOW}', '{DECLARATIVE_WORKFLOW}') "
    "AND ApprovalStatus = 'pending' AND ExecutionStatus = 'Running'"
)


@dataclass
class Unanswered:
    """A run listed as waiting whose status could not be read now."""

    workflow_id: str
    workflow_type: str
    requester: str
    why: str


@dataclass
class InboxPage:
    page: int
    pages: int
    total: int
    items: list[Waiting] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)


def page_number(raw: str | None) -> int:
    """`?page=` as a page number from 1; anything else is page 1."""
    if raw is None or not raw.isdigit():
        return 1
    return max(1, min(int(raw), 10_000))


async def listed_page(client: Client, query: str, page: int) -> tuple[int, list[WorkflowExecution]]:
    """How many runs `query` lists in all, and those of `page` (newest first, as
    visibility lists them)."""
    total = (await client.count_workflows(query, rpc_timeout=QUERY_TIMEOUT)).count
    skip = (page - 1) * PAGE_SIZE
    runs: list[WorkflowExecution] = []
    index = 0
    async for execution in client.list_workflows(
        query, limit=skip + PAGE_SIZE, page_size=min(1000, skip + PAGE_SIZE)
    ):
        if index >= skip:
            runs.append(execution)
        index += 1
    return total, runs


async def pending_runs(client: Client, page: int) -> tuple[int, list[WorkflowExecution]]:
    """How many runs wait in all, and those of `page`."""
    return await listed_page(client, PENDING_QUERY, page)


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


async def inbox(client: Client, opa: OpaClient, viewer: str, page: int) -> InboxPage:
    total, runs = await pending_runs(client, page)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(execution: WorkflowExecution) -> list[Waiting] | Unanswered:
        async with limit:
            found = await read_waiting(client, execution)
            if isinstance(found, list):
                await asyncio.gather(*(judge(opa, item, viewer) for item in found))
            return found

    results = await asyncio.gather(*(one(execution) for execution in runs))
    result = InboxPage(page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), total=total)
    for found in results:
        if isinstance(found, Unanswered):
            result.unanswered.append(found)
        else:
            result.items.extend(found)
    return result


async def waiting_ids(client: Client) -> list[dict[str, str]]:
    """What the first page waits for, as `{workflow_id, step}`: for the polling script.

    Governed runs wait for one approval (step ""), so only declarative runs are asked
    which steps wait.
    """
    _, runs = await pending_runs(client, 1)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(execution: WorkflowExecution) -> list[dict[str, str]]:
        if execution.workflow_type != DECLARATIVE_WORKFLOW:
            return [{"workflow_id": execution.id, "step": ""}]
        async with limit:
            found = await read_waiting(client, execution, with_request=False)
        if isinstance(found, Unanswered):
            return [{"workflow_id": execution.id, "step": ""}]
        return [{"workflow_id": item.workflow_id, "step": item.step} for item in found]

    nested = await asyncio.gather(*(one(execution) for execution in runs))
    return [entry for entries in nested for entry in entries]
