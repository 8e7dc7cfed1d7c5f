"""Starting a workflow from the CLI: who asks, the key that signs it, one line when refused."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orchestrator import starts
from orchestrator.cli import output, progress, render
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.config import Settings
from orchestrator.policy.identity import IdentityError, IdentityKey
from orchestrator.starts import Startable
from orchestrator.vocabulary import trace_id_text


@dataclass(frozen=True)
class Prepared(Generic[Startable]):
    """A checked request and the key to sign it with, once its workflow id is chosen."""

    request: Startable
    key: IdentityKey


def signing_key(settings: Settings, requester: str) -> IdentityKey:
    """The key this CLI signs `requester`'s start with (ORCH_IDENTITY's, else the
    requester's); a usage error (exit 2) naming what is missing or not allowed."""
    try:
        return starts.signing_key(settings.identity_keys_file, settings.identity, requester)
    except IdentityError as error:
        raise UsageError(str(error)) from None


def requester_of(requester: str | None, settings: Settings) -> str:
    """--requester, else the configured identity: who asks must be said one way or the other."""
    chosen = requester or settings.identity
    if not chosen:
        raise UsageError(
            "Say who asks: pass --requester NAME or set ORCH_IDENTITY (a key in "
            f"{settings.identity_keys_file})."
        )
    return chosen


async def start(
    client: Client, prepared: Prepared[Startable], workflow_id: str, settings: Settings
) -> WorkflowHandle[Any, Any]:
    """Sign the request for `workflow_id` and start it; a request that cannot be signed, a
    taken id or a refusal from Temporal is one line, exit 1.

    The digest is canonical JSON, which has no NaN and no lone surrogate: validation
    refuses those first, and should one slip through it is one line here, not a traceback.
    """
    try:
        return await starts.start(
            client,
            prepared.request,
            prepared.key,
            workflow_id,
            task_queue=settings.temporal.task_queue,
        )
    except WorkflowAlreadyStartedError:
        raise CliError(
            f"a workflow with id {workflow_id!r} is already running; choose another --id.",
            code="already_started",
        ) from None
    except RPCError as error:
        raise CliError(f"Temporal refused to start {workflow_id}: {error.message}") from None
    except ValueError as error:  # UnicodeEncodeError is one
        raise CliError(f"cannot sign the request for {workflow_id}: {error}") from None


async def start_and_report(
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    prepared: Prepared[Startable],
    workflow_id: str,
    render_outcome: Callable[[dict[str, Any]], str],
    **named: str,
) -> int:
    """`start` and `run`: start the run, say where it is; with --wait, wait for its outcome
    (exit 1 unless it completed). `named` adds fields after the run id (a definition's
    name)."""
    handle = await start(client, prepared, workflow_id, settings)
    started = {
        "workflow_id": workflow_id,
        "run_id": handle.result_run_id,
        **named,
        "trace_id": trace_id_text(trace.get_current_span().get_span_context().trace_id),
        "temporal_ui": settings.workflow_link(workflow_id),
    }
    if not args.wait:
        output.emit(args, started, lambda: render.started(started))
        return 0
    if not output.machine(args):
        print(render.started(started), flush=True)
    # Progress of a pending approval goes to stderr, so stdout stays the one answer.
    outcome = await progress.while_waiting(client, handle, starts.outcome(handle))
    if outcome["outcome"] != "completed":
        message = f"workflow {outcome['outcome']}: {outcome.get('message', '')}"
        trace.get_current_span().set_status(Status(StatusCode.ERROR, message))
    output.emit(args, {**started, **outcome}, lambda: render_outcome(outcome))
    return 0 if outcome["outcome"] == "completed" else 1
