"""Many read-only questions in one request (policies/orchestrator/batch): the real OPA
gives each input the allow and reasons it decides for it alone; a batch answer that is not
one verdict per input is malformed, never an allow."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
import respx

from orchestrator.config import OpaSettings
from orchestrator.policy.client import BATCH_PATH, OpaClient, PolicyMalformed
from orchestrator.policy.contract import (
    APPROVAL_DECIDE,
    ApprovalSpec,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)


def may_approve(approver: str, approved_by: list[str]) -> PolicyInput:
    return PolicyInput(
        APPROVAL_DECIDE,
        WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
        Requester("alice"),
        TaskSpec("Deploy the billing service", None, {"environment": "production"}),
        approval=ApprovalSpec(
            approver=approver,
            decision="approve",
            digest="sha256:0",
            authenticated=True,
            required_roles=["approver"],
            approved_by=approved_by,
        ),
    )


INPUTS = [may_approve("bob", []), may_approve("alice", []), may_approve("bob", ["bob"])]


@pytest.mark.integration
async def test_each_input_gets_the_verdict_of_its_decision_alone(opa_client: OpaClient) -> None:
    batch = await opa_client.verdicts(INPUTS)
    alone = [await opa_client.decide(each) for each in INPUTS]
    assert [v.allow for v in batch] == [d.allow for d in alone] == [True, False, False]
    assert [v.reasons for v in batch] == [list(d.reasons) for d in alone]
    assert "separation of duties" in " ".join(batch[1].reasons)
    assert await opa_client.verdicts([]) == []


@pytest.mark.integration
async def test_another_decision_path_is_asked_one_input_at_a_time(
    opa_client: OpaClient,
) -> None:
    """The batch rule wraps orchestrator/main; a deployment that decides elsewhere (here
    the same rule under another name) is never answered by it."""
    settings = dataclasses.replace(opa_client.settings, decision_path="orchestrator/main")
    other = OpaClient(settings)
    try:
        with pytest.raises(PolicyMalformed):  # orchestrator/main is not a decision object
            await other.verdicts(INPUTS[:1])
    finally:
        await other.aclose()


@respx.mock
@pytest.mark.parametrize(
    "answer",
    [
        {"result": [{"allow": True, "reasons": []}]},
        {},
        {"result": 1},
        {"result": [{"allow": "yes", "reasons": []}, {"allow": True, "reasons": []}]},
    ],
    ids=["fewer verdicts than inputs", "undefined", "not a list", "allow not a boolean"],
)
async def test_a_batch_answer_that_does_not_match_the_inputs_is_malformed(
    answer: dict[str, object],
) -> None:
    respx.post(f"http://opa.test/v1/data/{BATCH_PATH}").mock(
        return_value=httpx.Response(200, json=answer)
    )
    client = OpaClient(OpaSettings(url="http://opa.test"))
    with pytest.raises(PolicyMalformed, match="verdict"):
        await client.verdicts(INPUTS[:2])
