"""The one runtime every entrypoint builds: one "today", in the loaded plan's zone; the database closed after."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from workflows.runtime import Runtime, fixed_clock
from workflows.settings import Settings

pytestmark = pytest.mark.both_databases

# 20:00 UTC on 31 October is already 1 November in Guigang (UTC+8), still 31 October in New York.
EVENING_UTC = datetime(2019, 10, 31, 20, 0, tzinfo=timezone.utc)
NEW_YORK = ZoneInfo("America/New_York")


def settings_for(url: str) -> Settings:
    return replace(Settings.from_environment(), database_url=url, time_zone=NEW_YORK)


def test_today_is_the_day_in_the_loaded_plans_zone_whatever_duban_time_zone_says(loaded):
    with Runtime(settings_for(loaded.url), clock=fixed_clock(EVENING_UTC)) as runtime:
        assert runtime.zone == ZoneInfo("Asia/Shanghai")
        assert runtime.today() == date(2019, 11, 1)


def test_before_a_plan_is_loaded_today_falls_back_to_duban_time_zone(database):
    with Runtime(settings_for(database.url), clock=fixed_clock(EVENING_UTC)) as runtime:
        assert runtime.today() == date(2019, 10, 31)


def test_an_as_of_date_is_that_day_in_the_plans_zone(loaded):
    with Runtime(settings_for(loaded.url), as_of="2019-11-04") as runtime:
        now = runtime.now()
        assert now.tzinfo == ZoneInfo("Asia/Shanghai") and runtime.today(now) == date(2019, 11, 4)


def test_closing_disposes_the_engine_and_a_later_use_opens_it_again(loaded):
    runtime = Runtime(settings_for(loaded.url), clock=fixed_clock(EVENING_UTC))
    engine = runtime.engine
    with runtime.sessions() as session:
        session.connection()
    assert engine.pool.checkedin() == 1
    runtime.close()
    assert engine.pool.checkedin() == 0 and runtime.engine is not engine
    runtime.close()


def test_a_naive_moment_is_refused_as_a_clock():
    with pytest.raises(ValueError, match="aware"):
        fixed_clock(datetime(2019, 10, 31, 20, 0))
