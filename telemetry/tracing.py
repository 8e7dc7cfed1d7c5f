"""Tracing setup, the same in every process (worker, CLI, HTTP API).

The standard OpenTelemetry variables configure it: `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES` win over the names given in code, `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`
and `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` (grpc or http/protobuf) choose where spans go, and
`OTEL_SDK_DISABLED=true` turns tracing off: no provider, no exporter thread, and every span
call is a no-op through the API's default provider.

A collector that does not answer costs a process neither its exit nor its log: spans go
through `GuardedExporter`, which keeps the exporter's retries while the process runs,
gives what is left at exit one attempt of at most `EXIT_EXPORT_TIMEOUT_S`, and reports an
outage in one log line instead of the exporter's two per batch.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
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
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.util.types import AttributeValue

from telemetry.workflow_roots import WorkflowRootIds

log = logging.getLogger(__name__)

Protocol = Literal["grpc", "http/protobuf"]

DEFAULT_GRPC_ENDPOINT = "http://127.0.0.1:4317"
DEFAULT_HTTP_ENDPOINT = "http://127.0.0.1:4318/v1/traces"

# People open a trace seconds after a CLI command or a workflow ends; the SDK's default of
# 5 s between batches makes the worker's half of the trace late. Overridable by the standard
# OTEL_BSP_SCHEDULE_DELAY.
DEFAULT_SCHEDULE_DELAY_MS = 1000
# While a process runs, exports happen on the batch processor's thread and nobody waits on
# them: the exporter may retry (backoff 1 s, 2 s, ...) within this. Overridable by
# OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT.
DEFAULT_EXPORT_TIMEOUT_S = 3.0
# Once the process is exiting, someone waits: a CLI command with the collector down would
# stop for the whole retry budget above. What is left gets one attempt within this; the
# exporters' first backoff (0.8-1.2 s) never fits in it, so there is no retry, whatever the
# variables say.
EXIT_EXPORT_TIMEOUT_S = 0.5
SHUTDOWN_TIMEOUT_MS = 5000

# The loggers of the OTLP exporters, which log every failed attempt (a warning per retry,
# an error per batch): GuardedExporter speaks for them during its exports.
OTLP_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
)

PACKAGE = "policy-orchestrator"


class TracingConfigError(ValueError):
    """An OTEL_* variable has a value this process cannot use."""


@dataclass
class Tracing:
    """The process's tracing: the SDK provider (None when disabled) and its shutdown."""

    provider: TracerProvider | None
    exporter: GuardedExporter | None = None
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
        if self.exporter is not None:
            self.exporter.exiting()
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
    provider, guarded = _build(service_name, version, exporter)
    trace.set_tracer_provider(provider)
    _active = Tracing(provider=provider, exporter=guarded)
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
    return _build(service_name, version, exporter)[0]


def _build(
    service_name: str, version: str | None, exporter: SpanExporter | None
) -> tuple[TracerProvider, GuardedExporter | None]:
    # shutdown_on_exit=False: Tracing.shutdown owns the atexit hook, so flushing happens once.
    # WorkflowRootIds: the root span of a run started without trace context gets ids
    # derived from its run id (telemetry.workflow_roots), random ids everywhere else.
    provider = TracerProvider(
        resource=build_resource(service_name, version),
        shutdown_on_exit=False,
        id_generator=WorkflowRootIds(),
    )
    processor: SpanProcessor
    guarded = None
    if exporter is not None:
        processor = SimpleSpanProcessor(exporter)
    else:
        guarded = guarded_otlp_exporter()
        processor = BatchSpanProcessor(
            guarded,
            schedule_delay_millis=(
                None if "OTEL_BSP_SCHEDULE_DELAY" in os.environ else DEFAULT_SCHEDULE_DELAY_MS
            ),
        )
    provider.add_span_processor(processor)
    return provider, guarded


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


def otlp_exporter(timeout: float | None = None) -> SpanExporter:
    """The OTLP exporter for the configured protocol; imported lazily (gRPC is heavy).

    `timeout` (seconds, retries included) wins over the variables and the default.
    """
    protocol = otlp_protocol()
    endpoint = otlp_endpoint(protocol)
    if timeout is None:
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


def guarded_otlp_exporter() -> GuardedExporter:
    """The OTLP exporter twice, for while the process runs and for its exit, guarded."""
    return GuardedExporter(
        running=otlp_exporter(),
        final=otlp_exporter(timeout=EXIT_EXPORT_TIMEOUT_S),
        endpoint=otlp_endpoint(otlp_protocol()),
    )


class GuardedExporter(SpanExporter):
    """Between the batch processor and the OTLP exporters: bounds the wait at exit and
    turns an outage's per-batch exporter logging into one line.

    While the process runs, batches go to `running`, whose retries happen on the batch
    processor's thread where nobody waits. `exiting()` (called by Tracing.shutdown) ends
    a retry in progress and sends what is left to `final`, built with EXIT_EXPORT_TIMEOUT_S:
    one attempt, and once one batch failed at exit the rest are dropped without trying. A
    short-lived command therefore exits at most that much later with the collector down,
    and says nothing about it (debug level): its own output is what the user reads.

    A long-running process logs one warning when exports start failing and one info line
    when they work again; the exporters' own records during an export are held back (the
    last one becomes the warning's detail). Records they log at other times pass.
    """

    def __init__(self, running: SpanExporter, final: SpanExporter, endpoint: str) -> None:
        self.running = running
        self.final = final
        self.endpoint = endpoint
        self._exiting = threading.Event()
        self._final_failed = False
        self._outage = False
        self._dropped_spans = 0
        self._detail = ""
        self._stopped: set[int] = set()
        self._in_export = threading.local()
        self._filter = _HoldBack(self)
        for name in OTLP_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self._exiting.is_set():
            result = self._attempt(self.running, spans)
            if result is SpanExportResult.SUCCESS:
                self._recovered()
                return result
            if not self._exiting.is_set():
                self._failed(len(spans))
                return result
            # exiting() cut this attempt short: the batch gets its one try at exit below.
        return self._export_final(spans)

    def exiting(self) -> None:
        """The process is on its way out: no more retries, and at most one short try."""
        if self._exiting.is_set():
            return
        self._exiting.set()
        # Wakes the running exporter from a backoff wait (or cancels its call in flight) at
        # once instead of after up to its whole timeout.
        self._stop(self.running)

    def shutdown(self) -> None:
        self.exiting()
        self._stop(self.final)
        for name in OTLP_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered here: the batch processor holds the queue

    def holds_back(self) -> bool:
        """Whether the current thread is inside one of this guard's exports."""
        return bool(getattr(self._in_export, "active", False))

    def held_back(self, record: logging.LogRecord) -> None:
        self._detail = record.getMessage()

    @contextlib.contextmanager
    def _holding_back(self) -> Iterator[None]:
        self._in_export.active = True
        try:
            yield
        finally:
            self._in_export.active = False

    def _attempt(self, exporter: SpanExporter, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._holding_back():
            try:
                return exporter.export(spans)
            except Exception as error:  # an exporter stopped mid-call raises, e.g. ValueError
                self._detail = f"{type(error).__name__}: {error}"
                return SpanExportResult.FAILURE

    def _export_final(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._final_failed:
            return SpanExportResult.FAILURE
        result = self._attempt(self.final, spans)
        if result is not SpanExportResult.SUCCESS:
            self._final_failed = True
            log.debug(
                "dropped spans at exit: %s did not take them within %.1fs (%s)",
                self.endpoint,
                EXIT_EXPORT_TIMEOUT_S,
                self._detail or "no detail",
            )
        return result

    def _failed(self, spans: int) -> None:
        self._dropped_spans += spans
        if self._outage:
            return
        self._outage = True
        log.warning(
            "cannot export spans to %s (%s); dropping them until it answers, "
            "which is logged once it does",
            self.endpoint,
            self._detail or "no detail",
        )

    def _recovered(self) -> None:
        if not self._outage:
            return
        log.info(
            "span export to %s works again; %d span(s) were dropped meanwhile",
            self.endpoint,
            self._dropped_spans,
        )
        self._outage = False
        self._dropped_spans = 0

    def _stop(self, exporter: SpanExporter) -> None:
        if id(exporter) in self._stopped:
            return  # the exporters warn when shut down twice
        self._stopped.add(id(exporter))
        with self._holding_back():
            exporter.shutdown()


class _HoldBack(logging.Filter):
    """On the OTLP exporters' loggers: drops their records made inside the guard's exports."""

    def __init__(self, guard: GuardedExporter) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        if self.guard.holds_back():
            self.guard.held_back(record)
            return False
        return True
