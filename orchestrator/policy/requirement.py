"""Read the approval requirement out of OPA's decision, or say exactly what is wrong with it."""

from __future__ import annotations

from typing import Any, get_args

from orchestrator.policy.contract import ApprovalRequirement, Escalation, EscalationAction

ESCALATION_ACTIONS: tuple[EscalationAction, ...] = get_args(EscalationAction)


def parse_requirement(raw: Any, where: str) -> tuple[ApprovalRequirement | None, list[str]]:
    """The requirement and the problems found; (None, []) when the decision has none."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where} must be an object"]
    problems: list[str] = []
    roles: Any = raw.get("approver_roles")
    if not _strings(roles) or not roles:
        problems.append(f"{where}.approver_roles must be a non-empty list of role names")
    quorum = raw.get("quorum", 1)
    if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 1:
        problems.append(f"{where}.quorum must be a whole number of at least 1")
    exclude = raw.get("exclude_requester", True)
    if not isinstance(exclude, bool):
        problems.append(f"{where}.exclude_requester must be true or false")
    deadline: Any = raw.get("deadline_seconds", 24 * 3600)
    if not _positive(deadline):
        problems.append(f"{where}.deadline_seconds must be a positive number")
    escalation: list[Escalation] = []
    steps = raw.get("escalation", [])
    if not isinstance(steps, list):
        problems.append(f"{where}.escalation must be a list")
        steps = []
    for index, step in enumerate(steps):
        at = f"{where}.escalation[{index}]"
        if not isinstance(step, dict):
            problems.append(f"{at} must be an object")
            continue
        action: Any = step.get("action")
        after: Any = step.get("after_seconds")
        step_roles: Any = step.get("roles", [])
        if action not in ESCALATION_ACTIONS:
            problems.append(f"{at}.action must be one of {', '.join(ESCALATION_ACTIONS)}")
        if not _positive(after):
            problems.append(f"{at}.after_seconds must be a positive number")
        if not _strings(step_roles):
            problems.append(f"{at}.roles must be a list of role names")
        if not problems:  # every step so far is valid
            escalation.append(Escalation(float(after), action, list(step_roles)))
    if problems:
        return None, problems
    return (
        ApprovalRequirement(
            approver_roles=list(roles),
            quorum=int(quorum),
            exclude_requester=bool(exclude),
            deadline_seconds=float(deadline),
            escalation=sorted(escalation, key=lambda step: step.after_seconds),
        ),
        [],
    )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
