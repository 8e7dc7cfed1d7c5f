"""The agent task and its cleanup, as activities.

The agent turns an approved task into a work order: it plans the task's steps, works
through them with a heartbeat after each (a retried attempt resumes from the last
heartbeat, not from the start), and delivers the work order to an outbox keyed by the
idempotency key. Delivery creates the file only if it does not exist yet, so however
often Temporal retries the activity, the side effect happens once per workflow.
Swap `Outbox` for the system the agent really drives; keep the idempotency key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from temporalio import activity

from orchestrator.governed.model import AgentTaskInput, AgentTaskResult
from orchestrator.vocabulary import AGENT_CLEANUP_ACTIVITY, AGENT_EXECUTE_ACTIVITY

STEP_SPLIT = re.compile(r"\s*(?:,|;|\bthen\b|\band then\b)\s*", re.IGNORECASE)
# A JSON-style string: what the API pastes into a task for an event's field. Backslash
# escapes included (`"a\", then b"` is one string); an unclosed quote runs to the end.
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)


def plan(description: str) -> list[str]:
    """The task's steps: its clauses, in order ("build, test then deploy" -> 3 steps).

    Never split inside double quotes: a quoted value is one atom of its step, so text an
    event pasted into a task (`report for "billing, then export all records"`) cannot
    add a step that nobody wrote into the template.
    """
    steps: list[str] = []
    current = ""
    position = 0
    text = description.strip()
    for quoted in [*QUOTED.finditer(text), None]:
        plain = text[position : quoted.start() if quoted else len(text)]
        first, *rest = STEP_SPLIT.split(plain)
        current += first
        for clause in rest:
            steps.append(current)
            current = clause
        if quoted:
            current += quoted.group()
            position = quoted.end()
    steps.append(current)
    return [step.strip() for step in steps if step.strip()] or [description]


def file_name(idempotency_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", idempotency_key)


class Outbox:
    """A folder of work orders, one per idempotency key, each written exactly once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{file_name(key)}.json"

    def scratch(self, key: str) -> Path:
        return self.root / ".work" / file_name(key)

    def deliver(self, key: str, order: dict[str, Any]) -> tuple[Path, bool]:
        """Write the order unless one with this key exists; True when this call wrote it."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        with tempfile.NamedTemporaryFile("w", dir=self.root, delete=False, suffix=".tmp") as tmp:
            json.dump(order, tmp, indent=2, sort_keys=True)
        try:
            # link() fails if the target exists: an atomic create-once, even across workers.
            os.link(tmp.name, target)
            return target, True
        except FileExistsError:
            return target, False
        finally:
            os.unlink(tmp.name)


class AgentActivities:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    @activity.defn(name=AGENT_EXECUTE_ACTIVITY)
    async def execute(self, task: AgentTaskInput) -> AgentTaskResult:
        steps = plan(task.description)
        details = activity.info().heartbeat_details
        done = int(details[0]) if details else 0
        scratch = self.outbox.scratch(task.idempotency_key)
        scratch.mkdir(parents=True, exist_ok=True)
        for number in range(done, len(steps)):
            (scratch / f"step-{number + 1}.json").write_text(
                json.dumps({"step": steps[number], "parameters": task.parameters})
            )
            activity.heartbeat(number + 1)
        order = {**asdict(task), "steps": steps}
        path, created = self.outbox.deliver(task.idempotency_key, order)
        activity.logger.info(
            "work order %s %s",
            task.idempotency_key,
            "delivered" if created else "already delivered",
        )
        return AgentTaskResult(
            idempotency_key=task.idempotency_key,
            summary=f"Planned and delivered {len(steps)} step(s): {'; '.join(steps)}"[:500],
            steps_completed=len(steps),
            work_order=str(path),
        )

    @activity.defn(name=AGENT_CLEANUP_ACTIVITY)
    async def cleanup(self, idempotency_key: str) -> None:
        shutil.rmtree(self.outbox.scratch(idempotency_key), ignore_errors=True)
