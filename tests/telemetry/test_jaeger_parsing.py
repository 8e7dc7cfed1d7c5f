"""Decoding Jaeger's v3 answer (OTLP JSON), from a trace recorded off the real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from telemetry.jaeger import (
    JaegerUnreachable,
    TraceIncomplete,
    TraceNotFound,
    any_value,
    fetch_trace,
    parse_traces,
    ui_link,
)

# Recorded from Jaeger v2 (module v1.76.0): GET /api/v3/traces/{id}, two services.
SAMPLE = Path(__file__).parent / "data" / "jaeger_v3_trace.json"
TRACE_ID = "43f71e00d4da81ceb17133016022ff87"


def recorded() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SAMPLE.read_text())
    return document


def test_spans_services_parents_and_status() -> None:
    spans = {span.name: span for span in parse_traces(recorded())}
    assert len(spans) == 6
    root = spans["orchestrator start"]
    assert root.parent_span_id is None
    assert root.service == "orchestrator-cli"
    assert root.status_code == "unset"
    assert all(span.trace_id == TRACE_ID for span in spans.values())

    activity = spans["RunActivity:policy.decide"]
    assert activity.service == "orchestrator-worker"
    assert activity.kind == "server"
    assert activity.parent_span_id == spans["RunWorkflow:GovernedWorkflow"].span_id
    assert spans["POST"].parent_span_id == activity.span_id
    assert spans["POST"].kind == "client"
    assert activity.end_ns > activity.start_ns > 1_700_000_000 * 10**9


def test_attribute_values_are_decoded_to_python_types() -> None:
    spans = {span.name: span for span in parse_traces(recorded())}
    decision = spans["RunActivity:policy.decide"].attributes
    assert decision["orchestrator.policy.allow"] is False
    assert decision["orchestrator.policy.reasons_count"] == 2  # intValue is a JSON string
    assert decision["orchestrator.policy.risk"] == "high"
    http = spans["POST"].attributes
    assert http["http.status_code"] == 200
    assert http["tags"] == ["a", "b"]
    assert http["ratio"] == 0.5


def test_error_status_and_exception_events() -> None:
    failed = next(s for s in parse_traces(recorded()) if s.name.startswith("CompleteWorkflow"))
    assert failed.status_code == "error"
    assert failed.is_error
    assert failed.status_message == "PolicyDenied: high risk without approval"
    (event,) = failed.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "RuntimeError"


def test_enum_names_and_base64_ids_are_understood_too() -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "Q/ceANTagc6xcTMBYCL/hw==",
                                "spanId": "AAAAAAAAAAE=",
                                "name": "x",
                                "kind": "SPAN_KIND_PRODUCER",
                                "status": {"code": "STATUS_CODE_ERROR"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    (span,) = parse_traces(document)
    assert span.trace_id == TRACE_ID
    assert span.span_id == "0000000000000001"
    assert span.kind == "producer"
    assert span.status_code == "error"
    assert span.service == "unknown"


def test_any_value_kinds() -> None:
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "7"}}]}}) == {
        "k": 7
    }
    assert any_value({"arrayValue": {}}) == []
    assert any_value({}) is None


def test_ui_link() -> None:
    assert ui_link("http://127.0.0.1:16686/", TRACE_ID.upper()) == (
        f"http://127.0.0.1:16686/trace/{TRACE_ID}"
    )


def jaeger(answers: list[httpx.Response]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A fake query API that gives the answers in order, then repeats the last."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers[min(len(requests), len(answers)) - 1]

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), requests


def partial(names: set[str]) -> dict[str, Any]:
    document = recorded()
    for resource_spans in document["result"]["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            scope_spans["spans"] = [s for s in scope_spans["spans"] if s["name"] in names]
    return document


NOT_FOUND = httpx.Response(404, json={"error": {"httpCode": 404, "message": "No traces found"}})


async def test_polls_through_404_until_the_trace_settles() -> None:
    first = {"orchestrator start", "StartWorkflow:GovernedWorkflow"}
    client, requests = jaeger(
        [
            NOT_FOUND,
            httpx.Response(200, json=partial(first)),
            httpx.Response(200, json=recorded()),
        ]
    )
    async with client:
        spans = await fetch_trace(
            "http://jaeger.test", TRACE_ID, wait_seconds=5, settle_seconds=0.5, client=client
        )
    assert len(spans) == 6
    assert requests[0].url.path == f"/api/v3/traces/{TRACE_ID}"
    # Found, grew, then stayed the same for the settle time.
    assert len(requests) >= 4


async def test_waits_for_expected_services() -> None:
    client, _ = jaeger(
        [
            httpx.Response(200, json=partial({"orchestrator start"})),
            httpx.Response(200, json=partial({"orchestrator start"})),
            httpx.Response(200, json=recorded()),
        ]
    )
    async with client:
        spans = await fetch_trace(
            "http://jaeger.test",
            TRACE_ID,
            expect_services={"orchestrator-worker"},
            settle_seconds=0,
            client=client,
        )
    assert {span.service for span in spans} == {"orchestrator-cli", "orchestrator-worker"}


async def test_missing_expectations_at_the_deadline_are_reported() -> None:
    client, _ = jaeger([httpx.Response(200, json=partial({"orchestrator start"}))])
    async with client:
        with pytest.raises(TraceIncomplete, match="no spans from opa") as raised:
            await fetch_trace(
                "http://jaeger.test",
                TRACE_ID,
                wait_seconds=0.3,
                expect_services={"opa"},
                client=client,
            )
    assert [span.name for span in raised.value.spans] == ["orchestrator start"]


async def test_not_found_names_the_trace_jaeger_and_the_exporter_setting() -> None:
    client, _ = jaeger([NOT_FOUND])
    async with client:
        with pytest.raises(TraceNotFound) as raised:
            await fetch_trace("http://jaeger.test", TRACE_ID, wait_seconds=0.3, client=client)
    message = str(raised.value)
    assert TRACE_ID in message
    assert "http://jaeger.test" in message
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in message


async def test_unreachable_jaeger_is_reported_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(JaegerUnreachable, match=r"cannot reach Jaeger's query API at http://127"):
        await fetch_trace("http://127.0.0.1:9", TRACE_ID, wait_seconds=30)
    assert time.monotonic() - started < 5


async def test_server_errors_are_retried_until_the_deadline() -> None:
    client, requests = jaeger([httpx.Response(503, text="storage warming up")])
    async with client:
        with pytest.raises(JaegerUnreachable, match="HTTP 503: storage warming up"):
            await fetch_trace("http://jaeger.test", TRACE_ID, wait_seconds=0.6, client=client)
    assert len(requests) >= 2


async def test_a_malformed_trace_id_is_refused_before_asking() -> None:
    with pytest.raises(ValueError, match="not a trace id"):
        await fetch_trace("http://jaeger.test", "not-hex", wait_seconds=0)
