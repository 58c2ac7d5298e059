"""The cron schedule's next run, in the configured time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ingest.triggers import next_run


def test_next_run_is_computed_in_the_time_zone():
    taipei = ZoneInfo("Asia/Taipei")
    # 01:30 in Taipei: the next 02:00 is the same day, 18:00 UTC the day before.
    now = datetime(2026, 11, 21, 1, 30, tzinfo=taipei)
    fire = next_run("0 2 * * *", "Asia/Taipei", now)
    assert fire == datetime(2026, 11, 21, 2, 0, tzinfo=taipei)
    assert fire.utcoffset().total_seconds() == 8 * 3600
    later = next_run("0 2 * * *", "Asia/Taipei", datetime(2026, 11, 21, 2, 0, 1, tzinfo=taipei))
    assert later == datetime(2026, 11, 22, 2, 0, tzinfo=taipei)


def test_weekday_schedule_across_a_dst_change():
    new_york = ZoneInfo("America/New_York")
    # Sunday 2026-11-01 is the end of DST in New York; Mondays at 09:00 local stay 09:00.
    fire = next_run("0 9 * * mon", "America/New_York", datetime(2026, 10, 31, tzinfo=new_york))
    assert fire == datetime(2026, 11, 2, 9, 0, tzinfo=new_york)
    assert fire.utcoffset().total_seconds() == -5 * 3600
