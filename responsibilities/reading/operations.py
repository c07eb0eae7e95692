"""How the running system is doing, for an operator (/healthz) and the office (the dashboard): the database and its
schema, who holds the scheduler lease, each job's last run, the outbox's queue, and a mail server that is away.

Nothing here names a person, a unit or an address: /healthz answers without sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage import migrate
from responsibilities.storage.db import read_session
from responsibilities.storage.job_runs import JobState, job_states
from responsibilities.storage.lease import SCHEDULER
from responsibilities.storage.model import ChannelStatus, Notice, SchedulerLease

SessionFactory = sessionmaker[Session]
FAILING_AFTER = 3  # consecutive failures of one job that make the system "failing" (HTTP 503 on /healthz)


@dataclass
class Operations:
    database_reachable: bool
    database_error: str | None = None
    schema: str | None = None
    schema_current: bool = False
    scheduler_holder: str | None = None
    scheduler_lease_expires_at: datetime | None = None
    jobs: list[JobState] = field(default_factory=list)
    notices: dict[str, int] = field(default_factory=dict)  # pending, sending, failed
    outages: list[ChannelStatus] = field(default_factory=list)

    @property
    def failing_jobs(self) -> list[JobState]:
        return [j for j in self.jobs if j.consecutive_failures >= FAILING_AFTER]

    @property
    def status(self) -> str:
        """ok; degraded (a job's last run failed, a server is away); failing (no database, an old schema, a job
        that keeps failing): what a load balancer or a monitor reads."""
        if not self.database_reachable or not self.schema_current or self.failing_jobs:
            return "failing"
        if self.outages or any(j.succeeded is False for j in self.jobs):
            return "degraded"
        return "ok"


def operations(engine: Engine, session_factory: SessionFactory, *, now: datetime) -> Operations:
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as error:
        return Operations(database_reachable=False, database_error=type(error.orig or error).__name__)
    status = Operations(database_reachable=True, schema=revision, schema_current=revision == migrate.HEAD)
    if not status.schema_current:
        return status
    status.jobs = job_states(session_factory)
    with read_session(session_factory) as session:
        _read_lease(session, status, now)
        status.notices = dict(session.execute(
            select(Notice.status, func.count()).where(Notice.status.in_(("pending", "sending", "failed")))
            .group_by(Notice.status)).all())
        status.outages = list(session.scalars(select(ChannelStatus).order_by(ChannelStatus.channel)))
        session.expunge_all()
    return status


def _read_lease(session: Session, status: Operations, now: datetime) -> None:
    lease = session.get(SchedulerLease, SCHEDULER)
    if lease is not None and lease.holder and lease.expires_at and lease.expires_at >= now:
        status.scheduler_holder, status.scheduler_lease_expires_at = lease.holder, lease.expires_at
