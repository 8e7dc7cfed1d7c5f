"""`orchestrator schedule ...` on the real dev server and OPA, a worker on the schedule's queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.client import Client, ScheduleActionStartWorkflow, WorkflowFailureError
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from orchestrator.config import Settings
from orchestrator.declarative.model import DeclarativeResult
from orchestrator.governed.model import GovernedResult
from orchestrator.vocabulary import POLICY_DECISION, REQUESTER
from tests.declarative.support import NIGHTLY
from tests.schedules.cli import REPORT, Outcome, create_hourly, run_cli
from tests.support import RunningWorker

pytestmark = pytest.mark.integration

SCHEDULED_BY = SearchAttributeKey.for_keyword("TemporalScheduledById")


@pytest.fixture
async def schedule_ids(client: Client) -> AsyncIterator[Callable[[], str]]:
    """Fresh schedule ids; every schedule a test made is deleted afterwards."""
    made: list[str] = []

    def new() -> str:
        made.append(f"sched-test-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield new
    for schedule_id in made:
        with contextlib.suppress(RPCError):  # the test deleted it, or never created it
            await client.get_schedule_handle(schedule_id).delete()


def args(text: str, **values: str) -> list[str]:
    """`--task {task}` style argv: split on spaces, then fill the placeholders (may hold spaces)."""
    return [word.format(**values) for word in text.split()]


async def cli(settings: Settings, client: Client, *argv: str) -> Outcome:
    return await run_cli(settings, client, "schedule", *argv)


async def eventually(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Visibility is eventually consistent: retry `check` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {result!r} after {seconds}s")
        await asyncio.sleep(0.2)


async def test_two_triggers_in_one_second_each_report_their_run(
    settings: Settings, client: Client, worker: RunningWorker, schedule_ids: Callable[[], str]
) -> None:
    # Temporal names a run by the second it was scheduled for, so both runs may share an
    # id; the second trigger still finds its own run (by run id), not "no run started".
    # (Each run closes within a second or so, so the two usually share their second.)
    schedule_id = schedule_ids()
    created = await create_hourly(settings, client, schedule_id)
    assert created.code == 0, created.err
    for _ in range(2):
        triggered = await cli(
            settings, client, "trigger", schedule_id, "--overlap", "allow_all", "--json"
        )
        assert triggered.code == 0, triggered.err
        workflow_id = json.loads(triggered.out)["workflow_id"]
        assert workflow_id.startswith(f"{schedule_id}-")
        # While a run with that id is open, Temporal drops a same-second start (it is
        # already started), so let the first run close: the id can then be reused.
        await client.get_workflow_handle(workflow_id).result()
    described = json.loads((await cli(settings, client, "describe", schedule_id, "--json")).out)
    assert described["actions_taken"] == 2


async def test_create_describe_trigger_runs_through_the_gate_then_delete(
    settings: Settings, client: Client, worker: RunningWorker, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    created = await cli(
        settings,
        client,
        *args(
            "create --task {task} --requester alice --param team=billing --interval 1h "
            "--jitter 30s --note {note} --id {id}",
            task=REPORT,
            note="weekly report",
            id=schedule_id,
        ),
    )
    assert created.code == 0, created.err
    assert created.out.splitlines()[0] == f"created   {schedule_id}"
    assert f"GovernedWorkflow for alice on task queue {settings.temporal.task_queue}" in created.out
    assert "when      every 1h; jitter 30s" in created.out

    described = await cli(settings, client, "describe", schedule_id)
    assert described.code == 0, described.err
    assert f"for       alice: {REPORT}  team=billing" in described.out
    assert "overlap   skip" in described.out
    assert "note      weekly report" in described.out
    assert described.out.count("next      ") == 5

    triggered = await cli(settings, client, "trigger", schedule_id, "--json")
    assert triggered.code == 0, triggered.err
    workflow_id = json.loads(triggered.out)["workflow_id"]
    assert workflow_id.startswith(f"{schedule_id}-")

    # The scheduled run is an ordinary governed workflow: the policy gate decided it.
    handle = client.get_workflow_handle(workflow_id, result_type=GovernedResult)
    result = await handle.result()
    assert result.outcome == "completed"
    assert result.requester == "alice"
    [decision] = result.decisions
    assert decision.action == "workflow.start" and decision.allow and decision.decision_id
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(REQUESTER) == "alice"
    assert attributes.get(SCHEDULED_BY) == schedule_id
    assert attributes.get(POLICY_DECISION) == "allow"

    after = json.loads((await cli(settings, client, "describe", schedule_id, "--json")).out)
    assert after["actions_taken"] == 1
    [recent] = after["recent"]
    assert (recent["workflow_id"], recent["status"]) == (workflow_id, "COMPLETED")
    assert after["request"]["parameters"] == {"team": "billing"}

    deleted = await cli(settings, client, "delete", schedule_id)
    assert deleted.out.strip() == f"{schedule_id}: deleted (runs it already started keep running)"
    gone = await cli(settings, client, "describe", schedule_id)
    assert (gone.code, gone.err.strip()) == (
        1,
        f"orchestrator: no schedule with id {schedule_id!r}.",
    )


async def test_a_scheduled_forbidden_task_is_denied_at_every_run(
    settings: Settings, client: Client, worker: RunningWorker, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    created = await cli(
        settings,
        client,
        *args(
            "create --task {task} --requester alice --cron {cron} --id {id}",
            task="forbidden: wipe the audit log",
            cron="0 3 * * *",
            id=schedule_id,
        ),
    )
    assert created.code == 0, created.err
    workflow_id = json.loads((await cli(settings, client, "trigger", schedule_id, "--json")).out)[
        "workflow_id"
    ]
    with pytest.raises(WorkflowFailureError) as failure:
        await client.get_workflow_handle(workflow_id).result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "PolicyDenied"
    described = await cli(settings, client, "describe", schedule_id)
    assert f"{workflow_id}  (failed, policy deny)" in described.out
    assert "when      cron 0 3 * * *" in described.out


async def test_pause_unpause_and_update(
    settings: Settings, client: Client, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    created = await create_hourly(settings, client, schedule_id)
    assert created.code == 0, created.err

    paused = await cli(settings, client, "pause", schedule_id, "--reason", "change freeze")
    assert paused.out.strip() == f"{schedule_id}: paused (change freeze)"
    described = await cli(settings, client, "describe", schedule_id)
    assert f"schedule  {schedule_id}  [paused]" in described.out
    assert "note      change freeze" in described.out
    assert "next      - (paused)" in described.out

    resumed = await cli(settings, client, "unpause", schedule_id, "--reason", "freeze over")
    assert resumed.out.strip() == f"{schedule_id}: active again (freeze over)"

    updated = await cli(
        settings,
        client,
        *args(
            "update {id} --cron {cron} --at 17:30 --on sat,sun --timezone Europe/Berlin "
            "--overlap buffer_one --note {note} --json",
            id=schedule_id,
            cron="0 9 * * 1-5",
            note="working days at nine",
        ),
    )
    assert updated.code == 0, updated.err
    summary = json.loads(updated.out)
    assert summary["when"]["intervals"] == []
    assert sorted(summary["when"]["calendars"]) == ["0 9 * * 1-5", "30 17 * * 0,6"]
    assert summary["when"]["time_zone"] == "Europe/Berlin"
    assert (summary["overlap"], summary["note"], summary["paused"]) == (
        "buffer_one",
        "working days at nine",
        False,
    )

    paused_by_update = await cli(settings, client, "update", schedule_id, "--pause")
    assert paused_by_update.out.startswith(f"{schedule_id}: updated [paused]")
    nothing = await cli(settings, client, "update", schedule_id)
    assert (nothing.code, nothing.err.startswith("orchestrator: nothing to change")) == (2, True)


async def test_backfill_takes_the_runs_of_a_past_period(
    settings: Settings, client: Client, worker: RunningWorker, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    created = await create_hourly(settings, client, schedule_id)
    assert created.code == 0, created.err
    backfilled = await cli(
        settings,
        client,
        *args(
            "backfill {id} --from 2026-01-05T00:00:00Z --to 2026-01-05T02:30:00Z", id=schedule_id
        ),
    )
    assert backfilled.code == 0, backfilled.err
    assert "backfill of 2026-01-05T00:00:00Z .. 2026-01-05T02:30:00Z requested" in backfilled.out

    expected = {f"{schedule_id}-2026-01-05T0{hour}:00:00Z" for hour in range(3)}

    async def completed_runs() -> set[str]:
        found = set()
        async for execution in client.list_workflows(
            f"TemporalScheduledById = '{schedule_id}' AND ExecutionStatus = 'Completed'"
        ):
            found.add(execution.id)
        return found if found == expected else set()

    assert await eventually(completed_runs, seconds=30) == expected


async def test_invalid_input_is_refused_and_creates_nothing(
    settings: Settings, client: Client, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    attempts = {
        ("--requester", "Not Valid!", "--interval", "1h"): "invalid request: requester",
        ("--requester", "alice", "--interval", "soon"): "--interval 'soon': expected a duration",
        ("--requester", "alice", "--cron", "61 * * * *"): "Temporal refused the schedule",
        ("--requester", "alice"): "say when it runs",
        ("--requester", "alice", "--interval", "1h", "--on", "mon"): "need --at",
        ("--requester", "alice", "--interval", "1h", "--param", "x"): "expected NAME=VALUE",
    }
    for options, message in attempts.items():
        refused = await cli(
            settings, client, "create", "--task", REPORT, "--id", schedule_id, *options
        )
        assert refused.code == 2, (options, refused.err)
        assert message in refused.err, (options, refused.err)
        assert len(refused.err.strip().splitlines()) == 1
        assert "Traceback" not in refused.err
    missing = await cli(settings, client, "describe", schedule_id)
    assert missing.code == 1
    definition = await cli(
        settings,
        client,
        *args(
            "create --definition nope.yaml --requester alice --interval 1h --id {id}",
            id=schedule_id,
        ),
    )
    assert definition.code == 2
    assert "--definition" in definition.err


async def test_list_shows_schedules_and_a_taken_id_is_refused(
    settings: Settings, client: Client, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    argv = ["create", "--task", REPORT, "--requester", "bob", "--interval", "15m"]
    assert (await cli(settings, client, *argv, "--id", schedule_id, "--paused")).code == 0
    again = await cli(settings, client, *argv, "--id", schedule_id)
    assert again.code == 1
    assert f"a schedule with id {schedule_id!r} already exists" in again.err

    async def listed() -> dict[str, Any] | None:
        rows = json.loads((await cli(settings, client, "list", "--json")).out)
        return next((row for row in rows if row["schedule_id"] == schedule_id), None)

    row = await eventually(listed)
    assert row["workflow"] == "GovernedWorkflow"
    assert (row["state"], row["requester"], row["when"]) == ("paused", "bob", "every 15m")
    table = await cli(settings, client, "list")
    assert table.out.splitlines()[0].split() == (
        ["schedule_id", "workflow", "state", "requester", "when", "next_run", "last_run", "note"]
    )


async def test_unknown_schedule_is_a_one_line_error(settings: Settings, client: Client) -> None:
    for command in ("describe", "pause", "unpause", "trigger", "delete"):
        outcome = await cli(settings, client, command, "sched-no-such-schedule")
        assert outcome.code == 1, command
        assert outcome.err.strip() == "orchestrator: no schedule with id 'sched-no-such-schedule'."


async def test_a_definition_file_runs_on_schedule_through_the_gate(
    settings: Settings,
    client: Client,
    worker: RunningWorker,
    schedule_ids: Callable[[], str],
    tmp_path: Path,
) -> None:
    schedule_id = schedule_ids()
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(NIGHTLY))
    created = await cli(
        settings,
        client,
        *args("create --definition {path} --requester bob --cron {cron} --id {id}",
              path=str(path), cron="0 2 * * *", id=schedule_id),
    )  # fmt: skip
    assert created.code == 0, created.err
    assert "runs      DeclarativeWorkflow for bob" in created.out
    described = await cli(settings, client, "describe", schedule_id)
    assert "for       bob: definition nightly-report (from nightly.yaml)" in described.out

    workflow_id = json.loads((await cli(settings, client, "trigger", schedule_id, "--json")).out)[
        "workflow_id"
    ]
    handle = client.get_workflow_handle(workflow_id, result_type=DeclarativeResult)
    result = await handle.result()
    assert (result.outcome, result.workflow_name, result.requester) == (
        "completed",
        "nightly-report",
        "bob",
    )
    assert result.completed_steps == 2
    # Every step was decided by OPA on the way.
    assert result.summary.allowed >= 2
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword("WorkflowDefinition")) == "nightly-report"
    assert attributes.get(SCHEDULED_BY) == schedule_id


async def test_an_invalid_definition_creates_no_schedule(
    settings: Settings, client: Client, schedule_ids: Callable[[], str], tmp_path: Path
) -> None:
    schedule_id = schedule_ids()
    broken = dict(NIGHTLY, execution={"type": "sequential", "blocks": [
        {"type": "activity", "activityName": "DropDatabse"},
    ]})  # fmt: skip
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    refused = await cli(
        settings,
        client,
        *args("create --definition {path} --requester bob --interval 1h --id {id}",
              path=str(path), id=schedule_id),
    )  # fmt: skip
    assert refused.code == 2
    assert f"--definition {path}: 1 problem(s), nothing was created" in refused.err
    assert "unknown activity 'DropDatabse'" in refused.err
    assert (await cli(settings, client, "describe", schedule_id)).code == 1

    (tmp_path / "bad.yaml").write_text("workflowName: [unclosed\n")
    unreadable = await cli(
        settings, client, "create", "--definition", str(tmp_path / "bad.yaml"),
        "--requester", "bob", "--interval", "1h", "--id", schedule_id,
    )  # fmt: skip
    assert unreadable.code == 2
    assert "not valid YAML" in unreadable.err


async def stored_request(client: Client, schedule_id: str) -> dict[str, Any]:
    """What every run of the schedule starts with, as Temporal stores it in the action."""
    action = (await client.get_schedule_handle(schedule_id).describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    [request] = await client.data_converter.decode(list(action.args))
    assert isinstance(request, dict)
    return request


async def test_a_schedule_is_signed_by_its_creator_for_every_run(
    settings: Settings,
    client: Client,
    worker: RunningWorker,
    schedule_ids: Callable[[], str],
    tmp_path: Path,
) -> None:
    governed, declarative = schedule_ids(), schedule_ids()
    created = await create_hourly(settings, client, governed, "--paused")
    assert created.code == 0, created.err
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(NIGHTLY))
    created = await cli(
        settings, client,
        *args("create --definition {path} --requester bob --interval 1h --paused --id {id}",
              path=str(path), id=declarative),
    )  # fmt: skip
    assert created.code == 0, created.err

    for schedule_id, requester in ((governed, "alice"), (declarative, "bob")):
        credential = (await stored_request(client, schedule_id))["credential"]
        # One credential for every run `<schedule id>-<time>`, made with the creator's key.
        assert (credential["subject"], credential["issuer"], credential["purpose"]) == (
            requester,
            requester,
            "start",
        )
        assert credential["workflow_id"] == f"schedule:{schedule_id}"
        assert credential["signature"]
        # Describing the schedule shows who vouched, never the signature itself.
        shown = json.loads((await cli(settings, client, "describe", schedule_id, "--json")).out)
        assert shown["request"]["credential"]["subject"] == requester
        assert "signature" not in shown["request"]["credential"]

    # A run of it passes the gate as the requester the credential proves.
    workflow_id = json.loads((await cli(settings, client, "trigger", governed, "--json")).out)[
        "workflow_id"
    ]
    result = await client.get_workflow_handle(workflow_id, result_type=GovernedResult).result()
    assert (result.outcome, result.requester) == ("completed", "alice")


async def test_a_creator_may_schedule_work_only_as_themselves(
    settings: Settings, client: Client, schedule_ids: Callable[[], str], tmp_path: Path
) -> None:
    schedule_id = schedule_ids()
    as_bob = replace(settings, identity="bob")
    refused = await create_hourly(as_bob, client, schedule_id)
    assert refused.code == 2
    assert refused.err.strip() == (
        "orchestrator: You are bob (ORCH_IDENTITY) and may start work only as yourself, not "
        "as alice: drop --requester or set it to bob."
    )
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(NIGHTLY))
    refused = await cli(
        as_bob, client,
        *args("create --definition {path} --requester alice --interval 1h --id {id}",
              path=str(path), id=schedule_id),
    )  # fmt: skip
    assert refused.code == 2 and "may start work only as yourself" in refused.err
    no_key = await create_hourly(settings, client, schedule_id, requester="zed")
    assert no_key.code == 2 and "No key for 'zed'" in no_key.err
    assert (await cli(settings, client, "describe", schedule_id)).code == 1

    for limit in ("0", "-3"):
        listing = await cli(settings, client, "list", "--limit", limit)
        assert listing.code == 2
        assert f"argument --limit: {limit} must be at least 1" in listing.err
