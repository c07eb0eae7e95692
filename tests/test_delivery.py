"""Delivery against a real aiosmtpd server on 127.0.0.1 and real SQLite files: claims, crashes, retries, refusals.

Notices come from the real sweep on the seed plan (2019-10-28 writes 18, 2019-11-15 writes 31). Deliverers
that must run at the same moment, or die mid-batch, are separate OS processes (tests/deliverer_process.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from notifications.delivery import DeliverySettings, claim, deliver, deliver_claimed
from notifications.messages import render_notice
from notifications.transports import ConnectionFailure, MemoryTransport, SmtpSettings, SmtpTransport, TemporaryFailure
from responsibilities.notices.sweep import sweep
from responsibilities.reading.queries import notices
from responsibilities.storage.db import make_engine, make_session_factory
from responsibilities.storage.model import Deliverable, Notice, UnitRecord

from conftest import ROOT, at
from smtp_server import TestSmtpServer, smtp_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.both_databases

SENDER = "duban@guigang.example"
SETTINGS = DeliverySettings(base_url="http://127.0.0.1:8000", sender=SENDER,
                            batch_size=5)
NOW = at(2019, 10, 28, 9)
AFTER_THE_LEASE = NOW + SETTINGS.lease + timedelta(minutes=1)
DELIVERER = ROOT / "tests" / "deliverer_process.py"


# ── helpers ──────────────────────────────────────────────────────────────────────────────────────


def write_notices(session_factory, day: date) -> int:
    return sweep(session_factory, now=at(day.year, day.month, day.day, 8), today=day).total


def smtp(server: TestSmtpServer) -> SmtpTransport:
    return SmtpTransport(SmtpSettings.from_url(server.url(SENDER)))


def rows(session_factory) -> list[Notice]:
    with session_factory() as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def row(session_factory, dedupe_key: str) -> Notice:
    with session_factory() as session:
        return session.scalars(select(Notice).where(Notice.dedupe_key == dedupe_key)).one()


def deliverable_id(session_factory, ref: str) -> int:
    """The id a notice's dedupe key names (ids depend on the order the plan's deliverables were loaded in)."""
    with session_factory() as session:
        return session.scalars(select(Deliverable.id).where(Deliverable.ref == ref)).one()


def keep_only(session_factory, dedupe_key: str) -> Notice:
    """Delete every notice but one, so a test about one notice's retries reads plainly."""
    with session_factory.begin() as session:
        session.query(Notice).where(Notice.dedupe_key != dedupe_key).delete()
    return row(session_factory, dedupe_key)


def received_ids(server: TestSmtpServer) -> Counter[str]:
    """How many times the server received each Message-ID."""
    return Counter(m.message()["Message-ID"] for m in server.messages)


def assert_each_sent_exactly_once(session_factory, server: TestSmtpServer) -> None:
    sent = rows(session_factory)
    assert {n.status for n in sent} == {"sent"}
    assert received_ids(server) == Counter({n.message_id: 1 for n in sent})


def deliverer(database_url: str, server: TestSmtpServer, now: datetime, *, batch_size: int = 5,
              kill: str | None = None, wait: bool = False, lease: timedelta = SETTINGS.lease) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DUBAN_TEST_KILL", None)
    if kill is not None:
        env["DUBAN_TEST_KILL"] = kill
    return subprocess.Popen(
        [sys.executable, str(DELIVERER), database_url, server.url(SENDER), now.isoformat(), str(batch_size),
         "--lease-seconds", str(lease.total_seconds())] + (["--wait"] if wait else []),
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def report_of(process: subprocess.Popen[str]) -> dict:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return json.loads(out.splitlines()[-1])


# ── several deliverers at once ───────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_four_deliverers_in_four_processes_started_together_deliver_each_notice_exactly_once(loaded, smtp_server):
    total = write_notices(loaded.session_factory, date(2019, 11, 15))
    assert total >= 30
    processes = [deliverer(loaded.url, smtp_server, at(2019, 11, 15, 9), batch_size=5, wait=True) for _ in range(4)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:  # everyone is loaded and waiting: now they all start
        process.stdin.write("go\n")
        process.stdin.flush()
    reports = [report_of(p) for p in processes]
    assert sum(1 for r in reports if r["claimed"]) >= 2  # they did run side by side (typically all four claim)

    assert sum(r["claimed"] for r in reports) == sum(r["sent"] for r in reports) == total
    assert_each_sent_exactly_once(loaded.session_factory, smtp_server)
    assert len(smtp_server.messages) == total
    assert {n.attempts for n in rows(loaded.session_factory)} == {1}


def test_two_sessions_claiming_from_two_threads_at_once_never_claim_the_same_notice(loaded):
    total = write_notices(loaded.session_factory, date(2019, 11, 15))
    start = threading.Barrier(2)
    claimed: list[dict[int, str]] = [{}, {}]

    def claimer(mine: dict[int, str]) -> None:
        engine = make_engine(loaded.url)  # a deliverer of its own: its own engine, connections and sessions
        try:
            sessions = make_session_factory(engine)
            start.wait()
            while True:
                token, ids = claim(sessions, now=NOW, limit=2, lease=SETTINGS.lease)
                if not ids:
                    return
                mine.update(dict.fromkeys(ids, token))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    first, second = claimed
    assert not first.keys() & second.keys()
    assert len(first) + len(second) == total
    assert {n.id: n.claimed_by for n in rows(loaded.session_factory)} == {**first, **second}
    assert {n.status for n in rows(loaded.session_factory)} == {"sending"}


def test_a_claim_is_left_alone_while_its_lease_runs_and_taken_over_once_it_has_passed(loaded, session_factory):
    write_notices(session_factory, date(2019, 10, 28))
    token, ids = claim(session_factory, now=NOW, limit=5, lease=SETTINGS.lease)
    assert len(ids) == 5
    assert claim(session_factory, now=NOW + SETTINGS.lease, limit=100, lease=SETTINGS.lease)[1] == list(range(6, 19))
    taken_over = claim(session_factory, now=AFTER_THE_LEASE, limit=100, lease=SETTINGS.lease)
    assert taken_over[1] == ids
    # The lapse is counted, apart from attempts: the server may never have seen these messages.
    assert {(n.lapsed_claims, n.attempts) for n in rows(session_factory) if n.id in ids} == {(1, 0)}


# ── a deliverer killed mid-batch ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("kill, duplicated", [
    ("after-claim", 0),       # claimed five, sent nothing
    ("after-data", 1),        # the server took the first message; its outcome was never recorded
    ("between-messages", 0),  # the first message was sent and recorded; the second never went out
])
@pytest.mark.slow
def test_a_killed_deliverers_notices_are_all_delivered_after_its_lease_and_only_an_accepted_unrecorded_one_twice(
        loaded, smtp_server, kill, duplicated):
    session_factory = loaded.session_factory
    total = write_notices(session_factory, date(2019, 10, 28))
    killed = deliverer(loaded.url, smtp_server, NOW, batch_size=5, kill=kill)
    killed.communicate(timeout=60)
    assert killed.returncode == -9  # SIGKILL

    stranded = [n.id for n in rows(session_factory) if n.status == "sending"]
    assert len(stranded) == (4 if kill == "between-messages" else 5)
    # While the lease runs, a second deliverer sends everything else and leaves the dead one's claim alone.
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + SETTINGS.lease / 2)
    assert [n.id for n in rows(session_factory) if n.status != "sent"] == stranded

    deliver(session_factory, smtp(smtp_server), SETTINGS, now=AFTER_THE_LEASE)
    sent = rows(session_factory)
    assert {n.status for n in sent} == {"sent"}
    counts = received_ids(smtp_server)
    assert set(counts) == {n.message_id for n in sent} and len(counts) == total
    duplicates = {message_id: n for message_id, n in counts.items() if n > 1}
    assert len(duplicates) == duplicated
    if duplicated:
        # The resend is recognisably the same message: the same Message-ID, the same notice.
        first_notice = rows(session_factory)[0]
        assert duplicates == {first_notice.message_id: 2}
        copies = [m.message() for m in smtp_server.messages if m.message()["Message-ID"] == first_notice.message_id]
        assert {c["X-Duban-Notice"] for c in copies} == {first_notice.dedupe_key}


def test_a_deliverer_whose_claim_was_taken_over_sends_nothing_and_overwrites_nothing(loaded, session_factory,
                                                                                     smtp_server):
    write_notices(session_factory, date(2019, 10, 28))
    token, ids = claim(session_factory, now=NOW, limit=5, lease=SETTINGS.lease)  # then it stalls
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=AFTER_THE_LEASE)  # and is taken over
    before = {n.id: (n.status, n.claimed_by, n.sent_at, n.attempts) for n in rows(session_factory)}
    assert {before[i][0] for i in ids} == {"sent"}

    report = asyncio.run(deliver_claimed(session_factory, smtp(smtp_server), SETTINGS, token, ids,
                                         now=AFTER_THE_LEASE + timedelta(minutes=1), rng=random.Random(1)))
    assert (report.sent, report.released) == (0, 0)
    assert {n.id: (n.status, n.claimed_by, n.sent_at, n.attempts) for n in rows(session_factory)} == before
    assert_each_sent_exactly_once(session_factory, smtp_server)


# ── what the server says ─────────────────────────────────────────────────────────────────────────


def test_a_451_twice_then_250_is_retried_with_backoff_and_delivered_once_after_three_attempts(
        loaded, session_factory, smtp_server):
    write_notices(session_factory, date(2019, 10, 28))
    notice = keep_only(session_factory, f"chase:{deliverable_id(session_factory, 'hrss-1')}:3")
    smtp_server.script = ["451 4.3.0 try later", "451 4.3.0 try later"]
    rng = random.Random(7)

    now = NOW
    for attempt in (1, 2):
        report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=now, rng=rng)
        assert (report.sent, report.retrying) == (0, 1)
        waiting = row(session_factory, notice.dedupe_key)
        assert (waiting.status, waiting.attempts) == ("pending", attempt)
        assert waiting.last_error == f"451 4.3.0 try later (attempt {attempt})"
        delay = waiting.next_attempt_at - now
        nominal = SETTINGS.first_backoff * 2 ** (attempt - 1)
        assert nominal * 0.8 <= delay <= nominal * 1.2 + timedelta(seconds=5)  # ±20% jitter, plus the run's own time
        # Not before its time:
        too_early = waiting.next_attempt_at - timedelta(seconds=1)
        assert deliver(session_factory, smtp(smtp_server), SETTINGS, now=too_early).claimed == 0
        now = waiting.next_attempt_at

    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=now, rng=rng)
    assert report.sent == 1
    sent = row(session_factory, notice.dedupe_key)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)
    assert smtp_server.handler.data_commands == 3
    assert received_ids(smtp_server) == Counter({sent.message_id: 1})


def test_a_550_is_not_retried_and_the_failed_notice_keeps_the_servers_reply_for_the_office(
        loaded, session_factory, smtp_server):
    write_notices(session_factory, date(2019, 10, 28))
    notice = keep_only(session_factory, f"chase:{deliverable_id(session_factory, 'finance-1')}:6")
    smtp_server.data_reply = "550 5.7.1 message content rejected"
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)

    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(days=1))
    assert smtp_server.handler.data_commands == 1 and smtp_server.messages == []
    failed, = notices(session_factory, status="failed")  # what `duban notices --failed` lists
    assert (failed["dedupe_key"], failed["attempts"]) == (notice.dedupe_key, 1)
    assert failed["last_error"] == "550 5.7.1 message content rejected"


def test_while_the_server_is_down_the_notices_wait_untried_and_once_it_is_back_they_are_delivered(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    smtp_server.stop()
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    # The first batch finds the server gone and goes back to the queue; the rest is not even claimed.
    assert (report.sent, report.retrying, report.failed, report.released) == (0, 0, 0, SETTINGS.batch_size)
    assert report.server_unreachable and "connect" in report.server_error.lower()
    waiting = rows(session_factory)
    assert {(n.status, n.attempts, n.first_attempt_at, n.claimed_by) for n in waiting} == {("pending", 0, None, None)}

    smtp_server.start()
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(minutes=2))
    assert report.sent == total
    assert_each_sent_exactly_once(session_factory, smtp_server)
    assert {n.attempts for n in rows(session_factory)} == {1}


def test_a_recipient_refused_one_by_one_is_recorded_while_the_other_recipients_get_the_message(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    with session_factory.begin() as session:  # hrss has a second address; the server refuses its first
        session.execute(update(UnitRecord).where(UnitRecord.id == "hrss")
                        .values(emails=["hrss@guigang.example", "hrss-office@guigang.example"]))
    smtp_server.refuse = {"hrss@guigang.example": "550 5.1.1 no such user"}

    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    assert (report.sent, report.failed) == (total, 0)
    hrss = [n for n in rows(session_factory) if n.audience == "unit" and n.unit_id == "hrss"]
    assert len(hrss) == 4
    assert report.refused_recipients == len(hrss)
    for notice in hrss:
        assert notice.status == "sent"
        assert notice.recipients == ["hrss-office@guigang.example"]
        assert notice.refused == {"hrss@guigang.example": "550 5.1.1 no such user"}
    hrss_ids = {n.id for n in hrss}
    assert all(n.refused is None for n in rows(session_factory) if n.id not in hrss_ids)
    to_hrss = [m for m in smtp_server.messages if "hrss-office@guigang.example" in m.rcpt_tos]
    assert len(to_hrss) == len(hrss) and all(m.rcpt_tos == ["hrss-office@guigang.example"] for m in to_hrss)
    assert_each_sent_exactly_once(session_factory, smtp_server)


def test_an_address_that_would_inject_a_header_fails_its_notice_and_the_rest_of_the_batch_goes_out(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    with session_factory.begin() as session:  # a contact address edited by hand into a header injection
        session.execute(update(UnitRecord).where(UnitRecord.id == "hrss")
                        .values(emails=["hrss@guigang.example\r\nBcc: someone@elsewhere.example"]))

    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    hrss = [n for n in rows(session_factory) if n.audience == "unit" and n.unit_id == "hrss"]
    assert hrss and report.failed == len(hrss) and report.sent == total - len(hrss)
    assert all(n.status == "failed" and n.last_error.startswith("cannot send: the To header") for n in hrss)
    assert not any(b"someone@elsewhere.example" in m.data for m in smtp_server.messages)
    assert len(smtp_server.messages) == total - len(hrss)


def test_a_notice_still_refused_for_a_while_48_hours_after_its_first_attempt_fails_and_is_no_longer_retried(
        loaded, session_factory):
    write_notices(session_factory, date(2019, 10, 28))
    notice = keep_only(session_factory, f"chase:{deliverable_id(session_factory, 'hrss-1')}:3")
    # Retry bookkeeping only: a memory transport scripted to fail every time.
    transport = MemoryTransport([TemporaryFailure("421 4.7.0 too busy")] * 40)
    now = NOW
    while row(session_factory, notice.dedupe_key).status == "pending":
        deliver(session_factory, transport, SETTINGS, now=now, rng=random.Random(3))
        waiting = row(session_factory, notice.dedupe_key)
        now = waiting.next_attempt_at or now
    failed = row(session_factory, notice.dedupe_key)
    assert failed.status == "failed" and failed.next_attempt_at is None
    assert (now - failed.first_attempt_at >= SETTINGS.give_up_after
            > now - failed.first_attempt_at - SETTINGS.max_backoff * 1.2)
    assert failed.last_error == "421 4.7.0 too busy (gave up: still failing 48 h after the first attempt)"
    tried = transport.calls
    assert tried == failed.attempts > 8  # more tries than the old limit of eight: the time limit decides
    assert deliver(session_factory, transport, SETTINGS, now=now + timedelta(days=30)).claimed == 0
    assert transport.calls == tried and transport.sent == []


def test_a_unit_without_an_address_fails_its_notices_with_no_recipient_address_and_they_are_not_retried(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    with session_factory.begin() as session:
        session.execute(update(UnitRecord).where(UnitRecord.id == "hrss").values(emails=[]))
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    unaddressed = {n.id for n in rows(session_factory) if n.audience == "unit" and n.unit_id == "hrss"}
    assert (report.sent, report.failed) == (total - len(unaddressed), len(unaddressed))
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW + timedelta(days=1))
    for notice in rows(session_factory):
        if notice.id in unaddressed:
            assert (notice.status, notice.attempts) == ("failed", 0)  # nothing was ever put before the server
            assert notice.last_error.startswith("no recipient address")
        else:
            assert notice.status == "sent"
    assert len(smtp_server.messages) == total - len(unaddressed)


def test_a_notice_that_cannot_be_rendered_fails_on_its_own_and_the_rest_of_its_batch_is_delivered(
        loaded, session_factory, smtp_server):
    total = write_notices(session_factory, date(2019, 10, 28))
    with session_factory.begin() as session:
        session.execute(update(Notice).where(Notice.id == 2).values(audience="nobody"))
    report = deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    assert (report.sent, report.failed) == (total - 1, 1)
    broken = rows(session_factory)[1]
    assert broken.status == "failed" and "cannot render" in broken.last_error and "nobody" in broken.last_error
    assert [n.status for n in rows(session_factory)].count("sent") == total - 1


# ── what arrives ─────────────────────────────────────────────────────────────────────────────────


def test_the_chinese_subject_text_and_html_arrive_intact_with_the_notices_message_id(loaded, session_factory,
                                                                                      smtp_server):
    write_notices(session_factory, date(2019, 10, 28))
    # to the office and both deputies
    notice = keep_only(session_factory, f"escalation:{deliverable_id(session_factory, 'hrss-1')}:2")
    deliver(session_factory, smtp(smtp_server), SETTINGS, now=NOW)
    with session_factory() as session:
        expected = render_notice(session, session.get(Notice, notice.id), base_url=SETTINGS.base_url, sender=SENDER,
                                 today=date(2019, 10, 28))

    received, = smtp_server.messages
    assert b"\r\nSubject: =?utf-8?" in received.data  # encoded on the wire, 7-bit headers
    message = received.message()
    assert message["Subject"] == expected.subject and any("\u4e00" <= ch <= "\u9fff" for ch in expected.subject)
    assert message.get_body(("plain",)).get_content() == expected.text
    assert message.get_body(("html",)).get_content() == expected.html
    assert message["Message-ID"] == expected.message_id == row(session_factory, notice.dedupe_key).message_id
    assert expected.message_id.endswith("@guigang.example>")
    assert sorted(received.rcpt_tos) == sorted(expected.to) and len(expected.to) == 3


def test_a_notice_whose_deliverers_keep_dying_is_given_up_after_five_lapsed_claims(loaded, session_factory):
    write_notices(session_factory, date(2019, 10, 28))
    victim = rows(session_factory)[0]
    moment = NOW
    for lapse in range(1, 6):
        _, claimed = claim(session_factory, now=moment, limit=1, lease=SETTINGS.lease)  # and its deliverer dies
        assert claimed == [victim.id]
        moment += SETTINGS.lease + timedelta(seconds=1)
        _, claimed = claim(session_factory, now=moment, limit=0, lease=SETTINGS.lease)  # the next run looks
        assert row(session_factory, victim.dedupe_key).lapsed_claims == lapse
    given_up = row(session_factory, victim.dedupe_key)
    assert (given_up.status, given_up.attempts) == ("failed", 0)
    assert "abandoned" in given_up.last_error and "5 times" in given_up.last_error
    assert victim.id not in claim(session_factory, now=moment, limit=100, lease=SETTINGS.lease)[1]


def test_with_the_server_down_a_batch_makes_one_connection_attempt_and_spends_no_notices_attempts(
        loaded, session_factory):
    total = write_notices(session_factory, date(2019, 10, 28))
    attempts = []

    class Unreachable(MemoryTransport):
        async def send(self, message, *, sender, recipients):
            attempts.append(message)
            raise ConnectionFailure("network problem: [Errno 111] Connection refused")

    report = deliver(session_factory, Unreachable(), SETTINGS, now=at(2019, 10, 28, 10))
    assert len(attempts) == 1 and report.server_unreachable
    assert report.released == SETTINGS.batch_size  # the first batch went back; the others were not even claimed
    waiting = rows(session_factory)
    assert len(waiting) == total
    assert {(n.status, n.attempts, n.last_error) for n in waiting} == {("pending", 0, None)}
