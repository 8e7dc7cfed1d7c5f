"""The policy activity: the only place workflows reach OPA from."""

from __future__ import annotations

from dataclasses import replace

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.identity import Keyring
from orchestrator.policy.authentication import authenticate
from orchestrator.policy.client import OpaClient, PolicyError
from orchestrator.policy.contract import POLICY_ACTIVITY, PolicyDecision, PolicyInput
from telemetry.metrics import PolicyMetrics
from telemetry.policy_attributes import annotate_current_span


class PolicyActivities:
    """Holds the process's one pooled OPA client; registered on the worker as an instance."""

    def __init__(
        self,
        client: OpaClient,
        metrics: PolicyMetrics | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        # Verifies approval credentials; None refuses every approval as unauthenticated.
        self.keyring = keyring

    @activity.defn(name=POLICY_ACTIVITY)
    async def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        policy_input, approver = authenticate(policy_input, self.keyring)
        try:
            decision = await self.client.decide(policy_input)
        except PolicyError as error:
            if self.metrics:
                self.metrics.record_error(error.error_class)
            # Retryable errors keep the workflow waiting at the gate (fail closed); the
            # others cannot heal by retrying, so they fail the workflow with this message.
            raise ApplicationError(
                str(error), type=type(error).__name__, non_retryable=not error.retryable
            ) from None
        if self.metrics:
            self.metrics.record_decision(
                decision.action, decision.outcome, decision.evaluated_ms / 1000
            )
        annotate_current_span(
            action=decision.action,
            allow=decision.allow,
            reasons_count=len(decision.reasons),
            require_approval=decision.require_approval,
            risk=decision.risk,
            decision_id=decision.decision_id,
            revision=decision.policy_revision,
            opa_version=decision.opa_version,
        )
        activity.logger.info(
            "policy %s: %s (decision %s)", decision.action, decision.outcome, decision.decision_id
        )
        return replace(decision, authenticated_approver=approver) if approver else decision
