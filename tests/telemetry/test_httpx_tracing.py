"""The OPA client's httpx calls: traceparent goes out, user data stays off the span."""

from __future__ import annotations

import json

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from telemetry.httpx_tracing import (
    OPA_PATH,
    OPA_ROLE,
    instrument_client,
    uninstrument_client,
    url_without_query,
)

SECRET = "rotate the prod database password for alice"


async def test_traceparent_reaches_the_server_and_no_user_data_on_the_span() -> None:
    seen: list[httpx.Request] = []

    def opa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"allow": True}})

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # MockTransport is the client's own transport, so instrument_client wraps it exactly
    # like the real one (respx would patch underneath and prove less).
    client = httpx.AsyncClient(transport=httpx.MockTransport(opa))
    instrument_client(client, tracer_provider=provider)
    try:
        response = await client.post(
            "http://opa.test:8181/v1/data/orchestrator/decision",
            params={"provenance": "true", "who": "alice"},
            json={"input": {"task": {"description": SECRET}}},
        )
    finally:
        uninstrument_client(client)
        await client.aclose()

    assert response.status_code == 200
    (span,) = exporter.get_finished_spans()
    assert span.kind is SpanKind.CLIENT
    (request,) = seen
    traceparent = request.headers["traceparent"]
    assert traceparent.split("-")[1] == format(span.context.trace_id, "032x")
    assert traceparent.split("-")[2] == format(span.context.span_id, "016x")

    attributes = dict(span.attributes or {})
    url = attributes.get("http.url", attributes.get("url.full"))
    assert url == "http://opa.test:8181/v1/data/orchestrator/decision"
    recorded = json.dumps(attributes) + json.dumps([dict(e.attributes or {}) for e in span.events])
    for leaked in ("alice", "provenance", SECRET, "description"):
        assert leaked not in recorded


def test_url_without_query_drops_query_fragment_and_credentials() -> None:
    assert (
        url_without_query("http://u:p@opa:8181/v1/data/x?input=secret#frag")
        == "http://opa:8181/v1/data/x"
    )


async def test_opa_queries_say_which_policy_they_ask() -> None:
    def opa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": {}})

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = httpx.AsyncClient(base_url="http://opa.test:8181", transport=httpx.MockTransport(opa))
    instrument_client(
        client,
        tracer_provider=provider,
        enforcing_path="team/decision",
        shadow_path="next/decision",
    )
    try:
        for path in ("team/decision", "next/decision", "orchestrator/batch/verdicts", "other/rule"):
            await client.post(f"/v1/data/{path}", params={"provenance": "true"}, json={})
        await client.get("/health")
    finally:
        uninstrument_client(client)
        await client.aclose()

    found = [
        (dict(span.attributes or {}).get(OPA_PATH), dict(span.attributes or {}).get(OPA_ROLE))
        for span in exporter.get_finished_spans()
    ]
    assert found == [
        ("team/decision", "enforcing"),
        ("next/decision", "shadow"),
        ("orchestrator/batch/verdicts", "batch"),
        ("other/rule", None),
        (None, None),
    ]
