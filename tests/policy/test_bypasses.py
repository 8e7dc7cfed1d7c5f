"""Every way the issue slipped past policy, against the real OPA, now denied or approved by
the right quorum.

Through `OpaClient.decide`, so the worker's normalisation (orchestrator/policy/normalize.py)
applies exactly as in production, and the session stack's OPA answers from policies/.
Production, payments and amounts need two approvers; other high-risk work one.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    STEP_EXECUTE,
    WORKFLOW_START,
    PolicyDecision,
    PolicyInput,
    Requester,
    StepSpec,
    TaskSpec,
    WorkflowRef,
)

pytestmark = pytest.mark.integration

# Proven by a start credential the worker verified, signed with alice's own key.
ALICE = Requester("alice", authenticated=True, issuer="alice")
# Full-width forms (U+FF01..U+FF5E) of ASCII text.
FULL_WIDTH_FORBIDDEN = "".join(chr(ord(letter) + 0xFEE0) for letter in "forbidden")
FULL_WIDTH_20000 = "".join(chr(ord(digit) + 0xFEE0) for digit in "20000")


async def start(
    opa: OpaClient, description: str, kind: str | None = None, **parameters: Any
) -> PolicyDecision:
    return await opa.decide(
        PolicyInput(
            WORKFLOW_START,
            WorkflowRef("GovernedWorkflow", "wf-bypass", "run-1"),
            ALICE,
            TaskSpec(description, kind, parameters),
        )
    )


async def step(opa: OpaClient, activity: str, *args: Any) -> PolicyDecision:
    return await opa.decide(
        PolicyInput(
            STEP_EXECUTE,
            WorkflowRef("DeclarativeWorkflow", "wf-bypass", "run-1", "bypass"),
            ALICE,
            step=StepSpec(activity, "execution.blocks[0]", list(args)),
        )
    )


def quorum(decision: PolicyDecision) -> int:
    """How many distinct approvers the decision asks for (0: it runs without approval)."""
    assert decision.allow, decision.reasons
    if not decision.require_approval:
        return 0
    assert decision.approval is not None
    return decision.approval.quorum


def denied_as_forbidden(decision: PolicyDecision) -> bool:
    return not decision.allow and any('"forbidden"' in reason for reason in decision.reasons)


# --- words of the description -----------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        "De\u200bploy the billing service",  # zero-width space inside "Deploy"
        "D\u0435ploy the billing service",  # Cyrillic "e"
        "Deploying the billing service",
        "Redeploy the billing service",
        "Deployment of the billing service",
        "\uff24\uff45\uff50\uff4c\uff4f\uff59 the billing service",  # full-width
        "Dropped the temp tables",
        "Migrating the orders table",
        "Wiping the scratch disks",
        "Deleting old invoices",
    ],
)
async def test_risky_verbs_in_any_spelling_or_form_need_an_approval(
    opa_client: OpaClient, description: str
) -> None:
    assert quorum(await start(opa_client, description)) == 1


async def test_a_plain_report_still_runs_without_approval(opa_client: OpaClient) -> None:
    assert quorum(await start(opa_client, "Generate the weekly usage report")) == 0


# --- the environment, parameter keys, amounts, kinds -------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        {"environment": "production"},
        {"environment": "production "},  # a trailing space
        {"environment": "PRODUCTION"},
        {"Environment": "production"},  # a capitalised key
        {"ENVIRONMENT\u200b": "prod"},
        {"environment": "prod-eu"},
        {"environment": "prod_eu"},
        {"environment": "prod.eu"},
        {"environment": "production-west"},
        {"target_env": "prod"},
        {"environment": "dev", "Environment": "production"},  # keys that fold alike
    ],
)
async def test_production_in_any_spelling_needs_two_approvers(
    opa_client: OpaClient, parameters: dict[str, Any]
) -> None:
    decision = await start(opa_client, "Refresh the caches", **parameters)
    assert quorum(decision) == 2
    assert any("production changes need two approvers" in r for r in decision.reasons)


@pytest.mark.parametrize("environment", ["products", "staging", "dev"])
async def test_other_environments_are_not_production(
    opa_client: OpaClient, environment: str
) -> None:
    decision = await start(opa_client, "Refresh the caches", environment=environment)
    assert decision.allow
    assert not any("production" in r for r in decision.reasons)


@pytest.mark.parametrize("amount", [20000, "20000", " 20000 ", "2e4", FULL_WIDTH_20000])
async def test_an_amount_above_the_threshold_needs_two_approvers_however_written(
    opa_client: OpaClient, amount: Any
) -> None:
    decision = await start(opa_client, "Refund the order", amount=amount)
    assert quorum(decision) == 2
    assert any("above 10000" in r for r in decision.reasons)


@pytest.mark.parametrize("amount", ["twenty thousand", "1e309", "nan", "20,000"])
async def test_an_amount_that_is_not_a_number_fails_closed(
    opa_client: OpaClient, amount: str
) -> None:
    decision = await start(opa_client, "Refund the order", amount=amount)
    assert quorum(decision) == 2
    assert any("is not a number" in r for r in decision.reasons)


async def test_an_amount_below_the_threshold_still_runs(opa_client: OpaClient) -> None:
    assert quorum(await start(opa_client, "Refund the order", amount="500")) == 0


@pytest.mark.parametrize("kind", ["payment", "payments", "Payment-Batch", "payment_v2"])
async def test_a_payment_kind_with_a_suffix_needs_two_approvers(
    opa_client: OpaClient, kind: str
) -> None:
    assert quorum(await start(opa_client, "Pay the supplier invoice", kind)) == 2


@pytest.mark.parametrize("kind", ["deploy_v2", "deployment", "migrations", "Deletion-Job"])
async def test_a_high_risk_kind_with_a_suffix_needs_an_approval(
    opa_client: OpaClient, kind: str
) -> None:
    assert quorum(await start(opa_client, "Do the thing", kind)) == 1


# --- "forbidden", the 17 spellings of the issue -------------------------------------------------

FORBIDDEN_DESCRIPTIONS = {
    "plain": "forbidden: drop the customer database",
    "upper case": "FORBIDDEN: DROP THE CUSTOMER DATABASE",
    "full-width": FULL_WIDTH_FORBIDDEN + ": drop the customer database",
    "zero-width space inside": "forb\u200bidden: drop the customer database",
    "zero-width joiner": "forbid\u200dden: drop the customer database",
    "BOM prefix": "\ufeffforbidden: drop the customer database",
    "Cyrillic o inside": "f\u043erbidden: drop the customer database",
    "combining mark": "forbi\u0301dden: drop the customer database",
    "quoted": '"forbidden": drop the customer database',
    "mid-sentence": "please run this forbidden job",
    "leading and trailing spaces": "   forbidden: drop the customer database   ",
    "tab": "\tforbidden\t: drop the customer database",
    "non-breaking space": "\u00a0forbidden\u00a0drop the customer database",
    "soft hyphen inside": "for\u00adbidden: drop the customer database",
    "Greek omicron": "f\u03bfrbidden: drop the customer database",
}


@pytest.mark.parametrize(
    "description", list(FORBIDDEN_DESCRIPTIONS.values()), ids=list(FORBIDDEN_DESCRIPTIONS)
)
async def test_a_forbidden_description_is_denied_however_spelled(
    opa_client: OpaClient, description: str
) -> None:
    decision = await start(opa_client, description)
    assert denied_as_forbidden(decision), decision.reasons
    assert not decision.require_approval


async def test_forbidden_only_in_a_parameter_value_is_denied(opa_client: OpaClient) -> None:
    decision = await start(opa_client, "Drop the customer database", note="Forbidden job")
    assert denied_as_forbidden(decision)
    assert "The task's parameters.note mentions" in " ".join(decision.reasons)


async def test_forbidden_only_in_a_parameter_key_is_denied(opa_client: OpaClient) -> None:
    decision = await start(opa_client, "Drop the customer database", **{"For\u200bbidden": True})
    assert denied_as_forbidden(decision)


def test_the_issue_counts_seventeen_spellings() -> None:
    # 15 descriptions, plus only in a parameter value and only in a parameter key.
    assert len(FORBIDDEN_DESCRIPTIONS) + 2 == 17


async def test_forbidden_in_the_kind_is_denied(opa_client: OpaClient) -> None:
    assert denied_as_forbidden(await start(opa_client, "Tidy up", "FORBIDDEN-kind"))


# --- declarative definitions --------------------------------------------------------------------


async def test_forbidden_only_in_an_object_key_of_a_step_is_denied(opa_client: OpaClient) -> None:
    decision = await step(opa_client, "Echo", "fine", {"nested": [{"Forbidden": 1}]})
    assert denied_as_forbidden(decision)
    assert "args[1].nested[0].forbidden" in " ".join(decision.reasons)


async def test_forbidden_deep_in_step_arguments_is_denied(opa_client: OpaClient) -> None:
    decision = await step(opa_client, "Echo", {"a": {"b": ["ok", "this is f\u043erbidden"]}})
    assert denied_as_forbidden(decision)


async def test_forbidden_in_check_policys_second_argument_is_denied(opa_client: OpaClient) -> None:
    """CheckPolicy asks workflow.start with its first object argument as parameters."""
    decision = await start(opa_client, "Generate the report", note="forbidden")
    assert denied_as_forbidden(decision)


async def test_a_risky_step_needs_the_approval_the_governed_path_needs(
    opa_client: OpaClient,
) -> None:
    description = "Deploy the billing service to production"
    governed = await start(opa_client, description, environment="production")
    as_step = await step(opa_client, "ExecuteAgentTask", description, {"environment": "production"})
    assert quorum(governed) == quorum(as_step) == 2
    assert as_step.approval == governed.approval
    assert as_step.risk == "high"


@pytest.mark.parametrize(
    ("activity", "args", "expected"),
    [
        ("DeployService", ["billing"], 1),  # the activity's name, split into words
        ("Echo", [{"job": {"note": "Redeploying billing"}}], 1),
        ("Echo", [{"deep": [{"Environment": "prod-eu"}]}], 2),
        ("LoadData", ["prod-warehouse"], 2),  # needs an operator: asked as erin below
        ("Echo", [{"refund": {"amount": "20000"}}], 2),
        ("Echo", [{"refund": {"amount": "lots"}}], 2),
        ("ProcessPayment", ["invoice 7"], 2),
        ("Echo", [{"options": {"destructive": True}}], 1),
        ("ExtractData", ["sales", 8], 0),
    ],
)
async def test_steps_policy_deems_risky_need_the_right_approval(
    opa_client: OpaClient, activity: str, args: list[Any], expected: int
) -> None:
    requester = Requester("erin", authenticated=True, issuer="erin")  # may touch production
    decision = await opa_client.decide(
        PolicyInput(
            STEP_EXECUTE,
            WorkflowRef("DeclarativeWorkflow", "wf-bypass", "run-1", "bypass"),
            requester,
            step=StepSpec(activity, "execution.blocks[0]", args),
        )
    )
    assert quorum(decision) == expected


# --- who asks -----------------------------------------------------------------------------------


async def test_an_unauthenticated_requester_starts_nothing(opa_client: OpaClient) -> None:
    unsigned = PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "wf-bypass", "run-1"),
        Requester("alice", authentication_error="no start credential"),
        TaskSpec("Generate the weekly usage report"),
    )
    decision = await opa_client.decide(unsigned)
    assert not decision.allow
    assert decision.reasons == [
        "The requester is not authenticated (no start credential): start work with "
        "`orchestrator start` or the API, which sign it."
    ]


async def test_only_the_api_starts_work_on_behalf_of_someone_else(opa_client: OpaClient) -> None:
    def on_behalf(issuer: str) -> PolicyInput:
        return PolicyInput(
            WORKFLOW_START,
            WorkflowRef("GovernedWorkflow", "wf-bypass", "run-1"),
            Requester("alice", authenticated=True, issuer=issuer),
            TaskSpec("Generate the weekly usage report"),
        )

    by_api = await opa_client.decide(on_behalf("api"))
    assert by_api.allow
    assert "api started it on behalf of alice." in by_api.reasons
    by_bob = await opa_client.decide(on_behalf("bob"))
    assert not by_bob.allow
    assert by_bob.reasons == ["bob may not start work on behalf of alice."]
