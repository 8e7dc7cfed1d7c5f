"""Every way asking OPA can fail has its own outcome, and none of them is an allow.

respx stands in for OPA here only to produce the failures a healthy OPA never gives.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.config import OpaSettings
from orchestrator.policy.activity import PolicyActivities
from orchestrator.policy.client import (
    OpaClient,
    OpaRequestRejected,
    OpaServerError,
    OpaTimeout,
    OpaUnreachable,
    PolicyError,
    PolicyMalformed,
    PolicyUndefined,
)
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)

SETTINGS = OpaSettings(url="http://opa.test", decision_path="orchestrator/main/decision")
DECISION_URL = "http://opa.test/v1/data/orchestrator/main/decision"
INPUT = PolicyInput(
    WORKFLOW_START,
    WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
    Requester("alice"),
    TaskSpec("generate the weekly report"),
)
ALLOW = {
    "decision_id": "d-1",
    "provenance": {"version": "1.22.2", "bundles": {"policies": {"revision": "rev-7"}}},
    "result": {"allow": True, "reasons": ["fine"], "require_approval": False, "risk": "low"},
}


@pytest.fixture
async def client() -> OpaClient:
    return OpaClient(SETTINGS)


@respx.mock
async def test_allow_carries_decision_id_revision_and_opa_version(client: OpaClient) -> None:
    route = respx.post(DECISION_URL).respond(json=ALLOW)
    decision = await client.decide(INPUT)
    assert (decision.allow, decision.decision_id, decision.policy_revision) == (
        True,
        "d-1",
        "rev-7",
    )
    assert decision.opa_version == "1.22.2"
    assert route.calls.last.request.url.params["provenance"] == "true"
    sent = route.calls.last.request.read()
    assert b'"action":"workflow.start"' in sent.replace(b" ", b"")


@respx.mock
async def test_revision_falls_back_to_the_policy_version_the_policy_states(
    client: OpaClient,
) -> None:
    body = {"result": {**ALLOW["result"], "policy_version": "2026.11.24-1"}, "decision_id": "x"}
    respx.post(DECISION_URL).respond(json=body)
    assert (await client.decide(INPUT)).policy_revision == "2026.11.24-1"


@respx.mock
async def test_a_deny_never_requires_approval(client: OpaClient) -> None:
    body = {"result": {"allow": False, "reasons": ["no"], "require_approval": True}}
    respx.post(DECISION_URL).respond(json=body)
    decision = await client.decide(INPUT)
    assert (decision.allow, decision.require_approval, decision.outcome) == (False, False, "deny")


@pytest.mark.parametrize(
    ("failure", "expected", "retryable"),
    [
        (httpx.ConnectError("refused"), OpaUnreachable, True),
        (httpx.ReadTimeout("slow"), OpaTimeout, True),
        (httpx.ConnectTimeout("slow"), OpaTimeout, True),
        (httpx.Response(500, text="boom"), OpaServerError, True),
        (httpx.Response(503, text="starting"), OpaServerError, True),
        (httpx.Response(400, json={"code": "invalid_parameter"}), OpaRequestRejected, False),
        (httpx.Response(200, json={}), PolicyUndefined, False),
        (httpx.Response(200, text="<html>not json"), PolicyMalformed, False),
        (httpx.Response(200, json=[1, 2]), PolicyMalformed, False),
        (httpx.Response(200, json={"result": True}), PolicyMalformed, False),
        (
            httpx.Response(200, json={"result": {"allow": "yes", "reasons": []}}),
            PolicyMalformed,
            False,
        ),
        (httpx.Response(200, json={"result": {"allow": True}}), PolicyMalformed, False),
        (
            httpx.Response(200, json={"result": {"allow": True, "reasons": [1]}}),
            PolicyMalformed,
            False,
        ),
    ],
)
@respx.mock
async def test_each_failure_has_its_class(
    client: OpaClient, failure: object, expected: type[PolicyError], retryable: bool
) -> None:
    route = respx.post(DECISION_URL)
    if isinstance(failure, Exception):
        route.mock(side_effect=failure)
    else:
        route.mock(return_value=failure)
    with pytest.raises(expected) as caught:
        await client.decide(INPUT)
    assert caught.value.retryable is retryable


@respx.mock
async def test_undefined_names_the_path_and_says_the_policy_is_missing(client: OpaClient) -> None:
    respx.post(DECISION_URL).respond(json={"decision_id": "d-2"})
    with pytest.raises(PolicyUndefined, match=r"orchestrator/main/decision.*policy is missing"):
        await client.decide(INPUT)


@respx.mock
@pytest.mark.parametrize(
    ("response", "error_type", "non_retryable"),
    [
        (httpx.Response(502), "OpaServerError", False),
        (httpx.Response(200, json={}), "PolicyUndefined", True),
        (httpx.Response(200, json={"result": 3}), "PolicyMalformed", True),
    ],
)
async def test_activity_turns_errors_into_temporal_failures(
    client: OpaClient, response: httpx.Response, error_type: str, non_retryable: bool
) -> None:
    respx.post(DECISION_URL).mock(return_value=response)
    activities = PolicyActivities(client)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.decide, INPUT)
    assert caught.value.type == error_type
    assert caught.value.non_retryable is non_retryable


async def test_unreachable_when_nothing_listens() -> None:
    """A real refused connection, not a mock: OPA down is retryable."""
    dead = OpaClient(OpaSettings(url="http://127.0.0.1:9", timeout_seconds=0.5))
    with pytest.raises(OpaUnreachable, match="unreachable"):
        await dead.decide(INPUT)
    await dead.aclose()
