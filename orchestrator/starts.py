"""The one way to start a governed run or a definition, and to read how it ended.

The CLI, the API, schedules, the demo and the benchmarks start work here: signed for its
workflow id, on the configured task queue, with its outcome read back in one shape.

Signing what is started: the requester of every run is an identity a key proves.

The CLI signs with the key of its configured identity (ORCH_IDENTITY, else the requester
itself), the API with its own `api` key on behalf of the caller its bearer token
authenticated (or of the service account an event mapping names), schedules with the
creator's key for every run of the schedule. The worker verifies the credential before
each policy decision; OPA refuses work whose requester nothing proves, and decides who
may start work on whose behalf.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError

from orchestrator.declarative.model import DeclarativeRequest, DeclarativeResult
from orchestrator.governed.model import GovernedRequest, GovernedResult
from orchestrator.policy.identity import IdentityError, IdentityKey, Keyring, sign_start
from orchestrator.vocabulary import DECLARATIVE_WORKFLOW, GOVERNED_WORKFLOW, OUTCOME_BY_ERROR_TYPE

Startable = TypeVar("Startable", GovernedRequest, DeclarativeRequest)


def signed(
    request: Startable,
    key: IdentityKey,
    workflow_id: str,
    *,
    schedule_id: str | None = None,
    now: datetime | None = None,
) -> Startable:
    """The request with a start credential for `workflow_id` (or every run of a schedule).

    `now` is the signing time (default: the clock's); the time-skipping test server runs
    ahead of it. Raises IdentityError when the key may not sign for the request's requester.
    """
    credential = sign_start(
        key, request.requester, workflow_id, request.start_digest(), now, schedule_id=schedule_id
    )
    return replace(request, credential=credential)


def signing_key(keys_file: Path, identity: str | None, requester: str) -> IdentityKey:
    """The key the CLI signs a start with: its configured identity's, else the requester's.

    Raises IdentityError naming what is missing, or that this identity may not start work
    as someone else.
    """
    signer = identity or requester
    key = Keyring.load(keys_file).key(signer)
    if key.name != requester and not key.asserts_any_subject:
        raise IdentityError(
            f"You are {signer} (ORCH_IDENTITY) and may start work only as yourself, not as "
            f"{requester}: drop --requester or set it to {signer}."
        )
    return key


async def start(
    client: Client,
    request: Startable,
    key: IdentityKey,
    workflow_id: str,
    *,
    task_queue: str,
    memo: dict[str, Any] | None = None,
    reject_duplicate: bool = False,
) -> WorkflowHandle[Any, Any]:
    """Sign `request` for `workflow_id` and start the workflow that runs it.

    `reject_duplicate` keeps the id taken after the run ends (an idempotency key's run).
    Raises IdentityError or ValueError (signing), WorkflowAlreadyStartedError or RPCError
    (Temporal): each caller words them for its own user.
    """
    governed = isinstance(request, GovernedRequest)
    workflow = GOVERNED_WORKFLOW if governed else DECLARATIVE_WORKFLOW
    result_type: type[Any] = GovernedResult if governed else DeclarativeResult
    return await client.start_workflow(
        workflow,
        signed(request, key, workflow_id),
        id=workflow_id,
        task_queue=task_queue,
        result_type=result_type,
        memo=memo,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
        if reject_duplicate
        else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def outcome(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Wait for the run and say how it ended: completed with its result, or why not."""
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        return failure_outcome(failure)
    return {"outcome": "completed", "result": asdict(result)}


def failure_outcome(failure: WorkflowFailureError) -> dict[str, Any]:
    """A failed run as an outcome: its ApplicationError's type mapped to what a person
    reads (denied, rejected, expired, invalid; else failed), its message, and the policy's
    reasons and decision id, or the problems of an invalid request or definition."""
    cause = failure.cause
    # An activity or child failure wraps the ApplicationError that names what happened.
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        if cause.cause is None:
            break
        cause = cause.cause
    if not isinstance(cause, ApplicationError):
        return {"outcome": "failed", "error_type": type(cause).__name__, "message": str(cause)}
    details = list(cause.details) if cause.details else []
    first = details[0] if details else {}
    decision = first if isinstance(first, dict) else {}
    found: dict[str, Any] = {
        "outcome": OUTCOME_BY_ERROR_TYPE.get(cause.type or "", "failed"),
        "error_type": cause.type,
        "message": cause.message,
        "reasons": decision.get("reasons", []),
        "decision_id": decision.get("decision_id", ""),
    }
    if isinstance(first, list):
        found["problems"] = first
    return found
