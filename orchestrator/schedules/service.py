"""Temporal Schedules that start governed (or declarative) workflows on a timetable.

A schedule only starts the workflow; the workflow's first step is the policy gate, so every
scheduled run is decided by OPA exactly like a start from the CLI or the HTTP API. What a
schedule starts is checked here before anything is created (an invalid request or
definition creates nothing). Schedule ids default to `sched-<slug>-<random>`; Temporal names
each run `<schedule id>-<scheduled time>`, so a run's id says which schedule made it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleListActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from orchestrator import durations
from orchestrator.governed.model import REQUESTER_PATTERN, GovernedRequest
from orchestrator.governed.workflow import WORKFLOW_NAME
from orchestrator.policy.identity import IdentityKey
from orchestrator.vocabulary import POLICY_DECISION, REQUESTER, WORKFLOW_DEFINITION

SCHEDULE_ID_PREFIX = "sched-"
SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

OVERLAP_POLICIES: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
OVERLAP_NAMES = {policy: name for name, policy in OVERLAP_POLICIES.items()}

DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MONTH_NAMES = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
]  # fmt: skip
MAX_PROBLEMS_SHOWN = 10
TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class ScheduleInputError(ValueError):
    """A schedule option has a value we cannot use; the message names the option."""


# --- what each run starts --------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledStart:
    """The workflow every run of a schedule starts, already validated."""

    workflow: str
    argument: Any
    requester: str
    label: str  # names default schedule ids (slugged): never task text
    definition: str | None = None  # a declarative workflow's definition name

    def search_attributes(self) -> TypedSearchAttributes:
        pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(REQUESTER, self.requester)]
        if self.definition:
            pairs.append(SearchAttributePair(WORKFLOW_DEFINITION, self.definition))
        return TypedSearchAttributes(pairs)


def governed_start(request: GovernedRequest) -> ScheduledStart:
    """A governed task to run on schedule; refused (ScheduleInputError) when invalid."""
    problems = request.problems()
    if problems:
        raise ScheduleInputError("invalid request: " + "; ".join(problems))
    # The label names default ids, which Temporal stores in clear: the kind, not the task.
    return ScheduledStart(WORKFLOW_NAME, request, request.requester, request.kind or "task")


def definition_start(path: Path, requester: str) -> ScheduledStart:
    """A declarative definition file to run on schedule, validated before anything is created.

    The document itself goes into the schedule's action, so later edits of the file do not
    change what the schedule runs (update it by deleting and creating the schedule).
    """
    # Imported here: the declarative package (and its activity catalog) loads only when a
    # definition is scheduled.
    from orchestrator.declarative import loader, validate
    from orchestrator.declarative.model import DeclarativeRequest
    from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW

    if not REQUESTER_PATTERN.match(requester):
        raise ScheduleInputError(
            f"--requester {requester!r}: must be a user id like 'alice' "
            "(lower case letters, digits, . _ @ -)."
        )
    try:
        document = loader.load_file(path)
    except loader.LoadError as error:
        raise ScheduleInputError(f"--definition {error}") from None
    found = validate.problems(document, source=str(path))
    if found:
        raise ScheduleInputError(
            f"--definition {path}: {len(found)} problem(s), nothing was created: "
            + validate.summarize(found, MAX_PROBLEMS_SHOWN)
        )
    name = loader.definition_name(document, str(path))
    return ScheduledStart(
        DECLARATIVE_WORKFLOW,
        DeclarativeRequest(definition=document, requester=requester, source=path.name),
        requester,
        label=name,
        definition=name,
    )


def signed_start(start: ScheduledStart, key: IdentityKey, schedule_id: str) -> ScheduledStart:
    """`start` with the creator's start credential, standing for every run of the schedule.

    Temporal names the runs `<schedule_id>-<scheduled time>`, unknown until each is due,
    so the credential names the schedule and the worker checks each run's id against it.
    IdentityError when the key may not sign for the requester.
    """
    # Imported here: starts.py imports the declarative model, which this module loads
    # only when a schedule is made (see definition_start).
    from orchestrator import starts

    try:
        argument = starts.signed(start.argument, key, schedule_id, schedule_id=schedule_id)
    except ValueError as error:  # canonical JSON refuses NaN and lone surrogates
        raise ScheduleInputError(f"cannot sign what the schedule starts: {error}") from None
    return replace(start, argument=argument)


def shown_request(request: Any) -> Any:
    """What `describe` shows of the stored request: its credential without the signature.

    A schedule's credential stands for every run of it; its signature is for the worker,
    not for every terminal and script that describes the schedule.
    """
    if not isinstance(request, dict) or not isinstance(request.get("credential"), dict):
        return request
    credential = {k: v for k, v in request["credential"].items() if k != "signature"}
    return {**request, "credential": credential}


# --- when it runs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """When a schedule acts: the union of intervals, cron expressions and calendars."""

    intervals: Sequence[timedelta] = ()
    cron: Sequence[str] = ()
    calendars: Sequence[ScheduleCalendarSpec] = ()
    time_zone: str | None = None
    jitter: timedelta | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None

    @property
    def has_times(self) -> bool:
        return bool(self.intervals or self.cron or self.calendars)

    def spec(self) -> ScheduleSpec:
        if not self.has_times:
            raise ScheduleInputError("say when it runs: --interval, --cron or --at.")
        check_window(self.start_at, self.end_at)
        return ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=every) for every in self.intervals],
            cron_expressions=list(self.cron),
            calendars=list(self.calendars),
            time_zone_name=self.time_zone,
            jitter=self.jitter,
            start_at=self.start_at,
            end_at=self.end_at,
        )


def check_window(start_at: datetime | None, end_at: datetime | None) -> None:
    if start_at and end_at and end_at <= start_at:
        raise ScheduleInputError("--end-at must be after --start-at.")


def duration(text: str, option: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d` (a bare number is seconds)."""
    try:
        return timedelta(seconds=durations.seconds(text))
    except ValueError as error:
        raise ScheduleInputError(f"{option} {text!r}: {error}.") from None


def interval(text: str, option: str = "--interval") -> timedelta:
    every = duration(text, option)
    if every < timedelta(seconds=1):
        raise ScheduleInputError(f"{option} {text!r}: must be at least 1s.")
    return every


def cron_expression(text: str, option: str = "--cron") -> str:
    """A cron string as Temporal takes it (5-7 fields or @daily); the server checks the rest."""
    expression = " ".join(text.split())
    fields = expression.split(" ")
    if not expression or (not expression.startswith("@") and not 5 <= len(fields) <= 7):
        raise ScheduleInputError(
            f"{option} {text!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
            'e.g. "0 9 * * 1-5".'
        )
    return expression


def time_zone(name: str, option: str = "--timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleInputError(
            f"{option} {name!r}: not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)."
        ) from None
    return name


def instant(text: str, option: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ScheduleInputError(
                f"{option} {text!r}: expected an ISO 8601 time like 2026-12-01T09:00:00Z "
                "or a date like 2026-12-01."
            ) from None
        parsed = datetime(day.year, day.month, day.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def calendar(
    at: str,
    *,
    days: str | None = None,
    days_of_month: str | None = None,
    months: str | None = None,
) -> ScheduleCalendarSpec:
    """A calendar entry: `at` HH:MM[:SS], on week days (`mon-fri`), days of month, months."""
    match = TIME_OF_DAY.match(at.strip())
    if not match:
        raise ScheduleInputError(f"--at {at!r}: expected a time of day like 09:30 or 17:00:15.")
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleInputError(f"--at {at!r}: not a time of day (00:00 to 23:59:59).")
    spec = ScheduleCalendarSpec(
        second=[ScheduleRange(second)], minute=[ScheduleRange(minute)], hour=[ScheduleRange(hour)]
    )
    if days:
        spec.day_of_week = ranges(days, "--on", 0, 6, DAY_NAMES)
    if days_of_month:
        spec.day_of_month = ranges(days_of_month, "--day-of-month", 1, 31)
    if months:
        spec.month = ranges(months, "--month", 1, 12, MONTH_NAMES, first=1)
    return spec


def ranges(
    text: str,
    option: str,
    low: int,
    high: int,
    names: Sequence[str] = (),
    *,
    first: int = 0,
) -> list[ScheduleRange]:
    """`mon-fri`, `sat,sun`, `1,15`, `1-7` as ranges; names map to `first` + their index."""

    def value(token: str) -> int:
        token = token.strip().lower()
        if token.isdigit() and low <= int(token) <= high:
            return int(token)
        if len(token) >= 3 and token[:3] in names:
            return names.index(token[:3]) + first
        choices = f"{names[0]}..{names[-1]} or " if names else ""
        raise ScheduleInputError(
            f"{option} {text!r}: {token!r} is not one of {choices}{low}..{high}."
        )

    result = []
    for part in text.split(","):
        start, dash, end = part.partition("-")
        first_value = value(start)
        last_value = value(end) if dash else first_value
        if last_value < first_value:
            raise ScheduleInputError(f"{option} {text!r}: range {part!r} runs backwards.")
        result.append(ScheduleRange(first_value, last_value))
    return sorted(result, key=lambda r: (r.start, r.end))


# --- building, creating, changing ------------------------------------------------------


def default_schedule_id(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:32].rstrip("-") or "task"
    return f"{SCHEDULE_ID_PREFIX}{slug}-{uuid.uuid4().hex[:6]}"


def check_schedule_id(schedule_id: str) -> str:
    if not SCHEDULE_ID_PATTERN.match(schedule_id):
        raise ScheduleInputError(
            f"--id {schedule_id!r}: use letters, digits, '.', '_' or '-' (at most 100)."
        )
    return schedule_id


def overlap_policy(name: str) -> ScheduleOverlapPolicy:
    try:
        return OVERLAP_POLICIES[name]
    except KeyError:
        raise ScheduleInputError(
            f"--overlap {name!r}: expected one of {', '.join(OVERLAP_POLICIES)}."
        ) from None


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
    """What `update` changes; None leaves a setting as it is."""

    timing: Timing | None = None  # replaces intervals, cron and calendars when given
    time_zone: str | None = None
    jitter: timedelta | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    note: str | None = None
    paused: bool | None = None
    overlap: ScheduleOverlapPolicy | None = None

    @property
    def empty(self) -> bool:
        return self == Changes()


def apply(changes: Changes, schedule: Schedule) -> Schedule:
    """The schedule with the changes applied (what an update callback returns)."""
    spec = schedule.spec
    if changes.timing is not None:
        new = changes.timing.spec()
        spec = replace(
            spec,
            intervals=new.intervals,
            cron_expressions=new.cron_expressions,
            calendars=new.calendars,
        )
    spec = replace(
        spec,
        time_zone_name=changes.time_zone if changes.time_zone is not None else spec.time_zone_name,
        jitter=changes.jitter if changes.jitter is not None else spec.jitter,
        start_at=changes.start_at or spec.start_at,
        end_at=changes.end_at or spec.end_at,
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
    seen = {_workflow_id(result.action) for result in before.info.recent_actions}
    await handle.trigger(overlap=overlap)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        now = await handle.describe()
        for result in reversed(now.info.recent_actions):
            workflow_id = _workflow_id(result.action)
            if workflow_id and workflow_id not in seen:
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


# --- reading ---------------------------------------------------------------------------


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
            scheduled_at=_iso(result.scheduled_at),
            started_at=_iso(result.started_at),
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
        overlap=OVERLAP_NAMES.get(schedule.policy.overlap, str(schedule.policy.overlap)),
        actions_taken=info.num_actions,
        skipped_overlap=info.num_actions_skipped_overlap,
        missed_catchup_window=info.num_actions_missed_catchup_window,
        running=[_workflow_id(run) or "" for run in info.running_actions],
        recent=recent,
        next_runs=[_iso(at) for at in info.next_action_times[:next_runs]],
        created_at=_iso(info.created_at),
        updated_at=_iso(info.last_updated_at) if info.last_updated_at else None,
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
                "next_run": _iso(entry.info.next_action_times[0])
                if entry.info and entry.info.next_action_times
                else None,
                "last_run": _iso(entry.info.recent_actions[-1].started_at)
                if entry.info and entry.info.recent_actions
                else None,
                "note": entry.schedule.state.note if entry.schedule else None,
            }
        )
        if len(rows) >= limit:
            break
    return rows


def when(spec: ScheduleSpec) -> dict[str, Any]:
    """The spec as plain values: intervals as durations, calendars in cron notation."""
    return {
        "intervals": [
            compact(i.every) + (f" (offset {compact(i.offset)})" if i.offset else "")
            for i in spec.intervals
        ],
        # The server turns cron expressions into calendars; both are shown as cron here.
        "calendars": [calendar_text(c) for c in spec.calendars] + list(spec.cron_expressions),
        "time_zone": spec.time_zone_name,
        "jitter": compact(spec.jitter) if spec.jitter else None,
        "start_at": _iso(spec.start_at) if spec.start_at else None,
        "end_at": _iso(spec.end_at) if spec.end_at else None,
    }


def when_text(plain: dict[str, Any]) -> list[str]:
    parts = [f"every {every}" for every in plain["intervals"]]
    parts += [f"cron {cron}" for cron in plain["calendars"]]
    if plain["time_zone"]:
        parts.append(f"time zone {plain['time_zone']}")
    if plain["jitter"]:
        parts.append(f"jitter {plain['jitter']}")
    return parts


def calendar_text(spec: ScheduleCalendarSpec) -> str:
    """`[second] minute hour day-of-month month day-of-week` like cron, `*` for all values."""

    def text(values: Sequence[ScheduleRange], low: int, high: int) -> str:
        if len(values) == 1 and values[0].start <= low and values[0].end >= high:
            return "*" if values[0].step == 1 else f"*/{values[0].step}"
        return ",".join(
            str(r.start) + (f"-{r.end}" if r.end > r.start else "")
            + (f"/{r.step}" if r.step > 1 else "")
            for r in values
        )  # fmt: skip

    fields = [
        text(spec.minute, 0, 59),
        text(spec.hour, 0, 23),
        text(spec.day_of_month, 1, 31),
        text(spec.month, 1, 12),
        text(spec.day_of_week, 0, 6),
    ]
    seconds = text(spec.second, 0, 59)
    if seconds != "0":
        fields.insert(0, seconds)
    if spec.year:
        fields.append(text(spec.year, 0, 9999))
    return " ".join(fields) + (f"  # {spec.comment}" if spec.comment else "")


def compact(value: timedelta) -> str:
    """A duration in its largest whole unit: 1h, 90m, 45s."""
    return durations.compact(value.total_seconds())


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _workflow_id(action: object) -> str | None:
    return action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else None


def _run_id(action: object) -> str | None:
    if isinstance(action, ScheduleActionExecutionStartWorkflow):
        return action.first_execution_run_id
    return None
