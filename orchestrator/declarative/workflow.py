"""DeclarativeWorkflow: validate the definition again, then interpret it step by step.

Validation (the `declarative.validate` local activity) runs again at the top of every run;
an invalid definition fails the workflow non-retryably with every problem, before any
step. The `build_definition` that follows turns the validated document into blocks.

Every activity step is decided by OPA (step.execute) first; approval steps wait for a
policy-governed approval through the `approve`/`reject` updates; long definitions continue
as new at safe points (see interpreter.py). The `status` query tells where it is.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from opentelemetry import trace

    from orchestrator.approvals.gate import BOUND_APPROVALS, NOTIFY_ON_REQUEST, ApprovalGate
    from orchestrator.approvals.memo import APPROVAL_MEMO
    from orchestrator.approvals.model import ApprovalRequest
    from orchestrator.approvals.updates import ApprovalUpdates
    from orchestrator.declarative.activities import VALIDATE_ACTIVITY, ValidationInput
    from orchestrator.declarative.build import build_definition
    from orchestrator.declarative.catalogs import installed_catalog
    from orchestrator.declarative.interpreter import Interpreter
    from orchestrator.declarative.model import (
        DecisionSummary,
        DeclarativeRequest,
        DeclarativeResult,
        DeclarativeStatus,
        PendingApproval,
        Progress,
    )
    from orchestrator.declarative.parse import definition_name
    from orchestrator.declarative.problem import Problem
    from orchestrator.declarative.state import APPROVAL_REQUIRED_OUTCOME
    from orchestrator.declarative.validate import summarize
    from orchestrator.governed.model import REQUESTER_PATTERN
    from orchestrator.policy.contract import Requester
    from orchestrator.vocabulary import (
        APPROVAL_STATUS,
        DECLARATIVE_WORKFLOW,
        OUTCOME_BY_ERROR_TYPE,
        REQUESTER,
        TRACE_ID,
        WORKFLOW_DEFINITION,
        trace_id_text,
    )

    # Built here, passed through: the deployed catalogs are combined once per process,
    # not again in each workflow's sandbox.
    CATALOG = installed_catalog()

WORKFLOW_NAME = DECLARATIVE_WORKFLOW

MAX_PROBLEMS_IN_MESSAGE = 20
# Patch id: CheckPolicy steps whose decision requires approval wait for one (before this,
# CheckPolicy only reported require_approval).
CHECK_POLICY_APPROVALS = "check-policy-enforces-approval"
VALIDATE_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name=WORKFLOW_NAME)
class DeclarativeWorkflow(ApprovalUpdates):
    @workflow.init
    def __init__(self, raw: RawValue) -> None:
        # Decoded here, not by the SDK: undecodable input would fail every workflow task
        # forever; here it fails the run once, as InvalidDefinition.
        request, self.input_problems = _decode(raw)
        self.request = request
        self.stage = "validating"
        self.error: str | None = None
        self.trace_id: str | None = None
        self.interpreter: Interpreter | None = None
        document = request.definition if isinstance(request.definition, dict) else {}
        self.name = definition_name(document, request.source)
        self.total_steps = 0

    @workflow.run
    async def run(self, raw: RawValue) -> DeclarativeResult:
        request = self.request
        catalog = CATALOG
        if self.input_problems:
            self._fail_invalid(self.input_problems)
        # Asked once, before the first await: a patch first asked after the validation
        # local activity, in the same workflow task, is not seen again on replay (Temporal
        # reports "patch marker encountered ... no corresponding change command").
        bound_approvals = workflow.patched(BOUND_APPROVALS)
        check_policy_approvals = workflow.patched(CHECK_POLICY_APPROVALS)
        approval_memo = workflow.patched(APPROVAL_MEMO)
        notify_on_request = workflow.patched(NOTIFY_ON_REQUEST)
        approval_required_outcome = workflow.patched(APPROVAL_REQUIRED_OUTCOME)
        # Defense in depth: the CLI validated before starting, but anyone with a Temporal
        # client can start this workflow with any input. A local activity (see
        # activities.py): too much CPU for a workflow task, and its answer is recorded.
        found: list[Problem] = await workflow.execute_local_activity(
            VALIDATE_ACTIVITY,
            ValidationInput(request.definition, request.source),
            result_type=list[Problem],
            start_to_close_timeout=VALIDATE_TIMEOUT,
            summary="validate definition",
        )
        if not isinstance(request.requester, str) or not REQUESTER_PATTERN.match(request.requester):
            found.insert(0, Problem("requester", "must be a user id like 'alice'"))
        if found:
            self._fail_invalid(found)
        definition = build_definition(request.definition, request.source, catalog)
        self.name = definition.name
        self.total_steps = definition.steps
        progress = request.resume
        self.trace_id = _trace_id_from_headers()
        attributes = [
            REQUESTER.value_set(request.requester),
            WORKFLOW_DEFINITION.value_set(definition.name),
            APPROVAL_STATUS.value_set(progress.approval_status if progress else "none"),
        ]
        if self.trace_id:
            attributes.append(TRACE_ID.value_set(self.trace_id))
        workflow.upsert_search_attributes(attributes)

        # When the first run started: the start credential's freshness is judged against it.
        started_at = (progress.started_at if progress else "") or (
            workflow.info().workflow_start_time.isoformat()
        )
        requester = Requester(
            request.requester,
            credential=request.credential,
            start_digest=request.start_digest(),
            started_at=started_at,
        )
        interpreter = Interpreter(
            definition,
            requester,
            catalog,
            progress,
            self._continue_as_new,
            request.steps_per_run,
            bound_approvals=bound_approvals,
            check_policy_approvals=check_policy_approvals,
            approval_memo=approval_memo,
            notify_on_request=notify_on_request,
            approval_required_outcome=approval_required_outcome,
        )
        self.interpreter = interpreter
        self.stage = "running"
        try:
            output = await interpreter.run()
        except ApplicationError as error:
            self.stage = OUTCOME_BY_ERROR_TYPE.get(error.type or "", "failed")
            self.error = error.message
            raise
        # An approval attempt refused while we ran must still answer its caller.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage = "completed"
        return DeclarativeResult(
            workflow_id=workflow.info().workflow_id,
            workflow_name=definition.name,
            requester=request.requester,
            outcome="completed",
            output=output,
            results=interpreter.state.results,
            decisions=interpreter.state.decisions,
            summary=interpreter.state.summary,
            approvals=interpreter.state.approvals,
            completed_steps=interpreter.state.completed,
            skipped=interpreter.state.skipped,
            stopped_branches=interpreter.state.stopped,
            runs=interpreter.state.run_number,
        )

    def _fail_invalid(self, found: list[Problem]) -> NoReturn:
        self.stage = "invalid"
        shown = summarize(found, MAX_PROBLEMS_IN_MESSAGE)
        source = f" {self.request.source}" if self.request.source else ""
        self.error = f"Invalid definition{source}: {len(found)} problem(s): {shown}"
        raise ApplicationError(
            self.error,
            [{"path": problem.path, "message": problem.message} for problem in found],
            type="InvalidDefinition",
            non_retryable=True,
        )

    async def _continue_as_new(self, progress: Progress) -> NoReturn:
        # Update handlers must finish before the run ends, or their callers get no answer.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage = "continuing"
        workflow.continue_as_new(dataclasses.replace(self.request, resume=progress))

    # --- approvals (the `approve` and `reject` updates: ApprovalUpdates) ------------------

    def approval_gate(self, request: ApprovalRequest) -> ApprovalGate:
        """The pending approval a request is for: the one named by `step`, or the only one."""
        pending = self.interpreter.state.pending if self.interpreter else {}
        step = request.step
        if step:
            if step in pending:
                return pending[step]
            waiting = ", ".join(pending) or "none"
            raise ApplicationError(
                f"No approval is pending at step {step}; pending: {waiting}.",
                type="ApprovalNotPending",
            )
        if len(pending) == 1:
            return next(iter(pending.values()))
        if not pending:
            raise ApplicationError(
                f"The workflow is not waiting for approval (stage: {self.stage}).",
                type="ApprovalNotPending",
            )
        raise ApplicationError(
            f"{len(pending)} approvals are pending ({', '.join(pending)}): say which one "
            'with "step", e.g. {"approver": "bob", "step": "' + next(iter(pending)) + '"}.',
            type="ApprovalAmbiguous",
        )

    # --- status ---------------------------------------------------------------------------

    @workflow.query
    def status(self) -> DeclarativeStatus:
        interpreter = self.interpreter
        progress = self.request.resume
        if interpreter is None:
            return DeclarativeStatus(
                stage=self.stage,
                workflow_name=self.name,
                requester=self.request.requester,
                run=progress.run if progress else 1,
                running=[],
                completed_steps=progress.completed_steps if progress else 0,
                total_steps=self.total_steps,
                decisions=[],
                summary=progress.summary if progress else DecisionSummary(),
                approval_status=progress.approval_status if progress else "none",
                pending_approvals=[],
                approvals=[],
                skipped=[],
                stopped_branches=[],
                error=self.error,
                trace_id=self.trace_id,
            )
        stage = self.stage
        waiting = {
            path: gate
            for path, gate in interpreter.state.pending.items()
            if gate.status == "pending"
        }
        if stage == "running" and waiting:
            stage = "awaiting_approval"
        return DeclarativeStatus(
            stage=stage,
            workflow_name=self.name,
            requester=self.request.requester,
            run=interpreter.state.run_number,
            running=list(interpreter.state.running),
            completed_steps=interpreter.state.completed,
            total_steps=self.total_steps,
            decisions=list(interpreter.state.decisions),
            summary=interpreter.state.summary,
            approval_status=interpreter.state.approval_status,
            pending_approvals=[
                PendingApproval(
                    path=path,
                    description=gate.task.description if gate.task else "",
                    deadline=gate.deadline.isoformat() if gate.deadline else None,
                    attempts=list(gate.attempts),
                    view=gate.view(path) if gate.bound else None,
                )
                for path, gate in waiting.items()
            ],
            approvals=list(interpreter.state.approvals),
            skipped=list(interpreter.state.skipped),
            stopped_branches=list(interpreter.state.stopped),
            error=self.error,
            trace_id=self.trace_id,
        )


def _decode(raw: RawValue) -> tuple[DeclarativeRequest, list[Problem]]:
    """The request, or a placeholder and why the input is not a DeclarativeRequest."""
    try:
        request = workflow.payload_converter().from_payload(raw.payload, DeclarativeRequest)
    except Exception as error:  # any decoding failure is the same bad input
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        problem = Problem("", f"the input is not a DeclarativeRequest ({reason})")
        return DeclarativeRequest(definition={}, requester=""), [problem]
    if not isinstance(request, DeclarativeRequest):
        problem = Problem("", "the input is not a DeclarativeRequest")
        return DeclarativeRequest(definition={}, requester=""), [problem]
    return request, []


def _trace_id_from_headers() -> str | None:
    """The trace of the starting client, from its headers (part of history: replay-safe)."""
    context = trace.get_current_span().get_span_context()
    return trace_id_text(context.trace_id) if context.is_valid else None
