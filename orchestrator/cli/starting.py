"""Starting a workflow from the CLI: signed for its id, and one line when Temporal refuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orchestrator import starts
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.config import Settings
from orchestrator.policy.identity import IdentityError, IdentityKey
from orchestrator.starts import Startable

Result = TypeVar("Result")


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


def signed_request(request: Startable, key: IdentityKey, workflow_id: str) -> Startable:
    """`request` with its start credential for `workflow_id`.

    The digest is canonical JSON, which has no NaN and no lone surrogate: validation
    refuses those first, and should one slip through it is one line here, not a traceback.
    """
    try:
        return starts.signed(request, key, workflow_id)
    except ValueError as error:  # UnicodeEncodeError is one
        raise CliError(f"cannot sign the request for {workflow_id}: {error}") from None


async def start_signed(
    client: Client,
    workflow: str,
    request: Any,
    workflow_id: str,
    settings: Settings,
    result_type: type[Result],
) -> WorkflowHandle[Any, Result]:
    """Start the workflow; a taken id or a refusal from Temporal is one line, exit 1."""
    try:
        return await client.start_workflow(
            workflow,
            request,
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            result_type=result_type,
        )
    except WorkflowAlreadyStartedError:
        raise CliError(
            f"a workflow with id {workflow_id!r} is already running; choose another --id."
        ) from None
    except RPCError as error:
        raise CliError(f"Temporal refused to start {workflow_id}: {error.message}") from None
