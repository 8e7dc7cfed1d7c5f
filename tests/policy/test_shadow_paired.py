"""Enforcing and candidate decisions in one request (policies/orchestrator/paired).

On the real OPA the paired answer must decide exactly as the enforcing rule alone; respx
produces only what a healthy OPA never answers (the paired request failing, a malformed
candidate) to show that none of it changes the outcome.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import respx
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.config import ConfigError, OpaSettings, Settings
from orchestrator.policy.activity import PolicyActivities
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import PolicyDecision
from orchestrator.policy.shadow import ShadowEvaluator, decide_with_shadow
from tests.policy.test_policy_revision import start_input
from tests.policy.test_shadow import ALLOW_LOW, INPUT, answer

SETTINGS = OpaSettings(url="http://opa.test")
PAIRED_URL = "http://opa.test/v1/data/orchestrator/paired/decision"
ENFORCING_URL = "http://opa.test/v1/data/orchestrator/main/decision"
SHADOW_URL = "http://opa.test/v1/data/shadow/main/decision"
STRICTER = {**ALLOW_LOW, "require_approval": True, "risk": "high", "approval": None}


def comparable(decision: PolicyDecision) -> PolicyDecision:
    return replace(decision, decision_id="", evaluated_ms=0.0)


@pytest.mark.parametrize(
    "task",
    ["Generate the weekly usage report", "Deploy the api to production", "forbidden: wipe it"],
)
async def test_the_paired_answer_decides_as_the_enforcing_rule_alone(
    opa_client: OpaClient, task: str
) -> None:
    candidate = ShadowEvaluator(opa_client, "shadow/main/decision")
    alone = await opa_client.decide(start_input(task))
    paired, answer_ = await decide_with_shadow(opa_client, candidate, start_input(task))
    assert comparable(paired) == comparable(alone)
    assert paired.decision_path == "orchestrator/main/decision"
    assert paired.decision_id and paired.decision_id != alone.decision_id
    # The candidate as its own request answers it.
    asked_alone = await candidate.ask(start_input(task))
    assert isinstance(answer_, PolicyDecision) and isinstance(asked_alone, PolicyDecision)
    assert comparable(answer_) == comparable(replace(asked_alone, decision_id=""))
    assert answer_.decision_path == "shadow/main/decision"


async def test_a_sample_rate_of_zero_asks_no_candidate(opa_client: OpaClient) -> None:
    never = ShadowEvaluator(opa_client, "shadow/main/decision", sample_rate=0.0)
    decisions = [await decide_with_shadow(opa_client, never, INPUT) for _ in range(20)]
    assert all(answer_ is None for _, answer_ in decisions)
    always = ShadowEvaluator(opa_client, "shadow/main/decision", sample_rate=1.0)
    decisions = [await decide_with_shadow(opa_client, always, INPUT) for _ in range(5)]
    assert all(isinstance(answer_, PolicyDecision) for _, answer_ in decisions)


def activities() -> tuple[OpaClient, PolicyActivities]:
    client = OpaClient(SETTINGS)
    return client, PolicyActivities(client, shadow=ShadowEvaluator(client, "shadow/main/decision"))


@respx.mock
async def test_one_request_carries_both() -> None:
    paired = respx.post(PAIRED_URL).respond(json=answer({**ALLOW_LOW, "shadow": STRICTER}))
    _, policy = activities()
    result = await ActivityEnvironment().run(policy.decide, INPUT)
    assert paired.call_count == 1
    assert result.outcome == "allow"
    assert result.shadow is not None
    assert (result.shadow.outcome, result.shadow.agrees) == ("approval_required", False)


@respx.mock
async def test_a_paired_request_that_fails_asks_the_enforcing_rule_alone() -> None:
    """A candidate that fails to evaluate in OPA fails the whole paired request (500)."""
    respx.post(PAIRED_URL).respond(500, json={"code": "internal_error", "message": "conflict"})
    alone = respx.post(ENFORCING_URL).respond(json=answer(ALLOW_LOW))
    _, policy = activities()
    result = await ActivityEnvironment().run(policy.decide, INPUT)
    assert alone.call_count == 1
    assert result.outcome == "allow"
    assert result.shadow is not None and result.shadow.outcome == "error"
    assert "HTTP 500" in result.shadow.error


@pytest.mark.parametrize(
    ("shadow", "expected"),
    [({"allow": "yes"}, "malformed"), ("not a decision", "not an object")],
)
@respx.mock
async def test_a_malformed_candidate_never_changes_the_outcome(shadow: Any, expected: str) -> None:
    respx.post(PAIRED_URL).respond(json=answer({**ALLOW_LOW, "shadow": shadow}))
    _, policy = activities()
    result = await ActivityEnvironment().run(policy.decide, INPUT)
    assert result.outcome == "allow"
    assert result.shadow is not None and result.shadow.outcome == "error"
    assert expected in result.shadow.error


@respx.mock
async def test_without_a_candidate_there_is_no_shadow_result() -> None:
    respx.post(PAIRED_URL).respond(json=answer(ALLOW_LOW))
    _, policy = activities()
    result = await ActivityEnvironment().run(policy.decide, INPUT)
    assert (result.outcome, result.shadow) == ("allow", None)


@respx.mock
async def test_a_deployment_without_the_paired_rule_asks_both_in_two_requests() -> None:
    respx.post(PAIRED_URL).respond(json=answer(None))
    respx.post(ENFORCING_URL).respond(json=answer(ALLOW_LOW))
    respx.post(SHADOW_URL).respond(json=answer(STRICTER))
    _, policy = activities()
    result = await ActivityEnvironment().run(policy.decide, INPUT)
    assert result.outcome == "allow"
    assert result.shadow is not None and result.shadow.outcome == "approval_required"


@respx.mock
async def test_when_opa_fails_both_ways_the_gate_stays_closed() -> None:
    respx.post(PAIRED_URL).respond(503, text="down")
    respx.post(ENFORCING_URL).respond(503, text="down")
    _, policy = activities()
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(policy.decide, INPUT)
    assert (caught.value.type, caught.value.non_retryable) == ("OpaServerError", False)


@pytest.mark.parametrize(("raw", "rate"), [("0.25", 0.25), ("0", 0.0), ("", 1.0)])
def test_the_sample_rate_setting(raw: str, rate: float) -> None:
    settings = Settings.from_env({"OPA_SHADOW_SAMPLE_RATE": raw})
    assert settings.opa.shadow_sample_rate == rate


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "half"])
def test_a_sample_rate_outside_zero_to_one_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="OPA_SHADOW_SAMPLE_RATE"):
        Settings.from_env({"OPA_SHADOW_SAMPLE_RATE": raw})
