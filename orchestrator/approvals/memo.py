"""What a run waits for, kept in its memo: one visibility list can then show an inbox.

Without it, each waiting run cost the console a `status` query (a worker round trip), a
history read for the task and parameters, and only then the policy's view of the viewer;
with 500 waiting, a page of 50 took 0.8 s. The memo is returned with the list itself, so a
page costs one list and the policy questions. The Temporal UI shows it on the run's page
too (decoded by the codec server when payloads are encrypted).

Workflow code: `entry` is pure, and the workflows upsert the memo (`MEMO_KEY`) whenever
what waits changes: an approval opens, an approver is counted, an escalation widens the
roles, the approval closes (an empty list). Runs started before the `approval-memo` patch
have no such key; readers fall back to the `status` query for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.policy.contract import Escalation

# Patch id: runs whose approvals are mirrored in the memo.
APPROVAL_MEMO = "approval-memo"
MEMO_KEY = "approvals"
# Parameters larger than this stay out of the memo (readers take them from the start
# input): Temporal warns above 128 KiB of memo and every list returns it.
MAX_PARAMETERS_BYTES = 4096


@dataclass(frozen=True)
class NextEscalation:
    action: str
    roles: list[str]
    at: str  # ISO time


@dataclass(frozen=True)
class WaitingEntry:
    """One approval as it waits now: what the inbox shows and what OPA needs to judge it."""

    step: str  # "" for a governed run's one approval, else the step path
    subject: str  # the task, or the step's description
    requester: str
    roles: list[str]
    quorum: int
    approved_by: list[str]
    exclude_requester: bool
    deadline: str
    digest: str
    reasons: list[str]
    # None when larger than MAX_PARAMETERS_BYTES: read them from the start input.
    parameters: dict[str, Any] | None
    policy_revision: str
    kind: str | None
    definition: str | None
    run_id: str
    escalations_done: int
    next_escalation: NextEscalation | None


def bounded_parameters(parameters: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters, or None when they are too large to repeat in every list."""
    size = len(json.dumps(parameters, sort_keys=True, default=str))
    return dict(parameters) if size <= MAX_PARAMETERS_BYTES else None


def next_escalation(
    opened_at: datetime | None,
    deadline: datetime | None,
    chain: Sequence[Escalation],
    done: int,
) -> NextEscalation | None:
    """The first step of the chain not yet taken, when it falls before the deadline.

    Steps run in order (orchestrator/approvals/gate.py `wait`), so the next one is the
    step after those already taken.
    """
    if opened_at is None or deadline is None or done >= len(chain):
        return None
    step = chain[done]
    moment = opened_at + timedelta(seconds=step.after_seconds)
    if moment >= deadline:
        return None
    return NextEscalation(step.action, list(step.roles), moment.isoformat())


def memo_value(entries: list[WaitingEntry]) -> list[dict[str, Any]]:
    """The memo's value: plain JSON, so any reader (or the Temporal UI) can decode it."""
    return [asdict(entry) for entry in entries]


def current_details(entries: list[WaitingEntry]) -> str:
    """What the Temporal UI shows as the run's current details (Markdown): what waits, its
    progress and deadline, or "" once nothing does. Metadata, not a command: setting it
    never changes history."""
    lines = []
    for entry in entries:
        where = f" at `{entry.step}`" if entry.step else ""
        roles = ", ".join(entry.roles) or "any approver"
        line = (
            f"**Waiting for approval**{where}: {entry.subject} - "
            f"{len(entry.approved_by)} of {entry.quorum} approvals ({roles}); "
            f"deadline {entry.deadline or '-'}"
        )
        if entry.next_escalation:
            step = entry.next_escalation
            line += f"; next escalation: {step.action} at {step.at}"
        lines.append(line)
    return "\n\n".join(lines)
