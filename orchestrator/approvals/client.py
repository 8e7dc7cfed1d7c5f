"""Send an approve/reject to a waiting workflow, signed: shared by the CLI and the API.

Reads what awaits approval from the workflow's `status` query (its digest, and the step
when several are pending), signs a credential for exactly that, and sends the update.
Runs that opened their approval before approvals were bound show no digest; they get
the older unsigned request, which their code still accepts.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from orchestrator.approvals.model import ApprovalReceipt, ApprovalRequest
from orchestrator.policy.identity import IdentityKey, sign


class ApprovalAmbiguous(Exception):
    """Several approvals are pending and no step was named; the message lists them."""


async def send_decision(
    handle: WorkflowHandle[Any, Any],
    kind: str,
    key: IdentityKey,
    subject: str,
    comment: str = "",
    step: str | None = None,
) -> ApprovalReceipt:
    pending = await pending_approval(handle, step)
    if pending is None:  # an unbound run: its gate takes the approver from the payload
        request = ApprovalRequest(approver=subject, comment=comment, step=step)
    else:
        # Bound to this run: a credential lifted from history cannot decide another one.
        credential = sign(
            key, subject, handle.id, str(pending["digest"]), run_id=str(pending.get("run_id", ""))
        )
        request = ApprovalRequest(
            comment=comment, step=pending.get("step") or step, credential=credential
        )
    receipt: ApprovalReceipt = await handle.execute_update(
        kind, request, result_type=ApprovalReceipt
    )
    return receipt


async def pending_approval(
    handle: WorkflowHandle[Any, Any], step: str | None
) -> dict[str, Any] | None:
    """The view of the approval to sign (digest, step, roles, quorum), None for unbound runs.

    Both workflow kinds answer `status`; read as plain JSON so one function serves both.
    """
    status: dict[str, Any] = await handle.query("status")
    if "pending_approvals" in status:  # declarative: one entry per pending step
        entries = status.get("pending_approvals") or []
        if step:
            entries = [entry for entry in entries if entry.get("path") == step]
        if len(entries) > 1:
            paths = ", ".join(str(entry.get("path")) for entry in entries)
            raise ApprovalAmbiguous(
                f"{len(entries)} approvals are pending ({paths}): say which one with --step "
                '(API: "step").'
            )
        if not entries:  # the update's validator says what the workflow waits for
            return None
        view: dict[str, Any] | None = entries[0].get("view")
        return view
    governed_view: dict[str, Any] | None = status.get("pending_approval")
    return governed_view
