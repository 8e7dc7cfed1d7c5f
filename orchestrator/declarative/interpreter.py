"""The interpreter: runs a definition's blocks from inside the DeclarativeWorkflow.

Workflow code: deterministic and replay-safe. It reads only the definition, named results,
activity results and workflow time, and iterates lists and insertion-ordered dicts, never
sets. Parallel branches are tasks created in the order written and gathered; a failing
branch cancels its siblings before the error propagates.

Data flow: a sequential block passes each block's result into the next; the first block
receives what flowed into the sequential block (null at the top). An activity whose catalog
entry takes data flow gets that value as its first argument, unless the step says
`useDataFlow: false` (then it gets only its args). A parallel block hands
the value flowing into it to every branch and passes on the list of the branches'
results, in the order written (null for a branch stopped by onDeny: skipBranch). An
approval step, and any block skipped by its `when`, pass on what flowed into them.

Continue-as-new: between two blocks of a sequential block that is not inside a parallel
block ("safe points"; nothing else is in flight there) the run checks its history. When
the server suggests it, when the history passes RUN_EVENT_BUDGET events or RUN_SIZE_BUDGET
bytes, when the next block would take the run past HISTORY_EVENT_WARN, or after
`steps_per_run` steps, it continues as new, carrying the cursor (indices of the next
block along the nested sequential blocks), the flowing value, the named results and the
decisions summary. The next run re-validates the definition and resumes at the cursor.

This module runs blocks; step_policy.py asks policy about steps and waits for approvals;
state.py holds the run state (one RunState) and hands it on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

from orchestrator.approvals import digest
from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.expressions import MissingResult, resolve
from orchestrator.declarative.model import (
    ActivityStep,
    ApprovalRecord,
    ApprovalStep,
    Block,
    Definition,
    Parallel,
    Progress,
    Sequential,
    StoppedBranch,
    leaf_count,
)
from orchestrator.declarative.signature import POLICY
from orchestrator.declarative.state import RunState
from orchestrator.declarative.step_policy import BranchStopped, StepPolicy
from orchestrator.policy.contract import Requester
from orchestrator.vocabulary import POLICY_DECISION

# History budget of one run (Temporal warns at 10,240 events and terminates at 51,200
# events or 50 MB). One sequential step costs about 12 events: the policy activity and
# the step's activity (scheduled, started, completed) and a workflow task after each.
EVENTS_PER_STEP = 12
RUN_EVENT_BUDGET = 6_000
HISTORY_EVENT_WARN = 10_240
RUN_SIZE_BUDGET = 8 * 1024 * 1024


ContinueAsNew = Callable[[Progress], Awaitable[NoReturn]]


class Interpreter:
    def __init__(
        self,
        definition: Definition,
        requester: Requester,
        catalog: ActivityCatalog,
        progress: Progress | None,
        continue_as_new: ContinueAsNew,
        steps_per_run: int | None = None,
        *,
        bound_approvals: bool = True,
        check_policy_approvals: bool = True,
        approval_memo: bool = True,
        notify_on_request: bool = True,
        approval_required_outcome: bool = True,
    ) -> None:
        self.definition = definition
        # CheckPolicy waits for the approval its decision requires (workflow.patched in
        # the workflow's run; False only when replaying a history from before it).
        self.check_policy_approvals = check_policy_approvals
        self.catalog = catalog
        self.continue_as_new = continue_as_new
        self.steps_per_run = steps_per_run
        self.state = RunState.resumed(progress, requester.started_at)
        self.state.approval_required_outcome = approval_required_outcome
        self.policy = StepPolicy(
            definition.name,
            requester,
            self.state,
            bound_approvals=bound_approvals,
            approval_memo=approval_memo,
            notify_on_request=notify_on_request,
        )

    async def run(self) -> Any:
        """Run the definition (from the cursor, on a continued run); returns the final flow."""
        state = self.state
        if state.policy_outcome:
            workflow.upsert_search_attributes([POLICY_DECISION.value_set(state.policy_outcome)])
        return await self._block(self.definition.root, state.flow, state.cursor or None, [])

    # --- blocks ---------------------------------------------------------------------------

    async def _block(
        self, block: Block, flow: Any, resume: list[int] | None, chain: list[int] | None
    ) -> Any:
        """Run one block. `chain` is its index path when only sequential blocks enclose it
        (continue-as-new is safe there); `resume` the cursor below it on a continued run."""
        when = block.when
        if resume is None and when is not None and not when.evaluate(self.state.results):
            self.state.skip(block.path)
            return flow
        if isinstance(block, Sequential):
            output = await self._sequential(block, flow, resume, chain)
        elif isinstance(block, Parallel):
            output = await self._parallel(block, flow)
        elif isinstance(block, ApprovalStep):
            description = block.description or (
                f"Approve step {block.path} of {self.definition.name}."
            )
            subject = digest.step_subject(
                workflow.info().workflow_id, block.path, "approval", [description]
            )
            record = await self.policy.approval(
                block.path, description, block.timeout_seconds, digest.digest(subject)
            )
            if block.result_name:
                self.state.results[block.result_name] = _approval_result(record)
            return flow
        elif isinstance(block, ActivityStep):
            output = await self._activity(block, flow)
        else:  # pragma: no cover - build_definition makes only these
            raise TypeError(f"unknown block {block!r}")
        if block.result_name:
            self.state.results[block.result_name] = output
        return output

    async def _sequential(
        self, block: Sequential, flow: Any, resume: list[int] | None, chain: list[int] | None
    ) -> Any:
        first = resume[0] if resume else 0
        for index in range(first, len(block.blocks)):
            child = block.blocks[index]
            below = resume[1:] if resume and index == first and len(resume) > 1 else None
            if chain is not None and below is None:
                await self._safe_point([*chain, index], flow, child)
            flow = await self._block(
                child, flow, below, [*chain, index] if chain is not None else None
            )
        return flow

    async def _parallel(self, block: Parallel, flow: Any) -> list[Any]:
        # Created in the order written, so scheduling order is the same on every replay.
        tasks = [asyncio.create_task(self._branch(child, flow)) for child in block.blocks]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _branch(self, child: Block, flow: Any) -> Any:
        try:
            return await self._block(child, flow, None, None)
        except BranchStopped as stop:
            decision = stop.decision
            self.state.stopped.append(
                StoppedBranch(child.path, stop.step, list(decision.reasons), decision.decision_id)
            )
            self.state.set_policy_outcome("branch_denied")
            return None

    # --- steps ----------------------------------------------------------------------------

    async def _activity(self, step: ActivityStep, flow: Any) -> Any:
        entry = self.catalog.get(step.activity)
        if entry is None:  # validation refuses this; a catalog changed under a running workflow
            raise ApplicationError(
                f"Step {step.path}: activity {step.activity} is not in this worker's catalog.",
                type="InvalidDefinition",
                non_retryable=True,
            )
        try:
            args = resolve(list(step.args), self.state.results)
        except MissingResult as missing:
            raise ApplicationError(
                f"Step {step.path}: {missing} (its step was skipped or its branch stopped); "
                f"guard this step with when: {{exists: {missing.reference.name}}}",
                type="MissingResult",
                non_retryable=True,
            ) from None
        call = [flow, *args] if entry.flow and step.use_data_flow else args
        wrong = entry.check_call(call)
        if wrong:
            raise ApplicationError(
                f"Step {step.path}: " + "; ".join(problem.message for problem in wrong),
                type="InvalidArguments",
                non_retryable=True,
            )
        self.state.running.append(step.path)
        try:
            if entry.kind == POLICY:
                output = await self._check_policy(step, args)
            else:
                output = await self._execute(step, call)
        finally:
            self.state.running.remove(step.path)
        self.state.completed_step()
        return output

    async def _execute(self, step: ActivityStep, call: list[Any]) -> Any:
        policy = self.policy
        decision = await policy.decide_step(step, call)
        if decision.require_approval:
            await policy.approve_then_recheck(
                step, call, decision, lambda: policy.decide_step(step, call)
            )
        retry = step.retry
        try:
            return await workflow.execute_activity(
                step.activity,
                args=call,
                start_to_close_timeout=timedelta(seconds=step.timeout_seconds),
                retry_policy=RetryPolicy(
                    maximum_attempts=retry.maximum_attempts,
                    initial_interval=timedelta(seconds=retry.initial_interval_seconds),
                    backoff_coefficient=retry.backoff_coefficient,
                    maximum_interval=timedelta(seconds=retry.maximum_interval_seconds),
                ),
                summary=f"{step.path} {step.activity}",
            )
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                raise
            cause = error.cause
            reason = cause.message if isinstance(cause, FailureError) else str(error)
            raise ApplicationError(
                f"Step {step.path} ({step.activity}) failed "
                f"(retry policy: at most {retry.maximum_attempts} attempt(s)): {reason}",
                {"path": step.path, "activity": step.activity},
                type="StepFailed",
                non_retryable=True,
            ) from error

    async def _check_policy(self, step: ActivityStep, args: list[Any]) -> dict[str, Any]:
        """CheckPolicy: a real workflow.start decision about the work the arguments describe.

        Like the old demo's, it judges every argument: every string at any depth (object
        keys too) goes into the description, every object's entries into the parameters.
        A decision that requires approval waits for one, as a governed run would.
        """
        policy = self.policy
        decision = await policy.decide_check(step, args)
        if decision.require_approval and self.check_policy_approvals:
            await policy.approve_then_recheck(
                step, args, decision, lambda: policy.decide_check(step, args)
            )
        return {
            "allow": decision.allow,
            "require_approval": decision.require_approval,
            "risk": decision.risk,
            "reasons": list(decision.reasons),
            "decision_id": decision.decision_id,
            "policy_revision": decision.policy_revision,
        }

    # --- continue-as-new ------------------------------------------------------------------

    async def _safe_point(self, cursor: list[int], flow: Any, upcoming: Block) -> None:
        steps = self.state.steps_this_run
        if steps == 0:
            return  # never continue a run that has not moved on
        info = workflow.info()
        length = info.get_current_history_length()
        if (
            (self.steps_per_run is not None and steps >= self.steps_per_run)
            or info.is_continue_as_new_suggested()
            or length >= RUN_EVENT_BUDGET
            or info.get_current_history_size() >= RUN_SIZE_BUDGET
            or length + EVENTS_PER_STEP * leaf_count(upcoming) > HISTORY_EVENT_WARN
        ):
            await self.continue_as_new(self.state.handed_on(cursor, flow, info.run_id))


def _approval_result(record: ApprovalRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "approver": record.approver,
        "comment": record.comment,
        "at": record.at,
        "decision_id": record.decision_id,
    }
