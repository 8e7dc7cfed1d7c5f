"""Every error the API answers is `{"error": {"code", "message", "field"?, ...}}`; no tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.api.models import MAX_VALUE_LENGTH, ErrorResponse
from orchestrator.vocabulary import trace_id_text

log = logging.getLogger(__name__)

BEARER_CHALLENGE = 'Bearer realm="orchestrator"'

STATUS_CODES = {
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


class ApiError(Exception):
    """An answer other than success, already phrased for the caller."""

    def __init__(
        self,
        status: int,
        code: str,
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


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = ErrorResponse.model_validate(
        {"error": {"code": code, "message": message, "field": field, **extra}}
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {})
    )


def field_name(location: Sequence[int | str]) -> str:
    """`("body", "parameters", "env")` -> `body.parameters.env`."""
    parts = [str(part) for part in location]
    if parts[:1] == ["header"]:
        parts = [parts[0], *(p.lower().replace("_", "-") for p in parts[1:])]
    return ".".join(parts)


async def api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(
        error.status,
        error.code,
        error.message,
        field=error.field,
        headers=error.headers,
        **error.extra,
    )


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "invalid_json", "The body is not valid JSON.", field="body")
    field, message = first_problem(problems)
    return error_response(422, "validation_error", f"{field}: {message}", field=field)


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
    return error_response(error.status_code, code, message, headers=error.headers)


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """Anything unforeseen: logged with its traceback here, a short message to the caller."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    context = trace.get_current_span().get_span_context()
    where = f" (trace {trace_id_text(context.trace_id)})" if context.is_valid else ""
    return error_response(500, "internal", f"Internal error{where}; see the API's log.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
