"""A human approval that policy governs: who may decide is asked of OPA, every attempt kept.

Workflows own one `ApprovalGate` per pending approval and expose it through the Temporal
Updates `approve` and `reject` ({"approver": str, "comment": str}), so any Temporal client,
the `temporal` CLI included, can decide. Deterministic: used inside workflow code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from orchestrator.policy import gate
from orchestrator.policy.contract import (
    APPROVAL_DECIDE,
    ApprovalSpec,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)

APPROVE = "approve"
REJECT = "reject"


@dataclass(frozen=True)
class ApprovalRequest:
    """The argument of the `approve` and `reject` updates."""

    approver: str
    comment: str = ""
    # Which pending approval, by step path, when a workflow waits for several at once
    # (declarative workflows); None decides the only one pending.
    step: str | None = None


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


@dataclass(frozen=True)
class ApprovalReceipt:
    """What the `approve`/`reject` caller gets back when the decision is taken."""

    decision: str
    approver: str
    decision_id: str
    reasons: list[str]


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

    def open(self, timeout: timedelta) -> None:
        self.status = "pending"
        self.deadline = workflow.now() + timeout

    def validate(self, kind: str, request: ApprovalRequest) -> None:
        """Refuse, before anything enters history, decisions that cannot be taken now."""
        if not isinstance(request.approver, str) or not request.approver.strip():
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

    async def decide(self, kind: str, request: ApprovalRequest) -> ApprovalReceipt:
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
        if decision.allow and (self.decision is not None or self.status != "pending"):
            attempt = ApprovalAttempt(
                **{
                    **attempt.__dict__,
                    "accepted": False,
                    "reasons": ["The approval was already decided."],
                }
            )
        self.attempts.append(attempt)
        if not attempt.accepted:
            raise ApplicationError(
                f"{attempt.approver} may not {kind} this request: {'; '.join(attempt.reasons)}",
                {"reasons": attempt.reasons, "decision_id": attempt.decision_id},
                type="ApprovalRefused",
            )
        self.decision = attempt
        self.status = "approved" if kind == APPROVE else "rejected"
        return ApprovalReceipt(kind, attempt.approver, attempt.decision_id, attempt.reasons)

    async def wait(self) -> ApprovalAttempt | None:
        """The accepted decision, or None when the deadline passed first (status: expired)."""
        assert self.deadline is not None, "open() the gate before waiting on it"
        try:
            await workflow.wait_condition(
                lambda: self.decision is not None, timeout=self.deadline - workflow.now()
            )
        except TimeoutError:
            self.status = "expired"
            return None
        return self.decision
