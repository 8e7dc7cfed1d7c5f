"""The API's server spans are named after the route template, never a workflow id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrator.api import ApiConfig, create_app
from tests.api.conftest import OFFLINE, api_env, auth
from tests.telemetry.isolation import isolate_tracing


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The spans the app ends, from a provider of this test's own."""
    isolate_tracing(monkeypatch)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


async def request_spans(
    exporter: InMemorySpanExporter, method: str, path: str, headers: dict[str, str]
) -> list[ReadableSpan]:
    app = create_app(OFFLINE, ApiConfig.from_env(api_env()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        await http.request(method, path, headers=headers)
    return [span for span in exporter.get_finished_spans() if span.kind == trace.SpanKind.SERVER]


async def test_a_workflow_route_span_carries_the_template_and_continues_the_trace(
    exported: InMemorySpanExporter,
) -> None:
    workflow_id = f"deploy-{uuid.uuid4().hex[:8]}"
    trace_id = uuid.uuid4().hex
    headers = {**auth("alice"), "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}

    [span] = await request_spans(exported, "GET", f"/v1/workflows/{workflow_id}", headers)

    assert span.name == "GET /v1/workflows/{workflow_id}"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/v1/workflows/{workflow_id}"
    assert f"{span.context.trace_id:032x}" == trace_id
    assert workflow_id not in span.name


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/v1/workflows/w-1/approve", "POST /v1/workflows/{workflow_id}/approve"),
        ("POST", "/v1/events/report.requested", "POST /v1/events/{name}"),
        ("GET", "/healthz", "GET /healthz"),
        ("GET", "/docs-assets/swagger-ui.css", "GET /docs-assets/{path}"),
        ("GET", "/console/static/console.css", "GET /console/static/{path}"),
        # A path no route serves names no path (its parts could be anything).
        ("GET", "/no/such/thing-1234", "GET"),
        # A route asked with a method it does not answer (405) is still that route.
        ("DELETE", "/healthz", "DELETE /healthz"),
    ],
)
async def test_every_kind_of_route_names_its_span_by_template(
    exported: InMemorySpanExporter, method: str, path: str, name: str
) -> None:
    [span] = await request_spans(exported, method, path, auth("bob"))
    assert span.name == name
