"""GovernedWorkflow: validate → policy gate → approval when policy asks → agent task → cleanup."""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from opentelemetry import trace

    from orchestrator.approvals import digest
    from orchestrator.approvals.gate import BOUND_APPROVALS, NOTIFY_ON_REQUEST, ApprovalGate
    from orchestrator.approvals.memo import (
        APPROVAL_MEMO,
        MEMO_KEY,
        current_details,
        memo_value,
    )
    from orchestrator.approvals.model import REJECT, ApprovalRequest
    from orchestrator.approvals.updates import ApprovalUpdates
    from orchestrator.governed.model import (
        AgentTaskInput,
        AgentTaskResult,
        GovernedRequest,
        GovernedResult,
        GovernedStatus,
        Stage,
    )
    from orchestrator.policy import gate
    from orchestrator.policy.contract import (
        WORKFLOW_START,
        PolicyDecision,
        PolicyInput,
        Requester,
        TaskSpec,
        WorkflowRef,
    )
    from orchestrator.vocabulary import (
        AGENT_CLEANUP_ACTIVITY,
        AGENT_EXECUTE_ACTIVITY,
        APPROVAL_STATUS,
        GOVERNED_WORKFLOW,
        POLICY_DECISION,
        REQUESTER,
        TRACE_ID,
        trace_id_text,
    )

# The workflow type, as the starters (CLI, API, schedules) name it.
WORKFLOW_NAME = GOVERNED_WORKFLOW

# Patch ids of changes to running workflow code (see README: changing workflow code).
RECHECK_AFTER_APPROVAL = "recheck-policy-after-approval"
SINGLE_UPSERT = "single-search-attribute-upsert"

AGENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)


@workflow.defn(name=WORKFLOW_NAME)
class GovernedWorkflow(ApprovalUpdates):
    @workflow.init
    def __init__(self, raw: RawValue) -> None:
        # Decoded here, not by the SDK: input it cannot decode ("junk", a 5,000-deep
        # object, a string where a number belongs) would otherwise fail every workflow
        # task forever; here it fails the run once, as InvalidRequest.
        request, self.input_problems = _decode(raw)
        self.request = request
        self.requester_spec = Requester(request.requester)
        self.stage: Stage = "validating"
        self.decision: PolicyDecision | None = None
        self.decisions: list[PolicyDecision] = []
        requester = request.requester if isinstance(request.requester, str) else ""
        self.approval = ApprovalGate(Requester(requester), self._task())
        self.trace_id: str | None = None

    @workflow.run
    async def run(self, raw: RawValue) -> GovernedResult:
        request = self.request
        problems = self.input_problems or request.problems()
        if problems:
            self.stage = "failed"
            raise ApplicationError(
                "Invalid request: " + "; ".join(problems),
                problems,
                type="InvalidRequest",
                non_retryable=True,
            )
        # The requester as the start credential claims it; the policy activity verifies it
        # before every decision and OPA refuses work nothing proves.
        self.requester_spec = Requester(
            request.requester,
            credential=request.credential,
            start_digest=request.start_digest(),
            started_at=workflow.info().workflow_start_time.isoformat(),
        )
        self.trace_id = _trace_id_from_headers()
        attributes = [REQUESTER.value_set(request.requester), APPROVAL_STATUS.value_set("none")]
        if self.trace_id:
            attributes.append(TRACE_ID.value_set(self.trace_id))
        # Every upsert is a write to the visibility store; one after the gate instead of
        # one before and one after saves a write per workflow (measured by make bench).
        single_upsert = workflow.patched(SINGLE_UPSERT)
        if not single_upsert:
            workflow.upsert_search_attributes(attributes)

        self.stage = "policy_check"
        decision = await self._ask_policy(request)
        self._record(decision)
        outcome = [POLICY_DECISION.value_set(decision.outcome)]
        workflow.upsert_search_attributes([*attributes, *outcome] if single_upsert else outcome)
        if not decision.allow:
            self.stage = "denied"
            raise gate.denied(decision, f"task for {request.requester}")

        if decision.require_approval:
            bound = workflow.patched(BOUND_APPROVALS)
            if bound and workflow.patched(APPROVAL_MEMO):
                self.approval.on_change = self._publish_waiting
            if bound and workflow.patched(NOTIFY_ON_REQUEST):
                self.approval.notify_on_open = True
            await self._await_approval(
                timedelta(seconds=request.approval_timeout_seconds), decision, bound
            )
            # Added after v1 histories were recorded: runs that approved before this
            # code shipped replay without the second decision (tests/histories/*_v1).
            if workflow.patched(RECHECK_AFTER_APPROVAL):
                await self._recheck_after_approval(request, decision, bound)

        # Keyed on the run: a new run under a finished run's id does its own work, and a
        # retried attempt of this run still delivers once.
        info = workflow.info()
        key = f"{info.workflow_id}/{info.run_id}/agent-task"
        agent_failed = True
        try:
            self.stage = "running_agent"
            agent = await workflow.execute_activity(
                AGENT_EXECUTE_ACTIVITY,
                AgentTaskInput(key, request.task, dict(request.parameters), request.kind),
                result_type=AgentTaskResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=AGENT_RETRY,
                summary="agent task",
            )
            agent_failed = False
        finally:
            self.stage = "cleanup"
            await workflow.execute_activity(
                AGENT_CLEANUP_ACTIVITY,
                key,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=AGENT_RETRY,
                summary="cleanup",
            )
            if agent_failed:
                self.stage = "failed"
        # An approval refused while we ran must still answer its caller before we finish.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage = "completed"
        return GovernedResult(
            workflow_id=workflow.info().workflow_id,
            outcome="completed",
            requester=request.requester,
            decisions=self.decisions,
            approval=self.approval.decision,
            agent=agent,
        )

    async def _ask_policy(self, request: GovernedRequest) -> PolicyDecision:
        return await gate.decide(
            PolicyInput(WORKFLOW_START, self._ref(), self.requester_spec, self._task()),
            gate.Unavailability(request.on_policy_unavailable, request.policy_budget_seconds),
            self._record_unavailable,
        )

    def _record_unavailable(self, decision: PolicyDecision) -> None:
        self.decisions.append(decision)
        workflow.upsert_search_attributes([POLICY_DECISION.value_set(decision.outcome)])

    def _digest(self) -> str:
        task = self._task()
        return digest.digest(
            digest.task_subject(
                workflow.info().workflow_id, task.description, task.kind, task.parameters
            )
        )

    async def _await_approval(
        self, wait_at_most: timedelta, decision: PolicyDecision, bound: bool
    ) -> None:
        await self.approval.open(
            wait_at_most,
            decision.approval,
            digest=self._digest() if bound else "",
            subject=f"task for {self.request.requester}",
            bound=bound,
            reasons=list(decision.reasons),
            policy_revision=decision.policy_revision,
        )
        self.stage = "awaiting_approval"
        workflow.upsert_search_attributes([APPROVAL_STATUS.value_set("pending")])
        decided = await self.approval.wait()
        workflow.upsert_search_attributes([APPROVAL_STATUS.value_set(self.approval.status)])
        await workflow.wait_condition(workflow.all_handlers_finished)
        if decided is None:
            self.stage = "expired"
            assert self.approval.deadline and self.approval.opened_at
            raise ApplicationError(
                "Approval expired: not enough approvals within "
                f"{self.approval.deadline - self.approval.opened_at}; a deadline never approves.",
                type="ApprovalExpired",
                non_retryable=True,
            )
        if decided.decision == REJECT:
            self.stage = "rejected"
            comment = f": {decided.comment}" if decided.comment else ""
            raise ApplicationError(
                f"Rejected by {decided.approver}{comment}",
                {"approver": decided.approver, "comment": decided.comment},
                type="ApprovalRejected",
                non_retryable=True,
            )

    async def _recheck_after_approval(
        self, request: GovernedRequest, approved: PolicyDecision, bound: bool
    ) -> None:
        """Ask again right before the work runs: rules, people or the request may have changed.

        Bound approvals also stop the work when the inputs no longer match the approved
        digest, or when a new policy revision decides differently from the one that
        asked for the approval (the approval was given under other rules).
        """
        self.stage = "policy_check"
        decision = (
            await self._ask_policy(request)
            if bound
            else await gate.decide(
                PolicyInput(WORKFLOW_START, self._ref(), self.requester_spec, self._task())
            )
        )
        self._record(decision)
        if not decision.allow:
            self.stage = "denied"
            workflow.upsert_search_attributes([POLICY_DECISION.value_set("deny")])
            raise gate.denied(decision, f"task for {request.requester} after approval")
        if not bound:
            return
        if self._digest() != self.approval.digest:
            self._blocked(
                "ApprovalDigestMismatch",
                f"What is about to run ({self._digest()}) is not what was approved "
                f"({self.approval.digest}).",
            )
        changed = gate.changed_since_approval(approved, decision)
        if changed:
            workflow.upsert_search_attributes([POLICY_DECISION.value_set("deny")])
            self._blocked(
                "PolicyChangedSinceApproval",
                f"Policy revision {decision.policy_revision} decides differently from "
                f"{approved.policy_revision}, under which this was approved ({changed}); "
                "the approval does not cover it, so the work did not run. Start it again.",
            )

    def _blocked(self, kind: str, message: str) -> NoReturn:
        self.stage = "denied"
        raise ApplicationError(message, type=kind, non_retryable=True)

    def _publish_waiting(self) -> None:
        """What waits, in the memo (orchestrator/approvals/memo.py); [] once decided."""
        waiting = [self.approval.entry()] if self.approval.status == "pending" else []
        workflow.upsert_memo({MEMO_KEY: memo_value(waiting)})
        workflow.set_current_details(current_details(waiting))

    def approval_gate(self, request: ApprovalRequest) -> ApprovalGate:
        """The run's one approval: the `approve` and `reject` updates decide it."""
        return self.approval

    @workflow.query
    def status(self) -> GovernedStatus:
        decision = self.approval.decision
        return GovernedStatus(
            stage=self.stage,
            requester=self.approval.requester.id,
            approval_status=self.approval.status,
            decision=self.decision,
            reasons=self.decision.reasons if self.decision else [],
            approval_deadline=self.approval.deadline.isoformat()
            if self.approval.deadline
            else None,
            approver=decision.approver if decision else None,
            approval_attempts=list(self.approval.attempts),
            trace_id=self.trace_id,
            pending_approval=self.approval.view()
            if self.approval.bound and self.approval.status == "pending"
            else None,
            escalations=list(self.approval.escalations),
            decisions=list(self.decisions),
        )

    def _task(self) -> TaskSpec:
        request = self.request
        return TaskSpec(
            description=request.task if isinstance(request.task, str) else "",
            kind=request.kind,
            parameters=dict(request.parameters) if isinstance(request.parameters, dict) else {},
        )

    def _ref(self) -> WorkflowRef:
        info = workflow.info()
        return WorkflowRef(info.workflow_type, info.workflow_id, info.run_id)

    def _record(self, decision: PolicyDecision) -> None:
        self.decision = decision
        self.decisions.append(decision)


def _decode(raw: RawValue) -> tuple[GovernedRequest, list[str]]:
    """The request, or a placeholder and why the input is not a GovernedRequest."""
    try:
        request = workflow.payload_converter().from_payload(raw.payload, GovernedRequest)
    except Exception as error:  # any decoding failure is the same bad input
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        return GovernedRequest(task="", requester=""), [
            f"input: not a GovernedRequest ({type(error).__name__}: {reason})"
        ]
    if not isinstance(request, GovernedRequest):
        return GovernedRequest(task="", requester=""), ["input: not a GovernedRequest"]
    return request, []


def _trace_id_from_headers() -> str | None:
    """The trace this run belongs to, as propagated by the starting client in its headers.

    Deterministic: the headers are part of history, so a replay reads the same id. Runs
    started without trace headers (schedules, the `temporal` CLI) have none here.
    """
    context = trace.get_current_span().get_span_context()
    return trace_id_text(context.trace_id) if context.is_valid else None
