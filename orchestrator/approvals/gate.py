"""A human approval that policy governs: what it requires and who may decide are OPA's.

Workflows own one `ApprovalGate` per pending approval and expose it through the Temporal
Updates `approve` and `reject`. Deterministic: used inside workflow code.

A *bound* gate (every run since the `bound-approvals` patch) enforces the requirement the
policy decision carried: the approver roles (widened by escalation), a quorum of distinct
approvers, the deadline and escalation chain as durable timers (a deadline never
approves), and approvals bound to what is approved: each carries a credential signed for
this workflow and this digest (orchestrator/policy/identity.py), verified by the worker before
OPA sees the approver, and usable once. Older runs replay through the unbound path.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from orchestrator.policy import gate
from orchestrator.policy.contract import (
    APPROVAL_DECIDE,
    ApprovalRequirement,
    ApprovalSpec,
    Credential,
    Escalation,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)

APPROVE = "approve"
REJECT = "reject"
ESCALATE_ACTIVITY = "approval.escalate"
# Patch id: runs that opened an approval before requirements and credentials shipped.
BOUND_APPROVALS = "bound-approvals"

ALREADY_DECIDED = "The approval was already decided."

ESCALATION_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10)


@dataclass(frozen=True)
class ApprovalRequest:
    """The argument of the `approve` and `reject` updates."""

    # Unbound (old) runs: who decides. Bound runs take the approver from the credential
    # and refuse a payload whose approver names someone else.
    approver: str = ""
    comment: str = ""
    # Which pending approval, by step path, when a workflow waits for several at once
    # (declarative workflows); None decides the only one pending.
    step: str | None = None
    credential: Credential | None = None


@dataclass(frozen=True)
class EscalationNotice:
    """The input of `approval.escalate`: one escalation step, as history records it."""

    workflow_id: str
    subject: str  # the task or step awaiting approval
    action: str  # notify | widen | reject
    roles: list[str]
    after_seconds: float
    approved_by: list[str]
    quorum: int


@dataclass(frozen=True)
class EscalationRecord:
    at: str
    action: str
    roles: list[str]
    delivered_to: str = ""


@dataclass(frozen=True)
class ApprovalAttempt:
    """One try to decide, accepted or refused by policy; the audit trail of the approval."""

    approver: str
    decision: str
    comment: str
    at: str
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    decision_id: str = ""
    # Bound approvals: what was approved, whose key vouched, under which policy revision.
    digest: str = ""
    issuer: str = ""
    policy_revision: str = ""


@dataclass(frozen=True)
class ApprovalReceipt:
    """What the `approve`/`reject` caller gets back when the decision is taken."""

    decision: str
    approver: str
    decision_id: str
    reasons: list[str]
    # Distinct approvals so far and how many the requirement needs.
    approvals: int = 1
    quorum: int = 1


@dataclass(frozen=True)
class PendingApprovalView:
    """What an approver is shown and signs: the digest, who may approve, how many so far."""

    step: str | None
    digest: str
    approver_roles: list[str]
    quorum: int
    approved_by: list[str]
    deadline: str | None
    # The run the approval belongs to: credentials are signed for it and no other.
    run_id: str = ""


class ApprovalGate:
    def __init__(
        self, requester: Requester, task: TaskSpec | None, *, definition: str | None = None
    ):
        self.requester = requester
        self.task = task
        self.definition = definition
        self.status = "not_required"
        self.deadline: datetime | None = None
        self.attempts: list[ApprovalAttempt] = []
        self.decision: ApprovalAttempt | None = None
        # Bound gates only (see the module docstring).
        self.bound = False
        self.requirement = ApprovalRequirement(approver_roles=[])
        self.roles: list[str] = []
        self.digest = ""
        self.subject = ""
        self.opened_at: datetime | None = None
        self.approved_by: list[str] = []
        self.escalations: list[EscalationRecord] = []
        self.used_nonces: set[str] = set()

    def open(
        self,
        timeout: timedelta,
        requirement: ApprovalRequirement | None = None,
        *,
        digest: str = "",
        subject: str = "",
        bound: bool = False,
    ) -> None:
        """Start waiting. Bound: the requirement's deadline applies when it is the sooner."""
        self.status = "pending"
        self.opened_at = workflow.now()
        self.bound = bound
        if bound:
            self.requirement = requirement or ApprovalRequirement(
                approver_roles=[], deadline_seconds=timeout.total_seconds()
            )
            self.roles = list(self.requirement.approver_roles)
            self.digest = digest
            self.subject = subject
            timeout = min(timeout, timedelta(seconds=self.requirement.deadline_seconds))
        self.deadline = self.opened_at + timeout

    def view(self, step: str | None = None) -> PendingApprovalView:
        return PendingApprovalView(
            step=step,
            digest=self.digest,
            approver_roles=list(self.roles),
            quorum=self.requirement.quorum,
            approved_by=list(self.approved_by),
            deadline=self.deadline.isoformat() if self.deadline else None,
            run_id=workflow.info().run_id,
        )

    def validate(self, kind: str, request: ApprovalRequest) -> None:
        """Refuse, before anything enters history, decisions that cannot be taken now."""
        if not self.bound and (
            not isinstance(request.approver, str) or not request.approver.strip()
        ):
            raise ApplicationError('approver: must name who decides, e.g. {"approver": "bob"}.')
        if self.decision is not None:
            raise ApplicationError(
                f"Already {self.decision.decision}d by {self.decision.approver}; "
                "a second decision is not accepted.",
                type="ApprovalAlreadyDecided",
            )
        if self.status != "pending":
            raise ApplicationError(
                f"Cannot {kind}: the workflow is not waiting for approval "
                f"(approval: {self.status}).",
                type="ApprovalNotPending",
            )
        if self.bound:
            self._validate_credential(request)

    def _validate_credential(self, request: ApprovalRequest) -> None:
        """Checks that need no key: the signature itself is the worker's to verify."""
        credential = request.credential
        if credential is None:
            raise ApplicationError(
                "This approval needs a signed credential: decide with `orchestrator approve` "
                "or the HTTP API, which sign it with your configured identity.",
                type="ApprovalUnauthenticated",
            )
        if request.approver and request.approver.strip() != credential.subject:
            raise ApplicationError(
                f"The payload names {request.approver!r} but the credential is "
                f"{credential.subject!r}'s; the approver is who the credential proves.",
                type="ApprovalUnauthenticated",
            )
        info = workflow.info()
        if credential.workflow_id != info.workflow_id:
            raise ApplicationError(
                f"The credential was signed for workflow {credential.workflow_id!r}.",
                type="ApprovalUnauthenticated",
            )
        # A credential lifted from an earlier run's history (a finished run whose id was
        # reused, or the run before a reset) must never decide this one.
        if credential.run_id != info.run_id:
            raise ApplicationError(
                f"The credential was signed for run {credential.run_id or '(none)'!r}, not "
                f"this run {info.run_id!r}: approve again from `orchestrator approve` or the API.",
                type="ApprovalUnauthenticated",
            )
        if credential.digest != self.digest:
            raise ApplicationError(
                f"The credential approves {credential.digest}, but what awaits approval is "
                f"{self.digest}: the request changed since it was shown. Look again, then "
                "decide again.",
                type="ApprovalDigestMismatch",
            )
        if credential.nonce in self.used_nonces:
            raise ApplicationError(
                "This credential was already used: each approval is used once.",
                type="ApprovalReplayed",
            )

    async def decide(self, kind: str, request: ApprovalRequest) -> ApprovalReceipt:
        if self.bound:
            return await self._decide_bound(kind, request)
        info = workflow.info()
        decision = await gate.decide(
            PolicyInput(
                action=APPROVAL_DECIDE,
                workflow=WorkflowRef(
                    info.workflow_type, info.workflow_id, info.run_id, self.definition
                ),
                requester=self.requester,
                task=self.task,
                approval=ApprovalSpec(request.approver.strip(), kind, request.comment),
            )
        )
        attempt = ApprovalAttempt(
            approver=request.approver.strip(),
            decision=kind,
            comment=request.comment,
            at=workflow.now().isoformat(),
            accepted=decision.allow,
            reasons=decision.reasons,
            decision_id=decision.decision_id,
        )
        # Another update may have decided while this one waited for OPA.
        lost_race = decision.allow and (self.decision is not None or self.status != "pending")
        if lost_race:
            attempt = ApprovalAttempt(
                **{**attempt.__dict__, "accepted": False, "reasons": [ALREADY_DECIDED]}
            )
        self.attempts.append(attempt)
        if not attempt.accepted:
            raise _refused(attempt, kind, lost_race)
        self.decision = attempt
        self.status = "approved" if kind == APPROVE else "rejected"
        return ApprovalReceipt(kind, attempt.approver, attempt.decision_id, attempt.reasons)

    async def _decide_bound(self, kind: str, request: ApprovalRequest) -> ApprovalReceipt:
        credential = request.credential
        assert credential is not None, "validate() refuses approvals without a credential"
        # Spent even when refused: a credential is one attempt, never a standing grant.
        self.used_nonces.add(credential.nonce)
        info = workflow.info()
        decision = await gate.decide(
            PolicyInput(
                action=APPROVAL_DECIDE,
                workflow=WorkflowRef(
                    info.workflow_type, info.workflow_id, info.run_id, self.definition
                ),
                requester=self.requester,
                task=self.task,
                approval=ApprovalSpec(
                    approver=credential.subject,
                    decision=kind,
                    comment=request.comment,
                    digest=self.digest,
                    credential=credential,
                    required_roles=list(self.roles),
                    exclude_requester=self.requirement.exclude_requester,
                    approved_by=list(self.approved_by),
                ),
            )
        )
        approver = decision.authenticated_approver or credential.subject
        reasons = list(decision.reasons)
        # Only the worker's verification proves who this is; OPA's allow alone does not.
        accepted = decision.allow and decision.authenticated_approver == credential.subject
        # Another update may have decided while this one waited for OPA.
        lost_race = accepted and (self.decision is not None or self.status != "pending")
        if lost_race:
            accepted, reasons = False, [ALREADY_DECIDED]
        elif accepted and kind == APPROVE and approver in self.approved_by:
            accepted, reasons = False, [f"{approver} already approved."]
        attempt = ApprovalAttempt(
            approver=approver,
            decision=kind,
            comment=request.comment,
            at=workflow.now().isoformat(),
            accepted=accepted,
            reasons=reasons,
            decision_id=decision.decision_id,
            digest=self.digest,
            issuer=credential.issuer,
            policy_revision=decision.policy_revision,
        )
        self.attempts.append(attempt)
        if not accepted:
            raise _refused(attempt, kind, lost_race)
        if kind == REJECT:
            self.decision = attempt
            self.status = "rejected"
        else:
            self.approved_by.append(approver)
            if len(self.approved_by) >= self.requirement.quorum:
                self.decision = attempt
                self.status = "approved"
        return ApprovalReceipt(
            kind,
            approver,
            attempt.decision_id,
            attempt.reasons,
            approvals=len(self.approved_by),
            quorum=self.requirement.quorum,
        )

    async def wait(self) -> ApprovalAttempt | None:
        """The accepted decision, or None when the deadline passed first (status: expired).

        Bound gates run the escalation chain on durable timers while they wait; each step
        is an `approval.escalate` activity, so it is an event in history and a span.
        """
        assert self.deadline is not None, "open() the gate before waiting on it"
        if self.bound:
            assert self.opened_at is not None
            for step in self.requirement.escalation:
                moment = self.opened_at + timedelta(seconds=step.after_seconds)
                if moment >= self.deadline:
                    break
                if await self._decided_by(moment):
                    return self.decision
                await self._escalate(step)
                if step.action == "reject":
                    self.status = "expired"
                    return None
        if await self._decided_by(self.deadline):
            return self.decision
        if self.bound:
            assert self.opened_at is not None
            elapsed = (self.deadline - self.opened_at).total_seconds()
            await self._escalate(Escalation(elapsed, "reject"))
        self.status = "expired"
        return None

    async def _decided_by(self, moment: datetime) -> bool:
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.decision is not None, timeout=remaining)
        return self.decision is not None

    async def _escalate(self, step: Escalation) -> None:
        delivered: str = await workflow.execute_activity(
            ESCALATE_ACTIVITY,
            EscalationNotice(
                workflow_id=workflow.info().workflow_id,
                subject=self.subject,
                action=step.action,
                roles=list(step.roles),
                after_seconds=step.after_seconds,
                approved_by=list(self.approved_by),
                quorum=self.requirement.quorum,
            ),
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ESCALATION_RETRY,
            summary=f"escalation: {step.action}",
        )
        if step.action == "widen":
            self.roles.extend(role for role in step.roles if role not in self.roles)
        self.escalations.append(
            EscalationRecord(workflow.now().isoformat(), step.action, list(step.roles), delivered)
        )


def _refused(attempt: ApprovalAttempt, kind: str, lost_race: bool) -> ApplicationError:
    """Refused by policy (ApprovalRefused), or too late: another decision came first."""
    if lost_race:
        return ApplicationError(
            f"{attempt.approver} was too late to {kind}: {ALREADY_DECIDED}",
            {"reasons": attempt.reasons, "decision_id": attempt.decision_id},
            type="ApprovalAlreadyDecided",
        )
    return ApplicationError(
        f"{attempt.approver} may not {kind} this request: {'; '.join(attempt.reasons)}",
        {"reasons": attempt.reasons, "decision_id": attempt.decision_id},
        type="ApprovalRefused",
    )
