"""The embedded scheduler behind `duban serve`: APScheduler in-process, its jobs stored in duban's database.

- One scheduler per database: a lease row (responsibilities.storage.lease), renewed while this process lives. A second
  `duban serve` on the same database waits as a standby and takes over when the first stops or dies.
- Jobs are stored (APScheduler's SQLAlchemy job store, in the same database) and keep their next run times
  across restarts; missed runs are coalesced into one, however late (no misfire cut-off), one instance at a
  time, one job at a time (a single worker thread). On taking over, delivery runs at once: notices queued while
  no scheduler ran go out now, not at the next minute.
- Jobs run directly (workflows.schedule.jobs): nothing of Prefect is started. They go through Prefect's engine
  only where a Prefect API is configured (PREFECT_API_URL, the scale-out), so that their runs land where Prefect's
  UI shows them. Each run is recorded (job_runs); a failure is one line in the log, never a traceback flood, and
  the next firing simply runs again.
- A missed, late or doubled firing does no harm: the jobs catch up from the data and their notices are deduplicated.
- Stopping is prompt: a running delivery is cancelled (its claimed notices go back to the queue); any other job
  gets a few seconds to finish, then is abandoned (its transaction is rolled back when the process exits).
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

from responsibilities.storage.lease import SCHEDULER as LEASE_NAME

FIRE = "workflows.schedule.scheduler:fire"  # what each stored job calls, by reference, so that it can be stored
STOP_GRACE_S = 4.0  # how long a stopping scheduler waits for its running job before abandoning it
START_UP_JOB = "deliver"  # run once on taking the lease


@dataclass
class _ThisProcess:
    """What the stored jobs, called by reference, share with the scheduler running in this process."""

    stopping: threading.Event = field(default_factory=threading.Event)  # a running job gives up promptly
    running: threading.Lock = field(default_factory=threading.Lock)  # held while a job runs (one at a time)
    log: Callable[[str], None] = print
    failures: dict[str, int] = field(default_factory=dict)  # consecutive failures per job, for the log's wording
    runner: Callable[[str, threading.Event], None] = lambda name, stop: run_directly(name, stop)  # how a job runs


PROCESS = _ThisProcess()


def run_directly(name: str, stop: threading.Event) -> None:
    """The default runner: the job itself, in this process (workflows.schedule.jobs), recorded in job_runs."""
    from workflows.schedule.jobs import run_job

    run_job(name, stop=stop)


def run_through_prefect(name: str, stop: threading.Event) -> None:
    """The runner where a Prefect API keeps the runs (PREFECT_API_URL): the job as a Prefect flow run."""
    from workflows.schedule.flows import run_flow

    run_flow(name)


def through_prefect() -> bool:
    """Whether jobs run as Prefect flow runs: only where a Prefect API is configured to keep and show them."""
    return bool(os.environ.get("PREFECT_API_URL"))


def fire(name: str) -> None:
    """Run one scheduled job now (called by APScheduler in its worker thread). Never raises: a failure is logged
    in one line (and recorded by the job), and the next firing runs again."""
    if PROCESS.stopping.is_set():
        return
    with PROCESS.running:
        try:
            _run(name)
        except Exception as error:  # noqa: BLE001 - a failed job must not take the scheduler down
            _failed(name, error)
        else:
            if PROCESS.failures.pop(name, 0):
                PROCESS.log(f"定时任务 {name} 已恢复正常")


def _run(name: str) -> None:
    PROCESS.runner(name, PROCESS.stopping)


def _failed(name: str, error: Exception) -> None:
    from workflows.schedule.jobs import JobFailed, one_line

    count = PROCESS.failures[name] = PROCESS.failures.get(name, 0) + 1
    reason = str(error).removeprefix(f"{name}: ") if isinstance(error, JobFailed) else one_line(error)
    PROCESS.log(f"定时任务 {name} 运行失败" + (f"(连续第 {count} 次)" if count > 1 else "") + f":{reason}")


def _one_job_at_a_time():  # an APScheduler executor
    """APScheduler's thread pool with one worker, which lets a job fall due while the scheduler shuts down go
    quietly: it is caught up at the next start (``EmbeddedScheduler._owed_now``), not logged as a traceback."""
    from apscheduler.executors.pool import ThreadPoolExecutor

    class OneJobAtATime(ThreadPoolExecutor):
        def _do_submit_job(self, job, run_times) -> None:
            if not PROCESS.stopping.is_set():
                super()._do_submit_job(job, run_times)

    return OneJobAtATime(max_workers=1)


def job_running() -> bool:
    """Whether a job is still running in this process (after a stop: one that was abandoned)."""
    return PROCESS.running.locked()


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
    runner: Callable[[str, threading.Event], None] = run_directly  # or run_through_prefect
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    scheduling: threading.Event = field(default_factory=threading.Event)  # set while this process schedules

    def __post_init__(self) -> None:
        from responsibilities.storage.db import make_session_factory

        self.sessions = make_session_factory(self.engine)
        self._scheduler = None

    # ── the lease ─────────────────────────────────────────────────────────────────────────────────

    def _acquire(self) -> bool:
        from responsibilities.storage.lease import acquire

        return acquire(self.sessions, name=LEASE_NAME, holder=self.holder, now=self.clock(), ttl=self.lease_ttl)

    def _release(self) -> None:
        from responsibilities.storage.lease import release

        release(self.sessions, name=LEASE_NAME, holder=self.holder)

    def current_holder(self) -> str | None:
        from responsibilities.storage.lease import holder_of

        return holder_of(self.sessions, name=LEASE_NAME, now=self.clock())

    # ── APScheduler ───────────────────────────────────────────────────────────────────────────────

    def _start_scheduler(self) -> None:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        PROCESS.stopping.clear()
        PROCESS.log, PROCESS.runner = self.log, self.runner
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={"default": _one_job_at_a_time()},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=self.time_zone,
        )
        scheduler.start(paused=True)  # jobs are reconciled before anything may fire
        self._reconcile(scheduler)
        for name in self._owed_now():  # their next cron times follow from these runs, as after any other
            scheduler.modify_job(name, next_run_time=self.clock())
        scheduler.resume()
        self._scheduler = scheduler

    def _owed_now(self) -> list[str]:
        """Jobs to run at once on taking over: delivery (what was queued meanwhile goes out now), and any job whose
        last run never finished (its process stopped or died mid-run) or whose firing since then was never started
        (a stop at the very moment it fell due): APScheduler counts a firing as done once handed to its worker."""
        from apscheduler.triggers.cron import CronTrigger

        from responsibilities.storage.job_runs import job_states

        now = self.clock()
        owed = [START_UP_JOB] if START_UP_JOB in self.schedules else []
        for run in job_states(self.sessions):
            if run.name not in self.schedules or run.name in owed:
                continue
            trigger = CronTrigger.from_crontab(self.schedules[run.name], timezone=self.time_zone)
            next_firing = trigger.get_next_fire_time(None, run.started_at + timedelta(seconds=1))
            if run.finished_at is None or (next_firing is not None and next_firing <= now):
                owed.append(run.name)
        return owed

    def _reconcile(self, scheduler) -> None:
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
        """Stop firing; cancel a running delivery, give any other job STOP_GRACE_S to finish, else abandon it."""
        if self._scheduler is None:
            return
        PROCESS.stopping.set()
        self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if PROCESS.running.acquire(timeout=STOP_GRACE_S):
            PROCESS.running.release()
        else:
            self.log(f"正在运行的定时任务 {STOP_GRACE_S:g} 秒内没有结束,不再等待:其未提交的改动不会写入,下次运行时补做")

    # ── the loop ──────────────────────────────────────────────────────────────────────────────────

    def run(self, stop: threading.Event) -> None:
        """Schedule while holding the lease, stand by while another holds it, until ``stop`` is set.

        A database that cannot be reached is a lease that cannot be confirmed: scheduling pauses (another process
        may take over once the lease lapses) and resumes when the database answers again; said once, not each try."""
        renew_every = self.lease_ttl.total_seconds() / 3
        announced = None
        try:
            while not stop.is_set():
                held, problem = self._try_acquire()
                if held:
                    if not self.scheduling.is_set():
                        self._start_scheduler()
                        self.scheduling.set()
                        self.log(f"scheduling as {self.holder}: "
                                 + ", ".join(f"{k} «{v}»" for k, v in self.schedules.items()))
                    announced = None
                else:
                    if self.scheduling.is_set():
                        self.log("lost the scheduler lease: standing by")
                        self._stop_scheduler()
                        self.scheduling.clear()
                    state = problem or "standby"
                    if announced != state:
                        self.log(f"定时任务暂停:{problem};数据库恢复后自动继续" if problem else
                                 f"another scheduler holds this database ({self._holder_or_unknown()}): standing by")
                        announced = state
                stop.wait(renew_every)
        finally:
            self._stop_scheduler()
            if self.scheduling.is_set():
                self._release_quietly()
                self.scheduling.clear()

    def _try_acquire(self) -> tuple[bool, str | None]:
        from sqlalchemy.exc import SQLAlchemyError

        from workflows.schedule.jobs import one_line

        try:
            return self._acquire(), None
        except SQLAlchemyError as error:
            return False, one_line(error)

    def _holder_or_unknown(self) -> str:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return self.current_holder() or "?"
        except SQLAlchemyError:
            return "?"

    def _release_quietly(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self._release()
        except SQLAlchemyError:
            pass  # the database is away: the lease lapses by itself after its time-to-live
