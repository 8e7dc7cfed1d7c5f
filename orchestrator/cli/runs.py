"""What each CLI command does, against Temporal (and Jaeger for `trace`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import uuid
from dataclasses import asdict
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import worker as worker_process
from orchestrator.approvals.client import ApprovalAmbiguous, send_decision
from orchestrator.approvals.gate import APPROVE
from orchestrator.cli import audit, definitions, policy, render, schedule, starting
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds, parameters
from orchestrator.codec.codec import CodecError, EncryptionCodec, KeyRing
from orchestrator.codec.server import make_server
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.declarative.model import DeclarativeStatus
from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW
from orchestrator.governed.model import GovernedRequest, GovernedResult, GovernedStatus
from orchestrator.governed.workflow import WORKFLOW_NAME
from orchestrator.policy.identity import IdentityError, Keyring
from orchestrator.vocabulary import OUTCOME_BY_ERROR_TYPE, trace_id_text
from telemetry.logs import setup_logging
from telemetry.tracing import setup_tracing

tracer = trace.get_tracer("orchestrator.cli")


def worker(settings: Settings) -> None:
    setup_logging("orchestrator-worker", settings.log_level)
    tracing = setup_tracing("orchestrator-worker")
    try:
        worker_process.main(settings)
    finally:
        tracing.shutdown()


def codec_server(args: argparse.Namespace, settings: Settings) -> int:
    if settings.temporal.encryption_keys_file is None:
        raise CodecError("set ORCH_ENCRYPTION_KEYS_FILE: the codec server needs the keys.")
    tokens = [t.strip() for t in os.environ.get("ORCH_CODEC_TOKENS", "").split(",") if t.strip()]
    codec = EncryptionCodec(KeyRing.load(settings.temporal.encryption_keys_file))
    server = make_server(codec, tokens, args.host, args.port, settings.temporal.ui_url)
    print(f"codec server on http://{args.host}:{args.port} (POST /decode, /encode)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one client command inside its own span, flushed before the process exits."""
    setup_logging("orchestrator-cli", "WARNING")
    tracing = setup_tracing("orchestrator-cli")
    try:
        with tracer.start_as_current_span(f"orchestrator {args.command}") as span:
            if args.command == "trace":
                from orchestrator.cli.trace import show_trace

                return await show_trace(args, settings, await _client(settings))
            # Checked before connecting: bad input is a usage error even when Temporal is down.
            if args.command in ("start", "run"):
                return await _start_command(args, settings, span)
            client = await _client(settings)
            handler = {
                "audit": audit.audit,
                "history": audit.history,
                "schedule": schedule.handle,
                "policy": policy.handle,
                "approve": decide,
                "reject": decide,
                "status": status,
                "list": list_workflows,
            }[args.command]
            try:
                return await handler(args, settings, client)
            except CliError as error:
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise
    finally:
        tracing.shutdown()


async def _start_command(args: argparse.Namespace, settings: Settings, span: Span) -> int:
    """`start` and `run`: the input is checked before connecting, so bad input is a usage
    error (or a refusal) that names itself even while Temporal is down."""
    try:
        if args.command == "start":
            governed = start_request(args, settings)
            return await start_prepared(args, settings, await _client(settings), governed)
        declarative = definitions.prepare(args, settings)
        return await definitions.run_prepared(args, settings, await _client(settings), declarative)
    except CliError as error:
        span.set_status(Status(StatusCode.ERROR, str(error)))
        raise


async def _client(settings: Settings) -> Client:
    try:
        return await connect(settings.temporal)
    except RuntimeError as error:
        raise CliError(
            f"cannot reach Temporal at {settings.temporal.address} ({error}); "
            "is the stack up? (`make up`)"
        ) from None


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
    handle = await starting.start_signed(
        client,
        WORKFLOW_NAME,
        starting.signed_request(prepared.request, prepared.key, workflow_id),
        workflow_id,
        settings,
        GovernedResult,
    )
    trace_id = trace_id_text(trace.get_current_span().get_span_context().trace_id)
    started = {
        "workflow_id": workflow_id,
        "run_id": handle.result_run_id,
        "trace_id": trace_id,
        "temporal_ui": settings.workflow_link(workflow_id),
    }
    if not args.wait:
        print(json.dumps(started, indent=2) if args.json else render.started(started))
        return 0
    if not args.json:
        print(render.started(started))
    outcome = await wait_for_outcome(handle)
    if outcome["outcome"] != "completed":
        message = f"workflow {outcome['outcome']}: {outcome.get('message', '')}"
        trace.get_current_span().set_status(Status(StatusCode.ERROR, message))
    print(json.dumps({**started, **outcome}, indent=2) if args.json else render.outcome(outcome))
    return 0 if outcome["outcome"] == "completed" else 1


async def wait_for_outcome(handle: WorkflowHandle[Any, GovernedResult]) -> dict[str, Any]:
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        return failure_outcome(failure)
    return {"outcome": "completed", "result": asdict(result)}


def failure_outcome(failure: WorkflowFailureError) -> dict[str, Any]:
    cause = failure.cause
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        if cause.cause is None:
            break
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        details = list(cause.details) if cause.details else []
        first = details[0] if details and isinstance(details[0], dict) else {}
        return {
            "outcome": OUTCOME_BY_ERROR_TYPE.get(cause.type or "", "failed"),
            "error_type": cause.type,
            "message": cause.message,
            "reasons": first.get("reasons", []),
            "decision_id": first.get("decision_id", ""),
        }
    return {"outcome": "failed", "error_type": type(cause).__name__, "message": str(cause)}


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
        await _refuse_closed(handle, kind)
        receipt = await send_decision(handle, kind, key, subject, args.comment, args.step)
    except ApprovalAmbiguous as error:
        raise CliError(f"{kind} refused: {error}") from None
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise CliError(f"{kind} refused: {message}") from None
    except WorkflowQueryFailedError as error:
        raise CliError(
            f"{kind} refused: {args.workflow_id}: status query failed: {error}"
        ) from None
    except RPCError as error:
        if _already_closed(error):  # it closed between the check and the update
            raise CliError(
                f"workflow {args.workflow_id} has already finished; there is nothing to {kind}."
            ) from None
        raise CliError(_rpc_message(error, args.workflow_id)) from None
    if args.json:
        print(json.dumps(asdict(receipt), indent=2))
    else:
        verb = "approved" if kind == APPROVE else "rejected"
        progress = (
            f", {receipt.approvals} of {receipt.quorum} approvals"
            if kind == APPROVE and receipt.quorum > 1
            else ""
        )
        print(
            f"{args.workflow_id}: {verb} by {receipt.approver} "
            f"(decision {receipt.decision_id}{progress})"
        )
    return 0


async def _refuse_closed(handle: WorkflowHandle[Any, Any], kind: str) -> None:
    """CliError when the workflow has finished: nothing waits for a decision any more."""
    description = await handle.describe()
    status = description.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return
    closed = (
        f", closed {description.close_time.isoformat(timespec='seconds')}"
        if description.close_time
        else ""
    )
    raise CliError(
        f"workflow {handle.id} has already finished (status {status.name}{closed}); "
        f"there is nothing to {kind}."
    )


def _already_closed(error: RPCError) -> bool:
    # What Temporal answers for an update to a closed workflow (the API's 409
    # workflow_closed, orchestrator/api/app.py, tells it apart the same way).
    return error.status == RPCStatusCode.NOT_FOUND and "already completed" in error.message


async def status(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """Governed and declarative workflows answer different `status` queries; one describe
    tells which, and the same code reports both."""
    handle = client.get_workflow_handle(args.workflow_id)
    try:
        description = await handle.describe()
        declarative = description.workflow_type == DECLARATIVE_WORKFLOW
        status_type = DeclarativeStatus if declarative else GovernedStatus
        current = await handle.query("status", result_type=status_type)
    except RPCError as error:
        raise CliError(_rpc_message(error, args.workflow_id)) from None
    except WorkflowQueryFailedError as error:
        raise CliError(f"{args.workflow_id}: status query failed: {error}") from None
    info = {
        "workflow_id": args.workflow_id,
        "run_id": description.run_id,
        "execution_status": description.status.name if description.status else "UNKNOWN",
        **asdict(current),
        "temporal_ui": settings.workflow_link(args.workflow_id),
    }
    renderer = definitions.render_status if declarative else render.status
    print(json.dumps(info, indent=2) if args.json else renderer(info))
    return 0


async def list_workflows(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    query = f"WorkflowType IN ('{WORKFLOW_NAME}', '{DECLARATIVE_WORKFLOW}')"
    if args.pending:
        query += " AND ApprovalStatus = 'pending' AND ExecutionStatus = 'Running'"
    rows = []
    async for execution in client.list_workflows(query, limit=args.limit):
        attributes = execution.typed_search_attributes
        rows.append(
            {
                "workflow_id": execution.id,
                "status": execution.status.name if execution.status else "UNKNOWN",
                "started": execution.start_time.isoformat(timespec="seconds"),
                **{key.name: attributes.get(key) for key in render.LIST_ATTRIBUTES},
            }
        )
    print(json.dumps(rows, indent=2) if args.json else render.table(rows))
    return 0


def _rpc_message(error: RPCError, workflow_id: str) -> str:
    if error.status == RPCStatusCode.NOT_FOUND:
        return f"no workflow with id {workflow_id!r}."
    return f"Temporal refused the call for {workflow_id}: {error.message}"
