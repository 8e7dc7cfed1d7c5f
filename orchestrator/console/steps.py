"""A declarative run's steps as a tree (its definition's blocks), each with its state now.

The tree is built from the definition the run was started with; the state of each step
comes from the run's `status` query: in flight, waiting for an approval, decided by
policy (and how), skipped, in a stopped branch, or not reached yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.declarative.build import build_definition
from orchestrator.declarative.model import ApprovalStep, Block, Parallel, Sequential


@dataclass
class StepNode:
    path: str
    kind: str  # sequential | parallel | activity | approval
    label: str
    state: str = ""
    children: list[StepNode] = field(default_factory=list)


def step_tree(document: Any, status: dict[str, Any]) -> StepNode | None:
    """The tree, or None when the definition cannot be read back (then nothing is shown)."""
    if not isinstance(document, dict):
        return None
    try:
        definition = build_definition(document)
    except Exception:  # the run validated it; an old shape is just not drawn
        return None
    states = _states(status)
    return _node(definition.root, states)


def _node(block: Block, states: dict[str, str]) -> StepNode:
    if isinstance(block, Sequential | Parallel):
        kind = "sequential" if isinstance(block, Sequential) else "parallel"
        return StepNode(
            block.path,
            kind,
            block.description or kind,
            children=[_node(child, states) for child in block.blocks],
        )
    if isinstance(block, ApprovalStep):
        return StepNode(
            block.path, "approval", block.description or "approval", states.get(block.path, "")
        )
    activity = str(getattr(block, "activity", "") or "")
    return StepNode(
        block.path, "activity", activity or block.description, states.get(block.path, "")
    )


def _states(status: dict[str, Any]) -> dict[str, str]:
    """Step path -> what happened to it, the latest fact winning."""
    states: dict[str, str] = {}
    for decision in status.get("decisions") or []:
        if isinstance(decision, dict):
            outcome = str(decision.get("outcome") or "")
            states[str(decision.get("path"))] = {
                # Allowed and no longer in flight (`running` below says when it is): done.
                "allow": "done",
                "approval_required": "approval required",
                "deny": "denied by policy",
                "unavailable": "policy unavailable",
            }.get(outcome, outcome)
    for record in status.get("approvals") or []:
        if isinstance(record, dict):
            path = str(record.get("path") or "").removesuffix("#approval")
            states[path] = f"approval {record.get('status')}"
    for path in status.get("skipped") or []:
        states[str(path)] = "skipped"
    for branch in status.get("stopped_branches") or []:
        if isinstance(branch, dict):
            states[str(branch.get("step"))] = "denied: branch stopped"
    for path in status.get("running") or []:
        states[str(path)] = "running"
    for entry in status.get("pending_approvals") or []:
        if isinstance(entry, dict):
            path = str(entry.get("path") or "").removesuffix("#approval")
            states[path] = "awaiting approval"
    return states
