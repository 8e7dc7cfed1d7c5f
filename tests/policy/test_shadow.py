"""The shadow policy is compared, recorded and never enforced, whatever it answers.

respx produces only the candidate failures a healthy OPA never gives; the real candidate
in policies/shadow/ answers the real OPA in tests/governed/test_shadow_policy.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.config import OpaSettings
from orchestrator.policy.activity import PolicyActivities
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    ApprovalRequirement,
    PolicyDecision,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.gate import changed_since_approval
from orchestrator.policy.shadow import ShadowEvaluator, compare

# A candidate the paired rule does not wrap, so it is asked in its own request (the one
# request for both is tests/policy/test_shadow_paired.py).
CANDIDATE = "shadow/candidate/decision"
SETTINGS = OpaSettings(
    url="http://opa.test",
    decision_path="orchestrator/main/decision",
    shadow_decision_path=CANDIDATE,
)
ENFORCING_URL = "http://opa.test/v1/data/orchestrator/main/decision"
SHADOW_URL = f"http://opa.test/v1/data/{CANDIDATE}"
INPUT = PolicyInput(
    WORKFLOW_START,
    WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
    Requester("alice"),
    TaskSpec("pay the supplier", parameters={"amount": 7000}),
)
ALLOW_LOW = {"allow": True, "reasons": ["Risk low."], "require_approval": False, "risk": "low"}


def answer(result: dict[str, Any] | None, revision: str = "rev-7") -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision_id": "d-1",
        "provenance": {"bundles": {"policies": {"revision": revision}}},
    }
    if result is not None:
        body["result"] = result
    return body


def decision(**fields: Any) -> PolicyDecision:
    base = PolicyDecision(
        action=WORKFLOW_START,
        allow=True,
        reasons=["Risk low."],
        require_approval=False,
        risk="low",
        decision_id="d-1",
        policy_revision="rev-7",
        opa_version="1.0",
        decision_path="orchestrator/main/decision",
    )
    return replace(base, **fields)


def test_identical_answers_agree() -> None:
    result = compare(decision(), decision(decision_path="shadow/main/decision"))
    assert result.agrees
    assert (result.outcome, result.differences, result.reasons_added) == ("allow", [], [])


def test_a_changed_outcome_names_what_changes_and_which_reasons() -> None:
    candidate = decision(
        require_approval=True,
        risk="high",
        reasons=["Approval required: the amount 7000 is above 5000."],
        approval=ApprovalRequirement(approver_roles=["approver"]),
    )
    result = compare(decision(), candidate)
    assert not result.agrees
    assert result.outcome == "approval_required"
    assert result.differences == ["outcome: allow -> approval_required", "risk: low -> high"]
    assert result.reasons_added == ["Approval required: the amount 7000 is above 5000."]
    assert result.reasons_removed == ["Risk low."]


def test_a_stricter_requirement_is_a_disagreement_even_with_the_same_outcome() -> None:
    ours = decision(require_approval=True, risk="high", approval=ApprovalRequirement(["approver"]))
    theirs = replace(ours, approval=ApprovalRequirement(["approver", "security"], quorum=2))
    result = compare(ours, theirs)
    assert not result.agrees
    assert result.differences == [
        "approver roles: [approver] -> [approver, security]",
        "quorum: 1 -> 2",
    ]


def test_reasons_alone_do_not_make_a_disagreement() -> None:
    result = compare(decision(), decision(reasons=["Risk low, said differently."]))
    assert result.agrees
    assert result.reasons_added == ["Risk low, said differently."]


@pytest.mark.parametrize(
    ("response", "expected_error"),
    [
        (httpx.Response(500, text="boom"), "HTTP 500"),
        (httpx.Response(200, json=answer({"allow": "yes"})), "malformed"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.ConnectError("refused"), "unreachable"),
    ],
)
@respx.mock
async def test_a_failing_candidate_is_recorded_and_never_changes_the_outcome(
    response: httpx.Response | Exception, expected_error: str
) -> None:
    respx.post(ENFORCING_URL).respond(json=answer(ALLOW_LOW))
    respx.post(SHADOW_URL).mock(side_effect=[response])
    client = OpaClient(SETTINGS)
    activities = PolicyActivities(client, shadow=ShadowEvaluator(client, CANDIDATE))
    result = await ActivityEnvironment().run(activities.decide, INPUT)
    assert result.outcome == "allow"
    assert result.shadow is not None
    assert (result.shadow.outcome, result.shadow.agrees) == ("error", False)
    assert expected_error in result.shadow.error


@respx.mock
async def test_no_candidate_deployed_means_no_shadow_result() -> None:
    respx.post(ENFORCING_URL).respond(json=answer(ALLOW_LOW))
    respx.post(SHADOW_URL).respond(json=answer(None))
    client = OpaClient(SETTINGS)
    activities = PolicyActivities(client, shadow=ShadowEvaluator(client, CANDIDATE))
    result = await ActivityEnvironment().run(activities.decide, INPUT)
    assert (result.outcome, result.shadow) == ("allow", None)


@respx.mock
async def test_without_an_enforcing_decision_the_candidate_changes_nothing() -> None:
    respx.post(ENFORCING_URL).respond(status_code=503, text="down")
    respx.post(SHADOW_URL).respond(json=answer(ALLOW_LOW))
    client = OpaClient(SETTINGS)
    activities = PolicyActivities(client, shadow=ShadowEvaluator(client, CANDIDATE))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.decide, INPUT)
    # Fail closed as without a shadow: retryable, so the workflow waits at the gate.
    assert (caught.value.type, caught.value.non_retryable) == ("OpaServerError", False)


def test_the_recheck_after_approval_uses_the_same_comparison_without_risk() -> None:
    """gate.changed_since_approval: the approval covers outcome and requirement, not risk."""
    approved = decision(
        require_approval=True, risk="high", approval=ApprovalRequirement(["approver"])
    )
    assert changed_since_approval(approved, replace(approved, risk="medium")) == ""
    assert changed_since_approval(approved, decision()) == ""  # nothing left to approve
    assert changed_since_approval(approved, replace(approved, allow=False)) == (
        "outcome: approval_required -> deny"
    )
    stricter = replace(approved, approval=ApprovalRequirement(["approver"], quorum=3))
    assert changed_since_approval(approved, stricter) == "quorum: 1 -> 3"
    assert changed_since_approval(replace(approved, approval=None), approved) == (
        "approval requirement: none -> given"
    )
