"""The interpreter's run state: one dataclass, and the bookkeeping that changes it.

Workflow code (it runs inside the DeclarativeWorkflow). `RunState.resumed` starts from what
the previous run handed on (continue-as-new) or from nothing; `handed_on` is what this run
hands the next. The part that lives only for one run (this run's decisions, the pending
approval gates, the steps in flight) starts empty each run. Changes of the policy outcome
and of the approval status are mirrored into search attributes, in the order they happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from temporalio import workflow

from orchestrator.approvals.gate import ApprovalGate
from orchestrator.declarative.model import (
    ApprovalRecord,
    DecisionSummary,
    Progress,
    StepDecision,
    StoppedBranch,
)
from orchestrator.policy.contract import PolicyDecision
from orchestrator.vocabulary import APPROVAL_STATUS, POLICY_DECISION

MAX_KEPT_DENIALS = 100
MAX_KEPT_SKIPPED = 200
MAX_KEPT_REVISIONS = 20

# Patch id: runs whose PolicyDecision says approval_required once a step needs approval
# (before it, a run waiting for a policy-required approval said "allow").
APPROVAL_REQUIRED_OUTCOME = "declarative-approval-required-outcome"

PolicyOutcome = Literal["allow", "approval_required", "branch_denied", "deny"]
# "deny" (the workflow stopped) outranks "branch_denied", which outranks
# "approval_required" (policy asked a person), which outranks "allow".
_OUTCOME_RANK: dict[str | None, int] = {
    None: 0,
    "allow": 1,
    "approval_required": 2,
    "branch_denied": 3,
    "deny": 4,
}


@dataclass
class RunState:
    """Everything the interpreter knows about the execution, carried over and this run's."""

    # When the first run started: the start credential's freshness is judged against it.
    started_at: str
    run_number: int
    # Where this run starts: the cursor and the value flowing into that block.
    cursor: list[int]
    flow: Any
    results: dict[str, Any]
    completed: int
    summary: DecisionSummary
    approvals: list[ApprovalRecord]
    skipped: list[str]  # the first MAX_KEPT_SKIPPED paths; skipped_count counts them all
    skipped_count: int
    stopped: list[StoppedBranch]
    approval_status: str
    policy_outcome: str | None
    # This run only.
    decisions: list[StepDecision] = field(default_factory=list)
    pending: dict[str, ApprovalGate] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)
    steps_this_run: int = 0
    # Set by the interpreter from its patch (APPROVAL_REQUIRED_OUTCOME).
    approval_required_outcome: bool = False

    @classmethod
    def resumed(cls, progress: Progress | None, started_at: str) -> RunState:
        """The state a run starts with: what the previous one handed on, if any."""
        start = progress or Progress(cursor=[], flow=None, started_at=started_at)
        return cls(
            started_at=start.started_at or started_at,
            run_number=start.run,
            cursor=list(start.cursor),
            flow=start.flow,
            results=dict(start.results),
            completed=start.completed_steps,
            summary=start.summary,
            approvals=list(start.approvals),
            skipped=list(start.skipped),
            skipped_count=start.skipped_count,
            stopped=list(start.stopped_branches),
            approval_status=start.approval_status,
            policy_outcome=start.policy_outcome,
        )

    def handed_on(self, cursor: list[int], flow: Any, run_id: str) -> Progress:
        """What continue-as-new carries to the next run, which resumes at `cursor`."""
        summary = DecisionSummary(
            allowed=self.summary.allowed,
            denied=self.summary.denied,
            denials=list(self.summary.denials),
            policy_revisions=list(self.summary.policy_revisions),
            earlier_runs=[*self.summary.earlier_runs, run_id],
        )
        return Progress(
            cursor=cursor,
            flow=flow,
            results=dict(self.results),
            completed_steps=self.completed,
            summary=summary,
            approvals=list(self.approvals),
            skipped=list(self.skipped),
            skipped_count=self.skipped_count,
            stopped_branches=list(self.stopped),
            run=self.run_number + 1,
            approval_status=self.approval_status,
            policy_outcome=self.policy_outcome,
            started_at=self.started_at,
        )

    def completed_step(self) -> None:
        self.completed += 1
        self.steps_this_run += 1

    def skip(self, path: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_KEPT_SKIPPED:
            self.skipped.append(path)

    def record(self, path: str, activity: str, decision: PolicyDecision) -> None:
        """Keep a step's decision: in this run's list and counted in the summary."""
        self.decisions.append(
            StepDecision(
                path=path,
                activity=activity,
                action=decision.action,
                outcome=decision.outcome,
                decision_id=decision.decision_id,
                policy_revision=decision.policy_revision,
                risk=decision.risk,
                reasons=[] if decision.allow else list(decision.reasons),
            )
        )
        summary = self.summary
        if decision.allow:
            summary.allowed += 1
        else:
            summary.denied += 1
            if len(summary.denials) < MAX_KEPT_DENIALS:
                summary.denials.append(self.decisions[-1])
        revisions = summary.policy_revisions
        if decision.policy_revision not in revisions and len(revisions) < MAX_KEPT_REVISIONS:
            revisions.append(decision.policy_revision)
        if decision.allow and decision.require_approval and self.approval_required_outcome:
            self.set_policy_outcome("approval_required")
        elif self.policy_outcome is None and decision.allow:
            self.set_policy_outcome("allow")

    def set_policy_outcome(self, outcome: PolicyOutcome) -> None:
        if _OUTCOME_RANK[outcome] > _OUTCOME_RANK[self.policy_outcome]:
            self.policy_outcome = outcome
            workflow.upsert_search_attributes([POLICY_DECISION.value_set(outcome)])

    def set_approval_status(self, status: str) -> None:
        if status != self.approval_status:
            self.approval_status = status
            workflow.upsert_search_attributes([APPROVAL_STATUS.value_set(status)])
