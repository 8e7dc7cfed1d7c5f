"""Every error the API answers is `{"error": {"code", "message", "field"?, ...}}`; no tracebacks.

Also where Temporal's failures become those answers: an RPC error (`rpc_error`), an
unreachable server (`unavailable`) and a refused approval update (`refusal`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.api.models import MAX_VALUE_LENGTH, ErrorResponse
from orchestrator.approvals.model import ALREADY_DECIDED
from orchestrator.config import Settings
from orchestrator.vocabulary import trace_id_text

log = logging.getLogger(__name__)

BEARER_CHALLENGE = 'Bearer realm="orchestrator"'

# Every `error.code` the API answers (the published schema says only "string": clients
# match on these, so the list only grows). "error" is a status without a code of its own.
ErrorCode = Literal[
    "already_decided",
    "ambiguous",
    "bad_request",
    "conflict",
    "digest_mismatch",
    "error",
    "forbidden",
    "idempotency_conflict",
    "internal",
    "invalid_definition",
    "invalid_json",
    "method_not_allowed",
    "not_acceptable",
    "no_worker",
    "not_found",
    "not_pending",
    "payload_too_large",
    "policy_refused",
    "replayed",
    "temporal_error",
    "temporal_unavailable",
    "timeout",
    "too_many_requests",
    "unauthorized",
    "unavailable",
    "unknown_event",
    "unsupported_media_type",
    "validation_error",
    "workflow_closed",
]

STATUS_CODES: dict[int, ErrorCode] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
    504: "timeout",
}

# What each status means on the routes that document it (OpenAPI `responses`).
DESCRIBED = {
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

# A refused approval update's ApplicationError type -> the code the caller gets (409).
REFUSAL_CODES: dict[str, ErrorCode] = {
    "ApprovalDigestMismatch": "digest_mismatch",
    "ApprovalReplayed": "replayed",
    "ApprovalNotPending": "not_pending",
    "ApprovalAmbiguous": "ambiguous",
}


class ApiError(Exception):
    """An answer other than success, already phrased for the caller."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.extra = extra


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route that may answer these error statuses."""
    return {
        status: {"model": ErrorResponse, "description": DESCRIBED[status]} for status in statuses
    }


def error_response(error: ApiError) -> JSONResponse:
    body = ErrorResponse.model_validate(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "field": error.field,
                **error.extra,
            }
        }
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=error.status, headers=error.headers
    )


def unavailable(settings: Settings) -> ApiError:
    return ApiError(
        503,
        "temporal_unavailable",
        f"Temporal at {settings.temporal.address} is not reachable; try again shortly.",
        headers={"Retry-After": "5"},
    )


# What Temporal answers an update that was on its way while the workflow closed (another
# decision ended it in the same moment): the update never reached the workflow.
ABORTED_BY_CLOSE = "aborted by closing workflow"


def rpc_error(error: RPCError, settings: Settings, workflow_id: str | None = None) -> ApiError:
    if ABORTED_BY_CLOSE in error.message and workflow_id:
        return ApiError(
            409,
            "workflow_closed",
            f"Workflow {workflow_id} finished before this reached it (another decision "
            "closed it at the same moment); it did not count.",
            workflow_id=workflow_id,
        )
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


def refusal(failed: WorkflowUpdateFailedError, kind: str, workflow_id: str) -> ApiError:
    """Why the workflow's `approve`/`reject` update failed, as the caller's error."""
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
    code = REFUSAL_CODES.get(cause.type or "", "conflict")
    return ApiError(409, code, cause.message, workflow_id=workflow_id)


def field_name(location: Sequence[int | str]) -> str:
    """`("body", "parameters", "env")` -> `body.parameters.env`."""
    parts = [str(part) for part in location]
    if parts[:1] == ["header"]:
        parts = [parts[0], *(p.lower().replace("_", "-") for p in parts[1:])]
    return ".".join(parts)


async def api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(
            ApiError(400, "invalid_json", "The body is not valid JSON.", field="body")
        )
    field, message = first_problem(problems)
    return error_response(ApiError(422, "validation_error", f"{field}: {message}", field=field))


def first_problem(problems: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The first problem as (field, message), in the caller's terms rather than pydantic's.

    A value that fits no member of a union (a task parameter: string, number or boolean)
    comes as one error per member, each with the member's tag after the field; they are
    reported once, for the field. A bad dict key has a trailing `[key]`.
    """
    if not problems:
        return "body", "invalid"
    location = tuple(problems[0].get("loc", ("body",)))
    siblings = [p for p in problems if tuple(p.get("loc", ()))[:-1] == location[:-1]]
    if len(location) > 1 and len(siblings) > 1:
        return field_name(location[:-1]), (
            f"must be a string of at most {MAX_VALUE_LENGTH} characters without control "
            "characters, a number or a boolean"
        )
    if location[-1:] == ("[key]",):
        return field_name(location[:-1]), "not a valid name: " + str(problems[0].get("msg", ""))
    return field_name(location), str(problems[0].get("msg", "invalid"))


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = STATUS_CODES.get(error.status_code, "error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    return error_response(ApiError(error.status_code, code, message, headers=error.headers))


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """Anything unforeseen: logged with its traceback here, a short message to the caller."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    context = trace.get_current_span().get_span_context()
    where = f" (trace {trace_id_text(context.trace_id)})" if context.is_valid else ""
    return error_response(ApiError(500, "internal", f"Internal error{where}; see the API's log."))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
