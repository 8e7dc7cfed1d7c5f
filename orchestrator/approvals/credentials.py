"""The checks of an approval's credential that need no key, made before the update is
accepted (so a refused credential never enters history): who it names, which workflow,
run and digest it was signed for, and that it was not used before. The signature itself
is the worker's to verify (orchestrator/policy/identity.py), before OPA sees the approver.

Workflow code (called from the update validators).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from orchestrator.approvals.model import ApprovalRequest


def check_credential(request: ApprovalRequest, digest: str, used_nonces: set[str]) -> None:
    """Raise, with the reason, unless `request`'s credential may decide this approval."""
    credential = request.credential
    if credential is None:
        raise ApplicationError(
            "This approval needs a signed credential: decide with `orchestrator approve` "
            "or the HTTP API, which sign it with your configured identity.",
            type="ApprovalUnauthenticated",
        )
    if request.approver and request.approver.strip() != credential.subject:
        raise ApplicationError(
            f"The payload names {request.approver!r} but the credential is "
            f"{credential.subject!r}'s; the approver is who the credential proves.",
            type="ApprovalUnauthenticated",
        )
    info = workflow.info()
    if credential.workflow_id != info.workflow_id:
        raise ApplicationError(
            f"The credential was signed for workflow {credential.workflow_id!r}.",
            type="ApprovalUnauthenticated",
        )
    # A credential lifted from an earlier run's history (a finished run whose id was
    # reused, or the run before a reset) must never decide this one.
    if credential.run_id != info.run_id:
        raise ApplicationError(
            f"The credential was signed for run {credential.run_id or '(none)'!r}, not "
            f"this run {info.run_id!r}: approve again from `orchestrator approve` or the API.",
            type="ApprovalUnauthenticated",
        )
    if credential.digest != digest:
        raise ApplicationError(
            f"The credential approves {credential.digest}, but what awaits approval is "
            f"{digest}: the request changed since it was shown. Look again, then "
            "decide again.",
            type="ApprovalDigestMismatch",
        )
    if credential.nonce in used_nonces:
        raise ApplicationError(
            "This credential was already used: each approval is used once.",
            type="ApprovalReplayed",
        )
