"""Shadow evaluation: ask a candidate policy beside the enforcing one, and compare.

The candidate (policies/shadow/, OPA_SHADOW_DECISION_PATH) answers the same input; its
answer is attached to the enforcing decision as a ShadowResult and never changes the
outcome. Whatever goes wrong with the candidate (OPA error, malformed answer, a bug
here) becomes a ShadowResult with outcome "error": a shadow can neither block nor let
through anything. A path with no rule behind it (no candidate deployed) gives no result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from orchestrator.policy.client import OpaClient, PolicyError, PolicyUndefined, parse_decision
from orchestrator.policy.compare import differences
from orchestrator.policy.contract import PolicyDecision, PolicyInput, ShadowResult

ERROR: Final = "error"


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
        # The same digest of what OPA loaded as the enforcing decision's (fingerprint.py).
        revision = await self.client.fingerprint.revision(stated or candidate.policy_revision, body)
        return replace(candidate, policy_revision=revision)


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
    changes = differences(enforcing, answer)
    ours_reasons, their_reasons = set(enforcing.reasons), set(answer.reasons)
    return ShadowResult(
        decision_path=answer.decision_path,
        policy_revision=answer.policy_revision,
        outcome=answer.outcome,
        agrees=not changes,
        differences=changes,
        reasons_added=sorted(their_reasons - ours_reasons),
        reasons_removed=sorted(ours_reasons - their_reasons),
    )


def _stated_version(body: Any) -> str:
    result = body.get("result") if isinstance(body, dict) else None
    version = result.get("policy_version") if isinstance(result, dict) else None
    return version if isinstance(version, str) else ""
