"""The embedded scheduler: one per database, stored jobs, coalesced catch-up, harmless re-firing, clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from responsibilities.storage.lease import holder_of
from responsibilities.storage.model import APSchedulerJob, Notice
from workflows.runtime import Runtime, fixed_clock
from workflows.schedule import jobs
from workflows.schedule.scheduler import LEASE_NAME, EmbeddedScheduler
from workflows.settings import Settings

from conftest import ROOT, at

pytestmark = pytest.mark.both_databases

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBE = "scheduler_probe:record"  # tests/scheduler_probe.py: appends each firing to $DUBAN_PROBE_FILE


@pytest.fixture
def probe_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "firings.txt"
    monkeypatch.setenv("DUBAN_PROBE_FILE", str(path))
    return path


def firings(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def wait_for(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def scheduler(loaded, schedules: dict[str, str], **kwargs) -> EmbeddedScheduler:
    return EmbeddedScheduler(loaded.engine, schedules, SHANGHAI, lease_ttl=timedelta(seconds=3), target=PROBE,
                             log=lambda line: None, **kwargs)


def running(instance: EmbeddedScheduler) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=instance.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


def test_a_second_scheduler_on_the_same_database_stands_by_and_takes_over_when_the_first_stops(loaded, probe_file):
    first = scheduler(loaded, {"sweep": "0 8 * * *"})
    second = scheduler(loaded, {"sweep": "0 8 * * *"})
    first_thread, stop_first = running(first)
    assert wait_for(first.scheduling.is_set)
    second_thread, stop_second = running(second)
    time.sleep(1.5)  # more than one renewal period of the standby
    assert not second.scheduling.is_set()
    assert holder_of(first.sessions, name=LEASE_NAME, now=datetime.now(timezone.utc)) == first.holder

    stop_first.set()
    first_thread.join(timeout=10)
    assert wait_for(second.scheduling.is_set), "the standby should take over once the lease is given up"
    stop_second.set()
    second_thread.join(timeout=10)
    assert holder_of(second.sessions, name=LEASE_NAME, now=datetime.now(timezone.utc)) is None


def test_a_holder_that_dies_is_replaced_once_its_lease_expires(loaded, probe_file):
    from responsibilities.storage.lease import acquire

    dead = "crashed-host:1234"
    assert acquire(loaded.session_factory, name=LEASE_NAME, holder=dead, now=datetime.now(timezone.utc),
                   ttl=timedelta(seconds=2))
    survivor = scheduler(loaded, {"sweep": "0 8 * * *"})
    thread, stop = running(survivor)
    assert not survivor.scheduling.is_set()
    assert wait_for(survivor.scheduling.is_set, timeout=10)
    stop.set()
    thread.join(timeout=10)


def test_stored_jobs_survive_a_restart_and_missed_runs_are_run_once(loaded, probe_file):
    every_minute = {"sweep": "0 3 * * *"}
    instance = scheduler(loaded, every_minute)
    thread, stop = running(instance)
    assert wait_for(instance.scheduling.is_set)
    stop.set()
    thread.join(timeout=10)
    with loaded.session_factory() as session:
        stored = session.scalars(select(APSchedulerJob.id)).all()
    assert stored == ["sweep"]

    # The process was down for ten days: ten 3 a.m. runs were missed. (The job's own pickled state holds its
    # next run time, so it is moved through APScheduler's job store, as a real outage would leave it.)
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(engine=loaded.engine)
    store.start(None, "default")
    job = store.lookup_job("sweep")
    job.next_run_time = datetime.now(SHANGHAI) - timedelta(days=10)
    store.update_job(job)
    restarted = scheduler(loaded, every_minute)
    thread, stop = running(restarted)
    assert wait_for(lambda: len(firings(probe_file)) >= 1)
    time.sleep(1.5)
    stop.set()
    thread.join(timeout=10)
    assert firings(probe_file) == ["sweep"]  # coalesced: once, not ten times, and not dropped as too late


def test_a_changed_schedule_reschedules_the_stored_job_and_a_dropped_one_is_removed(loaded, probe_file):
    first = scheduler(loaded, {"sweep": "0 8 * * *", "digests": "30 8 * * *"})
    thread, stop = running(first)
    assert wait_for(first.scheduling.is_set)
    stop.set()
    thread.join(timeout=10)
    second = scheduler(loaded, {"sweep": "0 7 * * *"})
    thread, stop = running(second)
    assert wait_for(second.scheduling.is_set)
    jobs_now = {job.id: str(job.trigger) for job in second._scheduler.get_jobs()}
    stop.set()
    thread.join(timeout=10)
    assert list(jobs_now) == ["sweep"] and "hour='7'" in jobs_now["sweep"]


def runtime_for(loaded, day: date) -> Runtime:
    settings = replace(Settings.from_environment(), database_url=loaded.url)
    return Runtime(settings, clock=fixed_clock(at(day.year, day.month, day.day, 8)))


def notice_keys(loaded) -> list[str]:
    with loaded.session_factory() as session:
        return sorted(session.scalars(select(Notice.dedupe_key)))


def test_a_doubled_firing_of_the_sweep_writes_nothing_more(loaded):
    first = jobs.sweep(runtime=runtime_for(loaded, date(2019, 11, 1)))
    keys = notice_keys(loaded)
    again = jobs.sweep(runtime=runtime_for(loaded, date(2019, 11, 1)))
    assert sum(first[k] for k in ("reminder", "chase", "escalation", "office")) == len(keys) > 0
    assert (again["reminder"], again["chase"], again["escalation"], again["office"]) == (0, 0, 0, 0)
    assert notice_keys(loaded) == keys


def test_missed_and_late_firings_catch_up_from_the_data(loaded):
    jobs.sweep(runtime=runtime_for(loaded, date(2019, 10, 24)))  # then the scheduler was down for a week
    late = jobs.sweep(runtime=runtime_for(loaded, date(2019, 11, 1)))  # it fires once, late
    keys = notice_keys(loaded)
    # Each overdue 31 October deliverable got its first chase; none got the reminders it missed meanwhile.
    assert late["chase"] > 0 and not any(k.endswith(":1") and k.startswith("reminder:") for k in keys)


def test_serve_stops_cleanly_on_sigterm_and_gives_up_the_lease(loaded, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_DATABASE_URL": loaded.url}
    loaded.close()
    process = subprocess.Popen([sys.executable, "-m", "workflows.cli", "serve", "--direct", "--lease-seconds", "3",
                                "--port", "0"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "scheduling as" in line, line + process.stderr.read()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "Traceback" not in err, err
    assert "stopped" in out
    assert holder_of(loaded.session_factory, name=LEASE_NAME, now=datetime.now(timezone.utc)) is None


def test_on_taking_over_delivery_runs_at_once_and_so_does_a_job_that_never_finished_or_missed_its_firing(loaded):
    from responsibilities.storage.job_runs import job_finished, job_started

    now = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)

    def ran(name: str, started: datetime, finished: bool = True) -> None:
        job_started(loaded.session_factory, name=name, holder="host-a:1", now=started)
        if finished:
            job_finished(loaded.session_factory, name=name, now=started + timedelta(seconds=5))

    ran("sweep", now.replace(hour=8))  # today's 8:00 sweep ran
    ran("digests", (now - timedelta(days=1)).replace(hour=8, minute=30))  # today's 8:30 firing never started
    ran("year_end", datetime(2025, 12, 31, 18, tzinfo=SHANGHAI))  # next due at the end of this year
    instance = scheduler(loaded, {"sweep": "0 8 * * *", "digests": "30 8 * * *", "year_end": "0 18 31 12 *",
                                  "deliver": "* * * * *"}, clock=lambda: now)
    assert instance._owed_now() == ["deliver", "digests"]

    ran("sweep", now.replace(hour=8), finished=False)  # its process stopped mid-run
    assert instance._owed_now() == ["deliver", "digests", "sweep"]


def test_a_job_stored_under_the_old_module_path_is_renamed_by_the_migration_and_keeps_its_next_run(loaded):
    import pickle

    from alembic import command
    from sqlalchemy import text

    from responsibilities.storage import migrate

    with loaded.engine.begin() as connection:
        command.downgrade(migrate._config(connection), "0008")
    instance = scheduler(loaded, {"sweep": "0 8 * * *"})
    thread, stop = running(instance)
    assert wait_for(instance.scheduling.is_set)
    stop.set()
    thread.join(timeout=10)
    with loaded.engine.begin() as connection:  # as a scheduler before issue 13 stored it
        state = pickle.loads(connection.execute(text("SELECT job_state FROM apscheduler_jobs")).scalar_one())
        state["func"], next_run = "workflows.scheduler:fire", state["next_run_time"]
        connection.execute(text("UPDATE apscheduler_jobs SET job_state = :state"), {"state": pickle.dumps(state)})

    migrate.upgrade(loaded.engine)
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(engine=loaded.engine)
    store.start(None, "default")
    job = store.lookup_job("sweep")
    assert (job.func_ref, job.next_run_time) == ("workflows.schedule.scheduler:fire", next_run)


def test_the_jobs_run_through_the_runner_the_scheduler_is_given(loaded):
    ran: list[str] = []
    instance = EmbeddedScheduler(loaded.engine, {"deliver": "* * * * *"}, SHANGHAI, lease_ttl=timedelta(seconds=3),
                                 log=lambda line: None, runner=lambda name, stop: ran.append(name))
    thread, stop = running(instance)
    try:
        assert wait_for(lambda: ran == ["deliver"]), "on taking the lease, delivery runs at once, through the runner"
    finally:
        stop.set()
        thread.join(timeout=10)
