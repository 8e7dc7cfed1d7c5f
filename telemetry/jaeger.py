"""Read one trace back from Jaeger's stable query API (v3).

`GET {query_url}/api/v3/traces/{trace_id}` answers 404 until the first span is stored, then
200 with OTLP JSON: `{"result": {"resourceSpans": [{"resource": {"attributes": [...]},
"scopeSpans": [{"scope": {...}, "spans": [...]}]}]}}`. Jaeger 1.76 / v2 writes ids as hex,
times as decimal strings, `kind` and `status.code` as numbers (the enum names are accepted
too), 64-bit ints as strings, and leaves out empty fields (no `parentSpanId` on roots,
`"status": {}` when unset).

A trace's spans come from several processes (CLI, worker, OPA), each exporting on its own
schedule, so the first answer is often partial: `fetch_trace` polls until the trace is
*settled* (what the caller expects is there and the span count stopped growing).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import httpx

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
STATUS_CODES = {0: "unset", 1: "ok", 2: "error"}

POLL_INTERVAL_S = 0.25
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")


class JaegerError(Exception):
    """The trace could not be read from Jaeger."""


class TraceNotFound(JaegerError):
    """No span of the trace reached Jaeger before the deadline."""


class TraceIncomplete(TraceNotFound):
    """The trace is in Jaeger but lacks spans the caller required; `spans` has what came."""

    def __init__(self, message: str, spans: list[Span]) -> None:
        super().__init__(message)
        self.spans = spans


class JaegerUnreachable(TraceNotFound):
    """Nothing listens at the query URL, or it timed out / answered 5xx until the deadline.

    A TraceNotFound too, so a caller that reports "no trace" also reports this, with the
    reason in the message.
    """


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, JsonValue] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Span:
    """One span as Jaeger stored it, decoded from OTLP JSON."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    status_code: str
    status_message: str
    attributes: dict[str, JsonValue] = field(default_factory=dict, hash=False)
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ns(self) -> int:
        return max(self.end_ns - self.start_ns, 0)

    @property
    def is_error(self) -> bool:
        return self.status_code == "error"


def ui_link(query_url: str, trace_id: str) -> str:
    """The trace's page in Jaeger's UI (a placeholder page in a Jaeger built without UI assets)."""
    return f"{query_url.rstrip('/')}/trace/{trace_id.lower()}"


async def fetch_trace(
    query_url: str,
    trace_id: str,
    *,
    wait_seconds: float = 10.0,
    expect_services: Collection[str] = (),
    expect_span_names: Collection[str] = (),
    min_spans: int = 1,
    settle_seconds: float = 1.0,
    client: httpx.AsyncClient | None = None,
) -> list[Span]:
    """The trace's spans once it is settled, polling Jaeger for up to `wait_seconds`.

    Settled means: at least `min_spans` spans, every service in `expect_services` and every
    span name in `expect_span_names` present, and no new span for `settle_seconds` (0 returns
    as soon as the expectations hold). Settling may run up to `settle_seconds` past the
    deadline. Raises TraceNotFound when nothing arrived, TraceIncomplete when expectations
    are still unmet at the deadline, JaegerUnreachable at once when nothing listens at
    `query_url` (or at the deadline when it only timed out or failed).
    """
    if not _TRACE_ID.match(trace_id):
        raise ValueError(f"{trace_id!r} is not a trace id (up to 32 hex digits).")
    url = f"{query_url.rstrip('/')}/api/v3/traces/{trace_id.lower()}"
    owned = client is None
    http = client or httpx.AsyncClient(timeout=5.0)
    try:
        return await _poll(
            http,
            url,
            query_url,
            trace_id,
            deadline=time.monotonic() + max(wait_seconds, 0.0),
            expectations=_Expectations(min_spans, set(expect_services), set(expect_span_names)),
            settle_seconds=settle_seconds,
        )
    finally:
        if owned:
            await http.aclose()


@dataclass(frozen=True)
class _Expectations:
    min_spans: int
    services: set[str]
    span_names: set[str]

    def missing(self, spans: Sequence[Span]) -> list[str]:
        problems: list[str] = []
        if len(spans) < self.min_spans:
            problems.append(f"{len(spans)} of at least {self.min_spans} spans")
        services = self.services - {span.service for span in spans}
        if services:
            problems.append("no spans from " + ", ".join(sorted(services)))
        names = self.span_names - {span.name for span in spans}
        if names:
            problems.append("no span named " + ", ".join(sorted(names)))
        return problems


async def _poll(
    http: httpx.AsyncClient,
    url: str,
    query_url: str,
    trace_id: str,
    *,
    deadline: float,
    expectations: _Expectations,
    settle_seconds: float,
) -> list[Span]:
    spans: list[Span] = []
    last_error: str | None = None
    stable_since = time.monotonic()
    while True:
        now = time.monotonic()
        try:
            latest = await _get(http, url)
            last_error = None
        except _Transient as error:
            latest, last_error = None, str(error)
        if latest is not None and len(latest) != len(spans):
            spans, stable_since = latest, now
        if spans and not expectations.missing(spans):
            # Settled, or still growing when even the settling allowance is used up.
            if now - stable_since >= settle_seconds or now >= deadline + settle_seconds:
                return spans
        elif now >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)

    if spans:
        problems = "; ".join(expectations.missing(spans))
        raise TraceIncomplete(
            f"trace {trace_id} in Jaeger ({query_url}) is incomplete after the wait: {problems}. "
            "Is every process exporting to the same Jaeger (OTEL_EXPORTER_OTLP_ENDPOINT)?",
            spans,
        )
    if last_error is not None:
        raise JaegerUnreachable(
            f"cannot read trace {trace_id} from Jaeger at {query_url}: {last_error}. "
            "Is Jaeger running (`make status`), and is JAEGER_QUERY_URL right?"
        )
    raise TraceNotFound(
        f"trace {trace_id} is not in Jaeger at {query_url}. Is the worker exporting to it? "
        "Check OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger's OTLP port, e.g. http://127.0.0.1:4317) "
        "and OTEL_SDK_DISABLED, or wait longer: processes export their spans in batches."
    )


class _Transient(Exception):
    """An answer worth retrying: connection refused, timeout, 5xx."""


async def _get(http: httpx.AsyncClient, url: str) -> list[Span] | None:
    """The spans stored so far, or None while Jaeger has none (404)."""
    try:
        response = await http.get(url)
    except httpx.ConnectError as error:
        # Nothing listens there: waiting out the deadline would only delay the same answer.
        raise JaegerUnreachable(
            f"cannot reach Jaeger's query API at {url} ({error}). "
            "Is Jaeger running (`make status`), and is JAEGER_QUERY_URL right?"
        ) from None
    except httpx.TransportError as error:
        raise _Transient(f"{type(error).__name__}: {error}") from None
    if response.status_code == httpx.codes.NOT_FOUND:
        return None
    if response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
        raise _Transient(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code != httpx.codes.OK:
        raise JaegerError(
            f"Jaeger answered {url} with HTTP {response.status_code}: {response.text[:200]}"
        )
    try:
        return parse_traces(response.json())
    except (ValueError, KeyError, TypeError) as error:
        raise JaegerError(f"Jaeger's answer for {url} is not OTLP JSON: {error}") from None


def parse_traces(document: Mapping[str, Any]) -> list[Span]:
    """The spans of a v3 API answer (`{"result": TracesData}`), or of bare OTLP TracesData."""
    data = document.get("result", document)
    spans: list[Span] = []
    for resource_spans in data.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        service = str(resource.get("service.name", "unknown"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            spans.extend(_span(raw, service) for raw in scope_spans.get("spans", []))
    return spans


def _span(raw: Mapping[str, Any], service: str) -> Span:
    status = raw.get("status") or {}
    return Span(
        trace_id=_hex_id(raw["traceId"], 32),
        span_id=_hex_id(raw["spanId"], 16),
        parent_span_id=_hex_id(raw["parentSpanId"], 16) if raw.get("parentSpanId") else None,
        name=str(raw.get("name", "")),
        service=service,
        kind=_enum(raw.get("kind", 0), SPAN_KINDS, "SPAN_KIND_"),
        start_ns=int(raw.get("startTimeUnixNano", 0)),
        end_ns=int(raw.get("endTimeUnixNano", 0)),
        status_code=_enum(status.get("code", 0), STATUS_CODES, "STATUS_CODE_"),
        status_message=str(status.get("message", "")),
        attributes=_attributes(raw.get("attributes", [])),
        events=tuple(
            SpanEvent(
                name=str(event.get("name", "")),
                time_ns=int(event.get("timeUnixNano", 0)),
                attributes=_attributes(event.get("attributes", [])),
            )
            for event in raw.get("events", [])
        ),
    )


def _hex_id(value: str, digits: int) -> str:
    """Ids as lowercase hex. OTLP JSON says hex; plain protobuf JSON would say base64."""
    if re.fullmatch(rf"[0-9a-fA-F]{{{digits}}}", value):
        return value.lower()
    return base64.b64decode(value).hex()


def _enum(value: int | str, names: Mapping[int, str], prefix: str) -> str:
    if isinstance(value, int):
        return names.get(value, str(value))
    return value.removeprefix(prefix).lower()


def _attributes(pairs: Sequence[Mapping[str, Any]]) -> dict[str, JsonValue]:
    return {str(pair["key"]): any_value(pair.get("value") or {}) for pair in pairs}


def any_value(value: Mapping[str, Any]) -> JsonValue:
    """An OTLP AnyValue as a Python value (intValue arrives as a JSON string)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return str(value["bytesValue"])  # base64, as sent
    return None


async def search_traces(
    query_url: str,
    *,
    service: str,
    started: datetime,
    ended: datetime,
    limit: int = 100,
) -> list[Span]:
    """The spans of up to `limit` traces in which `service` has a span starting between
    `started` and `ended` (5 s of slack either side), as Jaeger's v3 search returns them.

    The v3 search has no attribute filter (Jaeger 1.76 ignores `query.attributes`), so
    which of these traces matter is the caller's to decide (`telemetry.workflow_traces`).
    """
    params = {
        "query.service_name": service,
        "query.start_time_min": (started - timedelta(seconds=5)).isoformat(),
        "query.start_time_max": (ended + timedelta(seconds=5)).isoformat(),
        "query.num_traces": str(limit),
    }
    async with httpx.AsyncClient(base_url=query_url, timeout=10) as http:
        try:
            response = await http.get("/api/v3/traces", params=params)
        except httpx.TransportError as error:
            raise JaegerUnreachable(
                f"cannot reach Jaeger's query API at {query_url} ({error})."
            ) from None
    if response.status_code == httpx.codes.NOT_FOUND:
        return []
    if response.status_code != httpx.codes.OK:
        raise JaegerError(f"Jaeger's trace search answered HTTP {response.status_code}.")
    try:
        return parse_traces(response.json())
    except (ValueError, KeyError, TypeError) as error:
        raise JaegerError(f"Jaeger's trace search did not answer OTLP JSON: {error}") from None
