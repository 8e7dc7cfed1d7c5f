"""Shadow evaluation: ask a candidate policy beside the enforcing one, and compare.

The candidate (policies/shadow/, OPA_SHADOW_DECISION_PATH) answers the same input; its
answer is attached to the enforcing decision as a ShadowResult and never changes the
outcome. Whatever goes wrong with the candidate (OPA error, malformed answer, a bug
here) becomes a ShadowResult with outcome "error": a shadow can neither block nor let
through anything. A path with no rule behind it (no candidate deployed) gives no result.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from typing import Any, Final

from orchestrator.policy.client import (
    DEFAULT_SHADOW_PATH,
    OpaClient,
    OpaServerError,
    PolicyError,
    PolicyUndefined,
    parse_decision,
)
from orchestrator.policy.compare import differences
from orchestrator.policy.contract import PolicyDecision, PolicyInput, ShadowResult

ERROR: Final = "error"


Answer = PolicyDecision | str | None


class ShadowEvaluator:
    def __init__(self, client: OpaClient, decision_path: str, sample_rate: float = 1.0) -> None:
        self.client = client
        self.decision_path = decision_path
        # OPA_SHADOW_SAMPLE_RATE: the share of decisions the candidate is asked about.
        self.sample_rate = sample_rate

    def sampled(self) -> bool:
        # A sample, not a secret: any uniform generator serves.
        return self.sample_rate >= 1 or random.random() < self.sample_rate  # noqa: S311

    async def ask(self, policy_input: PolicyInput) -> Answer:
        """The candidate's decision, the reason it gave none (str), or None if undeployed."""
        try:
            body = await self.client.query(self.decision_path, policy_input)
        except PolicyError as error:
            return str(error)
        except Exception as error:  # a shadow must never fail the decision
            return f"{type(error).__name__}: {error}"
        return await self.read(body, policy_input)

    async def read(self, body: Any, policy_input: PolicyInput) -> Answer:
        """The candidate's decision in OPA's answer `body`, as ask() says."""
        try:
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


async def decide_with_shadow(
    client: OpaClient, shadow: ShadowEvaluator | None, policy_input: PolicyInput
) -> tuple[PolicyDecision, Answer]:
    """The enforcing decision (raising what client.decide raises) and the candidate's answer.

    Both come from one request to policies/orchestrator/paired, so the candidate costs
    OPA evaluation time only. When that request fails with HTTP 5xx (a candidate that
    fails to evaluate fails it), the enforcing decision is asked alone and the candidate
    answers with the error. Other paths than the ones the paired rule wraps, or a
    deployment without it, ask both at once in two requests.
    """
    if shadow is None or not shadow.sampled():
        return await client.decide(policy_input), None
    if not client.pairs or shadow.decision_path != DEFAULT_SHADOW_PATH:
        return await _two_requests(client, shadow, policy_input)
    try:
        decision, body = await client.decide_paired(policy_input)
    except OpaServerError as error:
        return await client.decide(policy_input), f"asked with the decision: {error}"
    except PolicyUndefined:
        return await _two_requests(client, shadow, policy_input)
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, dict) or "shadow" not in result:
        return decision, None
    return decision, await shadow.read({**body, "result": result["shadow"]}, policy_input)


async def _two_requests(
    client: OpaClient, shadow: ShadowEvaluator, policy_input: PolicyInput
) -> tuple[PolicyDecision, Answer]:
    # Asked at the same time, so the candidate adds no latency unless it is the slower.
    candidate = asyncio.create_task(shadow.ask(policy_input))
    try:
        decision = await client.decide(policy_input)
    except BaseException:
        # No enforcing decision, nothing to compare: the candidate's answer is moot.
        candidate.cancel()
        raise
    return decision, await candidate


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
