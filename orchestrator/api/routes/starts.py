"""The routes that start workflows: a governed task, an event its mapping turns into one,
and a declarative definition. Each start is signed for its requester and bound to its id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.types import DecoratedCallable
from opentelemetry import trace
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orchestrator import starts
from orchestrator.api.body import JsonBodyRoute
from orchestrator.api.config import EVENT_NAME_PATTERN, EventFieldError
from orchestrator.api.dependencies import Caller, api_key, state
from orchestrator.api.errors import ApiError, documented, rpc_error
from orchestrator.api.idempotency import (
    FINGERPRINT_MEMO,
    IdempotencyKey,
    duplicate,
    fingerprint_of,
    workflow_id_for,
)
from orchestrator.api.models import DefinitionRun, EventBody, Started, StartWorkflow
from orchestrator.declarative import validate as declarative_validate
from orchestrator.declarative.model import DeclarativeRequest
from orchestrator.governed.model import GovernedRequest
from orchestrator.policy.identity import IdentityError
from orchestrator.starts import Startable
from orchestrator.vocabulary import trace_id_text

MAX_PROBLEMS_SHOWN = 10
DUPLICATE = {"model": Started, "description": "Duplicate: this Idempotency-Key's workflow."}

# Every /v1 route with a body checks it before FastAPI parses it (415, 400, 422).
router = APIRouter(prefix="/v1", route_class=JsonBodyRoute)


def _start_route(
    path: str, summary: str, errors: tuple[int, ...]
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """POST `path`: 202 with what it started, 200 for a repeated Idempotency-Key, or one
    of the `errors` statuses."""
    return router.post(
        path,
        status_code=202,
        response_model=Started,
        summary=summary,
        responses={200: DUPLICATE, **documented(*errors)},
    )


def _current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace_id_text(context.trace_id) if context.is_valid else None


def _check(request: GovernedRequest, field_prefix: str) -> None:
    problems = [f"{field_prefix}.{problem}" for problem in request.problems()]
    if problems:
        field, _, _ = problems[0].partition(":")
        raise ApiError(422, "validation_error", "; ".join(problems), field=field)


async def _start(
    request: Request,
    response: Response,
    unsigned: Startable,
    *,
    workflow_id: str,
    idempotent: bool,
    fingerprint: str,
    memo: dict[str, Any],
) -> Started:
    settings, _, temporal = state(request)
    client = await temporal.client()
    try:
        # Signed once the id is chosen: the credential is bound to it. The fingerprint
        # is the body's, since the credential (nonce, time) differs on every call.
        handle = await starts.start(
            client,
            unsigned,
            api_key(settings, "Starts"),
            workflow_id,
            task_queue=settings.temporal.task_queue,
            memo={**memo, FINGERPRINT_MEMO: fingerprint},
            # With a key, the id stays taken after the run ends: a late redelivery of the
            # same event must not run the work a second time.
            reject_duplicate=idempotent,
        )
    except IdentityError as error:
        raise ApiError(503, "unavailable", f"The API may not sign this start: {error}") from None
    except WorkflowAlreadyStartedError as already:
        response.status_code = 200
        return await duplicate(client, settings, workflow_id, fingerprint, already)
    except RPCError as error:
        raise rpc_error(error, settings) from None
    response.status_code = 202
    return Started(
        workflow_id=workflow_id,
        run_id=handle.result_run_id,
        duplicate=False,
        trace_id=_current_trace_id(),
        status_url=f"/v1/workflows/{workflow_id}",
        temporal_ui=settings.workflow_link(workflow_id),
    )


@_start_route(
    "/workflows",
    "Start a governed workflow",
    errors=(400, 401, 409, 413, 415, 422, 429, 503),
)
async def start_workflow(
    body: StartWorkflow,
    request: Request,
    response: Response,
    identity: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    """The caller is the requester. The workflow's first step is the policy gate; a task
    that needs approval waits for one (see /v1/approvals/pending)."""
    governed = GovernedRequest(
        task=body.task,
        requester=identity,
        parameters=dict(body.parameters),
        kind=body.kind,
        # A float, as the worker decodes it: the start credential signs the canonical
        # JSON, where 86400 and 86400.0 differ (pydantic leaves an int default as is).
        approval_timeout_seconds=float(body.approval_timeout_seconds),
    )
    _check(governed, "body")
    return await _start(
        request,
        response,
        governed,
        workflow_id=workflow_id_for("api", identity, "workflows", idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=fingerprint_of("workflows", body.model_dump()),
        memo={"started_via": "api", "caller": identity},
    )


@_start_route(
    "/events/{name}",
    "Deliver an event; its mapping starts a governed workflow",
    errors=(400, 401, 404, 409, 413, 415, 422, 429, 503),
)
async def deliver_event(
    name: Annotated[str, Path(pattern=EVENT_NAME_PATTERN.pattern)],
    body: EventBody,
    request: Request,
    response: Response,
    identity: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    """Mappings (API config file, `events`) turn the event's fields into a governed task.
    Send an Idempotency-Key with every event: a redelivery then starts nothing new."""
    _, config, _ = state(request)
    mapping = config.events.get(name)
    if mapping is None:
        known = ", ".join(sorted(config.events)) or "none configured"
        raise ApiError(
            404,
            "unknown_event",
            f"No mapping for event {name!r} (known: {known}).",
            field="path.name",
        )
    try:
        governed = mapping.request(body.root, identity)
    except EventFieldError as missing:
        raise ApiError(422, "validation_error", str(missing), field=missing.field) from None
    _check(governed, "body")
    return await _start(
        request,
        response,
        governed,
        workflow_id=workflow_id_for("evt", identity, name, idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=fingerprint_of("event", name, body.root),
        memo={"started_via": "api", "caller": identity, "event": name},
    )


@_start_route(
    "/definitions/runs",
    "Run a declarative workflow definition (the document inline, as JSON)",
    errors=(400, 401, 409, 413, 415, 422, 429, 503),
)
async def run_definition(
    body: DefinitionRun,
    request: Request,
    response: Response,
    identity: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    """The definition is validated first (nothing starts when it has a problem); the caller
    is the requester, and OPA decides every step (step.execute) as it runs."""
    found = declarative_validate.problems(body.definition, source="api")
    if found:
        first = found[0]
        shown = declarative_validate.summarize(found, MAX_PROBLEMS_SHOWN)
        raise ApiError(
            422,
            "invalid_definition",
            f"{len(found)} problem(s) in the definition: {shown}",
            field="body.definition" + (f".{first.path}" if first.path else ""),
        )
    return await _start(
        request,
        response,
        DeclarativeRequest(definition=body.definition, requester=identity, source="api"),
        workflow_id=workflow_id_for("def", identity, "definitions", idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=fingerprint_of("definition", body.definition),
        memo={"started_via": "api", "caller": identity},
    )
