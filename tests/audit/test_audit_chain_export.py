"""`orchestrator audit export` and `audit verify` against the real test stack."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.support import RunningWorker
from tests.support import run_orchestrator as orchestrator

pytestmark = pytest.mark.integration


async def export_until_listed(
    stack: LocalStack, settings: Settings, path: Path, form: str, ids: set[str]
) -> str:
    """Export until visibility lists every id (it lags a closed workflow slightly)."""
    for _ in range(50):
        done = await orchestrator(
            stack, settings, "audit", "export", "--since", "1h", "--format", form, "--output",
            str(path),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        text = path.read_text()
        if all(workflow_id in text for workflow_id in ids):
            return done.stderr
        await asyncio.sleep(0.2)
    raise AssertionError(f"{ids} never all exported")


async def test_export_verifies_and_a_one_byte_edit_is_caught(
    stack: LocalStack, settings: Settings, worker: RunningWorker, tmp_path: Path
) -> None:
    # Started by the CLI, as operators do: its span gives each workflow a trace id.
    started = []
    for task, requester in (
        ("Generate the weekly usage report", "alice"),
        ("Summarise the open support tickets", "bob"),
    ):
        done = await orchestrator(
            stack, settings, "start", "--task", task, "--requester", requester, "--wait", "--json"
        )
        assert done.returncode == 0, done.stderr
        started.append(json.loads(done.stdout)["workflow_id"])
    ids = set(started)

    stream = tmp_path / "audit.jsonl"
    exported = await export_until_listed(stack, settings, stream, "jsonl", ids)
    head = re.search(r"head ([0-9a-f]{64})", exported)
    assert head, exported
    # One head: the trailer states the one printed on stderr.
    assert json.loads(stream.read_text().splitlines()[-1])["head"] == head.group(1)

    intact = await orchestrator(
        stack, settings, "audit", "verify", str(stream), "--head", head.group(1)
    )
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert re.fullmatch(rf"ok: \d+ records, head {head.group(1)}\n", intact.stdout)

    lines = stream.read_text().splitlines()
    number, entry = next(
        (n, json.loads(line))
        for n, line in enumerate(lines, start=1)
        if json.loads(line).get("workflow_id") in ids and json.loads(line)["kind"] == "decision"
    )
    assert entry["decision_id"] and entry["policy_revision"] and entry["outcome"] == "allow"
    assert entry["trace_id"], "the trace id joins the record to Jaeger"
    # One byte of the decision id changed, nothing else: the hash no longer matches.
    decision_id = entry["decision_id"]
    forged = decision_id[:-1] + ("0" if decision_id[-1] != "0" else "1")
    lines[number - 1] = lines[number - 1].replace(decision_id, forged)
    stream.write_text("\n".join(lines) + "\n")

    tampered = await orchestrator(stack, settings, "audit", "verify", str(stream))
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines() == [
        f"{stream}: line {number}: edited: seq {entry['seq']}: content does not match its hash"
    ]
    assert "Traceback" not in tampered.stderr

    events = tmp_path / "audit.cloudevents"
    await export_until_listed(stack, settings, events, "cloudevents", ids)
    checked = await orchestrator(stack, settings, "audit", "verify", str(events))
    assert checked.returncode == 0, checked.stdout
    first = json.loads(events.read_text().splitlines()[0])
    assert first["specversion"] == "1.0" and first["type"].startswith("dev.policy-orchestrator.")

    # `audit ID` is unchanged by the new forms.
    single = await orchestrator(stack, settings, "audit", started[0])
    assert single.returncode == 0, single.stderr
    assert f"audit of {started[0]}" in single.stdout
    refused = await orchestrator(stack, settings, "audit", started[0], "--since", "1h")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "orchestrator: audit ID does not take --since."
