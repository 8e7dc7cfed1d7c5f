"""Turn an approval's credential into a proven approver before OPA sees the input.

Runs in the policy activity (never in workflow code: it reads keys and the clock). OPA
then gets `approval.approver` = the proven subject and `approval.authenticated` = true,
or authenticated = false and the reason; the credential itself is never sent.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.identity import CredentialRejected, Keyring, verify
from orchestrator.policy.contract import ApprovalSpec, PolicyInput


def authenticate(policy_input: PolicyInput, keyring: Keyring | None) -> tuple[PolicyInput, str]:
    """The input OPA should see, and the proven approver ("" when nothing was proven)."""
    approval = policy_input.approval
    if approval is None or approval.credential is None:
        return policy_input, ""
    if keyring is None:
        error = "the worker has no identity keys (ORCH_IDENTITY_KEYS_FILE)"
        return replace(policy_input, approval=_unproven(approval, error)), ""
    try:
        subject = verify(keyring, approval.credential, policy_input.workflow.id, approval.digest)
    except CredentialRejected as rejected:
        return replace(policy_input, approval=_unproven(approval, str(rejected))), ""
    proven = replace(approval, approver=subject, authenticated=True, authentication_error="")
    return replace(policy_input, approval=proven), subject


def _unproven(approval: ApprovalSpec, error: str) -> ApprovalSpec:
    return replace(approval, authenticated=False, authentication_error=error)
