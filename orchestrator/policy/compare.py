"""How two policy decisions differ, in words ("quorum: 1 -> 2").

One comparison for both places that need it: the shadow policy's disagreements
(shadow.py) and the re-check after an approval (gate.changed_since_approval). Pure, so
workflow code may use it.
"""

from __future__ import annotations

from typing import Any

from orchestrator.policy.contract import Escalation, PolicyDecision


def differences(before: PolicyDecision, after: PolicyDecision, *, risk: bool = True) -> list[str]:
    """What differs in outcome, (optionally) risk and the approval required; [] if nothing."""
    return [
        f"{name}: {_shown(old)} -> {_shown(new)}"
        for name, old, new in _compared_fields(before, after, risk)
        if old != new
    ]


def _compared_fields(
    before: PolicyDecision, after: PolicyDecision, risk: bool
) -> list[tuple[str, Any, Any]]:
    fields: list[tuple[str, Any, Any]] = [("outcome", before.outcome, after.outcome)]
    if risk:
        fields.append(("risk", before.risk, after.risk))
    old, new = before.approval, after.approval
    if old and new:
        fields += [
            ("approver roles", sorted(old.approver_roles), sorted(new.approver_roles)),
            ("quorum", old.quorum, new.quorum),
            ("exclude requester", old.exclude_requester, new.exclude_requester),
            ("deadline seconds", old.deadline_seconds, new.deadline_seconds),
            ("escalation", _steps(old.escalation), _steps(new.escalation)),
        ]
    elif before.outcome == after.outcome and (old is None) != (new is None):
        # Same outcome, but only one side says what the approval requires.
        fields.append(("approval requirement", _given(old), _given(new)))
    return fields


def _given(requirement: object) -> str:
    return "none" if requirement is None else "given"


def _steps(escalation: list[Escalation]) -> list[str]:
    """An escalation chain as short strings: "3600s notify approver"."""
    return [f"{step.after_seconds:g}s {step.action} {'/'.join(step.roles)}" for step in escalation]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)
