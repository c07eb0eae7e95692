"""The outbox's bookkeeping: claiming notices, keeping and giving up claims, recording outcomes, and the record of
a server that could not be reached. Delivery (notifications/delivery.py) decides; this module only writes.

Like healthchecks' Flip processing: a notice is claimed with a conditional UPDATE (only rows still pending and
due change hands), so several deliverers at once never send one notice twice in the normal course. A claim is
kept alive by its deliverer (``renew``, every quarter of the lease) and lapses when the deliverer dies; the next
claim hands a lapsed notice back to the queue and counts the lapse, and a notice whose deliverers keep dying is
given up rather than claimed forever.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Update, bindparam, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage.db import read_session
from responsibilities.storage.model import ChannelStatus, Notice

SessionFactory = sessionmaker[Session]


def new_claim_token() -> str:
    """Who claims: ``host:pid:random``, so that `duban notices --sending` can say which process holds a notice."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(session_factory: SessionFactory, *, now: datetime, limit: int, lease: timedelta,
          max_lapsed_claims: int = 5) -> tuple[str, list[int]]:
    """Take up to ``limit`` due notices for this deliverer; returns its claim token and the notice ids."""
    token = new_claim_token()
    with session_factory.begin() as session:
        _requeue_lapsed(session, now=now, lease=lease, max_lapsed_claims=max_lapsed_claims)
        due = (Notice.status == "pending") & (Notice.next_attempt_at.is_(None) | (Notice.next_attempt_at <= now))
        candidates = select(Notice.id).where(due).order_by(Notice.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(session.scalars(candidates))
        if not ids:
            return token, []
        # Conditional: a row another deliverer claimed in the meantime no longer matches and is left alone.
        session.execute(update(Notice).where(Notice.id.in_(ids), due).values(
            status="sending", claimed_by=token, claimed_at=now))
        claimed = list(session.scalars(select(Notice.id).where(Notice.claimed_by == token, Notice.status == "sending")))
        return token, claimed


def _requeue_lapsed(session: Session, *, now: datetime, lease: timedelta, max_lapsed_claims: int) -> None:
    """Claims not renewed within ``lease`` belonged to a deliverer that died: back to the queue, the lapse counted
    (not as an attempt: the server may never have seen the message); after ``max_lapsed_claims`` lapses, failed."""
    lapsed = (Notice.status == "sending") & (Notice.claimed_at < now - lease)
    session.execute(update(Notice).where(lapsed, Notice.lapsed_claims >= max_lapsed_claims - 1).values(
        status="failed", claimed_by=None, lapsed_claims=Notice.lapsed_claims + 1,
        last_error=f"abandoned: its deliverer stopped without an outcome {max_lapsed_claims} times"))
    session.execute(update(Notice).where(lapsed).values(
        status="pending", claimed_by=None, lapsed_claims=Notice.lapsed_claims + 1))


def renew(session_factory: SessionFactory, token: str, now: datetime) -> int:
    """Keep this deliverer's claims alive; returns how many it still holds."""
    with session_factory.begin() as session:
        return session.execute(update(Notice).where(Notice.claimed_by == token, Notice.status == "sending")
                               .values(claimed_at=now)).rowcount


def release(session_factory: SessionFactory, token: str, ids: list[int]) -> int:
    """Hand claimed notices back, untried and at no cost to them (the run stopped, or the server was away)."""
    if not ids:
        return 0
    with session_factory.begin() as session:
        return session.execute(update(Notice).where(Notice.id.in_(ids), Notice.claimed_by == token,
                                                    Notice.status == "sending")
                               .values(status="pending", claimed_by=None, claimed_at=None)).rowcount


@lru_cache(maxsize=None)
def _record_statement(columns: tuple[str, ...]) -> Update:
    """The conditional UPDATE for one set of columns, built once with bound parameters (a handful of sets exist).

    Built per call through the ORM, this UPDATE cost ~1.2 ms of Python per message, against ~0.05 ms for SQLite to
    run it; executed as Core on the session's connection it costs ~0.3 ms (benchmarks/README.md, "Delivery")."""
    table = Notice.__table__
    return (update(table)
            .where(table.c.id == bindparam("_notice_id"), table.c.claimed_by == bindparam("_token"),
                   table.c.status == "sending")
            .values({name: bindparam(name, type_=table.c[name].type) for name in columns}))


def record(session_factory: SessionFactory, notice_id: int, token: str, **values) -> bool:
    """Record an outcome, only if the claim is still ours (a stale deliverer must not overwrite a newer one).

    One transaction per message, on purpose: recording right after each message is what keeps the duplicate window
    to one message if the deliverer dies mid-batch."""
    with session_factory.begin() as session:
        result = session.connection().execute(_record_statement(tuple(sorted(values))),
                                              {"_notice_id": notice_id, "_token": token, **values})
        return result.rowcount == 1


# ── a server that could not be reached ──────────────────────────────────────────────────────────


def waiting_for_server(session_factory: SessionFactory, *, channel: str, target: str,
                       now: datetime) -> ChannelStatus | None:
    """The recorded outage of this channel's server, while delivery should still leave it alone."""
    with read_session(session_factory) as session:
        outage = session.get(ChannelStatus, channel)
        return outage if outage is not None and outage.target == target and outage.retry_at > now else None


def server_unreachable(session_factory: SessionFactory, *, channel: str, target: str, now: datetime, reply: str,
                       first_wait: timedelta, max_wait: timedelta) -> ChannelStatus:
    """Note that the server could not be reached; the wait before the next try doubles up to ``max_wait``."""
    with session_factory.begin() as session:
        outage = session.get(ChannelStatus, channel, with_for_update=True)
        if outage is None or outage.target != target:
            if outage is not None:
                session.delete(outage)
                session.flush()
            outage = ChannelStatus(channel=channel, target=target, unreachable_since=now, failures=0)
            session.add(outage)
        outage.failures += 1
        outage.retry_at = now + min(first_wait * 2 ** (outage.failures - 1), max_wait)
        outage.last_error = reply[:1000]
        return outage


def server_reachable(session_factory: SessionFactory, *, channel: str) -> None:
    with session_factory.begin() as session:
        session.execute(delete(ChannelStatus).where(ChannelStatus.channel == channel))
