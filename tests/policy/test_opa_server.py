"""The real OPA server: answers from policies/, and applies an edited rule without a restart."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.config import OpaSettings
from orchestrator.devstack import LocalStack, Ports, StackLayout, process
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)

pytestmark = pytest.mark.integration


def start_input(description: str) -> PolicyInput:
    return PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
        Requester("alice"),
        TaskSpec(description),
    )


async def test_opa_answers_from_the_repo_policies(opa_client: OpaClient) -> None:
    decision = await opa_client.decide(start_input("Generate the weekly usage report"))
    assert decision.allow and not decision.require_approval
    assert decision.decision_id  # decision logging is on
    assert decision.opa_version.startswith("1.")
    assert decision.policy_revision  # settings/data.yaml policy_version


async def test_edited_rule_applies_without_restart(stack: LocalStack, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    layout = StackLayout(root=tmp_path / "state", policies=policies)
    ports = replace(stack.ports, opa=Ports.free().opa)
    spec = LocalStack(ports, layout, stack.binaries).service("opa")
    await asyncio.to_thread(process.start_all, [spec], layout)
    opa = OpaClient(OpaSettings(url=f"http://127.0.0.1:{ports.opa}"))
    try:
        before = await opa.decide(start_input("Archive old reports"))
        assert before.allow
        pid = process.read_pid(layout, "opa")

        rule = policies / "orchestrator" / "start.rego"
        rule.write_text(rule.read_text().replace('"forbidden")', '"archive")', 1))

        for _ in range(100):
            after = await opa.decide(start_input("Archive old reports"))
            if not after.allow:
                break
            await asyncio.sleep(0.1)
        assert not after.allow, "OPA never picked up the edited rule"
        assert process.read_pid(layout, "opa") == pid  # same process: no restart
    finally:
        await opa.aclose()
        await asyncio.to_thread(process.stop, "opa", layout)
