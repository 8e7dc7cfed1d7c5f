"""Policy metrics on Temporal's Prometheus endpoint, scraped for real."""

from __future__ import annotations

import asyncio
import socket

import httpx

from telemetry.metrics import PolicyMetrics, create_runtime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape_until(url: str, needle: str, attempts: int = 100) -> str:
    """The exposition text once it contains `needle` (core exports on its own schedule)."""
    text = ""
    async with httpx.AsyncClient() as http:
        for _ in range(attempts):
            try:
                text = (await http.get(url)).text
            except httpx.TransportError:
                text = ""
            if needle in text:
                return text
            await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared at {url}; last scrape:\n{text}")


def sample(text: str, series: str) -> float:
    """The value of the first line of `series` whose labels include every given label."""
    name, _, labels = series.partition("{")
    wanted = [label for label in labels.rstrip("}").split(",") if label]
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in wanted):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample for {series} in:\n{text}")


async def test_decisions_latency_and_errors_are_scraped_from_one_endpoint() -> None:
    port = free_port()
    runtime = create_runtime(f"127.0.0.1:{port}")
    metrics = PolicyMetrics(runtime.metric_meter)
    metrics.record_decision("workflow.start", "allow", 0.0004)
    metrics.record_decision("workflow.start", "allow", 0.003)
    metrics.record_decision("workflow.start", "deny", 0.002)
    metrics.record_decision("approval.decide", "approval_required", 0.02)
    metrics.record_error("unreachable")
    for verdict in ("agree", "agree", "disagree", "error"):
        metrics.record_shadow("workflow.start", verdict)

    text = await scrape_until(
        f"http://127.0.0.1:{port}/metrics", "orchestrator_policy_errors_total"
    )

    assert "# TYPE orchestrator_policy_decisions_total counter" in text
    assert "# TYPE orchestrator_policy_decision_latency histogram" in text
    assert "# TYPE orchestrator_policy_errors_total counter" in text
    decisions = 'orchestrator_policy_decisions_total{action="workflow.start",outcome="allow"}'
    assert sample(text, decisions) == 2
    deny = 'orchestrator_policy_decisions_total{action="workflow.start",outcome="deny"}'
    assert sample(text, deny) == 1
    assert sample(text, 'orchestrator_policy_errors_total{error_class="unreachable"}') == 1
    shadow = 'orchestrator_policy_shadow_decisions_total{action="workflow.start",verdict="%s"}'
    assert [sample(text, shadow % v) for v in ("agree", "disagree", "error")] == [2, 1, 1]
    # Milliseconds, with buckets fine enough for sub-millisecond OPA answers.
    latency = 'orchestrator_policy_decision_latency_sum{action="workflow.start"}'
    assert abs(sample(text, latency) - 5.4) < 1e-6
    bucket = 'orchestrator_policy_decision_latency_bucket{action="workflow.start",le="%s"}'
    assert sample(text, bucket % "0.5") == 1
    assert sample(text, bucket % "2.5") == 2


def test_without_an_address_a_runtime_without_metrics() -> None:
    """Not the SDK's default runtime, whose core writes coloured text to stderr: this one
    forwards the core's logs (tests/telemetry/test_worker_logs.py sees them as JSON)."""
    from temporalio.common import MetricMeter
    from temporalio.runtime import Runtime

    runtime = create_runtime(None)
    assert runtime is not Runtime.default()
    assert runtime.metric_meter is MetricMeter.noop
