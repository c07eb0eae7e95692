"""The embedded scheduler behind `duban serve`: APScheduler in-process, its jobs stored in duban's database.

- One scheduler per database: a lease row (responsibilities.lease), renewed while this process lives. A second
  `duban serve` on the same database waits as a standby and takes over when the first stops or dies.
- Jobs are stored (APScheduler's SQLAlchemy job store, in the same database) and keep their next run times
  across restarts; missed runs are coalesced into one, however late (no misfire cut-off), one instance at a
  time, one job at a time (a single worker thread, which also keeps Prefect's first call in one thread).
- A missed, late or doubled firing does no harm: the flows catch up from the data and their notices are deduplicated.
- SIGTERM or Ctrl-C: the current job finishes, the lease is given up, the process exits 0.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

LEASE_NAME = "scheduler"
FIRE = "workflows.scheduler:fire"  # what each stored job calls, by reference, so that it can be stored
RUNNER_VARIABLE = "DUBAN_SCHEDULER_RUNNER"  # "prefect" (flows through Prefect's engine) or "direct" (the jobs)


def fire(name: str) -> dict:
    """Run one scheduled flow now (called by APScheduler in its worker thread)."""
    if os.environ.get(RUNNER_VARIABLE, "prefect") == "direct":
        from workflows.jobs import run_job

        return run_job(name)
    from workflows.flows import run_flow

    return run_flow(name)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class EmbeddedScheduler:
    """Holds the lease while it runs APScheduler; stands by while another process holds it."""

    engine: object  # a SQLAlchemy Engine on duban's database
    schedules: dict[str, str]
    time_zone: ZoneInfo
    lease_ttl: timedelta = timedelta(seconds=60)
    target: str = FIRE
    clock: Callable[[], datetime] = utc_now
    log: Callable[[str], None] = print
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    scheduling: threading.Event = field(default_factory=threading.Event)  # set while this process schedules

    def __post_init__(self) -> None:
        from responsibilities.db import make_session_factory

        self.sessions = make_session_factory(self.engine)
        self._scheduler = None

    # ── the lease ─────────────────────────────────────────────────────────────────────────────────

    def _acquire(self) -> bool:
        from responsibilities.lease import acquire

        return acquire(self.sessions, name=LEASE_NAME, holder=self.holder, now=self.clock(), ttl=self.lease_ttl)

    def _release(self) -> None:
        from responsibilities.lease import release

        release(self.sessions, name=LEASE_NAME, holder=self.holder)

    def current_holder(self) -> str | None:
        from responsibilities.lease import holder_of

        return holder_of(self.sessions, name=LEASE_NAME, now=self.clock())

    # ── APScheduler ───────────────────────────────────────────────────────────────────────────────

    def _start_scheduler(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=self.time_zone,
        )
        scheduler.start(paused=True)  # jobs are reconciled before anything may fire
        self._reconcile(scheduler)
        scheduler.resume()
        self._scheduler = scheduler

    def _reconcile(self, scheduler) -> None:  # noqa: ANN001
        """Add missing jobs and reschedule changed ones; a stored job keeps its next run time (so missed runs
        still run once, coalesced), and a job no longer scheduled is removed."""
        from apscheduler.triggers.cron import CronTrigger

        stored = {job.id: job for job in scheduler.get_jobs()}
        for name, expression in self.schedules.items():
            trigger = CronTrigger.from_crontab(expression, timezone=self.time_zone)
            job = stored.pop(name, None)
            if job is None:
                scheduler.add_job(self.target, trigger, args=[name], id=name, name=f"duban {name}")
            elif str(job.trigger) != str(trigger) or job.func_ref != self.target:
                scheduler.modify_job(name, func=self.target, args=[name])
                scheduler.reschedule_job(name, trigger=trigger)
        for leftover in stored:
            scheduler.remove_job(leftover)

    def _stop_scheduler(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)  # the job that is running finishes
            self._scheduler = None

    # ── the loop ──────────────────────────────────────────────────────────────────────────────────

    def run(self, stop: threading.Event) -> None:
        """Schedule while holding the lease, stand by while another holds it, until ``stop`` is set."""
        renew_every = self.lease_ttl.total_seconds() / 3
        announced_standby = False
        try:
            while not stop.is_set():
                if self._acquire():
                    if not self.scheduling.is_set():
                        self._start_scheduler()
                        self.scheduling.set()
                        announced_standby = False
                        self.log(f"scheduling as {self.holder}: " + ", ".join(f"{k} «{v}»" for k, v in self.schedules.items()))
                elif self.scheduling.is_set():
                    self.log("lost the scheduler lease: standing by")
                    self._stop_scheduler()
                    self.scheduling.clear()
                elif not announced_standby:
                    self.log(f"another scheduler holds this database ({self.current_holder()}): standing by")
                    announced_standby = True
                stop.wait(renew_every)
        finally:
            self._stop_scheduler()
            if self.scheduling.is_set():
                self._release()
                self.scheduling.clear()
