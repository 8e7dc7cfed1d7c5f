"""Creating, changing, running and reading Temporal Schedules of governed or declarative work.

What a run starts comes from starts.py and when it runs from timing.py; this module puts
them into a Temporal Schedule and reads schedules back as summaries. Schedule ids default to
`sched-<slug>-<random>`; Temporal names each run `<schedule id>-<scheduled time>`, so a
run's id says which schedule made it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleListActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from orchestrator.schedules.errors import ScheduleInputError
from orchestrator.schedules.starts import ScheduledStart, shown_request
from orchestrator.schedules.text import iso, when, when_text
from orchestrator.schedules.timing import OVERLAP_NAMES, Timing, check_window
from orchestrator.vocabulary import POLICY_DECISION, REQUESTER

SCHEDULE_ID_PREFIX = "sched-"
SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_schedule_id(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:32].rstrip("-") or "task"
    return f"{SCHEDULE_ID_PREFIX}{slug}-{uuid.uuid4().hex[:6]}"


def check_schedule_id(schedule_id: str) -> str:
    if not SCHEDULE_ID_PATTERN.match(schedule_id):
        raise ScheduleInputError(
            f"--id {schedule_id!r}: use letters, digits, '.', '_' or '-' (at most 100)."
        )
    return schedule_id


def build_schedule(
    start: ScheduledStart,
    timing: Timing,
    *,
    schedule_id: str,
    task_queue: str,
    overlap: ScheduleOverlapPolicy = ScheduleOverlapPolicy.SKIP,
    note: str | None = None,
    paused: bool = False,
) -> Schedule:
    """The schedule as Temporal stores it; runs are `<schedule_id>-<scheduled time>`."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            start.workflow,
            start.argument,
            id=schedule_id,
            task_queue=task_queue,
            typed_search_attributes=start.search_attributes(),
            # Stored by Temporal: an id, never the task text (see README: security).
            static_summary=f"started by schedule {schedule_id}",
        ),
        spec=timing.spec(),
        policy=SchedulePolicy(overlap=overlap),
        state=ScheduleState(note=note, paused=paused),
    )


async def create(
    client: Client, schedule_id: str, schedule: Schedule, start: ScheduledStart
) -> ScheduleHandle:
    """Create it; ScheduleAlreadyRunningError when the id is taken."""
    return await client.create_schedule(
        schedule_id, schedule, search_attributes=start.search_attributes()
    )


@dataclass(frozen=True)
class Changes:
    """What `update` changes; a setting not given (None, no times) stays as it is."""

    # Its times, when it has any, replace all of the schedule's intervals, cron and
    # calendars; its time zone, jitter and window change only themselves.
    timing: Timing = field(default_factory=Timing)
    note: str | None = None
    paused: bool | None = None
    overlap: ScheduleOverlapPolicy | None = None

    @property
    def empty(self) -> bool:
        return self.timing.empty and (self.note, self.paused, self.overlap) == (None, None, None)


def apply(changes: Changes, schedule: Schedule) -> Schedule:
    """The schedule with the changes applied (what an update callback returns)."""
    spec, timing = schedule.spec, changes.timing
    if timing.has_times:
        new = timing.spec()
        spec = replace(
            spec,
            intervals=new.intervals,
            cron_expressions=new.cron_expressions,
            calendars=new.calendars,
        )
    spec = replace(
        spec,
        time_zone_name=timing.time_zone if timing.time_zone is not None else spec.time_zone_name,
        jitter=timing.jitter if timing.jitter is not None else spec.jitter,
        start_at=timing.start_at or spec.start_at,
        end_at=timing.end_at or spec.end_at,
    )
    check_window(spec.start_at, spec.end_at)
    state = replace(
        schedule.state,
        note=changes.note if changes.note is not None else schedule.state.note,
        paused=changes.paused if changes.paused is not None else schedule.state.paused,
    )
    policy = schedule.policy
    if changes.overlap is not None:
        policy = replace(policy, overlap=changes.overlap)
    return replace(schedule, spec=spec, state=state, policy=policy)


async def update(handle: ScheduleHandle, changes: Changes) -> None:
    def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=apply(changes, current.description.schedule))

    await handle.update(updater)


async def trigger(
    handle: ScheduleHandle,
    overlap: ScheduleOverlapPolicy | None = None,
    *,
    wait_seconds: float = 5.0,
) -> str | None:
    """Run now; the id of the run it started, or None when none appeared in time (overlap)."""
    before = await handle.describe()
    # By run: two runs started within one second share the workflow id (Temporal names
    # them by the second they were scheduled for), so only the run id tells them apart.
    seen = {_run_id(result.action) for result in before.info.recent_actions}
    await handle.trigger(overlap=overlap)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        now = await handle.describe()
        for result in reversed(now.info.recent_actions):
            workflow_id = _workflow_id(result.action)
            if workflow_id and _run_id(result.action) not in seen:
                return workflow_id
    return None


async def backfill(
    handle: ScheduleHandle,
    start_at: datetime,
    end_at: datetime,
    overlap: ScheduleOverlapPolicy | None,
) -> None:
    """Take the actions of [start_at, end_at] now, as if that time were passing."""
    if end_at <= start_at:
        raise ScheduleInputError("--to must be after --from.")
    await handle.backfill(ScheduleBackfill(start_at=start_at, end_at=end_at, overlap=overlap))


@dataclass
class RecentRun:
    scheduled_at: str
    started_at: str
    workflow_id: str
    run_id: str
    status: str | None = None
    policy_decision: str | None = None


@dataclass
class ScheduleSummary:
    """A schedule as `describe` shows it; `--json` prints this."""

    schedule_id: str
    paused: bool
    note: str | None
    workflow_type: str
    task_queue: str
    workflow_id_prefix: str
    requester: str | None
    request: Any
    when: dict[str, Any]
    overlap: str
    actions_taken: int
    skipped_overlap: int
    missed_catchup_window: int
    running: list[str]
    recent: list[RecentRun]
    next_runs: list[str]
    created_at: str
    updated_at: str | None = None


async def describe(client: Client, schedule_id: str, *, next_runs: int = 5) -> ScheduleSummary:
    description = await client.get_schedule_handle(schedule_id).describe()
    return await summarize(client, description, next_runs=next_runs)


async def summarize(
    client: Client, description: ScheduleDescription, *, next_runs: int = 5
) -> ScheduleSummary:
    schedule = description.schedule
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow), "only workflow starts are scheduled"
    request: Any = None
    if action.args:
        try:
            [request] = await client.data_converter.decode(list(action.args))
        except Exception:  # an argument we cannot decode (keys missing): show that, not fail
            request = "<encrypted or unreadable>"
    recent = [
        RecentRun(
            scheduled_at=iso(result.scheduled_at),
            started_at=iso(result.started_at),
            workflow_id=_workflow_id(result.action) or "",
            run_id=_run_id(result.action) or "",
        )
        for result in description.info.recent_actions
    ]
    await asyncio.gather(*(_fill_outcome(client, run) for run in recent))
    info = description.info
    return ScheduleSummary(
        schedule_id=description.id,
        paused=schedule.state.paused,
        note=schedule.state.note,
        workflow_type=action.workflow,
        task_queue=action.task_queue,
        workflow_id_prefix=f"{action.id}-",
        requester=description.typed_search_attributes.get(REQUESTER),
        request=shown_request(request),
        when=when(schedule.spec),
        overlap=str(OVERLAP_NAMES.get(schedule.policy.overlap, schedule.policy.overlap)),
        actions_taken=info.num_actions,
        skipped_overlap=info.num_actions_skipped_overlap,
        missed_catchup_window=info.num_actions_missed_catchup_window,
        running=[_workflow_id(run) or "" for run in info.running_actions],
        recent=recent,
        next_runs=[iso(at) for at in info.next_action_times[:next_runs]],
        created_at=iso(info.created_at),
        updated_at=iso(info.last_updated_at) if info.last_updated_at else None,
    )


async def _fill_outcome(client: Client, run: RecentRun) -> None:
    try:
        described = await client.get_workflow_handle(
            run.workflow_id, run_id=run.run_id or None
        ).describe()
    except RPCError:
        return  # gone (retention) or not visible yet: the row stays without an outcome
    run.status = described.status.name if described.status else None
    run.policy_decision = described.typed_search_attributes.get(POLICY_DECISION)


async def list_schedules(client: Client, limit: int = 50) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async for entry in await client.list_schedules():
        action = entry.schedule.action if entry.schedule else None
        rows.append(
            {
                "schedule_id": entry.id,
                "workflow": action.workflow
                if isinstance(action, ScheduleListActionStartWorkflow)
                else None,
                "state": "paused" if entry.schedule and entry.schedule.state.paused else "active",
                "requester": entry.typed_search_attributes.get(REQUESTER),
                "when": "; ".join(when_text(when(entry.schedule.spec))) if entry.schedule else None,
                "next_run": iso(entry.info.next_action_times[0])
                if entry.info and entry.info.next_action_times
                else None,
                "last_run": iso(entry.info.recent_actions[-1].started_at)
                if entry.info and entry.info.recent_actions
                else None,
                "note": entry.schedule.state.note if entry.schedule else None,
            }
        )
        if len(rows) >= limit:
            break
    return rows


def _workflow_id(action: object) -> str | None:
    return action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else None


def _run_id(action: object) -> str | None:
    if isinstance(action, ScheduleActionExecutionStartWorkflow):
        return action.first_execution_run_id
    return None
