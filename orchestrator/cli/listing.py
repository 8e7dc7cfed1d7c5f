"""`orchestrator list`: recent governed and declarative runs, filtered; `--pending` shows
what each waiting approval is, and `--mine` only those the caller may decide.

Each filter is checked against what its search attribute (orchestrator/vocabulary.py) can
hold before it reaches the visibility query, and goes in as a quoted literal that cannot
hold a quote: nothing typed becomes part of the query's syntax. Filters combine with AND.

What waits comes from the run's memo (orchestrator/approvals/waiting.py; older runs are
asked by query), and whether the caller may decide it from OPA, asked as the workflow
would ask (orchestrator/approvals/may_decide.py): the same answers the console shows.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import asdict, dataclass
from typing import Any

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError

from orchestrator.approvals.may_decide import judge
from orchestrator.approvals.waiting import Unanswered, Waiting, read_waiting
from orchestrator.cli import output, render
from orchestrator.cli.dispatch import checked_then_client
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import positive_int
from orchestrator.config import Settings
from orchestrator.governed.model import REQUESTER_PATTERN
from orchestrator.policy.client import OpaClient
from orchestrator.vocabulary import (
    APPROVAL_STATUS,
    DECLARATIVE_WORKFLOW,
    GOVERNED_WORKFLOW,
    REQUESTER,
    WORKFLOW_DEFINITION,
)

BASE_QUERY = f"WorkflowType IN ('{GOVERNED_WORKFLOW}', '{DECLARATIVE_WORKFLOW}')"
# Temporal's execution statuses as visibility spells them.
EXECUTION_STATUSES = (
    "Running",
    "Completed",
    "Failed",
    "Canceled",
    "Terminated",
    "ContinuedAsNew",
    "TimedOut",
)
# What the workflows set ApprovalStatus to ("none": a declarative run with no approval).
APPROVAL_STATUSES = ("none", "not_required", "pending", "approved", "rejected", "expired")
DEFINITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,127}$")
# Runs read at once for --pending: each may cost a query when its memo predates the patch.
CONCURRENCY = 8


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = subparsers.add_parser(
        "list",
        help="recent governed and declarative workflows (filters combine with AND)",
        description="Filters combine with AND. --pending shows each waiting approval: what "
        "waits, its reasons, progress, roles, deadline and next escalation; --mine keeps "
        "those you may decide (asked of OPA as the workflow would ask).",
    )
    listing.add_argument("--pending", action="store_true", help="only those awaiting approval")
    listing.add_argument(
        "--mine",
        action="store_true",
        help="with --pending: only what you (ORCH_IDENTITY, or --as) may approve or reject",
    )
    listing.add_argument("--as", dest="viewer", metavar="NAME", help="with --mine: who you are")
    listing.add_argument("--requester", type=requester, metavar="NAME", help="who asked")
    listing.add_argument(
        "--status",
        type=execution_status,
        choices=EXECUTION_STATUSES,  # after `type`: for help and shell completion
        metavar="STATUS",
        help=f"Temporal execution status: {', '.join(EXECUTION_STATUSES)}",
    )
    listing.add_argument(
        "--approval",
        type=approval_status,
        choices=APPROVAL_STATUSES,
        metavar="STATUS",
        help=f"approval status: {', '.join(APPROVAL_STATUSES)}",
    )
    listing.add_argument(
        "--definition", type=definition, metavar="NAME", help="declarative: the workflowName"
    )
    listing.add_argument(
        "--limit", type=positive_int, default=20, help="at most this many (default 20)"
    )
    output.add_options(listing)
    listing.set_defaults(handler=checked_then_client(plan, list_workflows))


# argparse `type=` functions: a value the attribute cannot hold is a usage error (exit 2)
# that names the option and what it accepts.


def requester(text: str) -> str:
    if not REQUESTER_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a user id (like alice: lower case letters, digits, . _ @ -)"
        )
    return text


def execution_status(text: str) -> str:
    """Any case, and running or RUNNING alike, as Temporal spells it."""
    wanted = text.replace("_", "").lower()
    for status in EXECUTION_STATUSES:
        if status.lower() == wanted:
            return status
    raise argparse.ArgumentTypeError(
        f"{text!r} is not an execution status (one of {', '.join(EXECUTION_STATUSES)})"
    )


def approval_status(text: str) -> str:
    if text.lower() not in APPROVAL_STATUSES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an approval status (one of {', '.join(APPROVAL_STATUSES)})"
        )
    return text.lower()


def definition(text: str) -> str:
    if not DEFINITION_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a definition name (letters, digits, space . _ : / -)"
        )
    return text


@dataclass(frozen=True)
class Plan:
    """What to list, checked before connecting: a bad filter is named while Temporal is down."""

    query: str
    viewer: str | None  # --mine: who judges


def plan(args: argparse.Namespace, settings: Settings) -> Plan:
    query = visibility_query(args)
    viewer = (args.viewer or settings.identity) if args.mine else None
    if args.mine and not viewer:
        raise UsageError("Say who you are for --mine: set ORCH_IDENTITY or pass --as NAME.")
    return Plan(query, viewer)


def visibility_query(args: argparse.Namespace) -> str:
    """The filters as one visibility query. Every value matched a pattern without quotes
    or backslashes, so each quoted literal is exactly the value."""
    if args.mine and not args.pending:
        raise UsageError("--mine goes with --pending: list --pending --mine.")
    if args.viewer and not args.mine:
        raise UsageError("--as goes with --mine: list --pending --mine --as NAME.")
    if args.pending and args.approval not in (None, "pending"):
        raise UsageError(f"--pending lists approval status pending, not {args.approval}.")
    if args.pending and args.status not in (None, "Running"):
        raise UsageError(f"--pending lists running workflows, not {args.status}.")
    parts = [BASE_QUERY]
    approval = "pending" if args.pending else args.approval
    status = "Running" if args.pending else args.status
    for name, value in (
        (REQUESTER.name, args.requester),
        ("ExecutionStatus", status),
        (APPROVAL_STATUS.name, approval),
        (WORKFLOW_DEFINITION.name, args.definition),
    ):
        if value:
            parts.append(f"{name} = '{value}'")
    return " AND ".join(parts)


async def list_workflows(
    args: argparse.Namespace, settings: Settings, client: Client, planned: Plan
) -> int:
    viewer = planned.viewer
    executions = await _listed(client, planned.query, args.limit)
    if not args.pending:
        rows = [_row(execution) for execution in executions]
        output.emit(args, rows, lambda: render.table(rows))
        return 0
    items, unanswered = await _waiting(client, executions)
    if viewer:
        opa = OpaClient(settings.opa)
        try:
            await judge(opa, items, viewer)
        finally:
            await opa.aclose()
        items = [item for item in items if item.allowed]
    documents: list[dict[str, Any]] = [
        {**asdict(item), "progress": item.progress} for item in items
    ]
    documents += [{**asdict(run), "unanswered": True} for run in unanswered]
    output.emit(args, documents, lambda: render.pending(items, unanswered, judged=bool(viewer)))
    return 0


async def _listed(client: Client, query: str, limit: int) -> list[WorkflowExecution]:
    try:
        return [execution async for execution in client.list_workflows(query, limit=limit)]
    except RPCError as error:
        raise CliError(f"Temporal refused the list ({query}): {error.message}") from None


def _row(execution: WorkflowExecution) -> dict[str, Any]:
    attributes = execution.typed_search_attributes
    return {
        "workflow_id": execution.id,
        "status": execution.status.name if execution.status else "UNKNOWN",
        "started": execution.start_time.isoformat(timespec="seconds"),
        **{key.name: attributes.get(key) for key in render.LIST_ATTRIBUTES},
    }


async def _waiting(
    client: Client, executions: list[WorkflowExecution]
) -> tuple[list[Waiting], list[Unanswered]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(execution: WorkflowExecution) -> list[Waiting] | Unanswered:
        async with limit:
            return await read_waiting(client, execution)

    items: list[Waiting] = []
    unanswered: list[Unanswered] = []
    for found in await asyncio.gather(*(one(execution) for execution in executions)):
        if isinstance(found, Unanswered):
            unanswered.append(found)
        else:
            items.extend(found)
    return items, unanswered
