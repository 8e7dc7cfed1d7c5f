"""What an approval sends, records and answers: the payloads of updates, activities and queries.

Pure data, safe inside workflow code. These dataclasses travel in Temporal payloads and
histories: add only optional fields, never rename one. The vocabularies they share with
the policy input (decisions, escalation actions) are declared in orchestrator/policy/contract.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from orchestrator.policy.contract import ApprovalDecision, Credential, EscalationAction

APPROVE: Final = "approve"
REJECT: Final = "reject"

# Where an approval stands: not asked for, waiting, or decided one way (a deadline or an
# escalation's `reject` expires it; a deadline never approves).
ApprovalStatus = Literal["not_required", "pending", "approved", "rejected", "expired"]

# The one reason given when another decision came first (API clients match on it).
ALREADY_DECIDED = "The approval was already decided."


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
    action: EscalationAction
    roles: list[str]
    after_seconds: float
    approved_by: list[str]
    quorum: int


@dataclass(frozen=True)
class ApprovalRequestedNotice:
    """The input of `approval.requested`: an approval opened, so the people who may decide
    hear of it when it opens, not only when it escalates."""

    workflow_id: str
    run_id: str
    step: str  # "" for a governed run
    subject: str  # the task, or the step's description
    requester: str
    roles: list[str]
    quorum: int
    deadline: str
    reasons: list[str]


@dataclass(frozen=True)
class EscalationRecord:
    at: str
    action: EscalationAction
    roles: list[str]
    delivered_to: str = ""


@dataclass(frozen=True)
class ApprovalAttempt:
    """One try to decide, accepted or refused by policy; the audit trail of the approval."""

    approver: str
    decision: ApprovalDecision
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

    decision: ApprovalDecision
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
