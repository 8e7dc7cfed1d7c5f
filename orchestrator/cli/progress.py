"""What `start --wait` and `run --wait` say on stderr while a run waits for approval.

Without it the command is silent for as long as approvers take. The run's memo says what
waits (orchestrator/approvals/waiting.py): read once a second, but only while the run's
ApprovalStatus search attribute says pending, so a run that is simply working costs one
describe a second and no query. A line is printed when what waits changes (it opens, an
approver is counted, an escalation widens the roles); stdout stays the command's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from orchestrator.approvals.waiting import read_waiting
from orchestrator.cli import render
from orchestrator.vocabulary import APPROVAL_STATUS

POLL_SECONDS = 1.0
T = TypeVar("T")


async def while_waiting(
    client: Client, handle: WorkflowHandle[Any, Any], waited: Awaitable[T]
) -> T:
    """`waited`'s result, reporting pending approvals of `handle` on stderr meanwhile."""
    reporter = asyncio.create_task(_report(client, handle))
    try:
        return await waited
    finally:
        reporter.cancel()
        # Progress is advisory: whatever stopped it must not turn the outcome into a failure.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reporter


async def _report(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    shown = ""
    while True:
        text = await _waiting_text(client, handle)
        if text and text != shown:
            print(text, file=sys.stderr, flush=True)
        shown = text  # nothing waiting resets it: a later approval is reported afresh
        await asyncio.sleep(POLL_SECONDS)


async def _waiting_text(client: Client, handle: WorkflowHandle[Any, Any]) -> str:
    """The lines for what waits now; "" when nothing does (or it cannot be told now)."""
    try:
        description = await handle.describe()
        if description.typed_search_attributes.get(APPROVAL_STATUS) != "pending":
            return ""
        found = await read_waiting(client, description, with_request=False)
    except RPCError:  # a moment Temporal did not answer: the next poll tells
        return ""
    if not isinstance(found, list):
        return ""
    return "\n".join(render.waiting_line(item) for item in found)
