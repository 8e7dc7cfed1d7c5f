"""A run started without trace context is one trace, and a refused update marks its own span.

The worker runs in this process with the project's interceptor and an in-memory exporter;
the starter is a client without tracing, as a schedule or the `temporal` CLI is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from orchestrator.devstack import LocalStack
from telemetry import tracing
from telemetry.temporal import tracing_interceptor
from telemetry.tracing import setup_tracing
from telemetry.workflow_roots import root_carrier, root_ids
from tests.telemetry.isolation import isolate_tracing

pytestmark = pytest.mark.integration


@activity.defn(name="probe.work")
async def work() -> str:
    return "worked"


@workflow.defn(name="RootProbe")
class RootProbe:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(work, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: self.done)
        return "done"

    @workflow.update(name="decide")
    async def decide(self, accept: bool | None) -> str:
        await workflow.execute_activity(work, start_to_close_timeout=timedelta(seconds=10))
        if not accept:
            raise ApplicationError("refused: not an approver", type="ApprovalRefused")
        self.done = True
        return "accepted"

    @decide.validator
    def validate_decide(self, accept: bool | None) -> None:
        if accept is None:
            raise ApplicationError("accept: must be true or false")


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    isolate_tracing(monkeypatch)
    memory = InMemorySpanExporter()
    setup_tracing("telemetry-roots-test", exporter=memory)
    yield memory
    if tracing._active is not None:
        tracing._active.shutdown()


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def test_root_ids_are_the_run_id_and_a_digest() -> None:
    run_id = "0194c3c1-8f2e-7a4b-9c5d-6e7f80912345"
    trace_id, span_id = root_ids(run_id)
    assert f"{trace_id:032x}" == run_id.replace("-", "")
    assert root_ids(run_id) == (trace_id, span_id)  # the same in every workflow task
    assert span_id != root_ids("0194c3c1-8f2e-7a4b-9c5d-6e7f80912346")[1]
    assert root_carrier(run_id) == {
        "traceparent": f"00-{run_id.replace('-', '')}-{span_id:016x}-01"
    }
    # Not a UUID: still fixed, valid ids.
    assert all(root_ids("not-a-uuid")) and root_ids("not-a-uuid") == root_ids("not-a-uuid")


async def test_an_untraced_start_is_one_trace_under_run_workflow(
    stack: LocalStack, exporter: InMemorySpanExporter
) -> None:
    worker_client = await Client.connect(
        stack.temporal_address, interceptors=[tracing_interceptor()]
    )
    bare_client = await Client.connect(stack.temporal_address)
    task_queue = f"roots-{uuid.uuid4().hex[:8]}"
    async with Worker(
        worker_client,
        task_queue=task_queue,
        workflows=[RootProbe],
        activities=[work],
        # The probe lives in a test module; tests/telemetry/test_scheduled_trace.py runs
        # the real, sandboxed worker.
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await bare_client.start_workflow(
            RootProbe.run, id=f"roots-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(RootProbe.decide, None)  # rejected by the validator
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(RootProbe.decide, False)
        assert await handle.execute_update(RootProbe.decide, True) == "accepted"
        assert await handle.result() == "done"
        run_id = (await handle.describe()).run_id
    await asyncio.sleep(0)

    spans = [
        span
        for span in exporter.get_finished_spans()
        if (span.attributes or {}).get("temporalRunID") == run_id
        or span.name.startswith("RunActivity")
    ]
    trace_id, span_id = root_ids(run_id)
    assert {span.context.trace_id for span in spans} == {trace_id}, [s.name for s in spans]

    [run] = named(spans, "RunWorkflow:RootProbe")
    assert run.parent is None
    assert (run.context.trace_id, run.context.span_id) == (trace_id, span_id)
    # Every other workflow span hangs under the run, whichever workflow task made it.
    for name in ("StartActivity:probe.work", "HandleUpdate:decide", "CompleteWorkflow:RootProbe"):
        assert named(spans, name), name
        assert all(span.parent and span.parent.span_id == span_id for span in named(spans, name))
    for activity_run in named(spans, "RunActivity:probe.work"):
        assert activity_run.parent is not None
        assert activity_run.parent.span_id in {
            start.context.span_id for start in named(spans, "StartActivity:probe.work")
        }

    # The refused update is marked on its own span; the run's completion carries nothing.
    refused, accepted = sorted(named(spans, "HandleUpdate:decide"), key=lambda s: s.start_time or 0)
    [event] = refused.events
    assert event.name == "exception"
    # The failure's type only: a refusal's message may quote the request.
    assert dict(event.attributes or {}) == {"exception.type": "ApprovalRefused"}
    assert not accepted.events
    rejected = [span for span in named(spans, "ValidateUpdate:decide") if span.events]
    assert len(rejected) == 1
    assert dict(rejected[0].events[0].attributes or {}) == {"exception.type": "ApplicationError"}
    assert all(span.parent and span.parent.span_id == span_id for span in rejected)
    assert (accepted.end_time or 0) >= (accepted.start_time or 0)
    assert refused.attributes and refused.attributes["temporalUpdateID"]
    [completed] = named(spans, "CompleteWorkflow:RootProbe")
    assert not completed.events
