"""A human approval that policy governs: what it requires and who may decide are OPA's.

Workflows own one `ApprovalGate` per pending approval and expose it through the Temporal
Updates `approve` and `reject` (orchestrator/approvals/updates.py). Deterministic: used
inside workflow code. What it sends and records is in orchestrator/approvals/model.py.

A *bound* gate (every run since the `bound-approvals` patch) enforces the requirement the
policy decision carried: the approver roles (widened by escalation), a quorum of distinct
approvers, the deadline and escalation chain as durable timers (a deadline never
approves), and approvals bound to what is approved: each carries a credential signed for
this workflow and this digest (orchestrator/policy/identity.py), verified by the worker before
OPA sees the approver, and usable once. Older runs replay through the unbound path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from orchestrator.approvals.announce import NOTICE_RETRY, announce
from orchestrator.approvals.credentials import check_credential
from orchestrator.approvals.memo import WaitingEntry, bounded_parameters, next_escalation
from orchestrator.approvals.model import (
    ALREADY_DECIDED,
    APPROVE,
    REJECT,
    ApprovalAttempt,
    ApprovalReceipt,
    ApprovalRequest,
    ApprovalRequestedNotice,
    ApprovalStatus,
    EscalationNotice,
    EscalationRecord,
    PendingApprovalView,
)
from orchestrator.policy import gate
from orchestrator.policy.contract import (
    APPROVAL_DECIDE,
    ApprovalDecision,
    ApprovalRequirement,
    ApprovalSpec,
    Credential,
    Escalation,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.vocabulary import ESCALATE_ACTIVITY

# Patch ids: runs that opened an approval before requirements and credentials shipped;
# runs whose approvals announce themselves when they open (approval.requested).
BOUND_APPROVALS = "bound-approvals"
NOTIFY_ON_REQUEST = "notify-on-request"


class ApprovalGate:
    """One approval: opened, decided through `validate` and `decide`, waited on with `wait`."""

    def __init__(
        self, requester: Requester, task: TaskSpec | None, *, definition: str | None = None
    ):
        self.requester = requester
        self.task = task
        self.definition = definition
        self.status: ApprovalStatus = "not_required"
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
        # What the decision that asked for this approval said, for `entry`.
        self.reasons: list[str] = []
        self.policy_revision = ""
        # Called whenever what waits changes (opened, counted, widened, closed): the
        # workflow mirrors it into the memo (orchestrator/approvals/memo.py).
        self.on_change: Callable[[], None] | None = None
        # Tell people when it opens (`approval.requested`; the workflow sets it behind the
        # notify-on-request patch).
        self.notify_on_open = False
        self.step = ""

    async def open(
        self,
        wait_at_most: timedelta,
        requirement: ApprovalRequirement | None = None,
        *,
        digest: str = "",
        subject: str = "",
        bound: bool = False,
        reasons: list[str] | None = None,
        policy_revision: str = "",
        step: str = "",
    ) -> None:
        """Start waiting. Bound: the requirement's deadline applies when it is the sooner.

        With `notify_on_open`, people are told first (bounded; see announce.py), and the
        approval takes decisions once that is done: no decision can arrive while the
        announcement's own result is being recorded.
        """
        self.step = step
        self.reasons = list(reasons or [])
        self.policy_revision = policy_revision
        self.opened_at = workflow.now()
        self.bound = bound
        if bound:
            self.requirement = requirement or ApprovalRequirement(
                approver_roles=[], deadline_seconds=wait_at_most.total_seconds()
            )
            self.roles = list(self.requirement.approver_roles)
            self.digest = digest
            self.subject = subject
            wait_at_most = min(wait_at_most, timedelta(seconds=self.requirement.deadline_seconds))
        self.deadline = self.opened_at + wait_at_most
        if self.notify_on_open and bound:
            await announce(
                ApprovalRequestedNotice(
                    workflow_id=workflow.info().workflow_id,
                    run_id=workflow.info().run_id,
                    step=self.step,
                    subject=self.task.description if self.task else self.subject,
                    requester=self.requester.id,
                    roles=list(self.roles),
                    quorum=self.requirement.quorum,
                    deadline=self.deadline.isoformat(),
                    reasons=list(self.reasons),
                )
            )
        self.status = "pending"
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def entry(self) -> WaitingEntry:
        """This approval as it waits now (bound gates: older ones never have a memo)."""
        task = self.task
        return WaitingEntry(
            step=self.step,
            subject=task.description if task else "",
            requester=self.requester.id,
            roles=list(self.roles),
            quorum=self.requirement.quorum,
            approved_by=list(self.approved_by),
            exclude_requester=self.requirement.exclude_requester,
            deadline=self.deadline.isoformat() if self.deadline else "",
            digest=self.digest,
            reasons=list(self.reasons),
            parameters=bounded_parameters(task.parameters if task else {}),
            policy_revision=self.policy_revision,
            kind=task.kind if task else None,
            definition=self.definition,
            run_id=workflow.info().run_id,
            escalations_done=len(self.escalations),
            next_escalation=next_escalation(
                self.opened_at, self.deadline, self.requirement.escalation, len(self.escalations)
            ),
        )

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

    def validate(self, kind: ApprovalDecision, request: ApprovalRequest) -> None:
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
            check_credential(request, self.digest, self.used_nonces)

    async def decide(self, kind: ApprovalDecision, request: ApprovalRequest) -> ApprovalReceipt:
        """Ask policy whether this decision may be taken, record the attempt, then take it.

        One path for both kinds of gate. A bound gate spends the credential, shows OPA the
        requirement as it stands, and accepts only the approver the worker proved; an
        unbound gate has no credential, an empty requirement and a quorum of one, so the
        same steps send and record exactly what its older runs did.
        """
        credential = request.credential if self.bound else None
        if self.bound:
            assert credential is not None, "validate() refuses approvals without a credential"
            # Spent even when refused: a credential is one attempt, never a standing grant.
            self.used_nonces.add(credential.nonce)
        approver = credential.subject if credential else request.approver.strip()
        decision = await gate.decide(
            self._policy_input(kind, approver, request.comment, credential)
        )
        accepted = decision.allow
        reasons = list(decision.reasons)
        if credential:
            approver = decision.authenticated_approver or credential.subject
            # Only the worker's verification proves who this is; OPA's allow alone does not.
            accepted = accepted and decision.authenticated_approver == credential.subject
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
            issuer=credential.issuer if credential else "",
            policy_revision=decision.policy_revision if credential else "",
        )
        self.attempts.append(attempt)
        if not accepted:
            raise _refused(attempt, kind, lost_race)
        return self._take(attempt)

    def _policy_input(
        self, kind: ApprovalDecision, approver: str, comment: str, credential: Credential | None
    ) -> PolicyInput:
        info = workflow.info()
        return PolicyInput(
            action=APPROVAL_DECIDE,
            workflow=WorkflowRef(
                info.workflow_type, info.workflow_id, info.run_id, self.definition
            ),
            requester=self.requester,
            task=self.task,
            approval=ApprovalSpec(
                approver=approver,
                decision=kind,
                comment=comment,
                digest=self.digest,
                credential=credential,
                required_roles=list(self.roles),
                exclude_requester=self.requirement.exclude_requester,
                approved_by=list(self.approved_by),
            ),
        )

    def _take(self, attempt: ApprovalAttempt) -> ApprovalReceipt:
        """An accepted attempt: a reject decides; an approve counts toward the quorum."""
        if attempt.decision == REJECT:
            self.decision = attempt
            self.status = "rejected"
        else:
            if self.bound:
                self.approved_by.append(attempt.approver)
            if not self.bound or len(self.approved_by) >= self.requirement.quorum:
                self.decision = attempt
                self.status = "approved"
        self._changed()
        return ApprovalReceipt(
            attempt.decision,
            attempt.approver,
            attempt.decision_id,
            attempt.reasons,
            # Unbound receipts always said one of one.
            approvals=len(self.approved_by) if self.bound else 1,
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
                    self._expire()
                    return None
        if await self._decided_by(self.deadline):
            return self.decision
        if self.bound:
            assert self.opened_at is not None
            elapsed = (self.deadline - self.opened_at).total_seconds()
            await self._escalate(Escalation(elapsed, "reject"))
        self._expire()
        return None

    def _expire(self) -> None:
        self.status = "expired"
        self._changed()

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
            retry_policy=NOTICE_RETRY,
            summary=f"escalation: {step.action}",
        )
        if step.action == "widen":
            self.roles.extend(role for role in step.roles if role not in self.roles)
        self.escalations.append(
            EscalationRecord(workflow.now().isoformat(), step.action, list(step.roles), delivered)
        )
        if step.action != "reject":  # a reject closes the approval: _expire says so
            self._changed()


def _refused(attempt: ApprovalAttempt, kind: ApprovalDecision, lost_race: bool) -> ApplicationError:
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
