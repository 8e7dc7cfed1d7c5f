"""A schedule's spec as plain values and as text: what `describe`, `list` and `--json` show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec

from orchestrator import durations


def when(spec: ScheduleSpec) -> dict[str, Any]:
    """The spec as plain values: intervals as durations, calendars in cron notation."""
    return {
        "intervals": [
            durations.compact(i.every.total_seconds())
            + (f" (offset {durations.compact(i.offset.total_seconds())})" if i.offset else "")
            for i in spec.intervals
        ],
        # The server turns cron expressions into calendars; both are shown as cron here.
        "calendars": [calendar_text(c) for c in spec.calendars] + list(spec.cron_expressions),
        "time_zone": spec.time_zone_name,
        "jitter": durations.compact(spec.jitter.total_seconds()) if spec.jitter else None,
        "start_at": iso(spec.start_at) if spec.start_at else None,
        "end_at": iso(spec.end_at) if spec.end_at else None,
    }


def when_text(plain: dict[str, Any]) -> list[str]:
    """`when`'s values as phrases: `every 1h`, `cron 0 9 * * 1-5`, `time zone ...`."""
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


def iso(value: datetime) -> str:
    """An instant in UTC to the second: 2026-12-01T09:00:00Z."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
