"""The policy contract with OPA (see policies/README.md), as plain dataclasses.

Pure data with no I/O, so workflow code imports it freely inside the sandbox. Adding
an optional field keeps old workflow histories decodable.

No `from __future__ import annotations` here: the payload converter resolves field
types with typing.get_type_hints, and inside a workflow sandbox that only finds this
module's globals if the workflow imported it by name. Real annotations need no lookup.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# The actions policy decides (the input's `action`).
WORKFLOW_START = "workflow.start"
STEP_EXECUTE = "step.execute"
APPROVAL_DECIDE = "approval.decide"
SCHEDULE_MANAGE = "schedule.manage"

# Fixed vocabularies. Literal aliases, not enums: what travels is the plain string, and
# the payload converter refuses a value outside the alias when it decodes one.
ApprovalDecision = Literal["approve", "reject"]
EscalationAction = Literal["notify", "widen", "reject"]
PolicyOutcome = Literal["allow", "deny", "approval_required", "unavailable"]
# A candidate that gave no usable answer is an "error", never an allow or a deny.
ShadowOutcome = Literal[PolicyOutcome, "error"]
ShadowVerdict = Literal["agree", "disagree", "error"]


@dataclass(frozen=True)
class WorkflowRef:
    type: str
    id: str
    run_id: str
    definition: str | None = None


@dataclass(frozen=True)
class Credential:
    """A signed statement, made by the CLI or the API and verified by the policy activity.

    purpose "approval": "subject approves digest D of run R of workflow W";
    purpose "start": "subject asks for the work of digest D in workflow W" (W may be
    `schedule:<id>`: every run of that schedule). See orchestrator/policy/identity.py. The
    signature never reaches OPA.
    """

    subject: str
    issuer: str
    workflow_id: str
    digest: str
    nonce: str
    issued_at: str
    signature: str
    # Added after the first bound approvals; signed like every other field.
    run_id: str = ""
    purpose: str = ""


@dataclass(frozen=True)
class Requester:
    id: str
    # What the caller asserted; policy grants on its own directory, never on these.
    roles: list[str] = field(default_factory=list)
    # The start credential the workflow was started with, the digest of what it starts
    # and when the workflow started (for the credential's freshness); the policy activity
    # verifies them and OPA sees only the outcome below.
    credential: Credential | None = None
    start_digest: str = ""
    started_at: str = ""
    # Set by the policy activity from the verified credential, never by the caller.
    authenticated: bool = False
    issuer: str = ""
    authentication_error: str = ""


@dataclass(frozen=True)
class TaskSpec:
    description: str
    kind: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepSpec:
    activity: str
    path: str
    args: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleSpec:
    """What schedule.manage is asked about: which schedule, and pause, unpause or trigger."""

    id: str
    operation: str


@dataclass(frozen=True)
class Escalation:
    """One step of an approval's escalation chain, counted from when the approval opened."""

    after_seconds: float
    action: EscalationAction
    # notify: whose holders are told; widen: roles added to who may approve.
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalRequirement:
    """Who may approve, how many, and by when: decided by policy, enforced by the workflow."""

    approver_roles: list[str]
    quorum: int = 1
    exclude_requester: bool = True
    deadline_seconds: float = 24 * 3600
    escalation: list[Escalation] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalSpec:
    approver: str
    decision: ApprovalDecision
    comment: str = ""
    # Canonical digest of exactly what is being approved (orchestrator/approvals/digest.py).
    digest: str = ""
    credential: Credential | None = None
    # Set by the policy activity from the verified credential, never by the caller.
    authenticated: bool = False
    authentication_error: str = ""
    # The requirement as it stands now: roles after any widening, distinct approvers so far.
    required_roles: list[str] = field(default_factory=list)
    exclude_requester: bool = True
    approved_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyInput:
    action: str
    workflow: WorkflowRef
    requester: Requester
    task: TaskSpec | None = None
    step: StepSpec | None = None
    approval: ApprovalSpec | None = None
    schedule: ScheduleSpec | None = None

    def to_opa(self) -> dict[str, Any]:
        """The `input` document, without the sections this action does not use.

        Credentials stay out: OPA sees only what the activity verified of them.
        """
        document = {key: value for key, value in asdict(self).items() if value is not None}
        for private in ("credential", "start_digest", "started_at"):
            document["requester"].pop(private, None)
        if "approval" in document:
            document["approval"].pop("credential", None)
        return document


@dataclass(frozen=True)
class ShadowResult:
    """What the candidate (shadow) policy would have decided; never changes the outcome."""

    decision_path: str
    policy_revision: str
    outcome: ShadowOutcome
    agrees: bool
    # Human-readable, e.g. "outcome: allow -> approval_required", "quorum: 1 -> 2".
    differences: list[str] = field(default_factory=list)
    # Reasons only one side gave: the rules that changed the answer.
    reasons_added: list[str] = field(default_factory=list)
    reasons_removed: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def verdict(self) -> ShadowVerdict:
        """agree | disagree | error: the label the shadow counter uses."""
        return "error" if self.error else "agree" if self.agrees else "disagree"


@dataclass(frozen=True)
class Asked:
    """What a decision answered, kept in the decision itself.

    A local activity's history marker records its result but not its input, and the
    audit is read from history alone: so the activity copies here what the audit shows
    of the input. Identifies a credential without its signature.
    """

    # "workflow", "step <path> (<activity>)", "approver <id>" or "schedule <id> (<op>)".
    subject: str
    approval_digest: str = ""
    credential_subject: str = ""
    credential_issuer: str = ""
    credential_nonce: str = ""

    @classmethod
    def of(cls, policy_input: "PolicyInput") -> "Asked":
        """From the input itself; copies only the sections it reads (never the task's)."""
        sections = {
            name: asdict(value)
            for name in ("approval", "step", "schedule")
            if (value := getattr(policy_input, name)) is not None
        }
        return cls.of_document(sections)

    @classmethod
    def of_document(cls, given: Any) -> "Asked":
        """From a policy input as a plain document: asdict() of one, or as history has it."""
        given = given if isinstance(given, dict) else {}
        approval = given.get("approval") if isinstance(given.get("approval"), dict) else None
        step, schedule = given.get("step"), given.get("schedule")
        if approval is not None:
            subject = f"approver {approval.get('approver', '?')}"
        elif isinstance(step, dict):
            subject = f"step {step.get('path', '?')} ({step.get('activity', '?')})"
        elif isinstance(schedule, dict):
            subject = f"schedule {schedule.get('id', '?')} ({schedule.get('operation', '?')})"
        else:
            subject = "workflow"
        approval = approval or {}
        credential = approval.get("credential")
        credential = credential if isinstance(credential, dict) else {}
        return cls(
            subject=subject,
            approval_digest=str(approval.get("digest") or ""),
            credential_subject=str(credential.get("subject") or ""),
            credential_issuer=str(credential.get("issuer") or ""),
            credential_nonce=str(credential.get("nonce") or ""),
        )

    @classmethod
    def of_recorded(cls, recorded: dict[str, Any]) -> "Asked":
        """As a history keeps it (a decoded dict), read leniently: what lacks is ""."""
        return cls(
            subject=str(recorded.get("subject") or "workflow"),
            approval_digest=str(recorded.get("approval_digest") or ""),
            credential_subject=str(recorded.get("credential_subject") or ""),
            credential_issuer=str(recorded.get("credential_issuer") or ""),
            credential_nonce=str(recorded.get("credential_nonce") or ""),
        )


@dataclass(frozen=True)
class PolicyDecision:
    """OPA's answer plus the provenance an auditor needs to join OPA's decision log."""

    action: str
    allow: bool
    reasons: list[str]
    require_approval: bool
    risk: str
    decision_id: str
    policy_revision: str
    opa_version: str
    decision_path: str
    evaluated_ms: float = 0.0
    # When require_approval: who may approve, how many, by when (policy decides).
    approval: ApprovalRequirement | None = None
    # The candidate policy's answer, when one is configured (shadow evaluation).
    shadow: ShadowResult | None = None
    # approval.decide: the identity the credential proved ("" when it proved none).
    authenticated_approver: str = ""
    # The key that proved the requester ("" when the start credential proved nothing).
    requester_issuer: str = ""
    # Set by the workflow, not OPA: the policy service stayed unavailable past its budget.
    unavailable: bool = False
    # Set by the policy activity: what was asked (decisions made since local activities).
    asked: Asked | None = None

    @classmethod
    def not_from_opa(
        cls,
        action: str,
        *,
        allow: bool,
        reasons: list[str],
        risk: str,
        unavailable: bool = False,
    ) -> "PolicyDecision":
        """A decision no OPA evaluation made (no id, revision or version to join): the
        gate's record of an unanswered budget, the audit's of a missing answer, the
        benchmark's allow-all."""
        return cls(
            action=action,
            allow=allow,
            reasons=reasons,
            require_approval=False,
            risk=risk,
            decision_id="",
            policy_revision="",
            opa_version="",
            decision_path="",
            unavailable=unavailable,
        )

    @property
    def outcome(self) -> PolicyOutcome:
        if self.unavailable:
            return "unavailable"
        if not self.allow:
            return "deny"
        return "approval_required" if self.require_approval else "allow"
