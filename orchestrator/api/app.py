"""The HTTP API: start, decide and inspect governed workflows; turn events into starts.

Every `/v1` route needs a bearer token; its identity is the requester of what the caller
starts and the approver of what the caller decides, so OPA's rules (separation of duties
included) judge the real caller. An incoming W3C `traceparent` is continued: the request's
server span is current while the workflow is started, and Temporal's tracing interceptor
carries it into the workflow, whose TraceId search attribute then names the caller's trace.

Every start carries a start credential the API signs with its own `api` key for the
requester (the caller, or an event mapping's service account), bound to the workflow id:
the worker verifies it before OPA decides, so a start that did not come through here (or
the CLI) proves no requester. Wrong bearer tokens are limited per client address
(orchestrator/api/auth.py), and bodies are checked before FastAPI parses them
(orchestrator/api/body.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import __version__, starts
from orchestrator.api import errors
from orchestrator.api.auth import FailedAuthLimiter, client_key
from orchestrator.api.body import JsonBodyRoute
from orchestrator.api.config import ApiConfig, EventFieldError
from orchestrator.api.errors import BEARER_CHALLENGE, ApiError
from orchestrator.api.limits import BodyLimit
from orchestrator.api.models import (
    Decision,
    DefinitionRun,
    ErrorResponse,
    EventBody,
    Health,
    PendingApproval,
    PendingApprovals,
    Receipt,
    Started,
    StartWorkflow,
    WorkflowStatus,
)
from orchestrator.approvals.client import ApprovalAmbiguous, send_decision
from orchestrator.approvals.gate import ALREADY_DECIDED, APPROVE, REJECT
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.declarative import validate as declarative_validate
from orchestrator.declarative.model import DeclarativeRequest
from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW
from orchestrator.governed.model import GovernedRequest
from orchestrator.governed.workflow import WORKFLOW_NAME
from orchestrator.policy.identity import API_ISSUER, IdentityError, IdentityKey, Keyring
from orchestrator.starts import Startable
from orchestrator.vocabulary import (
    APPROVAL_STATUS,
    POLICY_DECISION,
    REQUESTER,
    TRACE_ID,
    trace_id_text,
)

WORKFLOW_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@=+-]{0,254}$"
EVENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
CONNECT_TIMEOUT = 10.0
DECISION_TIMEOUT = 30.0
QUERY_TIMEOUT = timedelta(seconds=5)
FINGERPRINT_MEMO = "api_request_sha256"
MAX_PROBLEMS_SHOWN = 10

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="opaque token",
    description="A token configured in ORCH_API_TOKENS or the API config file; its identity "
    "is the requester of what you start and the approver of what you decide.",
)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "The body is not valid JSON.",
        401: "No or an unknown bearer token.",
        403: "The policy refused it; `reasons` says why.",
        404: "No such workflow or event.",
        409: "Not possible in the workflow's current state, or an Idempotency-Key reused "
        "with a different body.",
        413: "The body is over the size limit.",
        415: "A body was sent without a JSON media type (send application/json).",
        422: "The input is invalid; `field` names it.",
        429: "Too many wrong bearer tokens from this address: wait `Retry-After` seconds.",
        503: "Temporal is not reachable, or the API's signing key is not configured.",
        504: "The workflow did not take the decision in time.",
    }
    return {code: {"model": ErrorResponse, "description": described[code]} for code in codes}


# --- Temporal access ---------------------------------------------------------------------


class Temporal:
    """One client for the app, connected on first use (the API starts even when Temporal
    is down; readiness says so)."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self.settings.temporal), CONNECT_TIMEOUT
                    )
                except (RuntimeError, OSError, TimeoutError):
                    raise unavailable(self.settings) from None
        return self._client

    async def ready(self) -> bool:
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=timedelta(seconds=2))
        except (ApiError, RPCError, RuntimeError, TimeoutError):
            return False


def unavailable(settings: Settings) -> ApiError:
    return ApiError(
        503,
        "temporal_unavailable",
        f"Temporal at {settings.temporal.address} is not reachable; try again shortly.",
        headers={"Retry-After": "5"},
    )


def rpc_error(error: RPCError, settings: Settings, workflow_id: str | None = None) -> ApiError:
    if error.status == RPCStatusCode.NOT_FOUND and workflow_id:
        if "already completed" in error.message:
            return ApiError(
                409,
                "workflow_closed",
                f"Workflow {workflow_id} has already finished.",
                workflow_id=workflow_id,
            )
        return ApiError(404, "not_found", f"No workflow with id {workflow_id!r}.")
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return unavailable(settings)
    if error.status == RPCStatusCode.INVALID_ARGUMENT:
        return ApiError(422, "validation_error", f"Temporal refused it: {error.message}")
    return ApiError(502, "temporal_error", f"Temporal refused the call: {error.message}")


# --- dependencies ------------------------------------------------------------------------


def _state(request: Request) -> tuple[Settings, ApiConfig, Temporal]:
    state = request.app.state
    return state.settings, state.api_config, state.temporal


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The caller's identity from its bearer token, or 401 with a Bearer challenge; 429
    while the client's address is refused for sending too many wrong tokens."""
    _, config, _ = _state(request)
    limiter: FailedAuthLimiter = request.app.state.auth_limiter
    address = client_key(request.client.host if request.client else None)
    # Checked before the token: a refused address must not learn whether a guess is right.
    wait = limiter.retry_after(address)
    if wait is not None:
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many wrong bearer tokens from your address: try again in {wait}s.",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "A bearer token is required: send `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    identity = config.identify(credentials.credentials)
    if identity is None:
        limiter.failed(address)
        raise ApiError(
            401,
            "unauthorized",
            "The bearer token is not valid.",
            headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
        )
    return identity


Caller = Annotated[str, Depends(caller)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Repeat a request with the same key and it starts nothing new: the answer "
        'names the workflow the first one started, with "duplicate": true.',
    ),
]
WorkflowId = Annotated[str, Path(pattern=WORKFLOW_ID_PATTERN, description="A workflow id.")]


# --- starting ----------------------------------------------------------------------------


def _current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace_id_text(context.trace_id) if context.is_valid else None


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def workflow_id_for(prefix: str, caller: str, scope: str, key: str | None) -> str:
    """`<prefix>-<sha256(caller, scope, key)[:24]>` for a key (the same key, the same id);
    `<prefix>-<random>` without one. Keys are per caller: two callers never collide."""
    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:24]}"
    digest = hashlib.sha256(f"{caller}\n{scope}\n{key}".encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"


def _check(request: GovernedRequest, field_prefix: str) -> None:
    problems = [f"{field_prefix}.{problem}" for problem in request.problems()]
    if problems:
        field, _, _ = problems[0].partition(":")
        raise ApiError(422, "validation_error", "; ".join(problems), field=field)


def _api_key(settings: Settings, what: str) -> IdentityKey:
    """The key the API signs with for the callers it authenticated; 503 without one."""
    try:
        return Keyring.load(settings.identity_keys_file).key(API_ISSUER)
    except IdentityError as error:
        raise ApiError(
            503, "unavailable", f"{what} through the API are not configured: {error}"
        ) from None


async def _start(
    request: Request,
    response: Response,
    workflow_name: str,
    unsigned: Startable,
    *,
    workflow_id: str,
    idempotent: bool,
    fingerprint: str,
    memo: dict[str, Any],
) -> Started:
    settings, _, temporal = _state(request)
    client = await temporal.client()
    try:
        # Signed once the id is chosen: the credential is bound to it. The fingerprint
        # is the body's, since the credential (nonce, time) differs on every call.
        argument = starts.signed(unsigned, _api_key(settings, "Starts"), workflow_id)
    except IdentityError as error:
        raise ApiError(503, "unavailable", f"The API may not sign this start: {error}") from None
    try:
        handle = await client.start_workflow(
            workflow_name,
            argument,
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            memo={**memo, FINGERPRINT_MEMO: fingerprint},
            # With a key, the id stays taken after the run ends: a late redelivery of the
            # same event must not run the work a second time.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
            if idempotent
            else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
    except WorkflowAlreadyStartedError as already:
        response.status_code = 200
        return await _duplicate(client, settings, workflow_id, fingerprint, already)
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


async def _duplicate(
    client: Client,
    settings: Settings,
    workflow_id: str,
    fingerprint: str,
    already: WorkflowAlreadyStartedError,
) -> Started:
    trace_id = None
    run_id = already.first_run_id or already.run_id
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
        earlier = await description.memo_value(FINGERPRINT_MEMO, None)
        trace_id = description.typed_search_attributes.get(TRACE_ID)
        run_id = run_id or description.run_id
    except RPCError:
        earlier = fingerprint  # gone meanwhile (retention): nothing left to compare with
    if earlier != fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            "This Idempotency-Key already started a workflow with a different request; "
            "use a new key for a new request.",
            field="header.idempotency-key",
            workflow_id=workflow_id,
        )
    return Started(
        workflow_id=workflow_id,
        run_id=run_id,
        duplicate=True,
        trace_id=trace_id,
        status_url=f"/v1/workflows/{workflow_id}",
        temporal_ui=settings.workflow_link(workflow_id),
    )


# --- routes ------------------------------------------------------------------------------

# Every /v1 route with a body checks it before FastAPI parses it (415, 400, 422).
v1 = APIRouter(prefix="/v1", route_class=JsonBodyRoute)


@v1.post(
    "/workflows",
    status_code=202,
    response_model=Started,
    summary="Start a governed workflow",
    responses={
        200: {"model": Started, "description": "Duplicate: this Idempotency-Key's workflow."},
        **_errors(400, 401, 409, 413, 415, 422, 429, 503),
    },
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
        WORKFLOW_NAME,
        governed,
        workflow_id=workflow_id_for("api", identity, "workflows", idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=_fingerprint("workflows", body.model_dump()),
        memo={"started_via": "api", "caller": identity},
    )


@v1.post(
    "/events/{name}",
    status_code=202,
    response_model=Started,
    summary="Deliver an event; its mapping starts a governed workflow",
    responses={
        200: {"model": Started, "description": "Duplicate: this Idempotency-Key's workflow."},
        **_errors(400, 401, 404, 409, 413, 415, 422, 429, 503),
    },
)
async def deliver_event(
    name: Annotated[str, Path(pattern=EVENT_NAME_PATTERN)],
    body: EventBody,
    request: Request,
    response: Response,
    identity: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    """Mappings (API config file, `events`) turn the event's fields into a governed task.
    Send an Idempotency-Key with every event: a redelivery then starts nothing new."""
    _, config, _ = _state(request)
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
        WORKFLOW_NAME,
        governed,
        workflow_id=workflow_id_for("evt", identity, name, idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=_fingerprint("event", name, body.root),
        memo={"started_via": "api", "caller": identity, "event": name},
    )


@v1.post(
    "/definitions/runs",
    status_code=202,
    response_model=Started,
    summary="Run a declarative workflow definition (the document inline, as JSON)",
    responses={
        200: {"model": Started, "description": "Duplicate: this Idempotency-Key's workflow."},
        **_errors(400, 401, 409, 413, 415, 422, 429, 503),
    },
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
        DECLARATIVE_WORKFLOW,
        DeclarativeRequest(definition=body.definition, requester=identity, source="api"),
        workflow_id=workflow_id_for("def", identity, "definitions", idempotency_key),
        idempotent=idempotency_key is not None,
        fingerprint=_fingerprint("definition", body.definition),
        memo={"started_via": "api", "caller": identity},
    )


async def _decide(
    request: Request, workflow_id: str, kind: str, identity: str, body: Decision | None
) -> Receipt:
    settings, _, temporal = _state(request)
    # The API vouches for the caller its bearer token authenticated, with its own key.
    key = _api_key(settings, "Approvals")
    client = await temporal.client()
    handle = client.get_workflow_handle(workflow_id)
    if body is not None and body.step is not None:
        await _check_step_allowed(handle, settings)
    try:
        async with asyncio.timeout(DECISION_TIMEOUT):
            receipt = await send_decision(
                handle,
                kind,
                key,
                identity,
                comment=body.comment if body else "",
                step=body.step if body else None,
            )
    except ApprovalAmbiguous as error:
        raise ApiError(409, "ambiguous", str(error), workflow_id=workflow_id) from None
    except WorkflowUpdateFailedError as failed:
        raise _refusal(failed, kind, workflow_id) from None
    except RPCError as error:
        raise rpc_error(error, settings, workflow_id) from None
    except TimeoutError:
        raise ApiError(
            504,
            "timeout",
            f"Workflow {workflow_id} did not take the decision within {DECISION_TIMEOUT:g}s "
            "(is a worker running?); check its status before trying again.",
            workflow_id=workflow_id,
        ) from None
    return Receipt(workflow_id=workflow_id, **asdict(receipt))


async def _check_step_allowed(handle: WorkflowHandle[Any, Any], settings: Settings) -> None:
    """422 for a `step` on a workflow that has none, before anything is sent to it: the
    governed workflow would ignore it, and the caller would think a step was decided."""
    try:
        description = await handle.describe()
    except RPCError as error:
        raise rpc_error(error, settings, handle.id) from None
    if description.workflow_type == DECLARATIVE_WORKFLOW:
        return
    what = (
        "governed workflows have no steps"
        if description.workflow_type == WORKFLOW_NAME
        else f"{description.workflow_type} workflows have no steps"
    )
    raise ApiError(
        422,
        "validation_error",
        f"body.step: {what}; omit it (it names the pending step of a declarative workflow).",
        field="body.step",
        workflow_id=handle.id,
    )


def _refusal(failed: WorkflowUpdateFailedError, kind: str, workflow_id: str) -> ApiError:
    cause = failed.cause
    if not isinstance(cause, ApplicationError):
        return ApiError(409, "conflict", f"{kind} failed: {cause}", workflow_id=workflow_id)
    details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    reasons = list(details.get("reasons", []))
    # Losing a race is not a policy refusal: another decision came first. Workers that
    # predate ApprovalAlreadyDecided (a rolling deploy) report it as a refusal whose only
    # reason says so.
    if cause.type == "ApprovalAlreadyDecided" or (
        cause.type == "ApprovalRefused" and reasons == [ALREADY_DECIDED]
    ):
        return ApiError(
            409,
            "already_decided",
            cause.message,
            reasons=reasons or None,
            decision_id=details.get("decision_id") or None,
            workflow_id=workflow_id,
        )
    if cause.type == "ApprovalRefused":
        return ApiError(
            403,
            "policy_refused",
            cause.message,
            reasons=reasons,
            decision_id=details.get("decision_id") or None,
            workflow_id=workflow_id,
        )
    code = {
        "ApprovalDigestMismatch": "digest_mismatch",
        "ApprovalReplayed": "replayed",
        "ApprovalNotPending": "not_pending",
        "ApprovalAmbiguous": "ambiguous",
    }.get(cause.type or "", "conflict")
    return ApiError(409, code, cause.message, workflow_id=workflow_id)


DECISION_RESPONSES = _errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503, 504)


@v1.post(
    "/workflows/{workflow_id}/approve",
    response_model=Receipt,
    summary="Approve a workflow waiting for approval (you are the approver)",
    responses=DECISION_RESPONSES,
)
async def approve(
    workflow_id: WorkflowId, request: Request, identity: Caller, body: Decision | None = None
) -> Receipt:
    """OPA decides whether the caller may approve: never their own request."""
    return await _decide(request, workflow_id, APPROVE, identity, body)


@v1.post(
    "/workflows/{workflow_id}/reject",
    response_model=Receipt,
    summary="Reject a workflow waiting for approval (you are the approver)",
    responses=DECISION_RESPONSES,
)
async def reject(
    workflow_id: WorkflowId, request: Request, identity: Caller, body: Decision | None = None
) -> Receipt:
    return await _decide(request, workflow_id, REJECT, identity, body)


@v1.get(
    "/workflows/{workflow_id}",
    response_model=WorkflowStatus,
    summary="Where a workflow is and why",
    responses=_errors(401, 404, 422, 429, 503),
)
async def workflow_status(
    workflow_id: WorkflowId, request: Request, identity: Caller
) -> WorkflowStatus:
    settings, _, temporal = _state(request)
    client = await temporal.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        raise rpc_error(error, settings, workflow_id) from None
    detail = await _status_query(handle)
    attributes = description.typed_search_attributes
    trace_id = attributes.get(TRACE_ID) or (detail or {}).get("trace_id")
    return WorkflowStatus(
        workflow_id=workflow_id,
        run_id=description.run_id,
        workflow_type=description.workflow_type,
        execution_status=description.status.name if description.status else "UNKNOWN",
        started_at=description.start_time.isoformat() if description.start_time else None,
        closed_at=description.close_time.isoformat() if description.close_time else None,
        requester=attributes.get(REQUESTER),
        policy_decision=attributes.get(POLICY_DECISION),
        approval_status=attributes.get(APPROVAL_STATUS),
        trace_id=trace_id,
        detail=detail,
        temporal_ui=settings.workflow_link(workflow_id, description.run_id),
    )


async def _status_query(handle: WorkflowHandle[Any, Any]) -> dict[str, Any] | None:
    try:
        result = await handle.query("status", rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
        return None  # no worker, not a governed workflow, or not answering in time
    return result if isinstance(result, dict) else {"value": result}


@v1.get(
    "/approvals/pending",
    response_model=PendingApprovals,
    summary="Workflows waiting for an approval",
    responses=_errors(401, 422, 429, 503),
)
async def pending_approvals(
    request: Request,
    identity: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many.")] = 50,
) -> PendingApprovals:
    settings, _, temporal = _state(request)
    client = await temporal.client()
    items = []
    try:
        async for execution in client.list_workflows(
            "ApprovalStatus = 'pending' AND ExecutionStatus = 'Running'", limit=limit
        ):
            attributes = execution.typed_search_attributes
            items.append(
                PendingApproval(
                    workflow_id=execution.id,
                    workflow_type=execution.workflow_type,
                    requester=attributes.get(REQUESTER),
                    started_at=execution.start_time.isoformat(),
                    trace_id=attributes.get(TRACE_ID),
                    status_url=f"/v1/workflows/{execution.id}",
                )
            )
    except RPCError as error:
        raise rpc_error(error, settings) from None
    return PendingApprovals(items=items)


health = APIRouter(tags=["health"])


@health.get("/healthz", response_model=Health, summary="The API process is up")
async def healthz() -> Health:
    return Health(status="ok")


@health.get(
    "/readyz",
    response_model=Health,
    summary="Ready to serve: Temporal is reachable",
    responses={503: {"model": Health, "description": "Temporal is not reachable."}},
)
async def readyz(request: Request, response: Response) -> Health:
    _, _, temporal = _state(request)
    if await temporal.ready():
        return Health(status="ok", temporal="ok")
    response.status_code = 503
    return Health(status="unavailable", temporal="unreachable")


# --- the app -----------------------------------------------------------------------------


def create_app(settings: Settings, config: ApiConfig, *, client: Client | None = None) -> FastAPI:
    """The ASGI app. Without `client` it connects to Temporal on first use."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connect early so the first request is fast; a failure only shows in /readyz.
        await app.state.temporal.ready()
        yield

    app = FastAPI(
        title="policy-orchestrator API",
        version=__version__,
        description="Start, decide and inspect policy-governed workflows; events become "
        "workflow starts. Authenticate with `Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_config = config
    app.state.temporal = Temporal(settings, client)
    app.state.auth_limiter = FailedAuthLimiter(
        config.auth_failure_limit,
        config.auth_failure_window_seconds,
        config.auth_tracked_addresses,
    )
    app.include_router(v1, tags=["v1"])
    app.include_router(health)
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    # Outermost of ours: the server span (continuing an incoming traceparent) is current
    # for everything below, including the Temporal start the interceptor propagates.
    app.add_middleware(OpenTelemetryMiddleware, exclude_spans=["receive", "send"])
    return app
