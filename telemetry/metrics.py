"""Prometheus metrics through Temporal's runtime, so one port serves the SDK's and ours.

The worker's `/metrics` carries Temporal's own series (`temporal_*`, latencies in ms) and
the policy gate's:

- `orchestrator_policy_decisions{action, outcome}` counter; outcome is allow, deny or
  approval_required.
- `orchestrator_policy_decision_latency{action}` histogram in **milliseconds** (float, so
  sub-millisecond OPA answers keep their resolution), the unit Temporal's own latency
  histograms use on the same endpoint.
- `orchestrator_policy_errors{error_class}` counter; classes are the policy client's:
  unreachable, timeout, server_error, rejected, undefined, malformed.
- `orchestrator_policy_shadow_decisions{action, verdict}` counter; verdict is agree,
  disagree or error: how often the candidate (shadow) policy would have decided otherwise.

Labels are only these code-defined names, never request data, so cardinality stays small.
"""

from __future__ import annotations

from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

DECISIONS = "orchestrator_policy_decisions"
DECISION_LATENCY = "orchestrator_policy_decision_latency"
ERRORS = "orchestrator_policy_errors"
SHADOW_DECISIONS = "orchestrator_policy_shadow_decisions"

OUTCOMES = ("allow", "deny", "approval_required")
ERROR_CLASSES = ("unreachable", "timeout", "server_error", "rejected", "undefined", "malformed")

# Temporal core gives metrics it does not know buckets of 50 ms to 10 s, blind to OPA
# decisions that take well under a millisecond to a few ms.
DECISION_LATENCY_BUCKETS_MS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)


def create_runtime(prometheus_bind_address: str | None) -> Runtime:
    """A runtime serving Prometheus on `host:port` (`/metrics`), or the default runtime.

    A Runtime owns a thread pool and, with Prometheus, a listening port: create one per
    process and pass it to `Client.connect(runtime=...)`.
    """
    if not prometheus_bind_address:
        return Runtime.default()
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=prometheus_bind_address,
                histogram_bucket_overrides={DECISION_LATENCY: DECISION_LATENCY_BUCKETS_MS},
            )
        )
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
