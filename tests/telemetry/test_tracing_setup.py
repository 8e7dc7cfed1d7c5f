"""setup_tracing: resource naming, exporter choice, OTEL_SDK_DISABLED, flushing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemetry import tracing
from telemetry.tracing import (
    TracingConfigError,
    build_resource,
    otlp_endpoint,
    otlp_exporter,
    otlp_protocol,
    setup_tracing,
)
from tests.telemetry.isolation import isolate_tracing


@pytest.fixture(autouse=True)
def fresh_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    isolate_tracing(monkeypatch)
    yield
    if tracing._active is not None:
        tracing._active.shutdown()


def test_service_name_from_code_when_environment_is_silent() -> None:
    resource = build_resource("orchestrator-worker", version="1.2.3")
    assert resource.attributes["service.name"] == "orchestrator-worker"
    assert resource.attributes["service.version"] == "1.2.3"


def test_otel_service_name_wins_over_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "worker-eu-1")
    assert build_resource("orchestrator-worker").attributes["service.name"] == "worker-eu-1"


def test_resource_attributes_variable_wins_over_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,service.version=9,team=platform"
    )
    attributes = build_resource("orchestrator-worker", version="1.2.3").attributes
    assert attributes["service.name"] == "from-attrs"
    assert attributes["service.version"] == "9"
    assert attributes["team"] == "platform"


def test_version_defaults_to_the_installed_package() -> None:
    assert build_resource("x").attributes.get("service.version") == tracing._package_version()


def test_setup_installs_one_provider_per_process() -> None:
    exporter = InMemorySpanExporter()
    first = setup_tracing("orchestrator-cli", version="0.0.1", exporter=exporter)
    second = setup_tracing("something-else", exporter=InMemorySpanExporter())
    assert second is first
    assert first.provider is not None
    assert trace.get_tracer_provider() is first.provider

    with trace.get_tracer("test").start_as_current_span("outer"):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == "outer"
    assert span.resource.attributes["service.name"] == "orchestrator-cli"


def test_shutdown_flushes_the_batch_and_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real (batch) path with a long delay: only shutdown() can make the span appear.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
    made: dict[float | None, InMemorySpanExporter] = {}

    def exporter(timeout: float | None = None) -> InMemorySpanExporter:
        made[timeout] = InMemorySpanExporter()
        return made[timeout]

    monkeypatch.setattr(tracing, "otlp_exporter", exporter)
    handle = setup_tracing("orchestrator-cli")
    with trace.get_tracer("test").start_as_current_span("queued"):
        pass
    assert all(e.get_finished_spans() == () for e in made.values())
    handle.shutdown()
    # What is left at exit goes to the exporter with the short exit timeout.
    assert made[None].get_finished_spans() == ()
    assert [s.name for s in made[tracing.EXIT_EXPORT_TIMEOUT_S].get_finished_spans()] == ["queued"]
    handle.shutdown()
    assert handle.closed


def test_sdk_disabled_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "TRUE")
    threads_before = set(threading.enumerate())
    handle = setup_tracing("orchestrator-cli")
    assert handle.provider is None
    assert not handle.enabled
    with trace.get_tracer("test").start_as_current_span("ignored") as span:
        assert not span.is_recording()
    handle.shutdown()
    assert set(threading.enumerate()) == threads_before
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_default_endpoints_are_the_local_jaeger() -> None:
    assert otlp_protocol() == "grpc"
    assert otlp_endpoint("grpc") == "http://127.0.0.1:4317"
    assert otlp_endpoint("http/protobuf") == "http://127.0.0.1:4318/v1/traces"


def test_endpoint_variables_follow_the_otlp_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert otlp_endpoint("grpc") == "http://collector:4318/"
    assert otlp_endpoint("http/protobuf") == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom")
    assert otlp_endpoint("http/protobuf") == "http://traces:9999/custom"


def test_protocol_chooses_the_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    grpc = otlp_exporter()
    assert type(grpc).__module__.startswith("opentelemetry.exporter.otlp.proto.grpc")
    grpc.shutdown()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    http = otlp_exporter()
    assert type(http).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    http.shutdown()


def test_unsupported_protocol_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(TracingConfigError, match=r"'http/json' is not supported.*grpc"):
        otlp_protocol()
