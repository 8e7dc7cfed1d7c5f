"""When a schedule runs, from option text: intervals, cron, calendars, time zone, window, overlap.

Every function takes the text of one option and returns Temporal's type for it, or raises a
ScheduleInputError that names the option; Temporal's server checks what only it can (cron
field values, for one).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from temporalio.client import (
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleRange,
    ScheduleSpec,
)

from orchestrator import durations
from orchestrator.schedules.errors import ScheduleInputError

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTH_NAMES = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class Overlap(StrEnum):
    """`--overlap`: what a run that is due does while an earlier run still runs."""

    SKIP = "skip"
    BUFFER_ONE = "buffer_one"
    BUFFER_ALL = "buffer_all"
    CANCEL_OTHER = "cancel_other"
    TERMINATE_OTHER = "terminate_other"
    ALLOW_ALL = "allow_all"


OVERLAP_POLICIES: dict[Overlap, ScheduleOverlapPolicy] = {
    Overlap.SKIP: ScheduleOverlapPolicy.SKIP,
    Overlap.BUFFER_ONE: ScheduleOverlapPolicy.BUFFER_ONE,
    Overlap.BUFFER_ALL: ScheduleOverlapPolicy.BUFFER_ALL,
    Overlap.CANCEL_OTHER: ScheduleOverlapPolicy.CANCEL_OTHER,
    Overlap.TERMINATE_OTHER: ScheduleOverlapPolicy.TERMINATE_OTHER,
    Overlap.ALLOW_ALL: ScheduleOverlapPolicy.ALLOW_ALL,
}
OVERLAP_NAMES = {policy: name for name, policy in OVERLAP_POLICIES.items()}


def overlap_policy(name: str) -> ScheduleOverlapPolicy:
    try:
        return OVERLAP_POLICIES[Overlap(name)]
    except ValueError:
        raise ScheduleInputError(
            f"--overlap {name!r}: expected one of {', '.join(Overlap)}."
        ) from None


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

    @property
    def empty(self) -> bool:
        """Neither times nor a time zone, jitter or window: a change of nothing."""
        window = (self.time_zone, self.jitter, self.start_at, self.end_at)
        return not self.has_times and window == (None, None, None, None)

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


def interval(text: str, option: str = "--interval") -> timedelta:
    """How often it runs: a duration (durations.py) of at least a second."""
    every = _length(text, option)
    if every < timedelta(seconds=1):
        raise ScheduleInputError(f"{option} {text!r}: must be at least 1s.")
    return every


def jitter(text: str, option: str = "--jitter") -> timedelta:
    """How much later than due each run may start, at random: a duration (durations.py)."""
    return _length(text, option)


def _length(text: str, option: str) -> timedelta:
    try:
        return timedelta(seconds=durations.seconds(text))
    except ValueError as error:
        raise ScheduleInputError(f"{option} {text!r}: {error}.") from None


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
