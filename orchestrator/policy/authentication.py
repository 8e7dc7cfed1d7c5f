"""Turn credentials into proven identities before OPA sees the input.

Runs in the policy activity (never in workflow code: it reads keys and the clock). OPA
then gets `approval.approver` = the proven subject and `approval.authenticated` = true,
and `requester.authenticated` = true with the `issuer` whose key signed the start, or
authenticated = false and the reason; the credentials themselves are never sent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from orchestrator.policy.contract import ApprovalSpec, PolicyInput, Requester
from orchestrator.policy.identity import CredentialRejected, Keyring, verify, verify_start

NO_KEYS = "the worker has no identity keys (ORCH_IDENTITY_KEYS_FILE)"


def authenticate(policy_input: PolicyInput, keyring: Keyring | None) -> tuple[PolicyInput, str]:
    """The input OPA should see, and the proven approver ("" when nothing was proven)."""
    policy_input = replace(policy_input, requester=_requester(policy_input, keyring))
    approval = policy_input.approval
    if approval is None or approval.credential is None:
        return policy_input, ""
    if keyring is None:
        return replace(policy_input, approval=_unproven(approval, NO_KEYS)), ""
    workflow = policy_input.workflow
    try:
        subject = verify(
            keyring, approval.credential, workflow.id, approval.digest, run_id=workflow.run_id
        )
    except CredentialRejected as rejected:
        return replace(policy_input, approval=_unproven(approval, str(rejected))), ""
    proven = replace(approval, approver=subject, authenticated=True, authentication_error="")
    return replace(policy_input, approval=proven), subject


def _requester(policy_input: PolicyInput, keyring: Keyring | None) -> Requester:
    """The requester as OPA should see it: proven by its start credential, or not."""
    requester = replace(policy_input.requester, authenticated=False, issuer="")
    credential = requester.credential
    if credential is None:
        return replace(requester, authentication_error="no start credential")
    if keyring is None:
        return replace(requester, authentication_error=NO_KEYS)
    try:
        started_at = datetime.fromisoformat(requester.started_at)
    except ValueError:
        return replace(requester, authentication_error="the workflow's start time is unknown")
    try:
        issuer = verify_start(
            keyring,
            credential,
            requester.id,
            policy_input.workflow.id,
            requester.start_digest,
            started_at,
        )
    except CredentialRejected as rejected:
        return replace(requester, authentication_error=str(rejected))
    return replace(requester, authenticated=True, issuer=issuer, authentication_error="")


def _unproven(approval: ApprovalSpec, error: str) -> ApprovalSpec:
    return replace(approval, authenticated=False, authentication_error=error)
