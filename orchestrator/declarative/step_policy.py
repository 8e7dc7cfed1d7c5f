"""Policy decisions and approvals of a definition's steps, for the interpreter.

Workflow code. Every activity step is decided by OPA (step.execute) before it runs, and a
CheckPolicy step asks about the work its arguments describe (workflow.start); a denial
stops the workflow, or only the enclosing parallel branch (onDeny: skipBranch, raised as
BranchStopped). A decision that requires approval opens an approval gate and waits, then
asks again before the step runs (bound approvals). Approval steps wait the same way.
Every decision is kept in the run state (state.py) in the order it is made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from orchestrator.approvals import digest
from orchestrator.approvals.gate import ApprovalGate
from orchestrator.approvals.memo import MEMO_KEY, current_details, memo_value
from orchestrator.approvals.model import REJECT
from orchestrator.declarative.model import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    SKIP_BRANCH,
    ActivityStep,
    ApprovalRecord,
)
from orchestrator.declarative.state import RunState
from orchestrator.policy import gate
from orchestrator.policy.contract import (
    STEP_EXECUTE,
    WORKFLOW_START,
    PolicyDecision,
    PolicyInput,
    Requester,
    StepSpec,
    TaskSpec,
    WorkflowRef,
)


class BranchStopped(Exception):
    """A step with onDeny: skipBranch was denied: its parallel branch stops here."""

    def __init__(self, step: str, decision: PolicyDecision) -> None:
        super().__init__(step)
        self.step = step
        self.decision = decision


class StepPolicy:
    """Asks policy about the steps of one definition and waits for the approvals it needs."""

    def __init__(
        self,
        definition_name: str,
        requester: Requester,
        state: RunState,
        *,
        bound_approvals: bool,
        approval_memo: bool = False,
        notify_on_request: bool = False,
    ) -> None:
        self.definition_name = definition_name
        # Carries the start credential to every decision; the policy activity verifies it.
        self.requester = requester
        self.state = state
        # Approvals bound to a digest and a signed credential (workflow.patched in the
        # workflow's run; False only when replaying a history from before them).
        self.bound_approvals = bound_approvals
        # What waits is mirrored in the memo (workflow.patched, like bound_approvals).
        self.approval_memo = approval_memo and bound_approvals
        self.notify_on_request = notify_on_request and bound_approvals

    async def decide_step(self, step: ActivityStep, call: list[Any]) -> PolicyDecision:
        """Ask OPA whether this step may run; a deny stops it (or its branch) here.

        The args go to OPA as policy input (and stay in history as the policy activity's
        input); they are never put on spans or search attributes.
        """
        return await self._decide(
            step,
            PolicyInput(
                STEP_EXECUTE,
                self._ref(),
                self.requester,
                step=StepSpec(step.activity, step.path, call),
            ),
        )

    async def decide_check(self, step: ActivityStep, args: list[Any]) -> PolicyDecision:
        """CheckPolicy's decision; a deny stops the step (or its branch) here."""
        description, parameters = described_work(args)
        return await self._decide(
            step,
            PolicyInput(
                WORKFLOW_START,
                self._ref(),
                self.requester,
                task=TaskSpec(description or self.definition_name, None, parameters),
            ),
        )

    async def _decide(self, step: ActivityStep, request: PolicyInput) -> PolicyDecision:
        decision = await gate.decide(
            request,
            gate.Unavailability(step.on_policy_unavailable, step.policy_budget_seconds),
            lambda unavailable: self.state.record(step.path, step.activity, unavailable),
        )
        self.state.record(step.path, step.activity, decision)
        if not decision.allow:
            self._deny(step, decision)
        return decision

    async def approve_then_recheck(
        self,
        step: ActivityStep,
        call: list[Any],
        decision: PolicyDecision,
        ask_again: Callable[[], Awaitable[PolicyDecision]],
    ) -> None:
        """Wait for the approval `decision` requires, then ask again before the step runs."""
        subject = digest.step_subject(workflow.info().workflow_id, step.path, step.activity, call)
        await self.approval(
            f"{step.path}#approval",
            f"Policy asks for an approval before {step.activity} runs at {step.path}.",
            DEFAULT_APPROVAL_TIMEOUT_SECONDS,
            digest.digest(subject),
            decision,
        )
        if self.bound_approvals:
            await self._recheck_after_approval(step, decision, ask_again)

    async def _recheck_after_approval(
        self,
        step: ActivityStep,
        approved: PolicyDecision,
        ask_again: Callable[[], Awaitable[PolicyDecision]],
    ) -> None:
        """Ask again right before the approved step runs: the approval covers the decision
        that asked for it, not one a new policy revision makes while it waited."""
        decision = await ask_again()
        changed = gate.changed_since_approval(approved, decision)
        if changed:
            self.state.set_policy_outcome("deny")
            raise ApplicationError(
                f"Step {step.path} ({step.activity}): policy revision "
                f"{decision.policy_revision} decides differently from "
                f"{approved.policy_revision}, under which it was approved ({changed}); the "
                "approval does not cover it, so the step did not run. Start it again.",
                {"path": step.path, "activity": step.activity},
                type="PolicyChangedSinceApproval",
                non_retryable=True,
            )

    def _deny(self, step: ActivityStep, decision: PolicyDecision) -> NoReturn:
        if step.on_deny == SKIP_BRANCH:
            raise BranchStopped(step.path, decision)
        self.state.set_policy_outcome("deny")
        raise gate.denied(decision, f"step {step.path} ({step.activity})")

    async def approval(
        self,
        path: str,
        description: str,
        seconds: float,
        subject_digest: str,
        decision: PolicyDecision | None = None,
    ) -> ApprovalRecord:
        """Open an approval gate at `path` and wait; raises unless it was approved in time."""
        state = self.state
        name = self.definition_name
        approval = ApprovalGate(
            Requester(self.requester.id),
            TaskSpec(description, "approval", {"definition": name, "step": path}),
            definition=name,
        )
        bound = self.bound_approvals
        if self.approval_memo:
            approval.on_change = self._publish_waiting
        approval.notify_on_open = self.notify_on_request
        # Listed before it opens, so the memo written on opening lists it; the status
        # query shows it only once it is open (it may be announcing first).
        state.pending[path] = approval
        try:
            await approval.open(
                timedelta(seconds=seconds),
                decision.approval if decision else None,
                digest=subject_digest if bound else "",
                subject=f"{name} {path}",
                bound=bound,
                reasons=list(decision.reasons) if decision else [],
                policy_revision=decision.policy_revision if decision else "",
                step=path,
            )
            state.set_approval_status("pending")
            decided = await approval.wait()
        finally:
            del state.pending[path]
        record = ApprovalRecord(
            path=path,
            status=approval.status,
            approver=decided.approver if decided else None,
            comment=decided.comment if decided else "",
            at=decided.at if decided else None,
            decision_id=decided.decision_id if decided else "",
            attempts=list(approval.attempts),
            digest=approval.digest,
            approved_by=list(approval.approved_by),
            escalations=list(approval.escalations),
        )
        state.approvals.append(record)
        state.set_approval_status("pending" if state.pending else approval.status)
        if decided is None or decided.decision == REJECT:
            # A refused attempt still in flight answers its caller before the run fails.
            await workflow.wait_condition(workflow.all_handlers_finished)
        if decided is None:
            raise ApplicationError(
                f"Approval at {path} expired: not enough approvals within "
                f"{timedelta(seconds=seconds)}; a deadline never approves.",
                {"path": path},
                type="ApprovalExpired",
                non_retryable=True,
            )
        if decided.decision == REJECT:
            comment = f": {decided.comment}" if decided.comment else ""
            raise ApplicationError(
                f"Approval at {path} rejected by {decided.approver}{comment}",
                {"path": path, "approver": decided.approver, "comment": decided.comment},
                type="ApprovalRejected",
                non_retryable=True,
            )
        state.completed_step()
        return record

    def _publish_waiting(self) -> None:
        """Every step approval still waiting, in the memo (orchestrator/approvals/memo.py)."""
        waiting = [
            approval.entry()
            for approval in self.state.pending.values()
            if approval.status == "pending"
        ]
        workflow.upsert_memo({MEMO_KEY: memo_value(waiting)})
        workflow.set_current_details(current_details(waiting))

    def _ref(self) -> WorkflowRef:
        info = workflow.info()
        return WorkflowRef(info.workflow_type, info.workflow_id, info.run_id, self.definition_name)


def described_work(args: list[Any]) -> tuple[str, dict[str, Any]]:
    """What CheckPolicy's arguments describe: every string at any depth (keys too) as the
    description, and every object's scalar entries (first one wins) as the parameters.

    Iterative and in document order, so it is deterministic and deep values cannot
    exhaust the stack.
    """
    texts: list[str] = []
    parameters: dict[str, Any] = {}
    pending: list[Any] = [list(args)]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if value.strip():
                texts.append(value.strip())
        elif isinstance(value, dict):
            for key, item in value.items():
                texts.append(str(key))
                if isinstance(item, str | int | float | bool) and key not in parameters:
                    parameters[str(key)] = item
            pending.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            pending.extend(reversed(value))
    return "; ".join(texts), parameters
