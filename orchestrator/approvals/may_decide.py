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
from orchestrator.approvals.waiting import Waiting
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
NO_REASON = "The policy refused, giving no reason."


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


async def judge(opa: OpaClient, items: list[Waiting], viewer: str) -> None:
    """Fill each item's `allowed` (the verbs the viewer may use) and `refusal` (why not).

    Approving is asked first, for every item in one request. Whoever may approve is
    offered both buttons without a second question: the rules for rejecting are those for
    approving less "approved already", and the workflow asks again, for real, whichever is
    sent. Only where approving is refused is rejecting asked too, again in one request
    (someone who already approved may still reject). So a page costs at most two policy
    requests, whatever its length (bench/inbox.py measures it).
    """
    approvals = await _ask(opa, items, viewer, APPROVE)
    refused = [(item, reasons) for item, reasons in zip(items, approvals, strict=True) if reasons]
    rejections = await _ask(opa, [item for item, _ in refused], viewer, REJECT)
    for item, reasons in zip(items, approvals, strict=True):
        if reasons is None:
            item.allowed, item.refusal = list(VERBS), []
    for (item, reasons), reject in zip(refused, rejections, strict=True):
        item.allowed = [REJECT] if reject is None else []
        item.refusal = reasons


async def _ask(
    opa: OpaClient, items: list[Waiting], viewer: str, verb: ApprovalDecision
) -> list[list[str] | None]:
    """Per item: None when policy allows `verb`; else its reasons (the policy's own words)."""
    if not items:
        return []
    try:
        verdicts = await opa.verdicts([policy_input(item, viewer, verb) for item in items])
    except PolicyError as error:
        return [[f"The policy service could not say: {error}"] for _ in items]
    return [None if verdict.allow else verdict.reasons or [NO_REASON] for verdict in verdicts]
