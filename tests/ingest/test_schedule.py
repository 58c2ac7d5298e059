"""The cron schedule: its next run in the configured time zone, and a run it fires."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ingest.triggers import next_run
from serving.knowledge import open_manifest
from serving.settings import Settings
from tests.support.processes import BIN, clean_env


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


def test_the_schedule_fires_a_run(corpus, tmp_path):
    """`railyard ingest schedule` (APScheduler, every minute here) runs an ingestion when the
    minute turns: the run is committed in the manifest, and its summary is on the terminal."""
    data_dir = tmp_path / "data"
    command = [str(BIN / "railyard"), "ingest", "schedule", str(corpus), "--cron", "* * * * *"]
    proc = subprocess.Popen(
        command, env=clean_env(RAILYARD_DATA_DIR=str(data_dir)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    manifest = open_manifest(Settings(_env_file=None, data_dir=data_dir))
    try:
        deadline = time.monotonic() + 300
        while not _committed(manifest):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(1)
        time.sleep(2)  # its summary, printed after the commit
    finally:
        # SIGTERM, not SIGINT: a process started in the background by a non-interactive shell
        # (as CI runs) inherits SIGINT ignored, and would not stop.
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    printed = " ".join("".join(lines).split())  # the terminal wraps long lines
    assert "next run" in printed and "ingestion run" in printed
    first = _committed(manifest)[-1]
    assert first["summary"]["added"] == 4


def _committed(manifest) -> list[dict]:
    """The manifest's committed runs, newest first (none while the index does not exist)."""
    try:
        return [run for run in manifest.runs() if run["status"] == "committed"]
    except Exception:  # the manifest's tables are created by the first run
        return []
