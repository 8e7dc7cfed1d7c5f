"""Spans exported over OTLP by setup_tracing come back from the real Jaeger's v3 API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from orchestrator.devstack import LocalStack
from telemetry import tracing
from telemetry.jaeger import TraceNotFound, fetch_trace
from telemetry.policy_attributes import decision_attributes
from telemetry.tracing import setup_tracing
from tests.telemetry.isolation import isolate_tracing

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    isolate_tracing(monkeypatch)
    yield
    if tracing._active is not None:
        tracing._active.shutdown()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
async def test_parent_and_child_round_trip(
    stack: LocalStack,
    fresh_tracing: None,
    monkeypatch: pytest.MonkeyPatch,
    protocol: str,
) -> None:
    endpoint = stack.otlp_grpc_endpoint if protocol == "grpc" else stack.otlp_http_endpoint
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    service = f"telemetry-it-{uuid.uuid4().hex[:8]}"
    handle = setup_tracing(service, version="9.9.9")

    tracer = trace.get_tracer("tests.telemetry")
    decision = decision_attributes(
        action="workflow.start",
        allow=True,
        reasons_count=0,
        require_approval=False,
        risk="low",
        decision_id="it-decision",
        revision="rev-it",
        opa_version="test",
    )
    with (
        tracer.start_as_current_span("it parent", attributes={"count": 3}) as parent,
        tracer.start_as_current_span("it child", attributes=decision),
    ):
        pass
    trace_id = format(parent.get_span_context().trace_id, "032x")
    handle.shutdown()

    spans = await fetch_trace(
        stack.jaeger_query_url, trace_id, wait_seconds=15, min_spans=2, settle_seconds=0.5
    )
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {"it parent", "it child"}
    root, child = by_name["it parent"], by_name["it child"]
    assert root.parent_span_id is None
    assert child.parent_span_id == root.span_id
    assert {root.service, child.service} == {service}
    assert root.attributes["count"] == 3
    assert child.attributes["orchestrator.policy.allow"] is True
    assert child.attributes["orchestrator.policy.reasons_count"] == 0
    assert child.attributes["orchestrator.policy.decision_id"] == "it-decision"
    assert root.start_ns <= child.start_ns <= child.end_ns <= root.end_ns


async def test_unknown_trace_fails_fast_with_a_clear_message(stack: LocalStack) -> None:
    unknown = uuid.uuid4().hex
    started = time.monotonic()
    with pytest.raises(TraceNotFound, match=unknown):
        await fetch_trace(stack.jaeger_query_url, unknown, wait_seconds=0.5)
    assert time.monotonic() - started < 3
