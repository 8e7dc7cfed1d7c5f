"""Prometheus metrics through Temporal's runtime, so one port serves the SDK's and ours.

The worker's `/metrics` carries Temporal's own series (`temporal_*`, latencies in ms) and
the policy gate's, every one labelled `service_name` with the worker's service name
(ORCH_WORKER_SERVICE_NAME, default orchestrator-worker: the name its spans carry too), and
every counter named with the `_total` suffix Prometheus and OpenMetrics expect:

- `orchestrator_policy_decisions_total{action, outcome}` counter; outcome is allow, deny or
  approval_required.
- `orchestrator_policy_decision_latency{action}` histogram in **milliseconds** (float, so
  sub-millisecond OPA answers keep their resolution), the unit Temporal's own latency
  histograms use on the same endpoint.
- `orchestrator_policy_errors_total{error_class}` counter; classes are the policy client's:
  unreachable, timeout, server_error, rejected, undefined, malformed.
- `orchestrator_policy_shadow_decisions_total{action, verdict}` counter; verdict is agree,
  disagree or error: how often the candidate (shadow) policy would have decided otherwise.

Labels are only these code-defined names, never request data, so cardinality stays small.

The same runtime forwards the SDK core's own log records to Python logging (`core_logging`),
so a worker's stderr stays one JSON object a line through a Temporal outage.
"""

from __future__ import annotations

from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from telemetry.logs import core_logger

# The names code records under; Prometheus shows each counter with `_total` appended.
DECISIONS = "orchestrator_policy_decisions"
DECISION_LATENCY = "orchestrator_policy_decision_latency"
ERRORS = "orchestrator_policy_errors"
SHADOW_DECISIONS = "orchestrator_policy_shadow_decisions"

OUTCOMES = ("allow", "deny", "approval_required")
# What `service_name` says when the caller names no service (Settings.worker_service_name's
# default). Temporal's own default, "temporal-core-sdk", says nothing about which process.
DEFAULT_SERVICE_NAME = "orchestrator-worker"

ERROR_CLASSES = ("unreachable", "timeout", "server_error", "rejected", "undefined", "malformed")

# Temporal core gives metrics it does not know buckets of 50 ms to 10 s, blind to OPA
# decisions that take well under a millisecond to a few ms.
DECISION_LATENCY_BUCKETS_MS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)


def create_runtime(
    prometheus_bind_address: str | None, *, service_name: str = DEFAULT_SERVICE_NAME
) -> Runtime:
    """A runtime that forwards the SDK core's logs to Python logging and, given `host:port`,
    serves Prometheus there (`/metrics`), every series labelled `service_name=service_name`.

    A Runtime owns a thread pool and, with Prometheus, a listening port: create one per
    process and pass it to `Client.connect(runtime=...)`.
    """
    metrics = None
    if prometheus_bind_address:
        metrics = PrometheusConfig(
            bind_address=prometheus_bind_address,
            counters_total_suffix=True,
            histogram_bucket_overrides={DECISION_LATENCY: DECISION_LATENCY_BUCKETS_MS},
        )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=core_logging(),
            metrics=metrics,
            # The core's attached service name is always "temporal-core-sdk"; the same label
            # as a global tag carries ours instead (and only once).
            attach_service_name=False,
            global_tags={"service_name": service_name},
        )
    )


def core_logging() -> LoggingConfig:
    """The core's warnings and errors (a poll retried while Temporal is away, ...) as records
    of the `temporalio.core` logger, which the process's JSON logging writes like any other,
    instead of the coloured text the core writes to stderr by default.

    Target and fields stay out of the logger name and the message: CoreLogFields makes
    them fields of the record.
    """
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="WARN"),
        forwarding=LogForwardingConfig(
            logger=core_logger(),
            append_target_to_name=False,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )


class PolicyMetrics:
    """The policy gate's metrics on a Temporal MetricMeter.

    Build it from `runtime.metric_meter` in the worker, or `temporalio.activity.metric_meter()`
    inside an activity (which adds the activity's own labels). On a runtime not made by
    `create_runtime` the latency histogram gets Temporal's default buckets.
    """

    def __init__(self, meter: MetricMeter) -> None:
        self._decisions = meter.create_counter(DECISIONS, "Policy decisions by action and outcome.")
        self._latency = meter.create_histogram_float(
            DECISION_LATENCY, "Time OPA took to decide, as seen by the policy client.", "ms"
        )
        self._errors = meter.create_counter(
            ERRORS, "Policy requests that got no usable decision, by error class."
        )
        self._shadow = meter.create_counter(
            SHADOW_DECISIONS, "Decisions the candidate policy also answered, by its verdict."
        )

    def record_decision(self, action: str, outcome: str, latency_seconds: float) -> None:
        self._decisions.add(1, {"action": action, "outcome": outcome})
        self._latency.record(max(latency_seconds, 0.0) * 1000, {"action": action})

    def record_error(self, error_class: str) -> None:
        self._errors.add(1, {"error_class": error_class})

    def record_shadow(self, action: str, verdict: str) -> None:
        """verdict: agree, disagree or error (ShadowResult.verdict)."""
        self._shadow.add(1, {"action": action, "verdict": verdict})
