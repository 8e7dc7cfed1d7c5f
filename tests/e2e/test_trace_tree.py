"""One trace from the CLI to OPA's own span, asserted on what Jaeger returns.

Every part is real and in its own process: the `orchestrator` CLI, a background worker
(the same service `make demo` starts), OPA with the repo's policies, and Jaeger.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.devstack import LocalStack, process
from orchestrator.governed.model import GovernedRequest
from telemetry.httpx_tracing import OPA_PATH, OPA_ROLE
from telemetry.jaeger import Span, fetch_trace
from tests.support import signed

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
SECRET = "XYZZY-TOKEN-b9f1e0c4"  # no risky word in it: the task stays low risk
SERVICES = {"orchestrator-cli", "orchestrator-worker", "opa"}


@pytest.fixture(scope="module")
def task_queue() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def worker_process(stack: LocalStack, task_queue: str) -> Iterator[None]:
    """A real worker process exporting its spans to the test stack's Jaeger."""
    spec = stack.worker
    spec = replace(spec, env={**spec.env, "TEMPORAL_TASK_QUEUE": task_queue})
    process.start_all([spec], stack.layout)
    yield
    process.stop("worker", stack.layout)


async def cli(stack: LocalStack, task_queue: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, **stack.client_env(), "TEMPORAL_TASK_QUEUE": task_queue}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


async def trace_of(stack: LocalStack, trace_id: str) -> list[Span]:
    return await fetch_trace(
        stack.jaeger_query_url, trace_id, wait_seconds=30, expect_services=SERVICES
    )


def only(spans: list[Span], name: str) -> Span:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [span for span in spans if span.parent_span_id == parent.span_id]


@pytest.fixture(scope="module")
async def allowed_trace(
    stack: LocalStack, task_queue: str, worker_process: None
) -> tuple[dict[str, Any], list[Span]]:
    outcome = await cli(
        stack,
        task_queue,
        "start",
        "--task",
        "Generate the weekly usage report",
        "--requester",
        "alice",
        "--param",
        f"api_token={SECRET}",
        "--wait",
    )
    assert outcome["outcome"] == "completed", outcome
    return outcome, await trace_of(stack, outcome["trace_id"])


async def test_one_trace_runs_from_the_cli_to_opas_span(
    allowed_trace: tuple[dict[str, Any], list[Span]],
) -> None:
    outcome, spans = allowed_trace
    assert {span.trace_id for span in spans} == {outcome["trace_id"]}
    assert {span.service for span in spans} >= SERVICES

    root = only(spans, "orchestrator start")
    assert root.service == "orchestrator-cli" and root.parent_span_id is None
    start = only(spans, "StartWorkflow:GovernedWorkflow")
    assert start.parent_span_id == root.span_id
    run = only(spans, "RunWorkflow:GovernedWorkflow")
    assert run.parent_span_id == start.span_id and run.service == "orchestrator-worker"

    policy_start = only(spans, "StartActivity:policy.decide")
    assert policy_start.parent_span_id == start.span_id
    policy_run = only(spans, "RunActivity:policy.decide")
    assert policy_run.parent_span_id == policy_start.span_id
    posts = {
        str(s.attributes.get("url.full", s.attributes.get("http.url"))).split("?")[0]: s
        for s in children(spans, policy_run)
        if s.attributes.get("http.request.method", s.attributes.get("http.method")) == "POST"
        and "/v1/data/" in str(s.attributes.get("url.full", s.attributes.get("http.url")))
    }
    # The enforcing decision and the shadow candidate in one request (policies/orchestrator/
    # paired), with OPA's span, saying what it asks (telemetry/httpx_tracing.py).
    assert [url.split("/v1/data/")[1] for url in posts] == ["orchestrator/paired/decision"]
    assert [
        (str(http.attributes[OPA_ROLE]), str(http.attributes[OPA_PATH])) for http in posts.values()
    ] == [("enforcing+shadow", "orchestrator/paired/decision")]
    for http in posts.values():
        [opa] = children(spans, http)
        assert opa.service == "opa"

    attributes = policy_run.attributes
    assert attributes["orchestrator.policy.action"] == "workflow.start"
    assert attributes["orchestrator.policy.allow"] is True
    assert attributes["orchestrator.policy.require_approval"] is False
    assert attributes["orchestrator.policy.decision_id"]
    assert attributes["orchestrator.policy.revision"]
    assert attributes["orchestrator.policy.shadow.agrees"] is True
    # The decision as an event on the same span, read back from Jaeger's API, in the
    # shape of OpenTelemetry's feature_flag.evaluation event: outcomes and ids only.
    [event] = [e for e in policy_run.events if e.name == "feature_flag.evaluation"]
    assert event.attributes == {
        "feature_flag.key": "orchestrator/main/decision",
        "feature_flag.provider.name": "opa",
        "feature_flag.result.variant": "allow",
        "feature_flag.result.reason": "targeting_match",
        "feature_flag.version": attributes["orchestrator.policy.revision"],
        "orchestrator.policy.action": "workflow.start",
        "orchestrator.policy.reasons_count": attributes["orchestrator.policy.reasons_count"],
        "orchestrator.policy.decision_id": attributes["orchestrator.policy.decision_id"],
        "orchestrator.policy.shadow.verdict": "agree",
    }
    for name in (
        "StartActivity:agent.execute",
        "RunActivity:agent.execute",
        "RunActivity:agent.cleanup",
    ):
        only(spans, name)


async def test_no_task_data_reaches_jaeger(
    allowed_trace: tuple[dict[str, Any], list[Span]],
) -> None:
    _, spans = allowed_trace
    dumped = json.dumps([[s.name, s.attributes, s.events] for s in spans], default=str)
    assert SECRET not in dumped
    assert "weekly usage report" not in dumped


async def test_a_denied_workflow_shows_error_status(
    stack: LocalStack, task_queue: str, worker_process: None
) -> None:
    outcome = await cli(
        stack,
        task_queue,
        "start",
        "--task",
        "forbidden: wipe the audit log",
        "--requester",
        "alice",
        "--wait",
    )
    assert outcome["outcome"] == "denied"
    spans = await trace_of(stack, outcome["trace_id"])
    root = only(spans, "orchestrator start")
    assert root.status_code == "error"
    assert "denied" in root.status_message
    policy_run = only(spans, "RunActivity:policy.decide")
    assert policy_run.attributes["orchestrator.policy.allow"] is False
    assert policy_run.attributes["orchestrator.policy.reasons_count"] >= 1
    completion = only(spans, "CompleteWorkflow:GovernedWorkflow")
    assert any("PolicyDenied" in json.dumps(event, default=str) for event in completion.events)


async def test_a_run_started_by_the_temporal_cli_is_found_in_jaeger(
    stack: LocalStack, task_queue: str, worker_process: None
) -> None:
    """No trace context from the starter: the run records its own trace, found as any other."""
    workflow_id = f"cli-started-{uuid.uuid4().hex[:8]}"
    started = await asyncio.to_thread(
        subprocess.run,
        [
            str(BIN / "temporal"),
            "workflow",
            "execute",
            "--address",
            stack.temporal_address,
            "--task-queue",
            task_queue,
            "--type",
            "GovernedWorkflow",
            "--workflow-id",
            workflow_id,
            "--input",
            # Signed as the CLI signs: without a start credential, policy denies the run.
            json.dumps(
                asdict(
                    signed(
                        GovernedRequest(task="Generate the weekly usage report", requester="alice"),
                        workflow_id,
                    )
                )
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    for _ in range(20):
        shown = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "orchestrator"), "trace", workflow_id, "--json"],
            env={**os.environ, **stack.client_env(), "TEMPORAL_TASK_QUEUE": task_queue},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if shown.returncode == 0:
            break
        await asyncio.sleep(0.5)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    spans = document["spans"]
    names = {span["name"] for span in spans}
    assert {"RunWorkflow:GovernedWorkflow", "RunActivity:policy.decide"} <= names
    assert any(span["attributes"].get("temporalWorkflowID") == workflow_id for span in spans)
    # No starter's context, yet one trace: the run's own, rooted at its RunWorkflow span.
    assert len(document["trace_ids"]) == 1
    [root] = [span for span in spans if span["depth"] == 0]
    assert root["name"] == "RunWorkflow:GovernedWorkflow" and root["parent_span_id"] is None


async def test_orchestrator_trace_prints_the_decision_event(
    stack: LocalStack, task_queue: str, allowed_trace: tuple[dict[str, Any], list[Span]]
) -> None:
    outcome, spans = allowed_trace
    policy_run = only(spans, "RunActivity:policy.decide")
    decision_id = policy_run.attributes["orchestrator.policy.decision_id"]
    reasons = policy_run.attributes["orchestrator.policy.reasons_count"]
    env = {**os.environ, **stack.client_env(), "TEMPORAL_TASK_QUEUE": task_queue}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), "trace", outcome["workflow_id"]],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # the viewer wraps long lines
    assert "decision event: orchestrator/main/decision -> allow (revision " in text
    assert f"{reasons} reasons, decision id {decision_id}, shadow agree)" in text
