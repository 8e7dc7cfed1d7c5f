"""1,000 steps through continue-as-new on the real stack: wall time and history, measured."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.declarative.parse import load_file
from orchestrator.declarative.validate import problems
from tests.declarative.support import start
from tests.support import RunningWorker

pytestmark = pytest.mark.integration

LARGE = Path(__file__).parents[2] / "examples" / "definitions" / "large-1000.json"
HISTORY_WARN_EVENTS = 10_240


async def test_a_thousand_steps_complete_within_history_limits(
    worker: RunningWorker, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    document = load_file(LARGE)
    assert problems(document) == []
    began = time.monotonic()
    handle = await start(worker.client, worker.settings, document, "erin", source=LARGE.name)
    result = await handle.result()
    wall = time.monotonic() - began

    assert result.completed_steps == 1000
    assert result.summary.allowed == 1000 and result.summary.denied == 0
    assert result.runs >= 2, "1,000 steps should not fit one run's history budget"
    assert len(result.summary.earlier_runs) == result.runs - 1

    runs = [execution async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == result.runs
    lengths, sizes = [], []
    for execution in runs:
        history = await client.get_workflow_handle(
            handle.id, run_id=execution.run_id
        ).fetch_history()
        lengths.append(len(history.events))
        sizes.append(sum(event.ByteSize() for event in history.events))
        assert len(history.events) < HISTORY_WARN_EVENTS
    with capsys.disabled():
        print(
            f"\n1,000-step definition: {wall:.1f} s wall, {result.runs} runs "
            f"(continue-as-new x{result.runs - 1}), history events per run {sorted(lengths)}"
            f" = {sum(lengths)} total, {sum(sizes) / 1024:.0f} KiB total"
            f" (largest run {max(sizes) / 1024:.0f} KiB)"
        )
