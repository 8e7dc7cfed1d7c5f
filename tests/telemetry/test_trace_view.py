"""`load_trace` (the console's run page) says why a trace cannot be shown, and never raises.

Against the session's real Temporal and Jaeger. The runs here have no worker: Temporal
describes them all the same, and nothing exports spans for them, so each case is certain.
A trace with OPA's spans under the worker's is read in tests/devstack/
test_trace_survives_restart.py (before and after a restart); here, spans posted to
Jaeger's own OTLP/HTTP receiver stand for a trace whose OPA spans never came.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from orchestrator.config import Settings
from orchestrator.console.trace_view import load_trace
from orchestrator.devstack import LocalStack
from orchestrator.governed.model import GovernedRequest
from orchestrator.vocabulary import GOVERNED_WORKFLOW, TRACE_ID

pytestmark = pytest.mark.integration


async def waiting_run(
    client: Client, settings: Settings, trace_id: str | None
) -> WorkflowHandle[Any, Any]:
    pairs = [SearchAttributePair(TRACE_ID, trace_id)] if trace_id else []
    return await client.start_workflow(
        GOVERNED_WORKFLOW,
        GovernedRequest(task="Generate the weekly usage report", requester="alice"),
        id=f"trace-view-{uuid.uuid4().hex[:10]}",
        task_queue=settings.temporal.task_queue,
        search_attributes=TypedSearchAttributes(pairs),
    )


@pytest.fixture
async def run_without_trace_id(
    client: Client, settings: Settings
) -> AsyncIterator[WorkflowHandle[Any, Any]]:
    handle = await waiting_run(client, settings, None)
    yield handle
    await handle.terminate("test over")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unknown_workflow(client: Client, settings: Settings) -> None:
    view = await load_trace(settings, client, "no-such-workflow-" + uuid.uuid4().hex[:8])
    assert not view.found and view.roots == []
    assert "no workflow with id" in view.message


async def test_no_trace_id_and_nothing_in_jaeger_yet(
    client: Client,
    settings: Settings,
    run_without_trace_id: WorkflowHandle[Any, Any],
) -> None:
    # A worker service no one runs: Jaeger's search can only come back empty.
    nobody = replace(settings, worker_service_name=f"nobody-{uuid.uuid4().hex[:8]}")
    view = await load_trace(nobody, client, run_without_trace_id.id)
    assert not view.found
    assert "recorded no trace id and Jaeger has no worker trace" in view.message


async def test_jaeger_unreachable(
    client: Client,
    settings: Settings,
    run_without_trace_id: WorkflowHandle[Any, Any],
) -> None:
    down = replace(settings, jaeger_query_url=f"http://127.0.0.1:{closed_port()}")
    view = await load_trace(down, client, run_without_trace_id.id)
    assert not view.found
    assert "cannot reach Jaeger" in view.message and down.jaeger_query_url in view.message


@pytest.mark.parametrize(
    ("trace_id", "expected"),
    [
        (uuid.uuid4().hex, "is not in Jaeger"),
        ("not-a-trace-id", "is not a trace id"),
    ],
)
async def test_a_recorded_trace_id_jaeger_does_not_hold(
    client: Client, settings: Settings, trace_id: str, expected: str
) -> None:
    handle = await waiting_run(client, settings, trace_id)
    try:
        view = await load_trace(settings, client, handle.id)
    finally:
        await handle.terminate("test over")
    assert not view.found
    assert view.trace_id == trace_id
    assert expected in view.message


async def test_a_trace_without_opas_spans_is_shown_with_a_note(
    stack: LocalStack, client: Client, settings: Settings
) -> None:
    trace_id, root, child = uuid.uuid4().hex, uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    now = time.time_ns()

    def otlp_span(span_id: str, name: str, parent: str, start_ms: int) -> dict[str, Any]:
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(now + start_ms * 1_000_000),
            "endTimeUnixNano": str(now + (start_ms + 5) * 1_000_000),
            "attributes": [{"key": "answer", "value": {"intValue": "42"}}],
        }
        return {**span, "parentSpanId": parent} if parent else span

    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "orchestrator-cli"}}
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "tests.telemetry"},
                        "spans": [
                            otlp_span(root, "orchestrator start", "", 0),
                            otlp_span(child, "StartWorkflow:GovernedWorkflow", root, 1),
                        ],
                    }
                ],
            }
        ]
    }
    async with httpx.AsyncClient() as http:
        posted = await http.post(f"{stack.otlp_http_endpoint}/v1/traces", json=document)
    assert posted.status_code == 200, posted.text
    handle = await waiting_run(client, settings, trace_id)
    try:
        view = await load_trace(settings, client, handle.id)
    finally:
        await handle.terminate("test over")
    assert view.found, view.message
    assert "Some spans have not reached Jaeger yet" in view.message and "opa" in view.message
    [top] = view.roots
    assert (top.name, top.service, [c.name for c in top.children]) == (
        "orchestrator start",
        "orchestrator-cli",
        ["StartWorkflow:GovernedWorkflow"],
    )
    assert top.attributes == {"answer": 42} and view.span_count == 2
    assert view.jaeger_links == (f"{settings.jaeger_query_url}/trace/{trace_id}",)
