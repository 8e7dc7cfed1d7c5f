"""One poisoned run never breaks `audit export`: it is named, marked in the stream, and
every other run still exports and verifies.

The runs are started the way an attacker with Temporal access would start them, past the
CLI's own checks: with a Temporal client (NaN, infinity, undecodable bytes, a lone
surrogate in a definition's argument, a number JSON cannot hold) and with the `temporal`
CLI (an input nested 5,000 deep, which no JSON decoder in Python reads). The workflow
may run them, refuse them as invalid or never decode them; the export copes with each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.service import RPCError

from orchestrator.config import Settings
from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW
from orchestrator.devstack import LocalStack
from orchestrator.governed.workflow import WORKFLOW_NAME
from tests.support import BIN, RunningWorker
from tests.support import run_orchestrator as orchestrator

pytestmark = pytest.mark.integration

DEPTH = 5000


@pytest.fixture
async def poisoned_ids(client: Client) -> AsyncIterator[list[str]]:
    """Ids of the poisoned runs; afterwards they are terminated and deleted, so the exports
    of later tests in the session see a clean window again."""
    made: list[str] = []
    yield made
    for workflow_id in made:
        handle = client.get_workflow_handle(workflow_id)
        # It may have failed already (refused as invalid): nothing to terminate then.
        with contextlib.suppress(RPCError):
            await handle.terminate("poisoned run: test done")
        try:
            description = await handle.describe()
            await client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=ExecutionRef(
                        workflow_id=workflow_id, run_id=description.run_id
                    ),
                )
            )
        except RPCError:
            pass  # already gone


async def start_raw(
    client: Client, settings: Settings, workflow: str, workflow_id: str, argument: Any
) -> None:
    await client.start_workflow(
        workflow, argument, id=workflow_id, task_queue=settings.temporal.task_queue
    )


def raw_json(text: str) -> RawValue:
    """A payload of exactly this JSON text: what Python's encoder would refuse to write."""
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=text.encode()))


async def start_with_temporal_cli(
    stack: LocalStack, settings: Settings, workflow_id: str, text: str, tmp_path: Path
) -> None:
    input_file = tmp_path / f"{workflow_id}.json"
    input_file.write_text(text)
    done = await asyncio.to_thread(
        subprocess.run,
        [
            str(BIN / "temporal"), "workflow", "start",
            "--address", stack.temporal_address,
            "--type", WORKFLOW_NAME,
            "--task-queue", settings.temporal.task_queue,
            "--workflow-id", workflow_id,
            "--input-file", str(input_file),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


async def export_listing(
    stack: LocalStack, settings: Settings, path: Path, form: str, ids: set[str]
) -> subprocess.CompletedProcess[str]:
    """Export until visibility lists every id (it lags a just-started workflow slightly)."""
    for _ in range(75):
        done = await orchestrator(
            stack, settings, "audit", "export", "--since", "1h", "--format", form,
            "--output", str(path),
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        if path.exists() and all(workflow_id in path.read_text() for workflow_id in ids):
            return done
        await asyncio.sleep(0.2)
    raise AssertionError(f"{ids} never all exported: {done.stderr}")


def entries_of(path: Path, form: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in path.read_text().splitlines()]
    return [document["data"] for document in documents] if form == "cloudevents" else documents


async def test_poisoned_runs_are_named_and_marked_and_every_other_run_exports(
    stack: LocalStack,
    settings: Settings,
    client: Client,
    worker: RunningWorker,
    poisoned_ids: list[str],
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = {
        name: f"poisoned-{name}-{tag}"
        for name in ("nan", "inf", "bytes", "surrogate", "huge", "deep")
    }
    poisoned_ids.extend(ids.values())
    governed = {"task": "Generate the weekly usage report", "requester": "alice"}
    await start_raw(client, settings, WORKFLOW_NAME, ids["nan"],
                    {**governed, "parameters": {"amount": float("nan")}})  # fmt: skip
    await start_raw(client, settings, WORKFLOW_NAME, ids["inf"],
                    {**governed, "parameters": {"amount": float("-inf")}})  # fmt: skip
    # `--task $'\xff'` before the CLI refused it: the byte arrives as a lone surrogate.
    await start_raw(client, settings, WORKFLOW_NAME, ids["bytes"],
                    {**governed, "task": "report \udcff",
                     "parameters": {"note": "\udcfe"}})  # fmt: skip
    await start_raw(
        client, settings, DECLARATIVE_WORKFLOW, ids["surrogate"],
        {
            "requester": "alice",
            "definition": {
                "workflowName": "poisoned",
                "activities": [{"activityName": "GenerateReport", "args": ["\ud800"]}],
            },
        },
    )  # fmt: skip
    await start_raw(client, settings, WORKFLOW_NAME, ids["huge"], raw_json(
        '{"task": "Generate the weekly usage report", "requester": "alice",'
        ' "parameters": {"amount": 1e309}}'
    ))  # fmt: skip
    deep = '{"a":' * DEPTH + "1" + "}" * DEPTH
    await start_with_temporal_cli(
        stack, settings, ids["deep"], f'{{"task": "x", "requester": "alice", "nested": {deep}}}',
        tmp_path,
    )  # fmt: skip
    # And one ordinary run from the CLI, whose records must come through whole.
    clean = await orchestrator(
        stack, settings, "start", "--task", "Generate the weekly usage report",
        "--requester", "alice", "--wait", "--json",
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    clean_id = json.loads(clean.stdout)["workflow_id"]

    for form in ("jsonl", "cloudevents"):
        stream = tmp_path / f"audit.{form}"
        exported = await export_listing(stack, settings, stream, form, {*ids.values(), clean_id})
        # Something was not exported faithfully: exit 1, after the whole stream was written.
        assert exported.returncode == 1, exported.stderr
        problems = [line for line in exported.stderr.splitlines() if "audit export:" in line]
        for workflow_id in ids.values():
            assert any(f"audit export: {workflow_id} (run " in line for line in problems), (
                workflow_id,
                exported.stderr,
            )
        assert not any(clean_id in line for line in problems)
        head = re.search(
            r"head ([0-9a-f]{64}); (\d+) run\(s\) not exported faithfully", exported.stderr
        )
        assert head, exported.stderr

        verified = await orchestrator(
            stack, settings, "audit", "verify", str(stream), "--head", head.group(1)
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr

        entries = entries_of(stream, form)
        by_run: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_run.setdefault(str(entry.get("workflow_id")), []).append(entry)
        trailer = entries[-1]
        assert trailer["kind"] == "end"
        assert trailer["unreadable_runs"] == int(head.group(2)) >= len(ids)

        # The clean run: request, its decision, its step and its outcome, none marked.
        kinds = [entry["kind"] for entry in by_run[clean_id]]
        assert kinds[0] == "request" and kinds[-1] == "outcome" and "decision" in kinds
        assert not any("unencodable" in entry for entry in by_run[clean_id])
        assert by_run[clean_id][-1]["status"] == "completed"

        # The 5,000-deep input: no record can be read from it, so one entry says so.
        [unreadable] = by_run[ids["deep"]]
        assert unreadable["kind"] == "unreadable" and unreadable["workflow_type"] == WORKFLOW_NAME
        assert "(RecursionError: maximum recursion depth exceeded" in unreadable["error"]

        # Values JSON cannot carry: exported as text where they were, each place named.
        def request_of(name: str, runs: dict[str, list[dict[str, Any]]] = by_run) -> Any:
            [request] = [e for e in runs[ids[name]] if e["kind"] == "request"]
            return request

        nan = request_of("nan")
        assert nan["request"]["parameters"]["amount"] == "NaN"
        assert nan["unencodable"] == [
            "request.parameters.amount: NaN is not a JSON number; exported as the text 'NaN'"
        ]
        assert request_of("inf")["request"]["parameters"]["amount"] == "-Infinity"
        assert request_of("huge")["request"]["parameters"]["amount"] == "Infinity"
        undecodable = request_of("bytes")
        assert undecodable["request"]["task"] == "report \\udcff"
        assert "request.task: not valid Unicode text" in " ".join(undecodable["unencodable"])
        surrogate = request_of("surrogate")
        assert surrogate["request"]["definition"]["activities"][0]["args"] == ["\\ud800"]
        assert surrogate["unencodable"] == [
            "request.definition.activities[0].args[0]: not valid Unicode text; exported with "
            "\\u escapes"
        ]
        # Every poisoned run still has its outcome (or is marked as still open).
        for name in ("nan", "inf", "bytes", "surrogate", "huge"):
            assert by_run[ids[name]][-1]["kind"] == "outcome", name

    # One run's record, and the shadow report, read past the same runs.
    deep_audit = await orchestrator(stack, settings, "audit", ids["deep"])
    assert deep_audit.returncode == 1
    assert deep_audit.stderr.startswith(f"orchestrator: cannot read the history of {ids['deep']}:")
    assert len(deep_audit.stderr.strip().splitlines()) == 1
    nan_audit = await orchestrator(stack, settings, "audit", ids["nan"], "--json")
    assert nan_audit.returncode == 0, nan_audit.stderr
    strict = json.loads(nan_audit.stdout, parse_constant=lambda name: pytest.fail(name))
    assert strict["request"]["parameters"]["amount"] == "NaN"
    text_audit = await orchestrator(stack, settings, "audit", ids["bytes"])
    assert text_audit.returncode == 0, text_audit.stderr
    assert "report \\udcff" in text_audit.stdout

    report = await orchestrator(stack, settings, "policy", "shadow-report", "--since", "1h")
    assert report.returncode == 0, report.stderr
    assert f"shadow-report: {ids['deep']} (run " in report.stderr
    assert "run(s) unreadable, not counted" in report.stdout
