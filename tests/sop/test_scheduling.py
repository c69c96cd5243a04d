"""next_free_slot: working hours in the company's timezone, busy times respected."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sop.profile import WorkingHours
from sop.scheduling import next_free_slot

JHB = ZoneInfo("Africa/Johannesburg")
HOURS = WorkingHours(start=time(9), end=time(17), days=["mon", "tue", "wed", "thu", "fri"])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=JHB)  # 2026-11-23 is a Monday


def test_first_slot_is_start_of_next_working_day_from_the_evening():
    assert next_free_slot(at(23, 18), 45, [], HOURS, JHB) == at(24, 9)


def test_skips_busy_and_rounds_to_half_hours():
    busy = [(at(24, 9), at(24, 10)), (at(24, 10, 30), at(24, 11))]
    assert next_free_slot(at(24, 8), 30, busy, HOURS, JHB) == at(24, 10)
    assert next_free_slot(at(24, 8), 45, busy, HOURS, JHB) == at(24, 11)


def test_weekend_and_end_of_day():
    # Friday 16:30 has no room for an hour; Saturday and Sunday are not working days.
    assert next_free_slot(at(27, 16, 10), 60, [], HOURS, JHB) == at(30, 9)


def test_earliest_day_and_busy_given_in_utc():
    busy = [(datetime(2026, 11, 26, 7, tzinfo=UTC), datetime(2026, 11, 26, 8, tzinfo=UTC))]  # 09:00-10:00 SAST
    assert next_free_slot(at(24, 9), 60, busy, HOURS, JHB, earliest_day=date(2026, 11, 26)) == at(26, 10)


def test_no_slot_is_an_error():
    full = [(at(23, 0), at(23, 0) + timedelta(days=40))]
    with pytest.raises(ValueError, match="no free 30-minute slot"):
        next_free_slot(at(23, 9), 30, full, HOURS, JHB)
