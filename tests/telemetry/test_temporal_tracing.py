"""The tracing interceptor gives workflows spans even when the starter was not traced."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from orchestrator.devstack import LocalStack
from telemetry import tracing
from telemetry.temporal import tracing_interceptor
from telemetry.tracing import setup_tracing
from tests.telemetry.isolation import isolate_tracing

pytestmark = pytest.mark.integration


@workflow.defn(name="TelemetryProbe")
class ProbeWorkflow:
    @workflow.run
    async def run(self) -> str:
        return "done"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    isolate_tracing(monkeypatch)
    memory = InMemorySpanExporter()
    setup_tracing("telemetry-temporal-test", exporter=memory)
    yield memory
    if tracing._active is not None:
        tracing._active.shutdown()


async def test_workflow_started_without_trace_context_still_gets_spans(
    stack: LocalStack, exporter: InMemorySpanExporter
) -> None:
    worker_client = await Client.connect(
        stack.temporal_address, interceptors=[tracing_interceptor()]
    )
    # Like a schedule or the `temporal` CLI: a starter with no tracing at all.
    bare_client = await Client.connect(stack.temporal_address)
    task_queue = f"telemetry-{uuid.uuid4().hex[:8]}"
    async with Worker(
        worker_client,
        task_queue=task_queue,
        workflows=[ProbeWorkflow],
        # The probe lives in a test module; the sandbox adds nothing to what is tested here.
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await bare_client.execute_workflow(
            ProbeWorkflow.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
    assert result == "done"
    names = [span.name for span in exporter.get_finished_spans()]
    assert "RunWorkflow:TelemetryProbe" in names
