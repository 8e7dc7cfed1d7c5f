"""The CLI's conventions, without a stack: output formats on every command, refusals on
stdout under --json, --version, list filters, shell completion, and the text of pending
approvals (a golden file). The commands run in-process through `orchestrator.cli.run`."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from orchestrator import __version__
from orchestrator.approvals.memo import NextEscalation
from orchestrator.approvals.waiting import Unanswered, Waiting
from orchestrator.cli import build_parser, completion, definitions, listing, output, render, run
from orchestrator.cli.errors import UsageError
from orchestrator.declarative.schema_checks import SCHEMA

GOLDEN = Path(__file__).parent / "golden"
# Commands whose output is no answer to format: servers in the foreground, a shell
# script, and `trace`, whose options its own module owns.
NOT_FORMATTED = {("worker",), ("codec-server",), ("api",), ("completion",)}


def ran(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def leaves() -> list[completion.Level]:
    return [
        level for level in completion.levels(build_parser()) if level.path and not level.commands
    ]


def test_every_command_takes_json_and_an_output_format() -> None:
    missing = [
        " ".join(level.path)
        for level in leaves()
        if level.path not in NOT_FORMATTED
        and not ("--json" in level.options and level.choices.get("-o") == list(output.FORMATS))
        # audit's --output is the export's file (it came first): --json only there.
        and not (level.path == ("audit",) and "--json" in level.options)
    ]
    assert not missing, f"without --json / -o text|json|jsonl: {missing}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"orchestrator {__version__}\n"


def test_a_usage_error_is_json_on_stdout_too_under_json(capsys: pytest.CaptureFixture[str]) -> None:
    message = (
        "orchestrator list: error: argument --status: 'runing' is not an execution status "
        "(one of Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut)"
    )
    for argv in (["--json"], ["-o", "json"], ["--output=json"]):
        code, out, err = ran(capsys, "list", "--status", "runing", *argv)
        assert code == 2
        assert json.loads(out) == {"error": {"code": "usage", "message": message, "exit_code": 2}}
        assert err.splitlines()[-1] == message
    code, out, err = ran(capsys, "list", "--status", "runing", "-o", "jsonl")
    assert (code, len(out.splitlines())) == (2, 1)
    assert json.loads(out)["error"]["code"] == "usage"
    # Text: stderr only, as before.
    code, out, err = ran(capsys, "list", "--status", "runing")
    assert (code, out) == (2, "")
    assert message in err


def test_a_refusal_of_an_offline_command_is_json_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = ran(capsys, "definition", "validate", str(missing), "--json")
    assert code == 2
    assert json.loads(out) == {
        "error": {"code": "usage", "message": f"{missing}: no such file.", "exit_code": 2}
    }
    assert err == f"orchestrator: {missing}: no such file.\n"


def test_definition_schema_in_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["--json"], ["-o", "json"]):
        code, out, _ = ran(capsys, "definition", "schema", *argv)
        assert (code, json.loads(out)) == (0, SCHEMA)
    code, out, _ = ran(capsys, "definition", "schema", "-o", "jsonl")
    assert len(out.splitlines()) == 1 and json.loads(out) == SCHEMA


def test_jsonl_is_one_line_per_element() -> None:
    assert output.encoded([{"a": 1}, {"b": [2]}], "jsonl") == '{"a": 1}\n{"b": [2]}'
    assert output.encoded({"a": 1}, "jsonl") == '{"a": 1}'
    assert output.requested_in(["list", "-ojsonl"]) == "jsonl"
    assert output.requested_in(["list", "--", "--json"]) == "text"


# --- list filters ------------------------------------------------------------------------


def list_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["list", *argv])


def test_list_filters_combine_into_one_visibility_query() -> None:
    base = "WorkflowType IN ('GovernedWorkflow', 'DeclarativeWorkflow')"
    assert listing.visibility_query(list_args()) == base
    assert listing.visibility_query(
        list_args(
            "--requester",
            "alice",
            "--status",
            "running",
            "--approval",
            "Approved",
            "--definition",
            "DataProcessingPipeline",
        )
    ) == (
        f"{base} AND Requester = 'alice' AND ExecutionStatus = 'Running' AND "
        "ApprovalStatus = 'approved' AND WorkflowDefinition = 'DataProcessingPipeline'"
    )
    assert listing.visibility_query(list_args("--pending", "--requester", "bob")) == (
        f"{base} AND Requester = 'bob' AND ExecutionStatus = 'Running' AND "
        "ApprovalStatus = 'pending'"
    )
    assert listing.visibility_query(list_args("--status", "timed_out")).endswith(
        "ExecutionStatus = 'TimedOut'"
    )


def test_list_filters_that_contradict_are_usage_errors() -> None:
    cases = [
        (["--mine"], "--mine goes with --pending: list --pending --mine."),
        (["--pending", "--as", "bob"], "--as goes with --mine: list --pending --mine --as NAME."),
        (["--pending", "--approval", "approved"],
         "--pending lists approval status pending, not approved."),
        (["--pending", "--status", "Completed"],
         "--pending lists running workflows, not Completed."),
    ]  # fmt: skip
    for argv, message in cases:
        with pytest.raises(UsageError) as refused:
            listing.visibility_query(list_args(*argv))
        assert str(refused.value) == message


def test_list_filter_values_the_attribute_cannot_hold_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = [
        (["--requester", "Bob'--"], "argument --requester: \"Bob'--\" is not a user id"),
        (["--approval", "maybe"], "argument --approval: 'maybe' is not an approval status"),
        (["--definition", "x' OR 1=1"], "argument --definition: \"x' OR 1=1\" is not a definition"),
    ]  # fmt: skip
    for argv, message in cases:
        code, out, err = ran(capsys, "list", *argv)
        assert (code, out) == (2, ""), argv
        assert message in err.splitlines()[-1], err


# --- shell completion --------------------------------------------------------------------


def bash_completes(script: Path, *words: str) -> list[str]:
    """What the generated bash function offers after `words` (the last one being typed)."""
    driver = (
        f"source {script}\n"
        f"COMP_WORDS=(orchestrator {' '.join(repr(word) for word in words)})\n"
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
        "_orchestrator\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", driver], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


def test_bash_completion_follows_the_parser(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, script, _ = ran(capsys, "completion", "bash")
    assert code == 0
    path = tmp_path / "orchestrator.bash"
    path.write_text(script)
    assert "start" in bash_completes(path, "")
    assert bash_completes(path, "sch") == ["schedule"]
    assert bash_completes(path, "schedule", "u") == ["unpause", "update"]
    assert bash_completes(path, "list", "--pe") == ["--pending"]
    assert bash_completes(path, "list", "--status", "C") == [
        "Completed",
        "Canceled",
        "ContinuedAsNew",
    ]
    assert bash_completes(path, "status", "some-id", "-o", "") == ["text", "json", "jsonl"]
    assert bash_completes(path, "completion", "") == ["bash", "zsh", "fish", "--help", "-h"]
    assert "--overlap" in bash_completes(path, "schedule", "create", "--ov")


def test_zsh_and_fish_completion(capsys: pytest.CaptureFixture[str]) -> None:
    _, zsh, _ = ran(capsys, "completion", "zsh")
    assert zsh.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -o default -F _orchestrator orchestrator" in zsh
    _, fish, _ = ran(capsys, "completion", "fish")
    lines = fish.splitlines()
    assert (
        "complete -c orchestrator -f -n __fish_use_subcommand -a schedule -d "
        "'run governed tasks or definitions on a timetable (Temporal Schedules)'"
    ) in lines
    assert any(
        line.startswith(
            "complete -c orchestrator -f -n '__fish_seen_subcommand_from schedule; and not "
            "__fish_seen_subcommand_from create list"
        )
        and "-a pause" in line
        for line in lines
    )
    assert any(
        "'__fish_seen_subcommand_from list' -l status -x -a 'Running Completed" in line
        for line in lines
    )


# --- what waits, as people read it -------------------------------------------------------


def waiting(**fields: object) -> Waiting:
    base: dict[str, object] = {
        "workflow_id": "governed-0001",
        "run_id": "run-1",
        "workflow_type": "GovernedWorkflow",
        "step": "",
        "subject": "Deploy the billing service to production",
        "requester": "alice",
        "roles": ["approver", "security"],
        "quorum": 2,
        "approved_by": [],
        "exclude_requester": True,
        "deadline": "2026-12-03T09:00:00+00:00",
        "digest": "sha256:00",
        "reasons": ["Production changes need two approvers."],
        "parameters": {"environment": "production"},
        "policy_revision": "2026.11.24-3",
    }
    return Waiting(**{**base, **fields})  # type: ignore[arg-type]


def test_pending_approvals_as_text_match_the_golden_file() -> None:
    governed = waiting(
        approved_by=["bob"],
        next_escalation=NextEscalation("notify", ["oncall"], "2026-12-02T10:00:00+00:00"),
        allowed=["approve", "reject"],
    )
    step = waiting(
        workflow_id="declarative-pipeline-0002",
        workflow_type="DeclarativeWorkflow",
        step="pipeline/deploy#approval",
        subject="Approve the production load",
        quorum=1,
        roles=["approver"],
        reasons=[],
        allowed=[],
        refusal=["alice may not approve their own request."],
    )
    unanswered = Unanswered(
        "governed-0003", "GovernedWorkflow", "carol", "no worker answered in time"
    )
    text = render.pending([governed, step], [unanswered], judged=True)
    assert text + "\n" == (GOLDEN / "pending.txt").read_text()
    assert render.pending([], [], judged=False) == "nothing waits for approval"


def test_the_progress_line_while_waiting() -> None:
    assert render.waiting_line(waiting()) == (
        "waiting for approval: 0 of 2 (approver, security), deadline 2026-12-03T09:00:00+00:00"
    )
    assert render.waiting_line(waiting(step="a/b#approval", approved_by=["bob"], deadline="")) == (
        "waiting for step a/b#approval: 1 of 2 (approver, security), approved by bob"
    )


def test_status_names_the_task_and_the_progress() -> None:
    info = {
        "workflow_id": "governed-0001",
        "execution_status": "RUNNING",
        "stage": "awaiting_approval",
        "requester": "alice",
        "task": "Deploy the billing service to production",
        "approval_status": "pending",
        "approval_deadline": "2026-12-03T09:00:00+00:00",
        "approver": None,
        "pending_approval": {"approver_roles": ["approver"], "quorum": 2, "approved_by": ["bob"]},
        "decision": None,
        "reasons": [],
        "approval_attempts": [],
        "temporal_ui": "http://ui/governed-0001",
    }
    lines = render.status(info).splitlines()
    assert "task      Deploy the billing service to production" in lines
    assert "waiting   1 of 2 approvals (roles approver), approved by bob" in lines


def test_declarative_status_names_the_step_and_the_progress() -> None:
    info = {
        "workflow_id": "declarative-0002",
        "execution_status": "RUNNING",
        "stage": "awaiting_approval",
        "requester": "alice",
        "workflow_name": "DataProcessingPipeline",
        "total_steps": 14,
        "run": 1,
        "completed_steps": 3,
        "running": [],
        "summary": {"allowed": 3, "denied": 0},
        "approval_status": "pending",
        "pending_approvals": [
            {
                "path": "pipeline/load#approval",
                "description": "Approve the production load",
                "deadline": "2026-12-03T09:00:00+00:00",
                "view": {"approver_roles": ["approver"], "quorum": 2, "approved_by": []},
            }
        ],
        "stopped_branches": [],
        "temporal_ui": "http://ui/declarative-0002",
    }
    lines = definitions.render_status(info).splitlines()
    assert (
        "pending   pipeline/load#approval: Approve the production load "
        "(deadline 2026-12-03T09:00:00+00:00)"
    ) in lines
    assert "waiting   pipeline/load#approval: 0 of 2 approvals (roles approver)" in lines
