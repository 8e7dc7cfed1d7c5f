"""The inbox's data: every approval waiting in a running workflow, a page at a time.

Visibility lists the runs (ApprovalStatus = 'pending') with their memos, which say what
waits (orchestrator/approvals/memo.py), and OPA tells in one or two batch requests
whether the viewer may decide each (orchestrator/approvals/may_decide.py). So a page
costs a list, a count and the policy's batch. Runs older than the memo are asked
instead (their `status` query and start input), at most CONCURRENCY at once; a run
whose worker does not answer within QUERY_TIMEOUT shows as such instead of holding the
page.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from temporalio.client import (
    Client,
    WorkflowExecution,
)

from orchestrator.approvals.may_decide import judge
from orchestrator.approvals.waiting import QUERY_TIMEOUT, Unanswered, Waiting, read_waiting
from orchestrator.console.cursor import Cursors
from orchestrator.policy.client import OpaClient
from orchestrator.vocabulary import (
    DECLARATIVE_WORKFLOW,
    GOVERNED_WORKFLOW,
)

PAGE_SIZE = 50
CONCURRENCY = 16
PENDING_QUERY = (
    f"WorkflowType IN ('{GOVERNED_WORKFLOW}', '{DECLARATIVE_WORKFLOW}') "
    "AND ApprovalStatus = 'pending' AND ExecutionStatus = 'Running'"
)


@dataclass
class InboxPage:
    page: int
    pages: int
    total: int
    after: str = ""  # the next page's cursor
    items: list[Waiting] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)


def page_number(raw: str | None) -> int:
    """`?page=` as a page number from 1; anything else is page 1."""
    if raw is None or not raw.isdigit():
        return 1
    return max(1, min(int(raw), 10_000))


@dataclass
class Listed:
    """One page of a visibility query: how many it lists in all, the page's runs, and the
    cursor of the page after it ("" on the last page)."""

    total: int
    runs: list[WorkflowExecution]
    after: str = ""


async def listed_page(
    client: Client, query: str, page: int, cursors: Cursors, after: str | None = None
) -> Listed:
    """Page `page` of what `query` lists (newest first, as visibility lists them).

    `after` is the cursor the previous page handed on (a signed page token, cursor.py):
    then the page is one request of PAGE_SIZE, however deep. Without one (a page typed
    into the address bar), the pages before it are read and skipped. The count runs
    beside the list.
    """
    token = cursors.open(query, after) if page > 1 else None
    skip = 0 if token else (page - 1) * PAGE_SIZE
    counted, (runs, following) = await asyncio.gather(
        client.count_workflows(query, rpc_timeout=QUERY_TIMEOUT),
        _rows(client, query, skip + PAGE_SIZE, token),
    )
    return Listed(counted.count, runs[skip:], cursors.seal(query, following))


async def _rows(
    client: Client, query: str, wanted: int, token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    """The first `wanted` rows from `token` on, and the token of the row after them."""
    rows: list[WorkflowExecution] = []
    listing = client.list_workflows(
        query, page_size=min(1000, wanted), next_page_token=token, rpc_timeout=QUERY_TIMEOUT
    )
    while len(rows) < wanted:
        await listing.fetch_next_page(page_size=min(1000, wanted - len(rows)))
        rows.extend(listing.current_page or [])
        if not listing.next_page_token:
            return rows, None
    return rows, listing.next_page_token


async def pending_runs(
    client: Client, page: int, cursors: Cursors, after: str | None = None
) -> Listed:
    """How many runs wait in all, and those of `page`."""
    return await listed_page(client, PENDING_QUERY, page, cursors, after)


async def inbox(
    client: Client,
    opa: OpaClient,
    viewer: str,
    page: int,
    cursors: Cursors,
    after: str | None = None,
) -> InboxPage:
    listed = await pending_runs(client, page, cursors, after)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(execution: WorkflowExecution) -> list[Waiting] | Unanswered:
        async with limit:
            return await read_waiting(client, execution)

    results = await asyncio.gather(*(one(execution) for execution in listed.runs))
    result = InboxPage(
        page=page,
        pages=max(1, math.ceil(listed.total / PAGE_SIZE)),
        total=listed.total,
        after=listed.after,
    )
    for found in results:
        if isinstance(found, Unanswered):
            result.unanswered.append(found)
        else:
            result.items.extend(found)
    await judge(opa, result.items, viewer)
    return result


async def waiting_ids(client: Client, cursors: Cursors) -> list[dict[str, str]]:
    """What the first page waits for, as `{workflow_id, step}`: for the polling script.

    Governed runs wait for one approval (step ""), so only declarative runs are asked
    which steps wait.
    """
    runs = (await pending_runs(client, 1, cursors)).runs
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
