"""Schedule options turned into Temporal's spec types, and back into text, without a server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleRange,
    ScheduleSpec,
)

from orchestrator.governed.model import GovernedRequest
from orchestrator.schedules import service, starts, text, timing
from orchestrator.schedules.errors import ScheduleInputError
from orchestrator.schedules.service import Changes
from orchestrator.schedules.timing import Overlap, Timing
from orchestrator.vocabulary import REQUESTER


def test_durations_intervals_and_compact_text() -> None:
    assert timing.interval("15m") == timedelta(minutes=15)
    assert timing.interval("1h") == timedelta(hours=1)
    assert timing.jitter("90") == timedelta(seconds=90)
    with pytest.raises(ScheduleInputError, match=r"--jitter 'soon': expected a duration"):
        timing.jitter("soon")
    every = [ScheduleIntervalSpec(every=timedelta(seconds=s)) for s in (45, 60, 5400, 3600)]
    spec = ScheduleSpec(
        intervals=[*every, ScheduleIntervalSpec(timedelta(days=1), offset=timedelta(hours=2))],
        jitter=timedelta(seconds=30),
    )
    plain = text.when(spec)
    assert plain["intervals"] == ["45s", "1m", "90m", "1h", "1d (offset 2h)"]
    assert plain["jitter"] == "30s"
    with pytest.raises(ScheduleInputError, match=r"--interval '1 hour': expected a duration"):
        timing.interval("1 hour")
    with pytest.raises(ScheduleInputError, match="at least 1s"):
        timing.interval("0.5")


def test_cron_time_zone_and_instants() -> None:
    assert timing.cron_expression("0  9 * *  1-5") == "0 9 * * 1-5"
    assert timing.cron_expression("@daily") == "@daily"
    with pytest.raises(ScheduleInputError, match=re.escape('e.g. "0 9 * * 1-5"')):
        timing.cron_expression("every monday")
    assert timing.time_zone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ScheduleInputError, match="not an IANA time zone"):
        timing.time_zone("Mars/Olympus_Mons")
    assert timing.instant("2026-12-01", "--from") == datetime(2026, 12, 1, tzinfo=UTC)
    assert timing.instant("2026-12-01T09:30:00Z", "--from") == datetime(
        2026, 12, 1, 9, 30, tzinfo=UTC
    )
    assert timing.instant("2026-12-01T10:30:00+01:00", "--to").astimezone(UTC).hour == 9
    with pytest.raises(ScheduleInputError, match="--to 'tomorrow': expected an ISO 8601"):
        timing.instant("tomorrow", "--to")


def test_calendar_from_time_of_day_week_days_and_months() -> None:
    spec = timing.calendar("09:30", days="mon-fri", months="jan,jul-aug")
    assert spec.hour == [ScheduleRange(9)]
    assert spec.minute == [ScheduleRange(30)]
    assert spec.second == [ScheduleRange(0)]
    assert spec.day_of_week == [ScheduleRange(1, 5)]
    assert spec.month == [ScheduleRange(1), ScheduleRange(7, 8)]
    assert text.calendar_text(spec) == "30 9 * 1,7-8 1-5"
    assert text.calendar_text(timing.calendar("17:00:15", days_of_month="1,15")) == (
        "15 0 17 1,15 * *"
    )
    with pytest.raises(ScheduleInputError, match="--at '25:00': not a time of day"):
        timing.calendar("25:00")
    with pytest.raises(ScheduleInputError, match="--on 'fri-mon': range 'fri-mon' runs backwards"):
        timing.calendar("09:00", days="fri-mon")
    with pytest.raises(
        ScheduleInputError, match=re.escape("'funday' is not one of sun..sat or 0..6")
    ):
        timing.calendar("09:00", days="funday")


def test_calendar_text_matches_what_the_server_makes_of_cron() -> None:
    # The server turns "0 9 * * 1-5" into this calendar; describe shows it as cron again.
    from_cron = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(0)],
        hour=[ScheduleRange(9)],
        day_of_week=[ScheduleRange(1, 5)],
    )
    assert text.calendar_text(from_cron) == "0 9 * * 1-5"
    every_ten = ScheduleCalendarSpec(minute=[ScheduleRange(0, 59, 10)], hour=[ScheduleRange(0, 23)])
    assert text.calendar_text(every_ten) == "*/10 * * * *"


def test_governed_start_is_validated_before_anything_is_built() -> None:
    with pytest.raises(ScheduleInputError, match="invalid request: task: must be a non-empty"):
        starts.governed_start(GovernedRequest(task=" ", requester="alice"))
    start = starts.governed_start(GovernedRequest(task="Generate a report", requester="alice"))
    schedule = service.build_schedule(
        start,
        Timing(intervals=[timedelta(hours=1)], jitter=timedelta(seconds=30)),
        schedule_id="sched-report",
        task_queue="q",
        overlap=ScheduleOverlapPolicy.BUFFER_ONE,
        note="hello",
    )
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.id, action.task_queue) == (
        "GovernedWorkflow",
        "sched-report",
        "q",
    )
    assert action.typed_search_attributes.get(REQUESTER) == "alice"
    assert schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert (schedule.state.note, schedule.state.paused) == ("hello", False)
    with pytest.raises(ScheduleInputError, match="say when it runs"):
        Timing().spec()
    with pytest.raises(ScheduleInputError, match="--end-at must be after --start-at"):
        Timing(
            intervals=[timedelta(hours=1)],
            start_at=datetime(2026, 12, 2, tzinfo=UTC),
            end_at=datetime(2026, 12, 1, tzinfo=UTC),
        ).spec()


def test_ids_and_overlap_names() -> None:
    generated = service.default_schedule_id("Weekly usage report!")
    assert generated.startswith("sched-weekly-usage-report-")
    start = starts.governed_start(GovernedRequest(task="Rotate the secret", requester="bob"))
    assert start.label == "task"
    assert service.check_schedule_id(generated) == generated
    with pytest.raises(ScheduleInputError, match="--id 'no spaces'"):
        service.check_schedule_id("no spaces")
    assert timing.overlap_policy("terminate_other") == ScheduleOverlapPolicy.TERMINATE_OTHER
    with pytest.raises(ScheduleInputError, match="expected one of skip, buffer_one"):
        timing.overlap_policy("sometimes")
    # Every name maps to Temporal's policy and back; describe shows the name.
    for name in Overlap:
        assert timing.OVERLAP_NAMES[timing.overlap_policy(name)] == name
    assert str(timing.OVERLAP_NAMES[ScheduleOverlapPolicy.BUFFER_ALL]) == "buffer_all"


def test_changes_replace_times_but_keep_what_they_do_not_name() -> None:
    current = Schedule(
        action=ScheduleActionStartWorkflow("GovernedWorkflow", id="s", task_queue="q"),
        spec=ScheduleSpec(
            intervals=[],
            cron_expressions=["0 9 * * *"],
            time_zone_name="Europe/Berlin",
            jitter=timedelta(seconds=5),
        ),
    )
    changed = service.apply(
        Changes(timing=Timing(intervals=[timedelta(minutes=15)]), note="faster", paused=True),
        current,
    )
    assert [i.every for i in changed.spec.intervals] == [timedelta(minutes=15)]
    assert list(changed.spec.cron_expressions) == []
    assert changed.spec.time_zone_name == "Europe/Berlin"
    assert changed.spec.jitter == timedelta(seconds=5)
    assert (changed.state.note, changed.state.paused) == ("faster", True)
    assert Changes().empty
    assert not Changes(paused=False).empty
    # What `update` builds from no timing options at all: nothing to change.
    assert Changes(timing=Timing(intervals=[], cron=[], calendars=[])).empty
    assert not Changes(timing=Timing(jitter=timedelta(0))).empty


def test_changes_of_the_time_zone_or_window_alone_keep_the_times() -> None:
    current = Schedule(
        action=ScheduleActionStartWorkflow("GovernedWorkflow", id="s", task_queue="q"),
        spec=ScheduleSpec(cron_expressions=["0 9 * * *"], end_at=datetime(2027, 1, 1, tzinfo=UTC)),
    )
    start_at = datetime(2026, 12, 1, tzinfo=UTC)
    changed = service.apply(
        Changes(timing=Timing(time_zone="Europe/Berlin", start_at=start_at)), current
    )
    assert list(changed.spec.cron_expressions) == ["0 9 * * *"]
    assert changed.spec.time_zone_name == "Europe/Berlin"
    assert (changed.spec.start_at, changed.spec.end_at) == (start_at, current.spec.end_at)
    with pytest.raises(ScheduleInputError, match="--end-at must be after --start-at"):
        service.apply(Changes(timing=Timing(start_at=datetime(2027, 2, 1, tzinfo=UTC))), current)
