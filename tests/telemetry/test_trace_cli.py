"""`orchestrator trace` end to end over the real Temporal and Jaeger, and the look-up of a
run that recorded no trace id, which both it and the console use.

Spans are posted to Jaeger's own OTLP receiver (tests/telemetry/otlp_post.py): the
golden trace of tests/telemetry/golden_trace.py read back through Jaeger must print
exactly the golden waterfall, whatever the terminal.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.console.trace_view import load_trace
from orchestrator.devstack import LocalStack
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import Span
from telemetry.workflow_traces import NoTraceYet, traces_of_run, workflow_trace_ids
from tests.support import BIN, cli_env, run_orchestrator
from tests.telemetry.golden_trace import GOLDEN, SCHEDULED, TRACE
from tests.telemetry.otlp_post import post_spans, retraced
from tests.telemetry.test_trace_view import waiting_run
from tests.telemetry.test_waterfall import T0, span

pytestmark = pytest.mark.integration


def golden(name: str, trace_id: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").replace(TRACE, trace_id)


@pytest.fixture
async def posted_run(
    stack: LocalStack, client: Client, settings: Settings
) -> AsyncIterator[tuple[str, str]]:
    """A waiting run whose recorded trace is the golden scheduled run: (workflow id, trace id)."""
    trace_id = uuid.uuid4().hex
    await post_spans(stack, retraced(SCHEDULED, trace_id))
    handle = await waiting_run(client, settings, trace_id)
    yield handle.id, trace_id
    await handle.terminate("test over")


async def test_the_waterfall_is_the_golden_text(
    stack: LocalStack, settings: Settings, posted_run: tuple[str, str]
) -> None:
    workflow_id, trace_id = posted_run
    link = f"Jaeger: {settings.jaeger_query_url}/trace/{trace_id}"
    for argv, name in (
        (["--width", "100"], "scheduled_w100.txt"),
        (["--width", "100", "--all"], "scheduled_all_w100.txt"),
        (["--width", "60"], "scheduled_w60.txt"),
    ):
        shown = await run_orchestrator(stack, settings, "trace", workflow_id, *argv)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == golden(name, trace_id) + f"\n{link}\n", argv


async def test_without_width_it_fits_the_terminal(
    stack: LocalStack, settings: Settings, posted_run: tuple[str, str]
) -> None:
    workflow_id, _ = posted_run
    for columns in ("72", "140"):
        shown = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "orchestrator"), "trace", workflow_id],
            env={**cli_env(stack, settings), "COLUMNS": columns},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        lines = [line for line in shown.stdout.splitlines() if not line.startswith("Jaeger: ")]
        assert max(len(line) for line in lines) == int(columns)


async def test_json_and_jsonl_print_the_model(
    stack: LocalStack, settings: Settings, posted_run: tuple[str, str]
) -> None:
    workflow_id, trace_id = posted_run
    for argv in (["--json"], ["-o", "json"]):
        shown = await run_orchestrator(stack, settings, "trace", workflow_id, *argv)
        assert shown.returncode == 0, shown.stderr
        document = json.loads(shown.stdout)
        expected = json.loads(golden("scheduled_tree.json", trace_id))
        assert document["jaeger_links"] == [f"{settings.jaeger_query_url}/trace/{trace_id}"]
        # Jaeger stores a zero-length span as 1 ns long: times may differ by that much.
        totals = ("trace_ids", "span_count", "hidden_span_count", "services", "exception_count")
        assert {key: document[key] for key in totals} == {key: expected[key] for key in totals}
        assert abs(document["duration_ms"] - expected["duration_ms"]) < 0.001
        shape = ("span_id", "parent_span_id", "name", "label", "depth", "notes", "service")
        assert [[row[key] for key in shape] for row in document["spans"]] == [
            [row[key] for key in shape] for row in expected["spans"]
        ]
    shown = await run_orchestrator(stack, settings, "trace", workflow_id, "-o", "jsonl", "--all")
    assert shown.returncode == 0, shown.stderr
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(rows) == len(SCHEDULED)
    assert [row["label"] for row in rows][:2] == [
        "RunWorkflow:DeclarativeWorkflow",
        "StartActivity:policy.decide",
    ]


def worker_span(
    span_id: str,
    name: str,
    parent: str | None,
    trace_id: str,
    start_ms: int,
    service: str,
    **attributes: str,
) -> Span:
    """A span of `service` that started `start_ms` after the test began (within the run's
    time window, which Jaeger's search looks in)."""
    made = span(span_id.rjust(16, "0"), name, parent and parent.rjust(16, "0"), start_ms, 2)
    shift = time.time_ns() - T0
    return replace(
        made,
        trace_id=trace_id,
        service=service,
        attributes=dict(attributes),
        start_ns=made.start_ns + shift,
        end_ns=made.end_ns + shift,
    )


async def test_a_run_without_a_trace_id_gets_only_its_own_traces(
    stack: LocalStack, client: Client, settings: Settings
) -> None:
    """The console's page views and CLI queries touch the run; their traces are not its."""
    handle = await waiting_run(client, settings, None)
    try:
        run_id = (await handle.describe()).run_id
        ours = {"temporalWorkflowID": handle.id, "temporalRunID": run_id}
        traces = {name: uuid.uuid4().hex for name in ("run", "activity", "page", "query", "other")}
        worker = f"worker-{uuid.uuid4().hex[:8]}"
        run, activity, page = traces["run"], traces["activity"], traces["page"]
        spans = [
            # Two fragments of the run itself (an older worker, no trace context).
            worker_span("a1", "RunWorkflow:GovernedWorkflow", None, run, 0, worker, **ours),
            worker_span("b1", "StartActivity:policy.decide", None, activity, 3, worker, **ours),
            worker_span("b2", "RunActivity:policy.decide", "b1", activity, 4, worker, **ours),
            # A console page view whose status query reached the worker.
            worker_span("c1", "GET /console/runs/{id}", None, page, 5, "orchestrator-api"),
            worker_span("c2", "HandleQuery:status", "c1", page, 6, worker, **ours),
            # A query without trace context (the Temporal UI): its own trace, still not the run.
            worker_span("d1", "HandleQuery:status", None, traces["query"], 7, worker, **ours),
            # Another workflow in the same window.
            worker_span(
                "e1", "RunWorkflow:GovernedWorkflow", None, traces["other"], 8, worker,
                temporalWorkflowID="someone-else", temporalRunID=run_id,
            ),
        ]  # fmt: skip
        assert traces_of_run(spans, handle.id, run_id) == [traces["run"], traces["activity"]]
        assert traces_of_run(spans, handle.id, "another-run") == []

        await post_spans(stack, spans)
        found = await _found_traces(client, settings, handle.id, worker, count=2)
        assert found == [traces["run"], traces["activity"]]

        view = await load_trace(replace(settings, worker_service_name=worker), client, handle.id)
        assert view.found, view.message
        assert view.trace_ids == (traces["run"], traces["activity"])
        assert view.tree is not None
        assert {each.name for each in view.tree.spans} == {
            "RunWorkflow:GovernedWorkflow",
            "StartActivity:policy.decide",
            "RunActivity:policy.decide",
        }
    finally:
        await handle.terminate("test over")


async def _found_traces(
    client: Client, settings: Settings, workflow_id: str, service: str, count: int
) -> list[str]:
    """The look-up's answer once Jaeger has indexed `count` traces (it takes a moment)."""
    found: list[str] = []
    for _ in range(60):
        try:
            found = await workflow_trace_ids(
                client,
                workflow_id,
                trace_id_key=TRACE_ID,
                query_url=settings.jaeger_query_url,
                service=service,
            )
        except NoTraceYet:
            found = []
        if len(found) >= count:
            return found
        await asyncio.sleep(0.25)
    return found


def test_a_width_that_makes_no_sense_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import run

    for width, message in (("0", "0 must be at least 1"), ("wide", "'wide' is not a whole number")):
        assert run(["trace", "some-run", "--width", width]) == 2
        captured = capsys.readouterr()
        assert f"argument --width: {message}" in captured.err and "Traceback" not in captured.err
