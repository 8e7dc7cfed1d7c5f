"""OPA's last load error from its log, and the revision's parts, without a server.

The log lines are OPA 1.x's own (`--log-format json`), as tests/policy/test_policy_revision.py
sees the real OPA write them; respx stands in for OPA only to refuse the fingerprint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from orchestrator.config import OpaSettings
from orchestrator.policy import load_errors
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.fingerprint import Loaded, recompiled
from orchestrator.policy.load_errors import last_load_error

PARSE_ERROR = (
    "bundle /p: 1 error occurred: /p/orchestrator/start/start.rego:60: rego_parse_error: "
    "unexpected eof token\n\tthis is not rego {\n\t                 ^"
)
UNSAFE = (
    "2 errors occurred:\n/p/a.rego:3: rego_unsafe_var_error: var z is unsafe\n"
    "/p/a.rego:5: rego_unsafe_var_error: var w is unsafe"
)


def line(msg: str, **fields: Any) -> str:
    return json.dumps({"level": "info", "msg": msg, "time": "2026-12-02T04:06:41Z", **fields})


def reload(error: str | None) -> str:
    return line(load_errors.RELOADED, duration=1, err=error)


def decision_log() -> str:
    return line("Decision Log", result={"allow": True}, path="orchestrator/main/decision")


def write(tmp_path: Path, *lines: str) -> Path:
    log = tmp_path / "opa.log"
    log.write_text("".join(each + "\n" for each in lines))
    return log


def test_a_refused_reload_is_the_last_error_with_file_and_line(tmp_path: Path) -> None:
    log = write(
        tmp_path, line(load_errors.STARTED), reload(None), reload(PARSE_ERROR), decision_log()
    )
    assert last_load_error(log) == (
        "2026-12-02T04:06:41Z /p/orchestrator/start/start.rego:60: rego_parse_error: "
        "unexpected eof token"
    )


def test_several_errors_are_one_line(tmp_path: Path) -> None:
    log = write(tmp_path, reload(UNSAFE))
    assert last_load_error(log) == (
        "2026-12-02T04:06:41Z /p/a.rego:3: rego_unsafe_var_error: var z is unsafe; "
        "/p/a.rego:5: rego_unsafe_var_error: var w is unsafe"
    )


def test_a_data_file_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    error = "bundle /p: bundle load failed on /p/settings/data.yaml: yaml: line 11: bad"
    assert last_load_error(write(tmp_path, reload(error))) == (
        "2026-12-02T04:06:41Z /p/settings/data.yaml: yaml: line 11: bad"
    )


@pytest.mark.parametrize(
    "later", [reload(None), line(load_errors.STARTED)], ids=["reloaded", "restarted"]
)
def test_a_later_good_load_clears_it(tmp_path: Path, later: str) -> None:
    assert last_load_error(write(tmp_path, reload(PARSE_ERROR), decision_log(), later)) is None


def test_no_log_no_reload_or_other_lines_mean_none(tmp_path: Path) -> None:
    assert last_load_error(tmp_path / "missing.log") is None
    assert last_load_error(write(tmp_path, "not json", decision_log(), "")) is None


def test_the_log_is_read_from_its_end_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_errors, "BLOCK", 64)  # every line spans block boundaries
    log = write(tmp_path, reload(PARSE_ERROR), *[decision_log()] * 50)
    assert last_load_error(log) is not None and "start.rego:60" in (last_load_error(log) or "")
    log = write(tmp_path, reload(PARSE_ERROR), *[decision_log()] * 50, reload(None))
    assert last_load_error(log) is None


def test_the_digest_goes_after_the_manifest_revision() -> None:
    loaded = Loaded("2026.12.02-1", {"/p/a.rego": "package a"}, "d" * 64)
    digest = loaded.digest[:12]
    assert loaded.qualify("2026.12.02-1") == f"2026.12.02-1+sha256:{digest}"
    # A shadow candidate's stated revision keeps its own suffix after the digest.
    assert loaded.qualify("2026.12.02-1+amount-5000") == f"2026.12.02-1+sha256:{digest}+amount-5000"
    assert loaded.describes("2026.12.02-1+amount-5000") and not loaded.describes("2026.12.03-1")
    # Unbundled (no manifest): the policy's own "unbundled", with the digest all the same.
    assert Loaded("", {}, "").qualify("unbundled").startswith("unbundled+sha256:")


def test_the_digest_is_of_the_content_not_of_where_or_in_which_order_opa_lists_it() -> None:
    one = Loaded("r", {"/x/a.rego": "package a", "/x/b.rego": "package b"}, "d")
    moved = Loaded("r", {"/y/y/b.rego": "package b", "/y/y/a.rego": "package a"}, "d")
    assert one.digest == moved.digest
    assert one.digest != Loaded("r", {"/x/a.rego": "package a # edited"}, "d").digest
    assert one.digest != Loaded("r", one.modules, "other data").digest


def test_a_compiled_query_is_what_says_something_changed() -> None:
    assert recompiled({"metrics": {"counter_server_query_cache_hit": 0}})
    assert not recompiled({"metrics": {"counter_server_query_cache_hit": 1}})
    assert not recompiled({"result": {}}) and not recompiled(None)


@respx.mock
async def test_an_opa_that_refuses_the_fingerprint_still_decides_without_asking_again() -> None:
    settings = OpaSettings(url="http://refusing-opa.test")
    decision_url = f"{settings.url}/v1/data/{settings.decision_path}"
    answer = {
        "provenance": {"bundles": {"policies": {"revision": "rev-9"}}},
        "metrics": {"counter_server_query_cache_hit": 0},
        "result": {"allow": True, "reasons": ["fine"], "require_approval": False, "risk": "low"},
    }
    respx.post(decision_url).respond(json=answer)
    policies = respx.get(f"{settings.url}/v1/policies").respond(403)
    respx.post(f"{settings.url}/v1/query").respond(403)
    client = OpaClient(settings)
    ask = PolicyInput(
        WORKFLOW_START, WorkflowRef("GovernedWorkflow", "w", "r"), Requester("alice"), TaskSpec("x")
    )
    revisions = [(await client.decide(ask)).policy_revision for _ in range(3)]
    await client.aclose()
    assert revisions == ["rev-9"] * 3  # the manifest revision alone, as before
    assert policies.call_count == 1
    assert isinstance(policies.calls.last.response, httpx.Response)
