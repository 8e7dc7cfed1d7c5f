"""The revision a decision records changes with every policy or data file, and a reload OPA
refused is loud: OPA's error with file and line from its log, a WARNING in the worker.

Against the real OPA, on a copy of policies/ (tests.support.private_opa) that the tests
edit and break; the repo's policies/ are never touched.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest

from orchestrator.devstack import LocalStack
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.policy import fingerprint
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyDecision,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.load_errors import last_load_error
from orchestrator.policy.shadow import ShadowEvaluator
from orchestrator.policy.stale import PolicyWatch
from tests.support import PrivateOpa, poll, private_opa

pytestmark = pytest.mark.integration

MANIFEST_REVISION = json.loads((REPO_ROOT / "policies" / ".manifest").read_text())["revision"]
REVISION = re.compile(rf"{re.escape(MANIFEST_REVISION)}\+sha256:[0-9a-f]{{12}}")
BROKEN = "\nthis is not rego {\n"


def start_input(description: str) -> PolicyInput:
    return PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "wf-1", "run-1"),
        Requester("alice", authenticated=True, issuer="alice"),
        TaskSpec(description),
    )


def opa_log(private: PrivateOpa) -> Path:
    return private.layout.logs / "opa.log"


def replace_file(path: Path, text: str, scratch: Path) -> None:
    """Save as editors do: write elsewhere, then rename over the file. OPA sees only the
    old and the new content; a write in place may show it the emptied file in between,
    a state it serves (and fingerprints) as well."""
    draft = scratch / f"{path.name}.draft"
    draft.write_text(text)
    os.replace(draft, path)


def append(path: Path, text: str) -> str:
    """Append `text` to the file (saved as editors do); the original content, to put back."""
    before = path.read_text()
    replace_file(path, before + text, path.parents[3])
    return before


async def test_a_decision_records_the_manifest_revision_and_a_content_digest(
    opa_client: OpaClient,
) -> None:
    first = await opa_client.decide(start_input("Generate the weekly usage report"))
    again = await opa_client.decide(start_input("Deploy the api to production"))
    assert REVISION.fullmatch(first.policy_revision), first.policy_revision
    assert again.policy_revision == first.policy_revision  # same rules and data, same digest


async def test_the_shadow_candidate_carries_the_same_digest(opa_client: OpaClient) -> None:
    enforcing = await opa_client.decide(start_input("Generate the weekly usage report"))
    candidate = await ShadowEvaluator(opa_client, "shadow/main/decision").ask(
        start_input("Generate the weekly usage report")
    )
    assert isinstance(candidate, PolicyDecision)
    assert candidate.policy_revision.startswith(enforcing.policy_revision + "+")


async def test_editing_a_data_file_changes_the_revision_of_the_decisions_it_makes(
    stack: LocalStack, tmp_path: Path
) -> None:
    async with private_opa(stack, tmp_path) as private:
        opa = OpaClient(private.settings)
        before = await opa.decide(start_input("Archive old reports"))
        assert not before.require_approval

        # "archive" becomes a high-risk keyword; .manifest stays as it is.
        settings = private.policies / "orchestrator" / "settings" / "data.yaml"
        edited = settings.read_text().replace("high_keywords: [", "high_keywords: [archive, ")
        replace_file(settings, edited, tmp_path)

        decisions = []

        async def decide() -> PolicyDecision:
            decisions.append(await opa.decide(start_input("Archive old reports")))
            return decisions[-1]

        await poll(decide, lambda d: d.require_approval, "OPA deciding with the edited data")
        await opa.aclose()
    # Every decision the edited data made records another revision, the first one too.
    for decision in decisions:
        assert REVISION.fullmatch(decision.policy_revision)
        changed = decision.policy_revision != before.policy_revision
        assert changed == decision.require_approval, decisions


async def test_editing_a_rule_changes_the_revision_without_a_manifest_bump(
    stack: LocalStack, tmp_path: Path
) -> None:
    async with private_opa(stack, tmp_path) as private:
        opa = OpaClient(private.settings)
        before = await opa.decide(start_input("Generate the weekly usage report"))
        rule = private.policies / "orchestrator" / "start" / "start.rego"
        append(rule, "\n# an edit that decides nothing differently\n")
        after = await poll(
            lambda: opa.decide(start_input("Generate the weekly usage report")),
            lambda d: d.policy_revision != before.policy_revision,
            "a new revision after editing start.rego",
        )
        await opa.aclose()
    assert after.allow == before.allow and REVISION.fullmatch(after.policy_revision)


async def test_a_rego_syntax_error_is_opa_s_last_load_error_until_fixed(
    stack: LocalStack, tmp_path: Path
) -> None:
    async with private_opa(stack, tmp_path) as private:
        log = opa_log(private)
        assert last_load_error(log) is None  # started cleanly
        rule = private.policies / "orchestrator" / "start" / "start.rego"
        lines = len(rule.read_text().splitlines())
        original = append(rule, BROKEN)
        error = await poll(
            lambda: _async(last_load_error(log)), bool, "OPA logging the refused reload"
        )
        assert error is not None
        # The unclosed brace on the file's last line: OPA reports the end of file after it.
        assert f"orchestrator/start/start.rego:{lines + 3}: rego_parse_error" in error, error
        assert "\t" not in error and "\n" not in error  # one line, no source excerpt

        replace_file(rule, original, tmp_path)
        await poll(lambda: _async(last_load_error(log)), lambda e: e is None, "a clean reload")

        data = private.policies / "orchestrator" / "directory" / "data.yaml"
        append(data, "- : [\n")
        error = await poll(lambda: _async(last_load_error(log)), bool, "a refused data file")
        assert error is not None and "orchestrator/directory/data.yaml: yaml: line" in error


async def test_the_worker_warns_when_opa_serves_stale_policy(
    stack: LocalStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestrator.policy.stale")
    async with private_opa(stack, tmp_path) as private:
        watch = PolicyWatch(private.policies, opa_log(private))
        opa = OpaClient(private.settings, watch=watch)
        before = await opa.decide(start_input("Generate the weekly usage report"))
        rule = private.policies / "orchestrator" / "start" / "start.rego"
        original = append(rule, BROKEN)

        def warnings() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

        async def decide_and_look() -> list[str]:
            await opa.decide(start_input("Generate the weekly usage report"))
            return warnings()

        seen = await poll(decide_and_look, bool, "a stale-policy warning", seconds=20)
        assert len(seen) == 1, seen
        assert "serves stale policy" in seen[0] and "orchestrator/start/start.rego" in seen[0]
        assert "rego_parse_error" in seen[0]  # OPA's own error, from its log
        stale = await opa.decide(start_input("Generate the weekly usage report"))
        assert stale.policy_revision == before.policy_revision  # OPA still serves the old

        replace_file(rule, original, tmp_path)

        async def decide_and_look_info() -> list[str]:
            await opa.decide(start_input("Generate the weekly usage report"))
            return [r.getMessage() for r in caplog.records if "on disk again" in r.getMessage()]

        await poll(decide_and_look_info, bool, "the all-clear after the fix", seconds=20)
        await opa.aclose()
    assert len(warnings()) == 1


async def test_no_warning_while_opa_serves_the_files(
    stack: LocalStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with private_opa(stack, tmp_path) as private:
        opa = OpaClient(private.settings, watch=PolicyWatch(private.policies, opa_log(private)))
        await opa.decide(start_input("Generate the weekly usage report"))
        assert opa.stale is not None
        loaded = await opa.fingerprint.fetch()
        assert loaded is not None
        assert PolicyWatch(private.policies).stale_files(loaded) == []
        await opa.aclose()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_every_data_file_of_the_bundle_is_in_the_digest() -> None:
    folders = {
        path.parent.relative_to(REPO_ROOT / "policies").as_posix()
        for path in (REPO_ROOT / "policies").rglob("data.*")
        if path.suffix in (".yaml", ".yml", ".json")
    }
    assert folders == set(fingerprint.DATA_DOCUMENTS)


async def _async(value: str | None) -> str | None:
    return value
