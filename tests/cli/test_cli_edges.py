"""The CLI at its edges, run as an operator runs it: who a start is signed as, ids that are
taken, bytes that are not UTF-8, a reader that goes away, closed workflows, numbers that
make no sense and definition directories. Each is one line and the documented exit code."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.audit import chain as audit_chain
from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.support import BIN, RunningWorker, cli_env, wait_for_stage

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples" / "definitions"
REPORT = "Generate the weekly usage report"
DEPLOY = "Deploy the billing service to production"


async def orchestrator(
    stack: LocalStack, settings: Settings, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process; `env` adds variables, and ORCH_IDENTITY is set only
    when a test sets it (a developer's own identity must not change what is tested)."""
    environment = {**cli_env(stack, settings), **env}
    if "ORCH_IDENTITY" not in env:
        environment.pop("ORCH_IDENTITY", None)
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "orchestrator"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (and never a traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


async def never_started(client: Client, workflow_id: str) -> None:
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle(workflow_id).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def start_input(client: Client, workflow_id: str) -> dict[str, Any]:
    """The request a workflow was started with, as its history holds it."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [request] = await client.data_converter.decode(list(payloads))
    assert isinstance(request, dict)
    return request


# --- who a start is signed as ------------------------------------------------------------


async def test_a_start_is_signed_by_the_configured_identity_or_the_requester(
    stack: LocalStack, settings: Settings, client: Client, worker: RunningWorker
) -> None:
    # No --requester: ORCH_IDENTITY asks, and signs.
    done = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--wait", "--json", ORCH_IDENTITY="alice"
    )
    assert done.returncode == 0, done.stderr
    workflow_id = json.loads(done.stdout)["workflow_id"]
    request = await start_input(client, workflow_id)
    assert request["requester"] == "alice"
    credential = request["credential"]
    assert (credential["subject"], credential["issuer"]) == ("alice", "alice")
    assert (credential["purpose"], credential["workflow_id"]) == ("start", workflow_id)

    # No ORCH_IDENTITY: the requester's own key signs (the stack has one per person).
    done = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "bob", "--wait", "--json"
    )
    assert done.returncode == 0, done.stderr
    credential = (await start_input(client, json.loads(done.stdout)["workflow_id"]))["credential"]
    assert (credential["subject"], credential["issuer"]) == ("bob", "bob")


async def test_an_identity_may_not_start_work_as_someone_else(
    stack: LocalStack, settings: Settings, client: Client
) -> None:
    workflow_id = f"as-someone-else-{uuid.uuid4().hex[:8]}"
    refused = await orchestrator(
        stack,
        settings,
        "start",
        "--task",
        REPORT,
        "--requester",
        "alice",
        "--id",
        workflow_id,
        ORCH_IDENTITY="bob",
    )
    assert refused.returncode == 2
    assert one_line(refused) == (
        "orchestrator: You are bob (ORCH_IDENTITY) and may start work only as yourself, not "
        "as alice: drop --requester or set it to bob."
    )
    await never_started(client, workflow_id)

    # The same for a definition: nothing starts.
    refused = await orchestrator(
        stack,
        settings,
        "run",
        str(EXAMPLES / "legacy-flat.yaml"),
        "--requester",
        "alice",
        "--id",
        workflow_id,
        ORCH_IDENTITY="bob",
    )
    assert refused.returncode == 2
    assert "may start work only as yourself" in one_line(refused)
    await never_started(client, workflow_id)


async def test_who_asks_must_be_said_and_have_a_key(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    nobody = await orchestrator(stack, settings, "start", "--task", REPORT)
    assert nobody.returncode == 2
    assert one_line(nobody).startswith(
        "orchestrator: Say who asks: pass --requester NAME or set ORCH_IDENTITY"
    )
    stranger = await orchestrator(stack, settings, "start", "--task", REPORT, "--requester", "zed")
    assert stranger.returncode == 2
    assert one_line(stranger).startswith("orchestrator: No key for 'zed' in ")
    no_keys = await orchestrator(
        stack,
        settings,
        "start",
        "--task",
        REPORT,
        "--requester",
        "alice",
        ORCH_IDENTITY_KEYS_FILE=str(tmp_path / "missing.json"),
    )
    assert no_keys.returncode == 2
    assert "no identity keys file" in one_line(no_keys)


# --- a taken id --------------------------------------------------------------------------


async def test_start_with_the_id_of_a_running_workflow_is_one_line(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    workflow_id = f"taken-{uuid.uuid4().hex[:8]}"
    first = await orchestrator(
        stack, settings, "start", "--task", DEPLOY, "--requester", "alice",
        "--param", "environment=production", "--id", workflow_id,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    await wait_for_stage(worker.client.get_workflow_handle(workflow_id), "awaiting_approval")

    again = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "alice", "--id", workflow_id
    )
    assert again.returncode == 1
    assert one_line(again) == (
        f"orchestrator: a workflow with id {workflow_id!r} is already running; choose another --id."
    )
    await worker.client.get_workflow_handle(workflow_id).terminate("test done")


# --- bytes that are not UTF-8 ------------------------------------------------------------


async def test_arguments_that_are_not_utf8_are_usage_errors_naming_them(
    stack: LocalStack, settings: Settings
) -> None:
    # A str with a surrogate escape reaches the child as the raw byte 0xff (os.fsencode).
    cases = [
        (["status", "\udcff"], "argument 2 ('\\xff')"),
        (["start", "--task", "ab\udcffc", "--requester", "alice"],
         "the value of --task ('ab\\xffc')"),
        (["start", "--task", "x", "--requester", "alice", "--param", "note=\udcfe"],
         "the value of --param ('note=\\xfe')"),
        (["start", "--task=\udcff", "--requester", "alice"],
         "the value of --task ('--task=\\xff')"),
        (["schedule", "create", "--task", "\udcff", "--requester", "alice", "--interval", "1h"],
         "the value of --task ('\\xff')"),
    ]  # fmt: skip
    for argv, named in cases:
        done = await orchestrator(stack, settings, *argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert one_line(done) == (
            f"orchestrator: {named} is not valid UTF-8 text; arguments must be UTF-8."
        )


# --- a reader that goes away -------------------------------------------------------------


async def into_a_closed_pipe(
    stack: LocalStack, settings: Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe nobody reads any more: `orchestrator ... | head -0`, but
    deterministic (head may exit before or after the write; here it always did)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "orchestrator"), *args],
            env=cli_env(stack, settings),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


async def test_a_reader_that_goes_away_ends_the_command_quietly_with_141(
    stack: LocalStack, settings: Settings, worker: RunningWorker, tmp_path: Path
) -> None:
    started = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "alice", "--wait", "--json"
    )
    assert started.returncode == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]
    stream = tmp_path / "audit.jsonl"
    entries = audit_chain.chain([], exported_at="2026-12-01T00:00:00.000Z", since=None)
    stream.write_text("".join(line + "\n" for line in audit_chain.lines(entries, "jsonl")))

    for argv in (
        ["status", workflow_id],
        ["status", workflow_id, "--json"],
        ["audit", "verify", str(stream)],
        ["audit", "export", "--since", "1h"],
        ["definition", "catalog"],
        ["list"],
    ):
        done = await into_a_closed_pipe(stack, settings, *argv)
        assert (done.returncode, done.stderr) == (141, ""), argv


# --- closed workflows --------------------------------------------------------------------


async def test_approving_a_finished_workflow_says_it_has_finished(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    done = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "alice", "--wait", "--json"
    )
    assert done.returncode == 0, done.stderr
    workflow_id = json.loads(done.stdout)["workflow_id"]
    for verb in ("approve", "reject"):
        late = await orchestrator(stack, settings, verb, workflow_id, "--as", "bob")
        assert late.returncode == 1
        line = one_line(late)
        assert line.startswith(
            f"orchestrator: workflow {workflow_id} has already finished (status COMPLETED, closed "
        ), line
        assert line.endswith(f"there is nothing to {verb}.")

    unknown = await orchestrator(stack, settings, "approve", "no-such-workflow", "--as", "bob")
    assert unknown.returncode == 1
    assert one_line(unknown) == "orchestrator: no workflow with id 'no-such-workflow'."


# --- numbers that make no sense ----------------------------------------------------------


async def test_numbers_that_make_no_sense_are_usage_errors(
    stack: LocalStack, settings: Settings, client: Client
) -> None:
    cases = [
        (["list", "--limit", "-5"], "argument --limit: -5 must be at least 1"),
        (["list", "--pending", "--limit", "0"], "argument --limit: 0 must be at least 1"),
        (["schedule", "list", "--limit", "0"], "argument --limit: 0 must be at least 1"),
        (["trace", "x", "--wait", "-1"], "argument --wait: -1 must be a number of seconds"),
        (["trace", "x", "--wait", "nan"], "argument --wait: nan must be a number of seconds"),
        (["codec-server", "--port", "0"], "argument --port: 0 is not a TCP port (1 to 65535)"),
        (["api", "--port", "70000"], "argument --port: 70000 is not a TCP port (1 to 65535)"),
    ]
    for argv, message in cases:
        done = await orchestrator(stack, settings, *argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (argv, done.stderr)

    one_liners = [
        (["audit", "export", "--since", "0"], "--since '0': must be longer than zero."),
        (["start", "--task", REPORT, "--requester", "alice", "--approval-timeout", "0s"],
         "--approval-timeout '0s': must be longer than zero."),
        (["start", "--task", REPORT, "--requester", "alice", "--policy-budget", "0"],
         "--policy-budget '0': must be longer than zero."),
    ]  # fmt: skip
    for argv, message in one_liners:
        done = await orchestrator(stack, settings, *argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert one_line(done) == f"orchestrator: {message}"


async def test_a_parameter_that_is_not_a_finite_number_is_refused_at_the_edge(
    stack: LocalStack, settings: Settings, client: Client
) -> None:
    workflow_id = f"not-finite-{uuid.uuid4().hex[:8]}"
    for value in ("nan", "NaN", "inf", "-Infinity", "1e309", "-1e400"):
        done = await orchestrator(
            stack, settings, "start", "--task", REPORT, "--requester", "alice",
            "--param", f"amount={value}", "--id", workflow_id,
        )  # fmt: skip
        assert done.returncode == 2, (value, done.stderr)
        assert one_line(done) == (
            f"orchestrator: --param 'amount={value}': a number must be finite (not NaN or "
            "infinity)."
        )
    # Refused before Temporal is asked: the same answer while Temporal is down.
    down = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "alice",
        "--param", "amount=inf", TEMPORAL_ADDRESS="127.0.0.1:9",
    )  # fmt: skip
    assert down.returncode == 2 and "a number must be finite" in one_line(down)
    await never_started(client, workflow_id)
    # Finite numbers and words are as before.
    fine = await orchestrator(
        stack, settings, "start", "--task", REPORT, "--requester", "alice",
        "--param", "amount=1e3", "--param", "note=nanny", "--id", workflow_id,
    )  # fmt: skip
    assert fine.returncode == 0, fine.stderr
    assert (await start_input(client, workflow_id))["parameters"] == {
        "amount": 1000.0,
        "note": "nanny",
    }


# --- definition files and directories ----------------------------------------------------


async def test_definition_validate_takes_a_file_or_a_directory(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    missing = await orchestrator(
        stack, settings, "definition", "validate", str(tmp_path / "nope.yaml")
    )
    assert missing.returncode == 2
    assert one_line(missing) == f"orchestrator: {tmp_path / 'nope.yaml'}: no such file."

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a definition")
    nothing = await orchestrator(stack, settings, "definition", "validate", str(empty))
    assert nothing.returncode == 2
    assert one_line(nothing) == (
        f"orchestrator: {empty}: a directory with no definition files (.yaml, .yml, .json)."
    )

    good = tmp_path / "good"
    good.mkdir()
    for name in ("data-pipeline.yaml", "legacy-flat.yaml"):
        (good / name).write_text((EXAMPLES / name).read_text())
    (good / "flat.yml").write_text((EXAMPLES / "legacy-flat.yaml").read_text())
    valid = await orchestrator(stack, settings, "definition", "validate", str(good))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.splitlines() == [
        f"{good / 'data-pipeline.yaml'}: valid (DataProcessingPipeline: 14 step(s), depth 5)",
        f"{good / 'flat.yml'}: valid (LegacyWeeklyReport: 4 step(s), depth 2, flat activities "
        "form)",
        f"{good / 'legacy-flat.yaml'}: valid (LegacyWeeklyReport: 4 step(s), depth 2, flat "
        "activities form)",
        f"{good}: 3 of 3 definition(s) valid",
    ]

    (good / "invalid.yaml").write_text((EXAMPLES / "invalid.yaml").read_text())
    (good / "broken.json").write_text('{"workflowName": ')
    mixed = await orchestrator(stack, settings, "definition", "validate", str(good))
    assert mixed.returncode == 1
    lines = mixed.stdout.splitlines()
    assert lines[0].startswith(f"{good / 'broken.json'}:1:") and "not valid JSON" in lines[0]
    assert f"{good / 'invalid.yaml'}: 7 problem(s)" in lines
    assert lines[-1] == f"{good}: 3 of 5 definition(s) valid"

    as_json = await orchestrator(stack, settings, "definition", "validate", str(good), "--json")
    assert as_json.returncode == 1
    reports = json.loads(as_json.stdout)
    assert [(Path(r["file"]).name, r["valid"]) for r in reports] == [
        ("broken.json", False),
        ("data-pipeline.yaml", True),
        ("flat.yml", True),
        ("invalid.yaml", False),
        ("legacy-flat.yaml", True),
    ]

    directory = await orchestrator(stack, settings, "run", str(good), "--requester", "alice")
    assert directory.returncode == 2
    assert one_line(directory) == (
        f"orchestrator: {good}: a directory; run takes one definition file."
    )
