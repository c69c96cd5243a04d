"""Finding the next free slot within the company's working hours (pure: busy times come in)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sop.profile import WorkingHours

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STEP = timedelta(minutes=30)


def next_free_slot(
    after: datetime,
    minutes: int,
    busy: Iterable[tuple[datetime, datetime]],
    hours: WorkingHours,
    tz: ZoneInfo,
    *,
    earliest_day: date | None = None,
    horizon_days: int = 30,
) -> datetime:
    """The first half-hour-aligned start, on or after ``after`` (and on or after ``earliest_day``
    in ``tz``), whose meeting fits inside working hours and overlaps no busy interval."""
    busy = sorted((b0.astimezone(UTC), b1.astimezone(UTC)) for b0, b1 in busy)
    length = timedelta(minutes=minutes)
    local = after.astimezone(tz)
    day = max(local.date(), earliest_day or local.date())
    for _ in range(horizon_days):
        if _DAYS[day.weekday()] in hours.days:
            start = datetime.combine(day, hours.start, tz)
            end_of_day = datetime.combine(day, hours.end, tz)
            while start + length <= end_of_day:
                s, e = start.astimezone(UTC), (start + length).astimezone(UTC)
                if s >= after and not any(b0 < e and s < b1 for b0, b1 in busy):
                    return start
                start += STEP
        day += timedelta(days=1)
    raise ValueError(f"no free {minutes}-minute slot within {horizon_days} days of {after.isoformat()}")


def next_working_day(day: date, hours: WorkingHours) -> date:
    """The first working day after ``day``."""
    day += timedelta(days=1)
    while _DAYS[day.weekday()] not in hours.days:
        day += timedelta(days=1)
    return day
