"""What a request body must be before FastAPI reads it: JSON, and JSON any input may hold.

FastAPI parses a JSON body before any dependency runs, leniently: it answers a text/plain
body with a confusing 422 ("Input should be a valid dictionary"), and Python's parser
accepts what no downstream encoder can carry. So every route with a body goes through
`JsonBodyRoute`, which decides first, in this order:

- 415 when a body is sent without a JSON media type (application/json or +json); an
  empty body needs none (approve and reject take an optional one);
- 400 when it is not UTF-8 JSON;
- 422 naming the field, for JSON that parses but is not usable input anywhere: a lone
  surrogate ("\\ud800" is valid JSON, yet unencodable as UTF-8, so it would fail every
  later step), NaN, Infinity or a number beyond a double (1e309 parses as inf), an
  integer too long to convert, and nesting deeper than `values.MAX_DEPTH` (a body of
  nothing but brackets would otherwise exhaust recursion in the parser itself).

Like the JSON parse it replaces, this runs before authentication: it tells an unknown
caller nothing the published OpenAPI document does not.
"""

from __future__ import annotations

import email.message
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from orchestrator import values
from orchestrator.api.errors import ApiError

JSON_MEDIA_TYPE = "application/json"
MAX_FIELD_LENGTH = 200
MAX_KEY_SHOWN = 40
MAX_SHOWN = 100


def is_json(content_type: str | None) -> bool:
    """application/json or any +json type, parameters (charset) allowed; as FastAPI reads it."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def check(body: bytes, content_type: str | None) -> None:
    """Raise ApiError (415, 400 or 422) unless `body` is JSON that any route may take."""
    if not is_json(content_type):
        given = _printable(content_type) if content_type else "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"The body must be JSON: send it with `Content-Type: {JSON_MEDIA_TYPE}` (got {given}).",
            field="header.content-type",
        )
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.", field="body") from None
    except RecursionError:
        raise _invalid("body", f"nested deeper than {values.MAX_DEPTH} levels") from None
    except ValueError:  # int() refuses literals over sys.get_int_max_str_digits() digits
        raise _invalid("body", "holds an integer with too many digits") from None
    problem = first_problem(document)
    if problem is not None:
        raise _invalid(*problem)


def first_problem(document: Any, where: str = "body") -> tuple[str, str] | None:
    """The first unusable value in a parsed JSON document, as (field, why), else None.

    Iterative, so any depth is measured without recursion; depth counts as in
    orchestrator.values (the document itself is level 0).
    """
    pending: list[tuple[Any, str, int]] = [(document, where, 0)]
    while pending:
        item, place, depth = pending.pop()
        if depth > values.MAX_DEPTH:
            return place, f"nested deeper than {values.MAX_DEPTH} levels"
        if isinstance(item, str):
            problem = values.text_problem(item, controls=False)
            if problem:
                return place, problem
        elif isinstance(item, float) and not math.isfinite(item):
            return place, (
                "is not a finite number (NaN, Infinity and numbers beyond about ±1.8e308 have "
                "no JSON value)"
            )
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = f"{place}.{_printable(key, MAX_KEY_SHOWN)}"
                if values.text_problem(key, controls=False):
                    return name, "this key is not valid Unicode text (it holds a lone surrogate)"
                pending.append((child, name, depth + 1))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                pending.append((item[index], f"{place}[{index}]", depth + 1))
    return None


def _invalid(place: str, why: str) -> ApiError:
    field = _shortened(place)
    return ApiError(422, "validation_error", f"{field}: {why}", field=field)


def _shortened(place: str) -> str:
    """A field name short enough to read: a 64-level path keeps its start and its end."""
    if len(place) <= MAX_FIELD_LENGTH:
        return place
    half = MAX_FIELD_LENGTH // 2
    return f"{place[:half]}…{place[-half:]}"


def _printable(text: str, limit: int = MAX_SHOWN) -> str:
    """Caller text safe to echo: escapes instead of unencodable or control characters."""
    shown = text[: limit + 1].encode("utf-8", "backslashreplace").decode("utf-8")
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in shown)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class JsonBodyRoute(APIRoute):
    """An APIRoute whose body, when it has one, passes `check` before FastAPI parses it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            # Starlette caches the body, so FastAPI reads these same bytes afterwards.
            body = await request.body()
            if body:
                check(body, request.headers.get("content-type"))
            return await handler(request)

        return checked
