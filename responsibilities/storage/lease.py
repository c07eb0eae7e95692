"""A lease row: one holder at a time for a named role (the embedded scheduler), across processes and machines.

Acquiring is a conditional UPDATE that succeeds only for the current holder or once the lease has expired,
so two processes can never both believe they hold it. The holder renews well before expiry; a holder that
dies stops renewing, and another takes over after ``ttl``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage.model import SchedulerLease

SCHEDULER = "scheduler"  # the embedded scheduler's lease: one per database


def acquire(session_factory: sessionmaker[Session], *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when ``holder`` holds it until ``now + ttl``."""
    with session_factory.begin() as session:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(module.insert(SchedulerLease).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
        taken = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name,
                   or_(SchedulerLease.holder == holder, SchedulerLease.holder.is_(None),
                       SchedulerLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl,
                    acquired_at=select(SchedulerLease.acquired_at).where(
                        SchedulerLease.name == name, SchedulerLease.holder == holder).scalar_subquery())
        ).rowcount
        if taken:
            session.execute(update(SchedulerLease)
                            .where(SchedulerLease.name == name, SchedulerLease.acquired_at.is_(None))
                            .values(acquired_at=now))
        return taken == 1


def release(session_factory: sessionmaker[Session], *, name: str, holder: str) -> None:
    """Give the lease up (on a clean shutdown), so a standby takes over at once rather than after ``ttl``."""
    with session_factory.begin() as session:
        session.execute(update(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
                        .values(holder=None, expires_at=None, acquired_at=None))


def holder_of(session_factory: sessionmaker[Session], *, name: str, now: datetime) -> str | None:
    with session_factory() as session:
        lease = session.get(SchedulerLease, name)
        if lease is None or lease.holder is None or lease.expires_at is None or lease.expires_at < now:
            return None
        return lease.holder
