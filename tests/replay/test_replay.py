"""Recorded histories replay against today's workflow code.

A change to workflow code that is not guarded by `workflow.patched` makes a recorded
history diverge: the Replayer raises a non-determinism error and this test fails CI.
Record new histories with `python -m tests.histories.record` (see its docstring).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_there_are_recorded_histories() -> None:
    names = {path.stem for path in HISTORIES}
    assert any(name.startswith("governed_") for name in names), names


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)
