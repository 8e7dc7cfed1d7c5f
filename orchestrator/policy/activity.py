"""The policy activity: the only place workflows reach OPA from."""

from __future__ import annotations

from dataclasses import replace

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.policy.authentication import authenticate
from orchestrator.policy.client import OpaClient, PolicyError
from orchestrator.policy.contract import Asked, PolicyDecision, PolicyInput
from orchestrator.policy.identity import Keyring
from orchestrator.policy.shadow import ShadowEvaluator, compare, decide_with_shadow
from orchestrator.vocabulary import POLICY_ACTIVITY
from telemetry.metrics import PolicyMetrics
from telemetry.policy_attributes import (
    annotate_current_span,
    record_decision_event,
    record_failed_decision_event,
    record_shadow_event,
)


class PolicyActivities:
    """Holds the process's one pooled OPA client; registered on the worker as an instance."""

    def __init__(
        self,
        client: OpaClient,
        metrics: PolicyMetrics | None = None,
        keyring: Keyring | None = None,
        shadow: ShadowEvaluator | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        # Verifies approval credentials; None refuses every approval as unauthenticated.
        self.keyring = keyring
        # The candidate policy asked beside the enforcing one; None asks none.
        self.shadow = shadow

    @activity.defn(name=POLICY_ACTIVITY)
    async def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        policy_input, approver = authenticate(policy_input, self.keyring)
        try:
            # The candidate in the same request (shadow.py): it costs OPA's time only.
            decision, answer = await decide_with_shadow(self.client, self.shadow, policy_input)
        except PolicyError as error:
            record_failed_decision_event(
                path=self.client.settings.decision_path,
                action=policy_input.action,
                error_class=error.error_class,
            )
            raise self._failure(error) from None
        if answer is not None:
            decision = replace(decision, shadow=compare(decision, answer))
        if self.metrics:
            self.metrics.record_decision(
                decision.action, decision.outcome, decision.evaluated_ms / 1000
            )
        shadow = decision.shadow
        if shadow:
            record_shadow_event(
                action=decision.action,
                outcome=decision.outcome,
                agrees=shadow.agrees,
                shadow_outcome=shadow.outcome,
                shadow_revision=shadow.policy_revision,
                differences=shadow.differences,
                error=shadow.error,
            )
            if self.metrics:
                self.metrics.record_shadow(decision.action, shadow.verdict)
        annotate_current_span(
            action=decision.action,
            allow=decision.allow,
            reasons_count=len(decision.reasons),
            require_approval=decision.require_approval,
            risk=decision.risk,
            decision_id=decision.decision_id,
            revision=decision.policy_revision,
            opa_version=decision.opa_version,
            step_path=policy_input.step.path if policy_input.step else "",
            step_activity=policy_input.step.activity if policy_input.step else "",
        )
        record_decision_event(
            path=self.client.settings.decision_path,
            action=decision.action,
            outcome=decision.outcome,
            reasons_count=len(decision.reasons),
            revision=decision.policy_revision,
            decision_id=decision.decision_id,
            shadow_verdict=str(shadow.verdict) if shadow else "not asked",
        )
        activity.logger.info(
            "policy %s: %s (decision %s)", decision.action, decision.outcome, decision.decision_id
        )
        return replace(
            decision,
            requester_issuer=policy_input.requester.issuer,
            authenticated_approver=approver or decision.authenticated_approver,
            # Run as a local activity, the decision's history marker keeps no input.
            asked=Asked.of(policy_input),
        )

    def _failure(self, error: PolicyError) -> ApplicationError:
        """The Temporal failure that says why there is no enforcing decision."""
        if self.metrics:
            self.metrics.record_error(error.error_class)
        # Retryable errors keep the workflow waiting at the gate (fail closed); the
        # others cannot heal by retrying, so they fail the workflow with this message.
        return ApplicationError(
            str(error), type=type(error).__name__, non_retryable=not error.retryable
        )
