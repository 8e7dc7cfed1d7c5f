"""Secrets never reach OPA's decision log: the real OPA of the session stack masks them
(policies/system/log/mask.rego) before it writes the decision to its console log.

Also keeps the one list of sensitive key names one list: the Python copy in
telemetry/policy_attributes.py must equal the policy data and decide like the Rego rule.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.devstack import LocalStack
from orchestrator.devstack.process import log_file
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    STEP_EXECUTE,
    WORKFLOW_START,
    PolicyInput,
    Requester,
    StepSpec,
    TaskSpec,
    WorkflowRef,
)
from telemetry.policy_attributes import (
    SENSITIVE_KEY_PARTS,
    SENSITIVE_KEY_WORDS,
    is_sensitive_key,
)

pytestmark = pytest.mark.integration

MARKER = "**REDACTED**"
PASSWORD = "hunter2"
EMAIL = "Ops.Lead@Example.com"
API_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
SETTINGS_FILE = REPO_ROOT / "policies" / "orchestrator" / "settings" / "data.yaml"
ALICE = Requester("alice", authenticated=True, issuer="alice")


async def logged_event(log: Path, decision_id: str) -> dict[str, Any]:
    """The decision's event in OPA's log, once OPA has written it."""
    for _ in range(100):
        for line in log.read_text(errors="replace").splitlines():
            if decision_id in line and line.startswith("{"):
                event: dict[str, Any] = json.loads(line)
                if event.get("decision_id") == decision_id:
                    return event
        await asyncio.sleep(0.1)
    raise AssertionError(f"decision {decision_id} never appeared in {log}")


def assert_no_secret_in(text: str) -> None:
    # The worker case-folds the input, so look for every spelling.
    for secret in (PASSWORD, EMAIL, API_KEY):
        assert secret.lower() not in text.lower(), secret


async def test_a_start_decision_is_logged_without_its_secrets(
    stack: LocalStack, opa_client: OpaClient
) -> None:
    decision = await opa_client.decide(
        PolicyInput(
            WORKFLOW_START,
            WorkflowRef("GovernedWorkflow", "wf-mask", "run-1"),
            ALICE,
            TaskSpec(
                f"Log in with password={PASSWORD} and mail {EMAIL}",
                None,
                {
                    "password": PASSWORD,
                    "Contact": EMAIL,
                    "api_key": API_KEY,
                    "db": {"Password": PASSWORD, "host": "db1"},
                    "note": f"use key {API_KEY} for the report",
                    "environment": "staging",
                },
            ),
        )
    )
    assert decision.decision_id
    log = log_file(stack.layout, "opa")
    event = await logged_event(log, decision.decision_id)

    assert_no_secret_in(log.read_text(errors="replace"))
    task = event["input"]["task"]
    assert task["description"] == f"log in with password={MARKER} and mail {MARKER}"
    parameters = task["parameters"]
    assert parameters["password"] == parameters["api_key"] == parameters["contact"] == MARKER
    assert parameters["db"] == {"password": MARKER, "host": "db1"}
    assert parameters["note"] == f"use key {MARKER} for the report"
    # What is not secret stays for the audit, joined by decision id.
    assert parameters["environment"] == "staging"
    assert event["input"]["requester"]["id"] == "alice"
    assert "/input/task/parameters/password" in event["masked"]


async def test_a_step_decision_is_logged_without_its_secrets(
    stack: LocalStack, opa_client: OpaClient
) -> None:
    decision = await opa_client.decide(
        PolicyInput(
            STEP_EXECUTE,
            WorkflowRef("DeclarativeWorkflow", "wf-mask", "run-1", "mask"),
            ALICE,
            step=StepSpec(
                "SendNotification",
                "execution.blocks[3]",
                [EMAIL, {"auth": {"token": API_KEY}, "x-api-key": API_KEY}, f"pw: {PASSWORD}"],
            ),
        )
    )
    event = await logged_event(log_file(stack.layout, "opa"), decision.decision_id)
    assert_no_secret_in(json.dumps(event))
    assert event["input"]["step"]["args"] == [
        MARKER,
        {"auth": MARKER, "x-api-key": MARKER},
        f"pw: {MARKER}",
    ]


async def test_reasons_that_quote_a_secret_are_logged_without_it(
    stack: LocalStack, opa_client: OpaClient
) -> None:
    decision = await opa_client.decide(
        PolicyInput(
            WORKFLOW_START,
            WorkflowRef("GovernedWorkflow", "wf-mask", "run-1"),
            ALICE,
            TaskSpec(f"forbidden: mail {EMAIL}"),
        )
    )
    assert not decision.allow
    # The caller still gets the whole reason; only the log is masked.
    assert any(EMAIL.lower() in reason for reason in decision.reasons)
    event = await logged_event(log_file(stack.layout, "opa"), decision.decision_id)
    assert_no_secret_in(json.dumps(event))
    assert any(MARKER in reason for reason in event["result"]["reasons"])


# --- one list of sensitive keys -------------------------------------------------------------


def test_the_python_copy_of_the_sensitive_keys_equals_the_policy_data() -> None:
    sensitive = yaml.safe_load(SETTINGS_FILE.read_text())["sensitive"]
    assert list(SENSITIVE_KEY_PARTS) == sensitive["key_parts"]
    assert list(SENSITIVE_KEY_WORDS) == sensitive["key_words"]


KEYS = [
    "password",
    "db_password",
    "dbPassword",
    "X-API-Key",
    "api_key",
    "apiKey",
    "client_secret",
    "access_token",
    "Authorization",
    "email",
    "contact_emails",
    "credentials",
    "private_key",
    "keys",
    "auth",
    "HTTPAuth",
    "pwd",
    "pw",
    "cookie",
    "keyboard",
    "monkey",
    "author",
    "environment",
    "amount",
    "note",
]


def test_python_and_rego_decide_alike_which_keys_are_sensitive(stack: LocalStack) -> None:
    answer = subprocess.run(
        [
            str(stack.binaries.opa),
            "eval",
            "--bundle",
            str(REPO_ROOT / "policies"),
            "--stdin-input",
            "--format",
            "json",
            "[key | some key in input; data.system.log.sensitive_key(key)]",
        ],
        input=json.dumps(KEYS),
        capture_output=True,
        text=True,
        check=True,
    )
    rego = json.loads(answer.stdout)["result"][0]["expressions"][0]["value"]
    python = [key for key in KEYS if is_sensitive_key(key)]
    assert rego == python
    assert "keyboard" not in python and "dbPassword" in python
