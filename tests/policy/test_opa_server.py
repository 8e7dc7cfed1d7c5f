"""The real OPA server: answers from policies/, and applies an edited rule without a restart."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from orchestrator.devstack import LocalStack
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from tests.support import private_opa

pytestmark = pytest.mark.integration

MANIFEST_REVISION = json.loads((REPO_ROOT / "policies" / ".manifest").read_text())["revision"]


def start_input(description: str) -> PolicyInput:
    return PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
        Requester("alice", authenticated=True, issuer="alice"),
        TaskSpec(description),
    )


async def test_opa_answers_from_the_repo_policies(opa_client: OpaClient) -> None:
    decision = await opa_client.decide(start_input("Generate the weekly usage report"))
    assert decision.allow and not decision.require_approval
    assert decision.decision_id  # decision logging is on
    assert decision.opa_version.startswith("1.")
    # The manifest's revision, and a digest of what OPA loaded (test_policy_revision.py).
    assert re.fullmatch(
        rf"{re.escape(MANIFEST_REVISION)}\+sha256:[0-9a-f]{{12}}", decision.policy_revision
    )


async def test_the_revision_is_the_manifest_s_in_provenance_and_decision_alike(
    opa_client: OpaClient,
) -> None:
    # One home for the revision, policies/.manifest: OPA reports it as the bundle's
    # provenance, and the policy states the same in its policy_version.
    body = await opa_client.query(
        opa_client.settings.decision_path, start_input("Generate the weekly usage report")
    )
    bundles = body["provenance"]["bundles"]
    assert [bundle["revision"] for bundle in bundles.values()] == [MANIFEST_REVISION]
    assert body["result"]["policy_version"] == MANIFEST_REVISION


async def test_edited_rule_applies_without_restart(stack: LocalStack, tmp_path: Path) -> None:
    async with private_opa(stack, tmp_path) as private:
        opa = OpaClient(private.settings)
        before = await opa.decide(start_input("Archive old reports"))
        assert before.allow
        pid = private.pid

        rule = private.policies / "orchestrator" / "start" / "start.rego"
        added = '\ndeny contains "Archiving is frozen." if contains(_description, "archive")\n'
        rule.write_text(rule.read_text() + added)

        for _ in range(100):
            after = await opa.decide(start_input("Archive old reports"))
            if not after.allow:
                break
            await asyncio.sleep(0.1)
        await opa.aclose()
        assert not after.allow, "OPA never picked up the edited rule"
        # The same process answered: no restart.
        assert private.pid == pid
