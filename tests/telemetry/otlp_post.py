"""Put hand-made spans into the test stack's Jaeger through its OTLP/HTTP receiver, so a
test reads them back the way `orchestrator trace` and the console do."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from orchestrator.devstack import LocalStack
from telemetry.jaeger import JsonValue, Span

KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
STATUS = {"unset": 0, "ok": 1, "error": 2}


def retraced(spans: Sequence[Span], trace_id: str) -> list[Span]:
    """The spans moved to another trace (a test's own id, so sessions never collide)."""
    return [replace(span, trace_id=trace_id) for span in spans]


async def post_spans(stack: LocalStack, spans: Sequence[Span]) -> None:
    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        by_service[span.service].append(_span(span))
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes({"service.name": service})},
                "scopeSpans": [{"scope": {"name": "tests.telemetry"}, "spans": members}],
            }
            for service, members in by_service.items()
        ]
    }
    async with httpx.AsyncClient() as http:
        posted = await http.post(f"{stack.otlp_http_endpoint}/v1/traces", json=document)
    assert posted.status_code == 200, posted.text


def _span(span: Span) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": KINDS[span.kind],
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": _attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "timeUnixNano": str(event.time_ns),
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "status": {"code": STATUS[span.status_code], "message": span.status_message},
    }
    if span.parent_span_id:
        raw["parentSpanId"] = span.parent_span_id
    return raw


def _attributes(values: dict[str, JsonValue]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items()]


def _value(value: JsonValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(item) for item in value]}}
    return {"stringValue": str(value)}
