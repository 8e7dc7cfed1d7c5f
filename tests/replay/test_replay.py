"""Recorded histories replay against today's workflow code, each once.

A change to workflow code that is not guarded by `workflow.patched` makes a recorded
history diverge: the Replayer raises a non-determinism error and this test fails CI.
Record new histories with `python -m tests.replay.record KIND TAG` (see its docstring).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.declarative.interpreter import Interpreter
from orchestrator.declarative.model import Parallel
from orchestrator.worker import EVERY_WORKFLOW, WORKFLOWS
from tests.support import HISTORIES

RECORDED = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_scenario_is_recorded() -> None:
    scenarios = {path.stem.rsplit("_", 1)[0] for path in RECORDED}
    assert {
        "governed_lowrisk",
        "governed_denied",
        "governed_approved",
        "governed_rejected",
        "declarative_pipeline",
        "declarative_release",
        "declarative_approval_first",
        "declarative_continued_run1",
        "declarative_continued_last",
        # CheckPolicy waiting for the approval its decision requires (patched, v3 on).
        "declarative_check_policy_approval",
        # The scheduled audit checkpoint (orchestrator/audit/scheduled_workflow.py).
        "audit_checkpoint",
    } <= scenarios


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_history_replays(path: Path) -> None:
    result = await Replayer(workflows=EVERY_WORKFLOW).replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_nondeterministic_interpreter_change_fails_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starting parallel branches in another order is exactly the change replay catches."""

    async def reversed_parallel(self: Interpreter, block: Parallel, flow: Any) -> list[Any]:
        tasks = [asyncio.create_task(self._branch(c, flow)) for c in reversed(block.blocks)]
        return list(reversed(await asyncio.gather(*tasks)))

    monkeypatch.setattr(Interpreter, "_parallel", reversed_parallel)
    pipelines = [path for path in RECORDED if path.stem.startswith("declarative_pipeline")]
    assert pipelines
    for pipeline in pipelines:
        with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
            await Replayer(workflows=WORKFLOWS).replay_workflow(load(pipeline))
