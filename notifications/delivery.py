"""Delivery: claim pending notices, render them, send them through a transport, record what happened.

Like healthchecks' Flip processing: a notice is claimed with a conditional UPDATE (only rows still pending,
or whose claim has gone stale, change hands), so several deliverers at once never send one notice twice
in the normal course. A deliverer that dies after claiming leaves the row "sending"; once the lease has
passed, another deliverer takes it over. Each message renews the claim first and goes out only if the claim
is still this deliverer's, so one that stalled past its lease sends nothing. The one window for a duplicate
is a crash after the server accepted the message and before the outcome was recorded: the resend carries
the same Message-ID, so it is recognisably the same message.

Temporary failures (4xx, disconnects, timeouts) retry with exponential backoff and jitter up to a limit;
permanent ones (5xx, no address) stop and are kept, with the server's reply, for the office to see.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Update, and_, bindparam, event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notifications.messages import Message, NoRecipients, render_notice
from notifications.transports import ConnectionFailure, PermanentFailure, TemporaryFailure, Transport
from responsibilities.db import read_session
from responsibilities.model import Notice, PlanRecord

SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class DeliverySettings:
    base_url: str
    sender: str
    batch_size: int = 100
    max_attempts: int = 8  # 1 min, 2, 4 … 64 min: about two hours of trying before the office is told
    first_backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=10)  # a claim older than this belonged to a deliverer that died


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    refused_recipients: int = 0
    server_unreachable: bool = False  # the batch could not reach the server: later batches wait for the next run
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DeliveryReport") -> None:
        for name in ("claimed", "sent", "retrying", "failed", "refused_recipients"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.server_unreachable = self.server_unreachable or other.server_unreachable
        self.errors += other.errors


def _claimable(now: datetime, lease: timedelta):  # noqa: ANN202 - a SQL condition
    return or_(
        and_(Notice.status == "pending", or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= now)),
        and_(Notice.status == "sending", Notice.claimed_at < now - lease),
    )


def claim(session_factory: SessionFactory, *, now: datetime, limit: int, lease: timedelta,
          max_attempts: int | None = None) -> tuple[str, list[int]]:
    """Take up to ``limit`` notices for this deliverer; returns its claim token and the notice ids.

    A notice whose deliverers keep dying while holding it (``max_attempts`` claims that never recorded an
    outcome) is given up as failed rather than claimed forever.
    """
    token = uuid.uuid4().hex
    with session_factory.begin() as session:
        if max_attempts is not None:
            session.execute(update(Notice).where(
                Notice.status == "sending", Notice.claimed_at < now - lease, Notice.attempts >= max_attempts,
            ).values(status="failed", last_error=f"abandoned: its deliverer stopped without an outcome {max_attempts} times"))
        candidates = select(Notice.id).where(_claimable(now, lease)).order_by(Notice.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(session.scalars(candidates))
        if not ids:
            return token, []
        # Conditional: a row another deliverer claimed in the meantime no longer matches and is left alone.
        session.execute(update(Notice).where(Notice.id.in_(ids), _claimable(now, lease)).values(
            status="sending", claimed_by=token, claimed_at=now, attempts=Notice.attempts + 1))
        claimed = list(session.scalars(select(Notice.id).where(Notice.claimed_by == token, Notice.status == "sending")))
        return token, claimed


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


def _record(session_factory: SessionFactory, notice_id: int, token: str, **values) -> bool:
    """Record an outcome, only if the claim is still ours (a stale deliverer must not overwrite a newer one).

    One transaction per call, on purpose: recording right after each message is what keeps the duplicate window
    to one message if the deliverer dies mid-batch."""
    with session_factory.begin() as session:
        result = session.connection().execute(_record_statement(tuple(sorted(values))),
                                              {"_notice_id": notice_id, "_token": token, **values})
        return result.rowcount == 1


def _clock(now: datetime) -> Callable[[], datetime]:
    """``now`` moved on by the real time elapsed since: a long run claims, renews and records at the time it does so."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def backoff(attempts: int, settings: DeliverySettings, rng: random.Random) -> timedelta:
    """Exponential backoff with ±20% jitter, so that retries after an outage do not all arrive at once."""
    delay = min(settings.first_backoff * (2 ** max(attempts - 1, 0)), settings.max_backoff)
    return delay * rng.uniform(0.8, 1.2)


def _render_all(session_factory: SessionFactory, ids: list[int], settings: DeliverySettings, today: date,
                ) -> list[tuple[int, int, Message | Exception]]:
    out = []
    with read_session(session_factory) as session:
        # The session's identity map holds objects weakly: a unit, obligation or deliverable loaded for one notice
        # is gone by the next, and session.get() goes back to the database for it. Keeping every object loaded
        # during the batch alive (nothing is written in this session) makes those repeat look-ups free: ~40% of
        # rendering time (benchmarks/README.md, "Delivery").
        loaded: list[object] = []
        event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
        for notice in session.scalars(select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id)):
            try:
                message = render_notice(session, notice, base_url=settings.base_url, sender=settings.sender, today=today)
            except NoRecipients as missing:
                message = missing
            except SQLAlchemyError:
                raise  # the database's trouble, not this notice's: the batch waits for its lease
            except Exception as error:  # noqa: BLE001 - one notice that cannot be rendered must not hold up its batch
                message = error
            out.append((notice.id, notice.attempts, message))
    return out


async def deliver_claimed(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings,
                          token: str, ids: list[int], *, now: datetime, rng: random.Random) -> DeliveryReport:
    report = DeliveryReport(claimed=len(ids))
    with read_session(session_factory) as session:
        plan = session.scalars(select(PlanRecord)).first()
        today = now.astimezone(ZoneInfo(plan.time_zone)).date() if plan else now.date()
    pending = _render_all(session_factory, ids, settings, today)
    clock = _clock(now)
    try:
        async with transport:
            while pending:
                notice_id, attempts, message = pending[0]
                await _send_one(session_factory, transport, settings, token, notice_id, attempts, message,
                                now=clock(), rng=rng, report=report)
                pending.pop(0)
    except (TemporaryFailure, PermanentFailure) as failure:
        # The connection itself failed (server down, refused login): every notice not yet sent waits and retries.
        report.server_unreachable = isinstance(failure, ConnectionFailure)
        for notice_id, attempts, _ in pending:
            _retry_or_fail(session_factory, settings, token, notice_id, attempts, failure.reply, now=clock(), rng=rng,
                           report=report)
    return report


async def _send_one(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, token: str,
                    notice_id: int, attempts: int, message: Message | Exception, *, now: datetime,
                    rng: random.Random, report: DeliveryReport) -> None:
    if isinstance(message, Exception):
        reason = "no recipient address" if isinstance(message, NoRecipients) else "cannot render"
        _record(session_factory, notice_id, token, status="failed", last_error=f"{reason}: {message}")
        report.failed += 1
        return
    # Renew the claim, and send only if it is still ours: a deliverer that stalled past its lease must not send
    # what another has taken over. The one duplicate left is a crash between the server's 250 and _record.
    if not _record(session_factory, notice_id, token, claimed_at=now):
        return
    try:
        wire = message.as_bytes(date=now)
    except ValueError as error:  # a header that cannot go on the wire (an address with a line break, not ASCII)
        _record(session_factory, notice_id, token, status="failed", last_error=f"cannot send: {error}")
        report.failed += 1
        return
    try:
        result = await transport.send(wire, sender=message.sender, recipients=list(message.to))
    except ConnectionFailure:
        raise  # the server is not there: the rest of the batch waits too, without trying each message in turn
    except TemporaryFailure as failure:
        _retry_or_fail(session_factory, settings, token, notice_id, attempts, failure.reply, now=now, rng=rng,
                       report=report)
        return
    except PermanentFailure as failure:
        _record(session_factory, notice_id, token, status="failed", last_error=failure.reply)
        report.failed += 1
        return
    if _record(session_factory, notice_id, token, status="sent", sent_at=now, message_id=message.message_id,
               recipients=list(result.accepted), refused=result.refused or None, last_error=None):
        report.sent += 1
        report.refused_recipients += len(result.refused)


def _retry_or_fail(session_factory: SessionFactory, settings: DeliverySettings, token: str, notice_id: int,
                   attempts: int, reply: str, *, now: datetime, rng: random.Random, report: DeliveryReport) -> None:
    give_up = attempts >= settings.max_attempts
    _record(session_factory, notice_id, token, status="failed" if give_up else "pending",
            next_attempt_at=None if give_up else now + backoff(attempts, settings, rng),
            last_error=f"{reply} (attempt {attempts})")
    report.failed += give_up
    report.retrying += not give_up


async def deliver_async(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, *,
                        now: datetime, rng: random.Random | None = None,
                        max_batches: int | None = None) -> DeliveryReport:
    """Deliver everything claimable now, batch by batch (one connection per batch)."""
    rng = rng or random.Random()
    clock = _clock(now)
    total = DeliveryReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        batch_now = clock()  # not the run's start: a late batch's claim must not look stale the moment it is made
        token, ids = claim(session_factory, now=batch_now, limit=settings.batch_size, lease=settings.lease,
                           max_attempts=settings.max_attempts)
        if not ids:
            break
        total.add(await deliver_claimed(session_factory, transport, settings, token, ids, now=batch_now, rng=rng))
        batches += 1
        if total.server_unreachable:
            break  # no use trying the next batch against a server that is not there
    return total


def deliver(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, *, now: datetime,
            rng: random.Random | None = None, max_batches: int | None = None) -> DeliveryReport:
    """The synchronous entry point: ``deliver_async`` in its own event loop."""
    return asyncio.run(deliver_async(session_factory, transport, settings, now=now, rng=rng, max_batches=max_batches))
