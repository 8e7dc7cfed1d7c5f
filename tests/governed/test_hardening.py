"""Inputs an attacker or a careless user sends past the CLI and API, on the real stack.

Each was reproduced on the running product before its fix: input the SDK could not
decode looped in workflow-task failures forever, a new run under a finished run's id
silently did no work, and a requester named in the payload was believed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.common import RawValue

from orchestrator import starts
from orchestrator.config import Settings
from orchestrator.governed.model import GovernedRequest, GovernedResult
from orchestrator.governed.workflow import WORKFLOW_NAME
from tests.support import RunningWorker, failure_of, signed, stack_keys

pytestmark = pytest.mark.integration

REPORT = "Generate the weekly usage report"


def json_payload(text: str) -> RawValue:
    """A payload as the `temporal` CLI sends it: any JSON text, however odd."""
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=text.encode()))


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("junk", '"junk"', "input: not a GovernedRequest"),
        (
            "timeout-text",
            json.dumps({"task": REPORT, "requester": "alice", "approval_timeout_seconds": "x"}),
            "approval_timeout_seconds",
        ),
        ("deep", '{"task": ' + "[" * 5000 + "]" * 5000 + ', "requester": "alice"}', "input:"),
        (
            "nan",
            '{"task": "Pay it", "requester": "alice", "parameters": {"amount": NaN}}',
            "parameters.amount: nan is not a finite number",
        ),
        (
            "surrogate",
            '{"task": "Report \\ud800", "requester": "alice"}',
            "task: is not valid Unicode text",
        ),
    ],
)
async def test_bad_input_fails_the_run_once_with_a_clear_message(
    worker: RunningWorker, client: Client, settings: Settings, name: str, text: str, says: str
) -> None:
    handle = await client.start_workflow(
        WORKFLOW_NAME,
        json_payload(text),
        id=f"hardening-{name}-{settings.temporal.task_queue}",
        task_queue=settings.temporal.task_queue,
    )
    error = await failure_of(handle)
    assert error.type == "InvalidRequest"
    assert says in error.message
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.HasField("workflow_task_failed_event_attributes")
    ]
    assert failed_tasks == []  # refused once, never retried


async def test_a_requester_no_credential_proves_is_refused_by_policy(
    worker: RunningWorker, client: Client, settings: Settings
) -> None:
    """As with `temporal workflow start --input '{"requester": "alice", ...}'`."""
    handle = await client.start_workflow(
        WORKFLOW_NAME,
        GovernedRequest(task=REPORT, requester="alice"),
        id=f"unsigned-{settings.temporal.task_queue}",
        task_queue=settings.temporal.task_queue,
    )
    error = await failure_of(handle)
    assert error.type == "PolicyDenied"
    assert "not authenticated (no start credential)" in error.message


async def test_someone_elses_key_cannot_start_work_in_your_name(
    worker: RunningWorker, client: Client, settings: Settings
) -> None:
    """bob signs a start for alice with a key that claims to speak for anyone."""
    workflow_id = f"forged-start-{settings.temporal.task_queue}"
    bob = stack_keys().key("bob")
    forged = replace(bob, asserts_any_subject=True)
    handle = await client.start_workflow(
        WORKFLOW_NAME,
        starts.signed(GovernedRequest(task=REPORT, requester="alice"), forged, workflow_id),
        id=workflow_id,
        task_queue=settings.temporal.task_queue,
    )
    error = await failure_of(handle)
    assert error.type == "PolicyDenied"
    assert "the key 'bob' may not sign for 'alice'" in error.message


async def test_a_credential_for_other_work_does_not_start_this_work(
    worker: RunningWorker, client: Client, settings: Settings
) -> None:
    workflow_id = f"swapped-start-{settings.temporal.task_queue}"
    honest = signed(GovernedRequest(task=REPORT, requester="alice"), workflow_id)
    swapped = replace(honest, task="Deploy the billing service", kind="deploy")
    handle = await client.start_workflow(
        WORKFLOW_NAME, swapped, id=workflow_id, task_queue=settings.temporal.task_queue
    )
    error = await failure_of(handle)
    assert "the request changed since it was signed" in error.message


async def test_a_new_run_under_a_finished_runs_id_does_its_own_work(
    worker: RunningWorker, client: Client, settings: Settings
) -> None:
    workflow_id = f"reused-{settings.temporal.task_queue}"
    orders = []
    for _ in range(2):
        handle = await client.start_workflow(
            WORKFLOW_NAME,
            signed(GovernedRequest(task=REPORT, requester="alice"), workflow_id),
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            result_type=GovernedResult,
        )
        result = await handle.result()
        orders.append(Path(result.agent.work_order))
    first, second = orders
    assert first != second  # two runs, two work orders: none silently dropped
    assert all(order.exists() for order in orders)
    assert json.loads(second.read_text())["idempotency_key"].startswith(f"{workflow_id}/")
