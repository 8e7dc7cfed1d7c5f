"""Tracing setup, the same in every process (worker, CLI, HTTP API).

The standard OpenTelemetry variables configure it: `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES` win over the names given in code, `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`
and `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` (grpc or http/protobuf) choose where spans go, and
`OTEL_SDK_DISABLED=true` turns tracing off: no provider, no exporter thread, and every span
call is a no-op through the API's default provider.
"""

from __future__ import annotations

import atexit
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.util.types import AttributeValue

log = logging.getLogger(__name__)

Protocol = Literal["grpc", "http/protobuf"]

DEFAULT_GRPC_ENDPOINT = "http://127.0.0.1:4317"
DEFAULT_HTTP_ENDPOINT = "http://127.0.0.1:4318/v1/traces"

# People open a trace seconds after a CLI command or a workflow ends; the SDK's default of
# 5 s between batches makes the worker's half of the trace late. Overridable by the standard
# OTEL_BSP_SCHEDULE_DELAY.
DEFAULT_SCHEDULE_DELAY_MS = 1000
# A CLI command flushes at exit; with the collector down the exporter's default 10 s of
# retries would hang every command. Overridable by OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT.
DEFAULT_EXPORT_TIMEOUT_S = 3.0
SHUTDOWN_TIMEOUT_MS = 5000

PACKAGE = "policy-orchestrator"


class TracingConfigError(ValueError):
    """An OTEL_* variable has a value this process cannot use."""


@dataclass
class Tracing:
    """The process's tracing: the SDK provider (None when disabled) and its shutdown."""

    provider: TracerProvider | None
    _closed: bool = field(default=False, repr=False)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def shutdown(self) -> None:
        """Export every span still queued, then stop the exporter. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.shutdown)
        if self.provider is not None:
            self.provider.force_flush(SHUTDOWN_TIMEOUT_MS)
            self.provider.shutdown()


_active: Tracing | None = None


def sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def setup_tracing(
    service_name: str,
    *,
    version: str | None = None,
    exporter: SpanExporter | None = None,
) -> Tracing:
    """Install the process's tracer provider once; later calls return the same handle.

    `exporter` replaces the OTLP exporter (tests pass an InMemorySpanExporter); it is fed
    synchronously, so spans are there as soon as they end.
    """
    global _active
    if _active is not None:
        if _active.closed:
            log.warning("tracing was already shut down in this process; spans are dropped")
        return _active
    if sdk_disabled():
        _active = Tracing(provider=None)
        return _active
    provider = build_provider(service_name, version=version, exporter=exporter)
    trace.set_tracer_provider(provider)
    _active = Tracing(provider=provider)
    # CLI commands end soon after their last span: without this the batch still queued
    # at exit would be lost whenever the caller forgets (or cannot reach) shutdown().
    atexit.register(_active.shutdown)
    return _active


def build_provider(
    service_name: str,
    *,
    version: str | None = None,
    exporter: SpanExporter | None = None,
) -> TracerProvider:
    """A provider with this process's resource and exporter, not installed globally."""
    # shutdown_on_exit=False: Tracing.shutdown owns the atexit hook, so flushing happens once.
    provider = TracerProvider(
        resource=build_resource(service_name, version), shutdown_on_exit=False
    )
    processor: SpanProcessor
    if exporter is not None:
        processor = SimpleSpanProcessor(exporter)
    else:
        processor = BatchSpanProcessor(
            otlp_exporter(),
            schedule_delay_millis=(
                None if "OTEL_BSP_SCHEDULE_DELAY" in os.environ else DEFAULT_SCHEDULE_DELAY_MS
            ),
        )
    provider.add_span_processor(processor)
    return provider


def build_resource(service_name: str, version: str | None = None) -> Resource:
    """service.name and service.version from code, unless the environment sets them.

    `Resource.create` lets explicit attributes override OTEL_SERVICE_NAME and
    OTEL_RESOURCE_ATTRIBUTES, so the code's values are only passed where the variables
    say nothing.
    """
    defaults: dict[str, AttributeValue] = {SERVICE_NAME: service_name}
    resolved_version = version or _package_version()
    if resolved_version:
        defaults[SERVICE_VERSION] = resolved_version
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({k: v for k, v in defaults.items() if k not in from_env})


def _package_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def _env(*names: str) -> str | None:
    """The first of the variables that is set and not blank (specific before generic)."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def otlp_protocol() -> Protocol:
    value = _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    if value == "grpc":
        return "grpc"
    if value == "http/protobuf":
        return "http/protobuf"
    raise TracingConfigError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={value!r} is not supported here; "
        "use 'grpc' (port 4317) or 'http/protobuf' (port 4318)."
    )


def otlp_endpoint(protocol: Protocol) -> str:
    """The traces endpoint, resolved the way the OTLP specification says.

    The signal-specific variable is used as is; the generic one is a base URL to which
    OTLP/HTTP appends `/v1/traces`. Without either, the local Jaeger on loopback (not
    `localhost`, which may resolve to ::1 where nothing listens).
    """
    specific = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if specific:
        return specific
    generic = _env("OTEL_EXPORTER_OTLP_ENDPOINT")
    if protocol == "grpc":
        return generic or DEFAULT_GRPC_ENDPOINT
    if generic:
        return f"{generic.rstrip('/')}/v1/traces"
    return DEFAULT_HTTP_ENDPOINT


def _export_timeout() -> float | None:
    if _env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None  # the exporter reads the variable itself
    return DEFAULT_EXPORT_TIMEOUT_S


def otlp_exporter() -> SpanExporter:
    """The OTLP exporter for the configured protocol; imported lazily (gRPC is heavy)."""
    protocol = otlp_protocol()
    endpoint = otlp_endpoint(protocol)
    timeout = _export_timeout()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=endpoint, timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(endpoint=endpoint, timeout=timeout)
