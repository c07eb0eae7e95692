"""The scheduled jobs' last runs: when each ran, on which process, whether it succeeded and why not.

Written by whoever runs a job (the embedded scheduler, a Prefect flow, `duban flow run`), read by /healthz and the
office's dashboard. One row per job, overwritten by each run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage.db import read_session
from responsibilities.storage.model import JobRun

SessionFactory = sessionmaker[Session]
MAX_ERROR = 500  # characters of the reason kept: one line, not a traceback


@dataclass(frozen=True)
class JobState:
    name: str
    holder: str
    started_at: datetime
    finished_at: datetime | None
    succeeded: bool | None  # None: running, or its process died while it ran
    error: str | None
    consecutive_failures: int
    last_success_at: datetime | None
    runs: int


def job_started(session_factory: SessionFactory, *, name: str, holder: str, now: datetime) -> None:
    with session_factory.begin() as session:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(module.insert(JobRun).values(name=name, holder=holder, started_at=now,
                                                     consecutive_failures=0, runs=0)
                        .on_conflict_do_nothing(index_elements=["name"]))
        run = session.get(JobRun, name)
        run.holder, run.started_at, run.finished_at, run.succeeded = holder, now, None, None
        run.runs += 1


def job_finished(session_factory: SessionFactory, *, name: str, now: datetime,
                 error: str | None = None) -> JobState | None:
    """Record the end of the run ``job_started`` began: a success, or a failure with its one-line reason (None:
    the run's start was never recorded, so neither is its end)."""
    with session_factory.begin() as session:
        run = session.get(JobRun, name)
        if run is None:
            return None
        run.finished_at, run.succeeded = now, error is None
        if error is None:
            run.error, run.consecutive_failures, run.last_success_at = None, 0, now
        else:
            run.error, run.consecutive_failures = error[:MAX_ERROR], run.consecutive_failures + 1
        session.flush()
        return _state(run)


def job_states(session_factory: SessionFactory) -> list[JobState]:
    with read_session(session_factory) as session:
        return [_state(run) for run in session.scalars(select(JobRun).order_by(JobRun.name))]


def _state(run: JobRun) -> JobState:
    return JobState(run.name, run.holder, run.started_at, run.finished_at, run.succeeded, run.error,
                    run.consecutive_failures, run.last_success_at, run.runs)
