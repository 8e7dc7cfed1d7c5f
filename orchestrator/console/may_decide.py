"""May the viewer decide this approval? Asked of OPA the way the workflow would ask it.

The input is the one ApprovalGate builds for `approval.decide` (orchestrator/approvals/
gate.py): the run, its requester and task, and the requirement as it stands (roles after
widening, who approved so far). The approver is the signed-in viewer, marked
authenticated: the console proved them with their API token, and a decision they send is
signed by the API's key for them, which the worker verifies before OPA sees it. Nothing is
decided and nothing enters the workflow's history; the workflow asks again, for real,
when the viewer decides (OPA logs both).

Both verbs are asked: someone who already approved may still reject.
"""

from __future__ import annotations

from orchestrator.approvals.model import APPROVE, REJECT
from orchestrator.console.waiting import Waiting
from orchestrator.policy.client import OpaClient, PolicyError
from orchestrator.policy.contract import (
    APPROVAL_DECIDE,
    ApprovalDecision,
    ApprovalSpec,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)

VERBS: tuple[ApprovalDecision, ...] = (APPROVE, REJECT)


def policy_input(item: Waiting, viewer: str, kind: ApprovalDecision) -> PolicyInput:
    if item.step:
        parameters = {"definition": item.definition, "step": item.step}
        task = TaskSpec(item.subject, "approval", parameters)
    else:
        task = TaskSpec(item.subject, item.kind, dict(item.parameters))
    return PolicyInput(
        action=APPROVAL_DECIDE,
        workflow=WorkflowRef(item.workflow_type, item.workflow_id, item.run_id, item.definition),
        requester=Requester(item.requester),
        task=task,
        approval=ApprovalSpec(
            approver=viewer,
            decision=kind,
            digest=item.digest,
            authenticated=True,
            required_roles=list(item.roles),
            exclude_requester=item.exclude_requester,
            approved_by=list(item.approved_by),
        ),
    )


async def judge(opa: OpaClient, item: Waiting, viewer: str) -> None:
    """Fill `item.allowed` (the verbs the viewer may use) and `item.refusal` (why not).

    Approving is asked first. Whoever may approve is offered both buttons without a
    second question: the rules for rejecting are those for approving less "approved
    already", and the workflow asks again, for real, whichever is sent. Only when
    approving is refused is rejecting asked too (someone who already approved may still
    reject). Measured on a page of 50: half the policy calls, and they are most of its cost.
    """
    approve = await _ask(opa, item, viewer, APPROVE)
    if approve is None:
        item.allowed, item.refusal = list(VERBS), []
        return
    reject = await _ask(opa, item, viewer, REJECT)
    item.allowed = [REJECT] if reject is None else []
    item.refusal = approve


async def _ask(
    opa: OpaClient, item: Waiting, viewer: str, verb: ApprovalDecision
) -> list[str] | None:
    """None when policy allows `verb`; else its reasons (the policy's own words)."""
    try:
        decision = await opa.decide(policy_input(item, viewer, verb))
    except PolicyError as error:
        return [f"The policy service could not say: {error}"]
    if decision.allow:
        return None
    return list(decision.reasons) or ["The policy refused, giving no reason."]
