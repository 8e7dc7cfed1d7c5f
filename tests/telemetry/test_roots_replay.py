"""Runs recorded without trace headers replay under the project's tracing interceptor.

Such a run now gets its own root context (telemetry/workflow_roots.py), so code that reads
the current span (the workflows' TraceId search attribute) sees a trace where it saw none
when the history was recorded. Temporal compares commands, not the attributes they
upsert, so the histories in tests/histories (all recorded without trace headers, like a
scheduled run in flight when the worker is upgraded) must still replay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.worker import EVERY_WORKFLOW
from telemetry.temporal import tracing_interceptor
from tests.support import HISTORIES

RECORDED = sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_history_replays_with_the_rooted_interceptor(path: Path) -> None:
    assert "_tracer-data" not in path.read_text()  # recorded without trace context
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=EVERY_WORKFLOW, interceptors=[tracing_interceptor()])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
