"""A real worker's /metrics, as Prometheus scrapes it: counters end in `_total`, and every
series names the worker's service (ORCH_WORKER_SERVICE_NAME), not "temporal-core-sdk"."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from orchestrator.devstack import LocalStack, Ports, StackLayout, process
from orchestrator.devstack.services import worker_service
from orchestrator.governed.model import GovernedRequest, GovernedResult
from orchestrator.vocabulary import GOVERNED_WORKFLOW
from telemetry.metrics import create_runtime
from tests.support import poll, signed

pytestmark = pytest.mark.integration

SERIES = re.compile(r"^(?P<name>[a-z_:][a-z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? ", re.MULTILINE)
COUNTER = re.compile(r"^# TYPE (?P<name>\S+) counter$", re.MULTILINE)


def counters(text: str) -> set[str]:
    return set(COUNTER.findall(text))


def service_names(text: str) -> set[str]:
    return {
        label.split("=", 1)[1].strip('"')
        for match in SERIES.finditer(text)
        for label in (match["labels"] or "").split(",")
        if label.startswith("service_name=")
    }


async def test_the_background_worker_serves_conventional_names_and_its_service(
    stack: LocalStack, client: Client, tmp_path: Path
) -> None:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    ports = replace(stack.ports, worker_metrics=Ports.free().worker_metrics)
    layout = StackLayout(root=tmp_path)
    env = {**stack.client_env(), "TEMPORAL_TASK_QUEUE": queue, "OTEL_SDK_DISABLED": "true"}
    spec = worker_service(ports, layout, env)  # what `make demo` starts
    await asyncio.to_thread(process.start_all, [spec], layout)
    try:
        workflow_id = f"metrics-{uuid.uuid4().hex[:8]}"
        request = GovernedRequest(task="Generate the weekly usage report", requester="alice")
        handle = await client.start_workflow(
            GOVERNED_WORKFLOW,
            signed(request, workflow_id),
            id=workflow_id,
            task_queue=queue,
            result_type=GovernedResult,
        )
        assert (await handle.result()).outcome == "completed"

        async def scrape() -> str:
            async with httpx.AsyncClient() as http:
                return (await http.get(spec.url, timeout=5)).text

        text = await poll(
            scrape,
            lambda text: "orchestrator_policy_decisions_total{" in text,
            "the policy decisions counter on /metrics",
        )
    finally:
        await asyncio.to_thread(process.stop, "worker", layout)

    assert "orchestrator_policy_decisions_total" in counters(text)
    assert {"temporal_workflow_completed_total", "temporal_request_total"} <= counters(text)
    assert not [name for name in counters(text) if not name.endswith("_total")], counters(text)
    assert service_names(text) == {"orchestrator-worker"}
    assert "temporal-core-sdk" not in text


async def test_the_runtime_labels_series_with_the_service_it_is_given() -> None:
    """What the worker passes on from ORCH_WORKER_SERVICE_NAME."""
    port = Ports.free().worker_metrics
    runtime = create_runtime(f"127.0.0.1:{port}", service_name="billing-worker")
    runtime.metric_meter.create_counter("orchestrator_probe", "a probe").add(1)

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            try:
                return (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
            except httpx.TransportError:
                return ""

    text = await poll(scrape, lambda text: "orchestrator_probe_total" in text, "the probe")
    assert 'orchestrator_probe_total{service_name="billing-worker"} 1' in text
    assert service_names(text) == {"billing-worker"}
