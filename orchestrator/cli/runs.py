"""One governed run at a time: `start`, `approve`, `reject` and `status` (`list` is
orchestrator/cli/listing.py).

`status`, `approve` and `reject` need a worker to answer (a query, an update): they ask
Temporal first whether one polls the run's task queue, and say so within seconds when
none does, instead of waiting out Temporal's own timeout."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.approvals.client import ApprovalAmbiguous, send_decision
from orchestrator.approvals.model import APPROVE
from orchestrator.approvals.waiting import start_input
from orchestrator.cli import definitions, output, render, starting
from orchestrator.cli.dispatch import checked_then_client, require_worker, with_client
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds, parameters, task_details
from orchestrator.config import Settings
from orchestrator.declarative.model import DeclarativeStatus
from orchestrator.governed.model import GovernedRequest, GovernedStatus
from orchestrator.policy.identity import IdentityError, Keyring
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, STATUS_QUERY


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = subparsers
    start = sub.add_parser("start", help="start a governed workflow")
    start.add_argument("--task", required=True, help="what the agent should do")
    start.add_argument(
        "--requester",
        help="who asks (a user id, e.g. alice; default ORCH_IDENTITY); the start is signed "
        "with the key of ORCH_IDENTITY, else of the requester",
    )
    task_details(start)
    start.add_argument(
        "--approval-timeout",
        default="24h",
        metavar="DURATION",
        help="how long an approval may wait, e.g. 90s, 30m, 24h, 7d (default 24h)",
    )
    start.add_argument(
        "--on-policy-unavailable",
        default="wait",
        metavar="wait|fail",
        help="when OPA gives no answer within the budget: keep waiting (default) or fail; "
        "never run",
    )
    start.add_argument(
        "--policy-budget",
        default="2m",
        metavar="DURATION",
        help="how long a policy check may go unanswered before it counts as unavailable",
    )
    start.add_argument("--id", help="workflow id (default: governed-<random>)")
    start.add_argument(
        "--wait",
        action="store_true",
        help="wait for the outcome (progress of a pending approval goes to stderr)",
    )
    output.add_options(start)
    start.set_defaults(handler=checked_then_client(start_request, start_prepared))

    for name, verb in (("approve", "approve"), ("reject", "reject")):
        deciding = sub.add_parser(name, help=f"{verb} a workflow waiting for approval")
        deciding.add_argument("workflow_id", metavar="ID")
        deciding.add_argument(
            "--as",
            dest="approver",
            help="who decides: a key in ORCH_IDENTITY_KEYS_FILE (default ORCH_IDENTITY); "
            "the decision is signed with it",
        )
        deciding.add_argument("--comment", default="", help="why")
        deciding.add_argument(
            "--step", help="declarative workflows: which pending approval (its step path)"
        )
        output.add_options(deciding)
        deciding.set_defaults(handler=with_client(decide))

    status_parser = sub.add_parser("status", help="where a workflow is and why")
    status_parser.add_argument("workflow_id", metavar="ID")
    output.add_options(status_parser)
    status_parser.set_defaults(handler=with_client(status))


def start_request(
    args: argparse.Namespace, settings: Settings
) -> starting.Prepared[GovernedRequest]:
    """What `start` starts and the key that signs it; all of it checked before connecting,
    so bad input is named even while Temporal is down."""
    requester = starting.requester_of(args.requester, settings)
    request = GovernedRequest(
        task=args.task,
        requester=requester,
        parameters=parameters(args.param),
        kind=args.kind,
        approval_timeout_seconds=duration_seconds(
            args.approval_timeout, "--approval-timeout", positive=True
        ),
        on_policy_unavailable=args.on_policy_unavailable,
        policy_budget_seconds=duration_seconds(
            args.policy_budget, "--policy-budget", positive=True
        ),
    )
    problems = request.problems()
    if problems:
        raise CliError("invalid request: " + "; ".join(problems))
    # Before any id is chosen: an identity that may not ask for this starts nothing.
    return starting.Prepared(request, starting.signing_key(settings, requester))


async def start_prepared(
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    prepared: starting.Prepared[GovernedRequest],
) -> int:
    workflow_id = args.id or f"governed-{uuid.uuid4().hex[:12]}"
    return await starting.start_and_report(
        args, settings, client, prepared, workflow_id, render.outcome
    )


async def decide(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    handle = client.get_workflow_handle(args.workflow_id)
    kind = args.command
    subject = args.approver or settings.identity
    if not subject:
        raise UsageError(
            f"Say who {kind}s: set ORCH_IDENTITY or pass --as NAME (a key in "
            f"{settings.identity_keys_file})."
        )
    try:
        key = Keyring.load(settings.identity_keys_file).key(subject)
    except IdentityError as error:
        raise UsageError(str(error)) from None
    try:
        # A closed workflow waits for nothing. Asked first, because the status query a
        # decision starts with would need a worker to replay it, and the update's own
        # answer ("workflow execution already completed") reads like a missing workflow.
        description = await _refuse_closed(handle, kind)
        await require_worker(client, description.task_queue)
        receipt = await send_decision(handle, kind, key, subject, args.comment, args.step)
    except ApprovalAmbiguous as error:
        raise CliError(f"{kind} refused: {error}", code="refused") from None
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise CliError(f"{kind} refused: {message}", code="refused") from None
    except WorkflowQueryFailedError as error:
        raise CliError(
            f"{kind} refused: {args.workflow_id}: status query failed: {error}", code="refused"
        ) from None
    except RPCError as error:
        if _already_closed(error):  # it closed between the check and the update
            raise CliError(
                f"workflow {args.workflow_id} has already finished; there is nothing to {kind}.",
                code="closed",
            ) from None
        raise _rpc_error(error, args.workflow_id) from None
    verb = "approved" if kind == APPROVE else "rejected"
    progress = (
        f", {receipt.approvals} of {receipt.quorum} approvals"
        if kind == APPROVE and receipt.quorum > 1
        else ""
    )
    output.emit(
        args,
        asdict(receipt),
        f"{args.workflow_id}: {verb} by {receipt.approver} "
        f"(decision {receipt.decision_id}{progress})",
    )
    return 0


async def _refuse_closed(
    handle: WorkflowHandle[Any, Any], kind: str
) -> WorkflowExecutionDescription:
    """The run's description; CliError when it has finished: nothing waits any more."""
    description = await handle.describe()
    status = description.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return description
    closed = (
        f", closed {description.close_time.isoformat(timespec='seconds')}"
        if description.close_time
        else ""
    )
    raise CliError(
        f"workflow {handle.id} has already finished (status {status.name}{closed}); "
        f"there is nothing to {kind}.",
        code="closed",
    )


def _already_closed(error: RPCError) -> bool:
    # What Temporal answers for an update to a closed workflow (the API's 409
    # workflow_closed, orchestrator/api/errors.py, tells it apart the same way).
    # An update on its way while the workflow closed (another decision ended it at the
    # same moment) is aborted: it never reached the workflow and did not count.
    if "aborted by closing workflow" in error.message:
        return True
    return error.status == RPCStatusCode.NOT_FOUND and "already completed" in error.message


async def status(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """Governed and declarative workflows answer different `status` queries; one describe
    tells which, and the same code reports both. A governed run's task is read from its
    start input (the query does not repeat it)."""
    handle = client.get_workflow_handle(args.workflow_id)
    try:
        description = await handle.describe()
        await require_worker(client, description.task_queue)
        declarative = description.workflow_type == DECLARATIVE_WORKFLOW
        status_type = DeclarativeStatus if declarative else GovernedStatus
        current = await handle.query(STATUS_QUERY, result_type=status_type)
    except RPCError as error:
        raise _rpc_error(error, args.workflow_id) from None
    except WorkflowQueryFailedError as error:
        raise CliError(f"{args.workflow_id}: status query failed: {error}") from None
    task = {}
    if not declarative:
        request = await start_input(client, args.workflow_id, description.run_id)
        task = {"task": request.get("task")}
    info = {
        "workflow_id": args.workflow_id,
        "run_id": description.run_id,
        "execution_status": description.status.name if description.status else "UNKNOWN",
        **task,
        **asdict(current),
        "temporal_ui": settings.workflow_link(args.workflow_id),
    }
    renderer = definitions.render_status if declarative else render.status
    output.emit(args, info, lambda: renderer(info))
    return 0


def _rpc_error(error: RPCError, workflow_id: str) -> CliError:
    if error.status == RPCStatusCode.NOT_FOUND:
        return CliError(f"no workflow with id {workflow_id!r}.", code="not_found")
    return CliError(f"Temporal refused the call for {workflow_id}: {error.message}")
