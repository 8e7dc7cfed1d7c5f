"""The typed definition (blocks) and the inputs, outputs and status of the DeclarativeWorkflow.

Blocks are built from a validated document by `build.build_definition`; each keeps its
document path (`execution.blocks[2].blocks[0]`), which is also its step path in policy
input, status, errors and activity summaries. Workflow I/O are dataclasses: adding an
optional field keeps recorded histories decodable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.approvals import digest
from orchestrator.approvals.model import ApprovalAttempt, EscalationRecord, PendingApprovalView
from orchestrator.declarative.expressions import Condition
from orchestrator.declarative.signature import ACTIVITY, EntryKind
from orchestrator.policy.contract import Credential

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 3600.0
FAIL = "fail"
SKIP_BRANCH = "skipBranch"


@dataclass(frozen=True)
class Retry:
    maximum_attempts: int = 3
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 30.0


@dataclass(frozen=True)
class Block:
    path: str
    when: Condition | None = None
    result_name: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ActivityStep(Block):
    activity: str = ""
    args: tuple[Any, ...] = ()
    use_data_flow: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retry: Retry = Retry()
    on_deny: str = FAIL
    kind: EntryKind = ACTIVITY  # or POLICY (CheckPolicy): see signature.py
    # Policy service unavailable past the budget: wait (closed) or fail; never open.
    on_policy_unavailable: str = "wait"
    policy_budget_seconds: float = 120.0


@dataclass(frozen=True)
class ApprovalStep(Block):
    timeout_seconds: float = DEFAULT_APPROVAL_TIMEOUT_SECONDS
    activity: str | None = None  # the old demo's name when written as an activity step


@dataclass(frozen=True)
class Sequential(Block):
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Parallel(Block):
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Definition:
    name: str
    root: Block
    steps: int  # activity and approval steps
    depth: int  # nesting depth of blocks (the root block is 1)
    legacy: bool = False  # written in the flat `activities:` form
    description: str = ""


def leaf_count(block: Block) -> int:
    if isinstance(block, Sequential | Parallel):
        return sum(leaf_count(child) for child in block.blocks)
    return 1


# --- workflow I/O -------------------------------------------------------------------


@dataclass(frozen=True)
class StepDecision:
    """One policy decision about one step: the compact audit record kept in status/result."""

    path: str
    activity: str
    action: str
    outcome: str  # allow | deny | approval_required
    decision_id: str
    policy_revision: str
    risk: str
    reasons: list[str] = field(default_factory=list)  # kept for denials


@dataclass
class DecisionSummary:
    """Every decision of the whole execution, counted; the ones themselves are in history."""

    allowed: int = 0
    denied: int = 0
    denials: list[StepDecision] = field(default_factory=list)  # at most MAX_KEPT_DENIALS
    policy_revisions: list[str] = field(default_factory=list)
    # Runs (continue-as-new) whose histories hold the decisions no longer listed in
    # `decisions`, oldest first.
    earlier_runs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalRecord:
    """A decided (or expired) approval step."""

    path: str
    status: str  # approved | rejected | expired
    approver: str | None = None
    comment: str = ""
    at: str | None = None
    decision_id: str = ""
    attempts: list[ApprovalAttempt] = field(default_factory=list)
    # Bound approvals: what was approved, by whom (a quorum has several), escalations.
    digest: str = ""
    approved_by: list[str] = field(default_factory=list)
    escalations: list[EscalationRecord] = field(default_factory=list)


@dataclass(frozen=True)
class StoppedBranch:
    """A parallel branch stopped by a policy denial of a step that said onDeny: skipBranch."""

    branch: str
    step: str
    reasons: list[str]
    decision_id: str


@dataclass
class Progress:
    """What one run hands the next through continue-as-new; None on the first run."""

    cursor: list[int]  # indices of the next block along nested sequential blocks
    flow: Any  # the value flowing into that block (the previous step's result)
    results: dict[str, Any] = field(default_factory=dict)
    completed_steps: int = 0
    summary: DecisionSummary = field(default_factory=DecisionSummary)
    approvals: list[ApprovalRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    skipped_count: int = 0
    stopped_branches: list[StoppedBranch] = field(default_factory=list)
    run: int = 1
    approval_status: str = "none"
    policy_outcome: str | None = None
    # When the first run started: the start credential's freshness is judged against it.
    started_at: str = ""


@dataclass(frozen=True)
class DeclarativeRequest:
    """The DeclarativeWorkflow's input: the definition document, as loaded, and who asks."""

    definition: Any  # a JSON object; anything else fails validation in the workflow
    requester: str
    source: str = ""  # where the definition came from (a file name), for messages only
    # Continue as new after this many steps in one run (None: only when history grows
    # large or the server suggests it). Tests and operators with tight limits set it.
    steps_per_run: int | None = None
    resume: Progress | None = None
    # Who asks, proven (orchestrator/starts.py); policy refuses steps no credential proves.
    credential: Credential | None = None

    def start_digest(self) -> str:
        """The digest a start credential signs: this document, asked by this requester."""
        return digest.digest(digest.definition_start_subject(self.requester, self.definition))


@dataclass(frozen=True)
class DeclarativeResult:
    workflow_id: str
    workflow_name: str
    requester: str
    outcome: str  # completed
    output: Any  # what flowed out of the last block
    results: dict[str, Any]
    decisions: list[StepDecision]  # this (last) run's decisions
    summary: DecisionSummary
    approvals: list[ApprovalRecord]
    completed_steps: int
    skipped: list[str]
    stopped_branches: list[StoppedBranch]
    runs: int


@dataclass(frozen=True)
class PendingApproval:
    path: str
    description: str
    deadline: str | None
    attempts: list[ApprovalAttempt]
    # Bound approvals: the digest to sign, who may approve, how many so far.
    view: PendingApprovalView | None = None


@dataclass(frozen=True)
class DeclarativeStatus:
    """What the `status` query returns."""

    # validating | running | awaiting_approval | completed | invalid | denied | rejected |
    # expired | failed
    stage: str
    workflow_name: str
    requester: str
    run: int
    running: list[str]  # step paths in flight
    completed_steps: int
    total_steps: int
    decisions: list[StepDecision]
    summary: DecisionSummary
    approval_status: str
    pending_approvals: list[PendingApproval]
    approvals: list[ApprovalRecord]
    skipped: list[str]
    stopped_branches: list[StoppedBranch]
    error: str | None = None
    trace_id: str | None = None
