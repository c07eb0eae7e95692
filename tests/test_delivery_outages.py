"""Delivery riding out what real mail servers do: long outages, greylisting, refusals for good, a server that never
answers, deliverers that die or stop, and the office sending failed notices again. Real aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from notifications.delivery import DeliverySettings, deliver
from notifications.transports import SmtpSettings, SmtpTransport
from responsibilities.errors import IllegalTransition, NotAllowed, NotFound
from responsibilities.reading.queries import notices
from responsibilities.storage.model import AuditRecord, ChannelStatus, UnitRecord
from responsibilities.tracking import services

from conftest import OFFICE, SHANGHAI, at
from smtp_server import SilentServer, TestSmtpServer, smtp_server  # noqa: F401 - the fixture
from test_delivery import (
    NOW,
    SENDER,
    SETTINGS,
    deliverable_id,
    deliverer,
    keep_only,
    received_ids,
    report_of,
    row,
    rows,
    smtp,
    write_notices,
)

pytestmark = pytest.mark.both_databases


def two_addresses(session_factory, unit: str, first: str, second: str) -> None:
    with session_factory.begin() as session:
        session.execute(update(UnitRecord).where(UnitRecord.id == unit).values(emails=[first, second]))


def one_chase_to(session_factory, *addresses: str):  # a Notice
    """The notices of 28 October 2019 reduced to one chase of hrss-1, to hrss at ``addresses``."""
    write_notices(session_factory, date(2019, 10, 28))
    notice = keep_only(session_factory, f"chase:{deliverable_id(session_factory, 'hrss-1')}:3")
    if len(addresses) == 2:
        two_addresses(session_factory, "hrss", *addresses)
    return notice


def outage(session_factory) -> ChannelStatus | None:
    with session_factory() as session:
        return session.get(ChannelStatus, "email")


# ── a server that is away ────────────────────────────────────────────────────────────────────────


def test_a_four_hour_outage_costs_no_notice_an_attempt_and_once_the_server_is_back_each_is_delivered_once(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 11, 15))
    smtp_server.stop()
    start, tries = at(2019, 11, 15, 9), 0
    for minute in range(0, 4 * 60, 1):  # the scheduler fires delivery every minute for four hours
        report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=start + timedelta(minutes=minute))
        assert report.server_unreachable and report.sent == report.failed == report.retrying == 0
        tries += bool(report.released)
    # The server was tried at widening intervals (1, 2, 4, 8, then every 10 minutes), not every minute.
    assert 20 <= tries <= 30
    assert {(n.status, n.attempts, n.first_attempt_at) for n in rows(session_factory)} == {("pending", 0, None)}
    down = outage(session_factory)
    assert abs(down.unreachable_since - start) < timedelta(seconds=5)  # the first run, give or take its own time
    assert down.failures == tries and "connect" in down.last_error.lower()

    smtp_server.start()
    back, minute = start + timedelta(hours=4), 0
    while deliver(session_factory, smtp(smtp_server), SETTINGS, now=back + timedelta(minutes=minute)).sent == 0:
        minute += 1
    assert minute <= SETTINGS.max_server_wait.total_seconds() / 60  # at most one wait after the server is back
    assert {(n.status, n.attempts) for n in rows(session_factory)} == {("sent", 1)}
    assert len(smtp_server.messages) == total and set(received_ids(smtp_server).values()) == {1}
    assert outage(session_factory) is None


def test_a_different_server_configured_during_an_outage_is_tried_at_once(loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    with TestSmtpServer() as old_server:
        old_server.stop()
        assert deliver(session_factory, smtp(old_server), SETTINGS, now=NOW).server_unreachable
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(seconds=10))
    assert report.sent == total and outage(session_factory) is None


def test_a_server_that_never_answers_is_given_up_on_within_its_timeout_and_costs_no_attempts(
        loaded, session_factory):
    write_notices(session_factory, date(2019, 10, 28))
    with SilentServer() as silent:
        transport = SmtpTransport(SmtpSettings.from_url(silent.url(SENDER) + "&timeout=0.5"))
        started = time.monotonic()
        report = deliver(session_factory, transport, SETTINGS, now=NOW)
        assert time.monotonic() - started < 5
    assert report.server_unreachable and "timed out" in report.server_error
    assert {(n.status, n.attempts) for n in rows(session_factory)} == {("pending", 0)}


# ── each recipient on its own ────────────────────────────────────────────────────────────────────


def test_a_greylisted_recipient_gets_the_message_later_under_the_same_message_id_and_the_other_only_once(
        loaded, session_factory, smtp_server):
    notice = one_chase_to(session_factory, "hrss@guigang.example", "hrss-office@guigang.example")
    smtp_server.greylist = {"hrss-office@guigang.example": "450 4.7.1 greylisted, try again later"}

    first = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW, rng=random.Random(1))
    assert (first.sent, first.retrying, first.deferred_recipients) == (1, 1, 1)
    waiting = row(session_factory, notice.dedupe_key)
    assert (waiting.status, waiting.recipients) == ("pending", ["hrss@guigang.example"])
    assert waiting.last_error == "deferred: hrss-office@guigang.example: 450 4.7.1 greylisted, try again later"

    later = deliver(session_factory, smtp(smtp_server), SETTINGS, now=waiting.next_attempt_at, rng=random.Random(1))
    assert (later.sent, later.retrying) == (1, 0)
    done = row(session_factory, notice.dedupe_key)
    assert (done.status, done.attempts, done.last_error) == ("sent", 2, None)
    assert done.recipients == ["hrss@guigang.example", "hrss-office@guigang.example"]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["hrss@guigang.example"], ["hrss-office@guigang.example"]]
    assert received_ids(smtp_server) == Counter({done.message_id: 2})  # one message, the same Message-ID each time


def test_a_recipient_refused_for_good_is_listed_among_the_failures_with_the_servers_reply(
        loaded, session_factory, smtp_server):
    notice = one_chase_to(session_factory, "hrss@guigang.example", "gone@guigang.example")
    smtp_server.refuse = {"gone@guigang.example": "550 5.1.1 no such user"}
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    assert (report.sent, report.refused_recipients, report.failed) == (1, 1, 0)

    listed, = notices(session_factory, status="failed")  # what `duban notices --failed` shows
    assert (listed["dedupe_key"], listed["status"]) == (notice.dedupe_key, "sent")
    assert listed["refused"] == {"gone@guigang.example": "550 5.1.1 no such user"}
    assert listed["recipients"] == ["hrss@guigang.example"]


def test_a_notice_every_recipient_refuses_for_good_fails_with_their_replies(loaded, session_factory, smtp_server):
    notice = one_chase_to(session_factory)
    smtp_server.refuse = {"hrss@guigang.example": "550 5.1.1 no such user"}
    assert deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW).failed == 1
    failed = row(session_factory, notice.dedupe_key)
    assert (failed.status, failed.attempts, failed.recipients) == ("failed", 1, None)
    assert failed.last_error == "every recipient refused: hrss@guigang.example: 550 5.1.1 no such user"
    assert smtp_server.messages == []


# ── the office sends failed notices again ────────────────────────────────────────────────────────


def test_the_office_sends_a_failed_notice_again_once_the_address_is_corrected_and_the_retry_is_audited(
        loaded, session_factory, smtp_server):
    notice = one_chase_to(session_factory)
    smtp_server.refuse = {"hrss@guigang.example": "550 5.1.1 no such user"}
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    assert deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(days=1)).claimed == 0

    two_addresses(session_factory, "hrss", "hrss@guigang.example", "hrss-new@guigang.example")
    smtp_server.refuse = {}
    assert services.retry_notices(session_factory, actor=OFFICE, now=NOW + timedelta(days=1),
                                  ids=[notice.id]) == [notice.dedupe_key]
    assert deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(days=1)).sent == 1
    sent = row(session_factory, notice.dedupe_key)
    assert (sent.status, sent.refused, sent.attempts) == ("sent", None, 2)
    assert sorted(smtp_server.messages[0].rcpt_tos) == ["hrss-new@guigang.example", "hrss@guigang.example"]
    with session_factory() as session:
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "notice.retry")).one()
    assert audit.actor == OFFICE and notice.dedupe_key in audit.note


def test_retrying_a_notice_sent_with_one_address_refused_sends_it_to_that_address_alone(
        loaded, session_factory, smtp_server):
    notice = one_chase_to(session_factory, "hrss@guigang.example", "full@guigang.example")
    smtp_server.refuse = {"full@guigang.example": "552 5.2.2 mailbox full"}
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    smtp_server.refuse = {}
    services.retry_notices(session_factory, actor=OFFICE, now=NOW, every_failed=True)
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(minutes=1))
    assert [m.rcpt_tos for m in smtp_server.messages] == [["hrss@guigang.example"], ["full@guigang.example"]]
    assert row(session_factory, notice.dedupe_key).recipients == ["hrss@guigang.example", "full@guigang.example"]


@pytest.mark.parametrize("actor, ids, every, refusal", [
    ("hrss-clerk", [1], False, NotAllowed),  # only the office
    ("leader", (), True, NotAllowed),
    (OFFICE, [999999], False, NotFound),
    (OFFICE, [1], False, IllegalTransition),  # still pending: nothing to send again
])
def test_retrying_is_the_offices_and_only_for_failed_notices(loaded, session_factory, actor, ids, every, refusal):
    write_notices(session_factory, date(2019, 10, 28))
    before = [(n.id, n.status) for n in rows(session_factory)]
    with pytest.raises(refusal):
        services.retry_notices(session_factory, actor=actor, now=NOW, ids=ids, every_failed=every)
    assert [(n.id, n.status) for n in rows(session_factory)] == before


# ── claims that follow their deliverer ───────────────────────────────────────────────────────────


def test_a_dead_deliverers_notices_move_on_once_its_short_claim_lapses_in_real_time(loaded, smtp_server):
    session_factory = loaded.session_factory
    total = write_notices(session_factory, date(2019, 10, 28))
    lease = timedelta(seconds=2)
    killed = deliverer(loaded.url, smtp_server, datetime.now(SHANGHAI), batch_size=5, kill="after-claim",
                       lease=lease)
    killed.communicate(timeout=60)
    assert killed.returncode == -9
    settings = DeliverySettings(base_url=SETTINGS.base_url, sender=SENDER, batch_size=100, lease=lease)
    assert deliver(session_factory, smtp(smtp_server), settings, now=datetime.now(SHANGHAI)).sent == total - 5
    time.sleep(lease.total_seconds() + 0.5)
    assert deliver(session_factory, smtp(smtp_server), settings, now=datetime.now(SHANGHAI)).sent == 5
    assert {n.status for n in rows(session_factory)} == {"sent"} and len(smtp_server.messages) == total


def test_a_live_deliverer_keeps_its_claims_past_the_lease_while_a_slow_server_takes_its_batch(
        loaded, smtp_server):
    session_factory = loaded.session_factory
    total = write_notices(session_factory, date(2019, 10, 28))
    lease = timedelta(seconds=3)  # short, so that the test is short; long enough for a busy machine's renewals
    smtp_server.handler.data_delay = 0.4  # 18 messages: about 7 s, over twice the lease
    slow = deliverer(loaded.url, smtp_server, datetime.now(SHANGHAI), batch_size=100, lease=lease)
    rival = DeliverySettings(base_url=SETTINGS.base_url, sender=SENDER, lease=lease)
    while {n.status for n in rows(session_factory)} != {"sending"}:  # the slow one has claimed the whole batch
        assert slow.poll() is None
        time.sleep(0.05)
    rival_sent = 0
    while slow.poll() is None:  # another deliverer keeps looking for lapsed claims all the while
        rival_sent += deliver(session_factory, smtp(smtp_server), rival, now=datetime.now(SHANGHAI)).sent
        time.sleep(0.2)
    report = report_of(slow)
    assert (report["sent"], rival_sent) == (total, 0), report
    assert set(received_ids(smtp_server).values()) == {1} and len(smtp_server.messages) == total
    assert {n.lapsed_claims for n in rows(session_factory)} == {0}


# ── stopping ─────────────────────────────────────────────────────────────────────────────────────


def test_a_stopped_delivery_returns_at_once_even_mid_conversation_and_hands_its_notices_back(
        loaded, session_factory):
    total = write_notices(session_factory, date(2019, 10, 28))
    stop, result = threading.Event(), {}
    with SilentServer() as silent:  # answers nothing: without the stop, the client would wait its 30 s timeout
        transport = SmtpTransport(SmtpSettings.from_url(silent.url(SENDER)))
        worker = threading.Thread(target=lambda: result.update(
            report=deliver(session_factory, transport, SETTINGS, now=NOW, stop=stop)))
        worker.start()
        time.sleep(0.5)
        asked = time.monotonic()
        stop.set()
        worker.join(timeout=10)
        assert not worker.is_alive() and time.monotonic() - asked < 1.5
    report = result["report"]
    assert report.stopped and report.released == SETTINGS.batch_size
    assert {(n.status, n.claimed_by, n.attempts) for n in rows(session_factory)} == {("pending", None, 0)}
    assert len(rows(session_factory)) == total
