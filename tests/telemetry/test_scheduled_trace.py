"""A run started without trace context is one trace in Jaeger, from the real worker.

A worker process (sandboxed workflows, as `make worker` runs them) exporting to the test
stack's Jaeger; a Temporal Schedule triggered through `orchestrator schedule`, and a run
started and approved by a client without tracing. Both carry no trace headers, so every
span of the run must hang under the run's own RunWorkflow span, in the trace whose id is
the run id (telemetry/workflow_roots.py).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack, process
from orchestrator.governed.model import GovernedRequest
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import Span, fetch_trace
from telemetry.workflow_roots import root_ids
from tests.schedules.cli import run_cli
from tests.support import decide, run_orchestrator, start_signed, wait_for_stage

pytestmark = pytest.mark.integration

REPORT = "Generate the weekly usage report"
PAYMENT = "Pay the supplier invoice"


@pytest.fixture(scope="module")
def task_queue() -> str:
    return f"roots-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def worker_process(stack: LocalStack, task_queue: str) -> Iterator[None]:
    spec = replace(stack.worker, env={**stack.worker.env, "TEMPORAL_TASK_QUEUE": task_queue})
    process.start_all([spec], stack.layout)
    yield
    process.stop("worker", stack.layout)


@pytest.fixture
def queue_settings(settings: Settings, task_queue: str) -> Settings:
    return replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))


@pytest.fixture
async def bare_client(stack: LocalStack) -> Client:
    """A client without the tracing interceptor: it sends no trace headers, as a schedule
    or the `temporal` CLI does not."""
    return await Client.connect(stack.temporal_address)


async def run_trace(stack: LocalStack, client: Client, workflow_id: str) -> tuple[str, list[Span]]:
    """The run's id and the spans of the trace it records (its own: the run id's)."""
    description = await client.get_workflow_handle(workflow_id).describe()
    trace_id = f"{root_ids(description.run_id)[0]:032x}"
    # The run records its own trace, so `orchestrator trace` and the console find it.
    assert description.typed_search_attributes.get(TRACE_ID) == trace_id
    spans = await fetch_trace(
        stack.jaeger_query_url,
        trace_id,
        wait_seconds=30,
        expect_services={"orchestrator-worker", "opa"},
        expect_span_names={"CompleteWorkflow:GovernedWorkflow"},
    )
    return description.run_id, spans


def only(spans: list[Span], name: str) -> Span:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def assert_one_tree(spans: list[Span], root: Span) -> None:
    """Every span reaches `root` through parents within the trace."""
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        seen, node = set(), span
        while node.parent_span_id is not None:
            assert node.parent_span_id in by_id, f"{span.name}: parent not in the trace"
            assert node.span_id not in seen
            seen.add(node.span_id)
            node = by_id[node.parent_span_id]
        assert node is root, f"{span.name} hangs under {node.name}"


async def test_a_scheduled_run_is_one_trace(
    stack: LocalStack,
    client: Client,
    queue_settings: Settings,
    worker_process: None,
) -> None:
    schedule_id = f"sched-trace-{uuid.uuid4().hex[:8]}"
    created = await run_cli(
        queue_settings, client, "schedule", "create", "--task", REPORT, "--requester",
        "alice", "--interval", "1h", "--id", schedule_id,
    )  # fmt: skip
    assert created.code == 0, created.err
    try:
        triggered = await run_cli(
            queue_settings, client, "schedule", "trigger", schedule_id, "--json"
        )
        assert triggered.code == 0, triggered.err
        workflow_id = json.loads(triggered.out)["workflow_id"]
        result: Any = await _result_of(client, workflow_id)
        assert result["outcome"] == "completed"
    finally:
        with contextlib.suppress(Exception):
            await client.get_schedule_handle(schedule_id).delete()

    run_id, spans = await run_trace(stack, client, workflow_id)
    trace_id, root_span_id = root_ids(run_id)
    assert {span.trace_id for span in spans} == {f"{trace_id:032x}"}
    run = only(spans, "RunWorkflow:GovernedWorkflow")
    assert run.parent_span_id is None and run.span_id == f"{root_span_id:016x}"
    assert_one_tree(spans, run)
    for name in ("RunActivity:policy.decide", "RunActivity:agent.execute"):
        only(spans, name)
    assert {span.service for span in spans} >= {"orchestrator-worker", "opa"}

    # What an operator runs: one trace, no "started without trace context" note.
    shown = await run_orchestrator(stack, queue_settings, "trace", workflow_id, "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["trace_ids"] == [f"{trace_id:032x}"]
    [root] = [span for span in document["spans"] if span["depth"] == 0]
    assert root["name"] == "RunWorkflow:GovernedWorkflow"


async def test_a_refused_approval_marks_the_update_not_the_run(
    stack: LocalStack,
    client: Client,
    bare_client: Client,
    queue_settings: Settings,
    worker_process: None,
) -> None:
    request = GovernedRequest(task=PAYMENT, requester="alice", kind="payment")
    handle = await start_signed(
        bare_client, queue_settings, request, f"refused-{uuid.uuid4().hex[:10]}"
    )
    await _pending(client, handle.id)
    await decide(handle, "approve", "bob", "first of two")
    refused = await refusal(decide(handle, "approve", "bob", "me again"))
    assert refused.type == "ApprovalRefused"
    await decide(handle, "approve", "carol", "second of two")
    assert (await handle.result()).outcome == "completed"

    _, spans = await run_trace(stack, client, handle.id)
    run = only(spans, "RunWorkflow:GovernedWorkflow")
    assert_one_tree(spans, run)
    updates = sorted(
        (span for span in spans if span.name == "HandleUpdate:approve"),
        key=lambda span: span.start_ns,
    )
    assert len(updates) == 3
    marked = [span for span in updates if span.events]
    assert marked == [updates[1]]
    [event] = marked[0].events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ApprovalRefused"
    # The refusal's reasons (which may quote the request) stay off the span.
    assert "bob" not in json.dumps(event.attributes)
    # The run completed: its CompleteWorkflow span carries nothing.
    assert not only(spans, "CompleteWorkflow:GovernedWorkflow").events

    shown = await run_orchestrator(stack, queue_settings, "trace", handle.id, "--width", "90")
    assert shown.returncode == 0, shown.stderr
    marked_lines = [line for line in shown.stdout.splitlines() if line.startswith("!")]
    assert len(marked_lines) == 1 and "HandleUpdate:approve" in marked_lines[0]
    assert "update refused: ApprovalRefused" in shown.stdout


async def _result_of(client: Client, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id, result_type=dict).result()


async def _pending(client: Client, workflow_id: str) -> None:
    await wait_for_stage(client.get_workflow_handle(workflow_id), "awaiting_approval", 30)


async def refusal(update: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await update
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause
