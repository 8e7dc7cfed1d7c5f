"""`orchestrator definition validate|catalog|schema` and `orchestrator run FILE`."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.cli.definitions import add_commands, handle, validate_command
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.runs import status
from orchestrator.config import Settings
from tests.support import RunningWorker, wait_for_pending

EXAMPLES = Path(__file__).parents[2] / "examples" / "definitions"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_validate_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    file = str(EXAMPLES / "data-pipeline.yaml")
    assert validate_command(parse("definition", "validate", file)) == 0
    assert capsys.readouterr().out.strip() == (
        f"{file}: valid (DataProcessingPipeline: 14 step(s), depth 5)"
    )


def test_validate_an_invalid_file_lists_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    file = str(EXAMPLES / "invalid.yaml")
    assert validate_command(parse("definition", "validate", file)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{file}: 7 problem(s)"
    assert lines[1].startswith("  execution.blocks[0].activityName: unknown activity")
    assert len(lines) == 8

    assert validate_command(parse("definition", "validate", file, "--json")) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["workflowName"] == "broken-pipeline"
    assert report["problems"][3] == {
        "path": "execution.blocks[2].blocks",
        "message": "must not be empty",
    }


def test_unreadable_files_are_one_line_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("workflowName: w\nexecution: [\n")
    with pytest.raises(CliError) as caught:
        validate_command(parse("definition", "validate", str(broken)))
    assert str(caught.value).startswith(f"{broken}:3:1: not valid YAML")
    assert caught.value.exit_code == 1 and "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="no such file") as missing:
        validate_command(parse("definition", "validate", str(tmp_path / "nope.yaml")))
    assert missing.value.exit_code == 2


def test_catalog_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(parse("definition", "catalog")) == 0
    text = capsys.readouterr().out
    assert "FetchRecords(source: string, count: integer (optional))" in text
    assert "CheckPolicy(" in text and "[policy: run by the workflow]" in text
    assert validate_command(parse("definition", "catalog", "--json")) == 0
    names = [entry["name"] for entry in json.loads(capsys.readouterr().out)]
    assert "TransformData" in names
    assert validate_command(parse("definition", "schema")) == 0
    assert json.loads(capsys.readouterr().out)["$id"].startswith("urn:")


def test_run_needs_a_requester() -> None:
    with pytest.raises(SystemExit):
        parse("run", "x.yaml")


@pytest.mark.integration
async def test_run_refuses_an_invalid_file_and_starts_nothing(
    client: Client, settings: Settings
) -> None:
    args = parse("run", str(EXAMPLES / "invalid.yaml"), "--requester", "alice", "--id", "nope-1")
    with pytest.raises(CliError) as caught:
        await handle(args, settings, client)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("invalid.yaml: 7 problem(s); nothing was started:")
    assert len(lines) == 8
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle("nope-1").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


@pytest.mark.integration
async def test_run_wait_completes_and_reports(
    worker: RunningWorker, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("run", str(EXAMPLES / "legacy-flat.yaml"), "--requester", "alice", "--wait")
    assert await handle(args, worker.settings, worker.client) == 0
    out = capsys.readouterr().out
    assert "outcome   completed" in out
    assert "steps     4 completed in 1 run(s)" in out
    assert "policy    4 decision(s): 4 allow, 0 deny" in out


@pytest.mark.integration
async def test_run_wait_a_denied_definition_exits_1(
    worker: RunningWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "denied.json"
    file.write_text(
        json.dumps(
            {"activities": [{"activityName": "GenerateReport", "args": ["forbidden report"]}]}
        )
    )
    args = parse("run", str(file), "--requester", "alice", "--wait", "--json")
    assert await handle(args, worker.settings, worker.client) == 1
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["outcome"] == "denied" and outcome["error_type"] == "PolicyDenied"
    assert "activities[0]" in outcome["message"] and outcome["reasons"]
    assert outcome["workflow_id"].startswith("declarative-denied-")


@pytest.mark.integration
async def test_run_without_wait_prints_where_to_look_and_ids_do_not_collide(
    worker: RunningWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "waits.yaml"
    file.write_text("workflowName: waits\nexecution:\n  type: approval\n")
    workflow_id = f"cli-{uuid.uuid4().hex[:8]}"
    args = parse("run", str(file), "--requester", "erin", "--json", "--id", workflow_id)
    assert await handle(args, worker.settings, worker.client) == 0
    started = json.loads(capsys.readouterr().out)
    assert started["workflow_id"] == workflow_id and started["workflow_name"] == "waits"
    assert started["temporal_ui"].endswith(f"/workflows/{workflow_id}")
    with pytest.raises(CliError, match="already running"):
        await handle(args, worker.settings, worker.client)
    await wait_for_pending(worker.client.get_workflow_handle(workflow_id))
    asked = argparse.Namespace(workflow_id=workflow_id, json=False)
    assert await status(asked, worker.settings, worker.client) == 0
    text = capsys.readouterr().out
    assert "stage     awaiting_approval" in text
    assert "pending   execution: Approve step execution of waits. (deadline " in text
    await worker.client.get_workflow_handle(workflow_id).terminate("test done")
