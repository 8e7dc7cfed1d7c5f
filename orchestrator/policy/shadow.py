"""Shadow evaluation: ask a candidate policy beside the enforcing one, and compare.

The candidate (policies/shadow/, OPA_SHADOW_DECISION_PATH) answers the same input; its
answer is attached to the enforcing decision as a ShadowResult and never changes the
outcome. Whatever goes wrong with the candidate (OPA error, malformed answer, a bug
here) becomes a ShadowResult with outcome "error": a shadow can neither block nor let
through anything. A path with no rule behind it (no candidate deployed) gives no result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from orchestrator.policy.client import OpaClient, PolicyError, PolicyUndefined, parse_decision
from orchestrator.policy.contract import Escalation, PolicyDecision, PolicyInput, ShadowResult

ERROR = "error"


class ShadowEvaluator:
    def __init__(self, client: OpaClient, decision_path: str) -> None:
        self.client = client
        self.decision_path = decision_path

    async def ask(self, policy_input: PolicyInput) -> PolicyDecision | str | None:
        """The candidate's decision, the reason it gave none (str), or None if undeployed."""
        try:
            body = await self.client.query(self.decision_path, policy_input)
            candidate = parse_decision(body, self.decision_path, policy_input.action)
        except PolicyUndefined:
            return None
        except PolicyError as error:
            return str(error)
        except Exception as error:  # a shadow must never fail the decision
            return f"{type(error).__name__}: {error}"
        # In a bundle both packages share the bundle's revision; the candidate's own
        # policy_version is what tells candidates apart.
        stated = _stated_version(body)
        return replace(candidate, policy_revision=stated) if stated else candidate


def compare(enforcing: PolicyDecision, answer: PolicyDecision | str) -> ShadowResult:
    """What would change if the candidate enforced: outcome, risk, the approval required."""
    if isinstance(answer, str):
        return ShadowResult(
            decision_path="",
            policy_revision="",
            outcome=ERROR,
            agrees=False,
            error=answer,
        )
    differences = []
    for name, ours, theirs in _compared_fields(enforcing, answer):
        if ours != theirs:
            differences.append(f"{name}: {_shown(ours)} -> {_shown(theirs)}")
    ours_reasons, their_reasons = set(enforcing.reasons), set(answer.reasons)
    return ShadowResult(
        decision_path=answer.decision_path,
        policy_revision=answer.policy_revision,
        outcome=answer.outcome,
        agrees=not differences,
        differences=differences,
        reasons_added=sorted(their_reasons - ours_reasons),
        reasons_removed=sorted(ours_reasons - their_reasons),
    )


def _compared_fields(
    enforcing: PolicyDecision, candidate: PolicyDecision
) -> list[tuple[str, Any, Any]]:
    fields: list[tuple[str, Any, Any]] = [
        ("outcome", enforcing.outcome, candidate.outcome),
        ("risk", enforcing.risk, candidate.risk),
    ]
    ours, theirs = enforcing.approval, candidate.approval
    if ours and theirs:
        fields += [
            ("approver roles", sorted(ours.approver_roles), sorted(theirs.approver_roles)),
            ("quorum", ours.quorum, theirs.quorum),
            ("exclude requester", ours.exclude_requester, theirs.exclude_requester),
            ("deadline seconds", ours.deadline_seconds, theirs.deadline_seconds),
            ("escalation", _steps(ours.escalation), _steps(theirs.escalation)),
        ]
    return fields


def _steps(escalation: list[Escalation]) -> list[str]:
    """An escalation chain as short strings: "3600s notify approver"."""
    return [f"{step.after_seconds:g}s {step.action} {'/'.join(step.roles)}" for step in escalation]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


def _stated_version(body: Any) -> str:
    result = body.get("result") if isinstance(body, dict) else None
    version = result.get("policy_version") if isinstance(result, dict) else None
    return version if isinstance(version, str) else ""
