"""Delivery: claim due notices, render them, send them through a transport, record what happened.

The claims and the records are the outbox's (notifications/outbox.py). What delivery decides:

- **The server, not the notice.** A server that cannot be reached (refused, silent, dropped, a greeting or login
  it refuses) stops the run: the notices claimed and not yet sent go back to the queue untried and at no cost,
  and the run is not tried again before a wait that doubles from one minute up to ten (``channel_status``). A
  four-hour outage costs no notice anything; once the server is back, everything goes out.
- **Each recipient on its own.** Addresses that accepted a notice are kept and never sent it again. A temporary
  refusal of some recipients (a 450 from greylisting) sends to the others now and retries those alone, later,
  under the same Message-ID; a permanent refusal (5xx) is kept with the server's reply and listed for the office.
- **A time limit, not a count.** A notice's own temporary failures (a 4xx to its MAIL FROM or DATA) retry with
  exponential backoff and jitter; it fails for good on a permanent answer, or when its first real attempt is
  older than ``give_up_after`` (48 hours).
- **Claims that follow their deliverer.** A claim lasts a minute and is renewed every 15 s while the deliverer
  lives, so a dead deliverer's notices move on within about a minute. A deliverer that could not renew stops
  sending: what it still holds may already be another's. The one duplicate left is a crash between the server's
  250 and the record; the resend carries the same Message-ID.
- **Stopping is prompt.** ``deliver(stop=…)`` cancels the run when the event is set, even mid-conversation with
  a server that does not answer; what was claimed and not recorded goes back to the queue.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notifications import outbox
from notifications.messages import Message, NoRecipients, render_notice
from notifications.transports import ConnectionFailure, PermanentFailure, SendResult, TemporaryFailure, Transport
from responsibilities.storage.db import read_session
from responsibilities.storage.model import Notice
from responsibilities.storage.plans import loaded_plan

SessionFactory = sessionmaker[Session]

# Re-exported: the tests and the benchmarks claim by hand.
claim = outbox.claim


CLAIM_LEASE = timedelta(seconds=60)  # a claim not renewed for this long belonged to a deliverer that died


@dataclass(frozen=True)
class DeliverySettings:
    base_url: str
    sender: str
    channel: str = "email"
    batch_size: int = 100
    give_up_after: timedelta = timedelta(hours=48)  # counted from a notice's first real attempt
    first_backoff: timedelta = timedelta(minutes=1)  # a notice's own retries: 1, 2, 4 … minutes
    max_backoff: timedelta = timedelta(hours=2)
    lease: timedelta = CLAIM_LEASE
    max_lapsed_claims: int = 5
    first_server_wait: timedelta = timedelta(minutes=1)  # a server that could not be reached: 1, 2, 4, 8, 10 minutes
    max_server_wait: timedelta = timedelta(minutes=10)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0  # notices that reached at least one new recipient
    retrying: int = 0  # notices waiting for another try (their own failure, or recipients deferred)
    failed: int = 0
    refused_recipients: int = 0
    deferred_recipients: int = 0
    released: int = 0  # claimed, then handed back untried (the server was away, or the run stopped)
    server_unreachable: bool = False
    server_error: str | None = None
    retry_server_at: datetime | None = None  # when delivery tries the unreachable server again
    stopped: bool = False  # the run was cancelled (duban serve stopping)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Claimed:
    """A claimed notice as delivery needs it: its bookkeeping, and its message (or why it has none)."""

    id: int
    attempts: int
    first_attempt_at: datetime | None
    sent_at: datetime | None
    accepted: tuple[str, ...]
    refused: dict[str, str]
    message: Message | Exception


def _clock(now: datetime) -> Callable[[], datetime]:
    """``now`` moved on by the real time elapsed since: a long run claims, renews and records at the time it does so."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def backoff(attempts: int, settings: DeliverySettings, rng: random.Random) -> timedelta:
    """Exponential backoff with ±20% jitter, so that retries after an outage do not all arrive at once."""
    delay = min(settings.first_backoff * (2 ** max(attempts - 1, 0)), settings.max_backoff)
    return delay * rng.uniform(0.8, 1.2)


def _render_all(session_factory: SessionFactory, token: str, ids: list[int], settings: DeliverySettings,
                today: date) -> list[Claimed]:
    """The notices of ``ids`` this deliverer still holds, with their messages."""
    out = []
    with read_session(session_factory) as session:
        # The session's identity map holds objects weakly: a unit, obligation or deliverable loaded for one notice
        # is gone by the next, and session.get() goes back to the database for it. Keeping every object loaded
        # during the batch alive (nothing is written in this session) makes those repeat look-ups free: ~40% of
        # rendering time (benchmarks/README.md, "Delivery").
        loaded: list[object] = []
        event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
        held = select(Notice).where(Notice.id.in_(ids), Notice.claimed_by == token, Notice.status == "sending")
        for notice in session.scalars(held.order_by(Notice.id)):
            try:
                message = render_notice(session, notice, base_url=settings.base_url, sender=settings.sender,
                                        today=today)
            except NoRecipients as missing:
                message = missing
            except SQLAlchemyError:
                raise  # the database's trouble, not this notice's: the batch goes back to the queue
            except Exception as error:  # noqa: BLE001 - one notice that cannot be rendered must not hold up its batch
                message = error
            out.append(Claimed(notice.id, notice.attempts, notice.first_attempt_at, notice.sent_at,
                               tuple(notice.recipients or ()), dict(notice.refused or {}), message))
    return out


class ClaimKeeper:
    """Renews a batch's claims every quarter of the lease while the batch is being sent, and says whether they
    are still surely ours: a claim not renewed for three quarters of the lease may be taken over any moment."""

    def __init__(self, session_factory: SessionFactory, token: str, lease: timedelta, clock: Callable[[], datetime]):
        self.session_factory, self.token, self.clock = session_factory, token, clock
        self.lease = lease.total_seconds()
        self.renewed = time.monotonic()

    def holds(self) -> bool:
        return time.monotonic() - self.renewed < self.lease * 0.75

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 4)
            try:
                outbox.renew(self.session_factory, self.token, self.clock())
            except SQLAlchemyError:
                continue  # not renewed: holds() turns False in time, and the batch stops sending
            self.renewed = time.monotonic()

    @asynccontextmanager
    async def kept(self):
        renewing = asyncio.ensure_future(self._renew_forever())
        try:
            yield self
        finally:
            renewing.cancel()


async def deliver_claimed(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings,
                          token: str, ids: list[int], *, now: datetime, rng: random.Random,
                          report: DeliveryReport | None = None) -> DeliveryReport:
    """Send one claimed batch over one connection. Whatever is left unsent when it ends (the server went away,
    the claim could not be kept, the run was cancelled) goes back to the queue untried."""
    report = report if report is not None else DeliveryReport()
    report.claimed += len(ids)
    clock = _clock(now)
    unsent = list(ids)
    try:
        # A deliverer that stalled between its claim and here (past the lease) may have lost some notices to
        # another: renew what is still ours and send only that.
        outbox.renew(session_factory, token, clock())
        batch = _render_all(session_factory, token, ids, settings, _plan_today(session_factory, now))
        keeper = ClaimKeeper(session_factory, token, settings.lease, clock)
        async with keeper.kept(), transport:
            for notice in batch:
                if not keeper.holds():
                    report.errors.append("the claim could not be renewed in time: the rest of the batch waits")
                    break
                await _send_one(session_factory, transport, settings, token, notice, now=clock(), rng=rng,
                                report=report)
                unsent.remove(notice.id)
    except ConnectionFailure as failure:
        report.server_unreachable, report.server_error = True, failure.reply
    finally:
        report.released += outbox.release(session_factory, token, unsent)
    return report


def _plan_today(session_factory: SessionFactory, now: datetime) -> date:
    with read_session(session_factory) as session:
        plan = loaded_plan(session)
        return plan.today(now) if plan is not None else now.date()


async def _send_one(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, token: str,
                    notice: Claimed, *, now: datetime, rng: random.Random, report: DeliveryReport) -> None:
    message = notice.message
    if isinstance(message, Exception):
        reason = "no recipient address" if isinstance(message, NoRecipients) else "cannot render"
        _fail(session_factory, token, notice, f"{reason}: {message}", report=report)
        return
    to = [a for a in message.to if a not in notice.accepted and a not in notice.refused]
    if not to:  # every address has had it, or refused it for good: nothing left to send
        _finish(session_factory, settings, token, notice, SendResult(accepted=()), message, now=now, rng=rng,
                report=report)
        return
    try:
        wire = message.as_bytes(date=now)
    except ValueError as error:  # a header that cannot go on the wire (an address with a line break, not ASCII)
        _fail(session_factory, token, notice, f"cannot send: {error}", report=report)
        return
    try:
        result = await transport.send(wire, sender=message.sender, recipients=to)
    except ConnectionFailure:
        raise  # the server is not there: the rest of the batch waits too, without trying each message in turn
    except TemporaryFailure as failure:
        _retry_or_fail(session_factory, settings, token, notice, failure.reply, now=now, rng=rng, report=report)
        return
    except PermanentFailure as failure:
        _fail(session_factory, token, notice, failure.reply, report=report, tried_at=now)
        return
    _finish(session_factory, settings, token, notice, result, message, now=now, rng=rng, report=report)


def _tried(notice: Claimed, now: datetime) -> dict:
    return {"attempts": notice.attempts + 1, "first_attempt_at": notice.first_attempt_at or now}


def _fail(session_factory: SessionFactory, token: str, notice: Claimed, reason: str, *, report: DeliveryReport,
          tried_at: datetime | None = None) -> None:
    values = _tried(notice, tried_at) if tried_at else {}
    if outbox.record(session_factory, notice.id, token, status="failed", next_attempt_at=None, last_error=reason,
                     **values):
        report.failed += 1


def _gave_up(notice: Claimed, settings: DeliverySettings, now: datetime) -> bool:
    return notice.first_attempt_at is not None and now - notice.first_attempt_at >= settings.give_up_after


def _retry_or_fail(session_factory: SessionFactory, settings: DeliverySettings, token: str, notice: Claimed,
                   reply: str, *, now: datetime, rng: random.Random, report: DeliveryReport) -> None:
    if _gave_up(notice, settings, now):
        _fail(session_factory, token, notice, f"{reply} (gave up: still failing {_hours(settings)} h after the "
              f"first attempt)", report=report, tried_at=now)
        return
    tried = _tried(notice, now)
    if outbox.record(session_factory, notice.id, token, status="pending", claimed_by=None,
                     next_attempt_at=now + backoff(tried["attempts"], settings, rng),
                     last_error=f"{reply} (attempt {tried['attempts']})", **tried):
        report.retrying += 1


def _hours(settings: DeliverySettings) -> int:
    return int(settings.give_up_after.total_seconds() // 3600)


def _finish(session_factory: SessionFactory, settings: DeliverySettings, token: str, notice: Claimed,
            result: SendResult, message: Message, *, now: datetime, rng: random.Random, report: DeliveryReport) -> None:
    """Record what each recipient did: the accepted ones are kept (never sent it again), the refused ones with the
    server's reply; deferred ones keep the notice waiting for them alone, until the time limit."""
    accepted = list(notice.accepted) + [a for a in result.accepted if a not in notice.accepted]
    refused = {**notice.refused, **result.refused}
    deferred = dict(result.deferred)
    tried = _tried(notice, now) if (result.accepted or result.refused or deferred) else {}
    if deferred and _gave_up(notice, settings, now):
        refused |= {a: f"{reply} (gave up after {_hours(settings)} h)" for a, reply in deferred.items()}
        deferred = {}
    values = {"recipients": accepted or None, "refused": refused or None, "message_id": message.message_id,
              "sent_at": notice.sent_at or (now if result.accepted else None), **tried}
    if deferred:
        values |= {"status": "pending", "claimed_by": None,
                   "next_attempt_at": now + backoff(tried.get("attempts", 1), settings, rng),
                   "last_error": "deferred: " + "; ".join(f"{a}: {r}" for a, r in deferred.items())}
    elif accepted:
        values |= {"status": "sent", "next_attempt_at": None, "last_error": None}
    else:
        values |= {"status": "failed", "next_attempt_at": None,
                   "last_error": "every recipient refused: " + "; ".join(f"{a}: {r}" for a, r in refused.items())}
    if not outbox.record(session_factory, notice.id, token, **values):
        return
    report.sent += bool(result.accepted)
    report.retrying += bool(deferred)
    report.failed += values["status"] == "failed"
    report.refused_recipients += len(result.refused)
    report.deferred_recipients += len(deferred)


def transport_target(transport: Transport) -> str:
    """Which server a transport reaches, without secrets: an outage is recorded against it."""
    return getattr(transport, "target", type(transport).__name__)


async def deliver_async(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, *,
                        now: datetime, rng: random.Random | None = None, max_batches: int | None = None,
                        report: DeliveryReport | None = None) -> DeliveryReport:
    """Deliver everything due now, batch by batch (one connection per batch), unless the server is known to be away."""
    rng = rng or random.Random()
    report = report if report is not None else DeliveryReport()
    target = transport_target(transport)
    outage = outbox.waiting_for_server(session_factory, channel=settings.channel, target=target, now=now)
    if outage is not None:
        report.server_unreachable, report.server_error, report.retry_server_at = (
            True, outage.last_error, outage.retry_at)
        return report
    clock = _clock(now)
    batches = 0
    while max_batches is None or batches < max_batches:
        batch_now = clock()  # not the run's start: a late batch's claim must not look stale the moment it is made
        token, ids = outbox.claim(session_factory, now=batch_now, limit=settings.batch_size, lease=settings.lease,
                                  max_lapsed_claims=settings.max_lapsed_claims)
        if not ids:
            break
        await deliver_claimed(session_factory, transport, settings, token, ids, now=batch_now, rng=rng, report=report)
        batches += 1
        if report.server_unreachable:
            outage = outbox.server_unreachable(
                session_factory, channel=settings.channel, target=target, now=clock(), reply=report.server_error or "",
                first_wait=settings.first_server_wait, max_wait=settings.max_server_wait)
            report.retry_server_at = outage.retry_at
            break  # no use trying the next batch against a server that is not there
        outbox.server_reachable(session_factory, channel=settings.channel)
    return report


def deliver(session_factory: SessionFactory, transport: Transport, settings: DeliverySettings, *, now: datetime,
            rng: random.Random | None = None, max_batches: int | None = None,
            stop: threading.Event | None = None) -> DeliveryReport:
    """The synchronous entry point: ``deliver_async`` in its own event loop, cancelled as soon as ``stop`` is set."""
    report = DeliveryReport()
    asyncio.run(_until_stopped(deliver_async(session_factory, transport, settings, now=now, rng=rng,
                                             max_batches=max_batches, report=report), stop, report))
    return report


async def _until_stopped(work, stop: threading.Event | None, report: DeliveryReport) -> None:
    task = asyncio.ensure_future(work)
    if stop is None:
        await task
        return
    while not task.done():
        if stop.is_set():
            task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if task.cancelled():
        report.stopped = True
    else:
        task.result()
