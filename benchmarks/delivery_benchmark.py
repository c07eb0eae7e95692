"""Delivery throughput: duban's ``deliver`` next to bare aiosmtplib sending the same messages (the floor).

Run by hand, not by the test suite:

    .venv/bin/python benchmarks/delivery_benchmark.py --notices 10000 --batch-size 100 500 1000
    .venv/bin/python benchmarks/delivery_benchmark.py --notices 3000 --batch-size 100 \
        --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db

It builds a temporary SQLite file (or, with ``--database-url``, fills an empty PostgreSQL database, see
``bench_postgres``: refused if it has tables; emptied again afterwards unless ``--keep``) with the real schema
(Alembic migrations) and the seed plan (``deadlines.yaml``), inserts ``--notices`` pending reminder notices
spread over the plan's deliverables
(distinct dedupe keys; the daily sweep never owes 10,000 on one day, so they are written directly), and
starts an aiosmtpd sink on 127.0.0.1 in a separate process (its CPU does not share the client's GIL) whose
handler only counts and discards. Then, for each ``--batch-size``, in the same run and against the same sink:

1. the floor: every notice rendered once (``render_notice`` + ``Message.as_bytes``, not timed), then the
   same wire bytes sent with bare ``aiosmtplib.SMTP`` over ONE connection (connect once, ``sendmail`` each,
   quit), timed;
2. duban: the notices reset to pending, then ``notifications.delivery.deliver`` with ``SmtpTransport``,
   timed end to end (claim, render, send, record), every notice checked to be ``sent`` afterwards.

The sink must have received 2 × notices × (number of batch sizes) messages. Then, for reference, the
database's part of a message alone: ``outbox.record`` (the one transaction duban commits per message) called
once per notice, and a bare one-row UPDATE committed alone per notice on the DB-API connection; neither sends
anything. ``--profile`` runs one more duban delivery (first batch size) under cProfile and prints the top
functions by cumulative time. ``--keep`` keeps the database. See benchmarks/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import multiprocessing
import os
import platform
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_postgres  # noqa: E402 - benchmarks/, beside this script

HOST = "127.0.0.1"
SENDER = "duban@gov.example"
BASE_URL = "https://duban.gov.example"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2020, 6, 1, 9, 0, tzinfo=SHANGHAI)  # the moment every delivery and rendering sees
REMINDER_LEVELS = (5, 1, 0)  # the seed plan's reminder_working_days_before


# ── the sink, in its own process ─────────────────────────────────────────────────────────────────


class _CountingHandler:
    """Counts and discards. aiosmtpd reads the handler's attributes on every connection: plain ones only.

    With ``delay`` (seconds), it answers each command of a message (MAIL, RCPT, DATA) only after that long: a
    relay across a network, whose round trip and processing take their time, as a real one's do (20–50 ms)."""

    def __init__(self, count, delay: float = 0.0) -> None:  # a multiprocessing.Value
        self.count, self.delay = count, delay

    async def _wait(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        await self._wait()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await self._wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        await self._wait()
        self.count.value += 1  # only the sink's event loop thread writes it
        return "250 OK"


def _run_sink(port: int, count, ready, stop, delay: float = 0.0) -> None:  # multiprocessing objects
    from aiosmtpd.controller import Controller

    controller = Controller(_CountingHandler(count, delay), hostname=HOST, port=port, server_hostname="bench-sink")
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    """The counting sink in a child process; ``count`` is read from shared memory."""

    def __init__(self, delay: float = 0.0) -> None:
        from notifications.sink import free_port

        context = multiprocessing.get_context("spawn")
        self.port = free_port(HOST)
        self._count = context.Value("q", 0, lock=False)
        self._ready, self._stop = context.Event(), context.Event()
        self._process = context.Process(target=_run_sink, daemon=True,
                                        args=(self.port, self._count, self._ready, self._stop, delay))

    @property
    def count(self) -> int:
        return self._count.value

    def __enter__(self) -> Sink:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()


# ── the database ─────────────────────────────────────────────────────────────────────────────────


def build_database(engine, notices: int):  # (session factory, deliverables)
    from sqlalchemy import insert, select

    from responsibilities.plan.loader import load_plan
    from responsibilities.storage import migrate, plan_sync
    from responsibilities.storage.db import make_session_factory
    from responsibilities.storage.model import Deliverable, Notice

    migrate.upgrade(engine)
    session_factory = make_session_factory(engine)
    plan_sync.sync_plan(session_factory, load_plan(ROOT / "deadlines.yaml"),
                        now=datetime(2019, 10, 23, 9, tzinfo=SHANGHAI))
    with session_factory.begin() as session:
        deliverables = session.execute(select(Deliverable.id, Deliverable.obligation_id, Deliverable.unit_id)
                                       .order_by(Deliverable.id)).all()
        rows = []
        for i in range(notices):
            deliverable_id, obligation_id, unit_id = deliverables[i % len(deliverables)]
            level = REMINDER_LEVELS[(i // len(deliverables)) % len(REMINDER_LEVELS)]
            rows.append({"dedupe_key": f"reminder:{deliverable_id}:{level}:bench{i}", "kind": "reminder",
                         "level": level, "audience": "unit", "deliverable_id": deliverable_id,
                         "obligation_id": obligation_id, "unit_id": unit_id, "owed_on": NOW.date(),
                         "created_at": NOW, "status": "pending", "attempts": 0})
        session.execute(insert(Notice), rows)
    return session_factory, len(deliverables)


def reset_notices(engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE notices SET status = 'pending', attempts = 0, next_attempt_at = NULL, "
                                   "claimed_by = NULL, claimed_at = NULL, sent_at = NULL, message_id = NULL, "
                                   "recipients = NULL, refused = NULL, last_error = NULL, first_attempt_at = NULL, "
                                   "lapsed_claims = 0")
    if engine.dialect.name == "postgresql":  # what autovacuum would do between runs: no dead rows to step over
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) notices")


def status_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.exec_driver_sql("SELECT status, count(*) FROM notices GROUP BY status").all())


# ── the two measurements ─────────────────────────────────────────────────────────────────────────


def render_all(session_factory):  # [(wire bytes, sender, recipients)]
    from sqlalchemy import event, select

    from notifications.messages import render_notice
    from responsibilities.storage.db import read_session
    from responsibilities.storage.model import Notice

    out = []
    with read_session(session_factory) as session:
        loaded: list[object] = []  # as delivery._render_all does: loaded objects stay in the identity map
        event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
        for notice in session.scalars(select(Notice).order_by(Notice.id)):
            message = render_notice(session, notice, base_url=BASE_URL, sender=SENDER, today=NOW.date())
            out.append((message.as_bytes(date=NOW), message.sender, list(message.to)))
    return out


async def bare_send(port: int, messages, connections: int = 1) -> None:
    """The floor: bare aiosmtplib, ``connections`` connections at once, each sending its share in turn."""
    import aiosmtplib

    async def one(share) -> None:
        smtp = aiosmtplib.SMTP(hostname=HOST, port=port, timeout=30)
        await smtp.connect()
        for wire, sender, recipients in share:
            await smtp.sendmail(sender, recipients, wire)
        await smtp.quit()

    await asyncio.gather(*(one(messages[i::connections]) for i in range(connections)))


def duban_deliver(session_factory, port: int, batch_size: int):  # DeliveryReport
    from notifications.delivery import DeliverySettings, deliver
    from notifications.transports import SmtpSettings, SmtpTransport

    transport = SmtpTransport(SmtpSettings(host=HOST, port=port, security="none", username=None, password=None,
                                           sender=SENDER))
    settings = DeliverySettings(base_url=BASE_URL, sender=SENDER, batch_size=batch_size)
    return deliver(session_factory, transport, settings, now=NOW)


def time_records(engine, session_factory, count: int) -> tuple[float, float]:
    """Seconds for ``count`` records as duban writes them (``outbox.record``: one transaction each), and for
    ``count`` bare one-row UPDATEs each committed alone on the DB-API connection. Nothing is sent."""
    from notifications import outbox

    token = "bench-record"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE notices SET status = 'sending', claimed_by = '{token}'")
        ids = connection.exec_driver_sql("SELECT id FROM notices ORDER BY id").scalars().all()[:count]
    values = {"status": "sent", "next_attempt_at": None, "last_error": None, "message_id": "<bench@duban>",
              "sent_at": NOW, "attempts": 1, "first_attempt_at": NOW, "recipients": ["bench@bench.example"],
              "refused": None}  # the columns _finish writes for a message sent: the same cached statement
    started = time.perf_counter()
    for notice_id in ids:
        assert outbox.record(session_factory, notice_id, token, **values)
    recorded = time.perf_counter() - started

    pooled = engine.raw_connection()  # sqlite3 in autocommit mode: each statement commits; psycopg: commit()
    placeholder = "%s" if engine.dialect.name == "postgresql" else "?"
    cursor = pooled.driver_connection.cursor()
    started = time.perf_counter()
    for notice_id in ids:
        cursor.execute(f"UPDATE notices SET attempts = attempts + 1 WHERE id = {placeholder}", (notice_id,))
        if engine.dialect.name == "postgresql":
            pooled.driver_connection.commit()
    bare = time.perf_counter() - started
    cursor.close()
    pooled.close()
    return recorded, bare


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{name} {version(name)}" for name in ("aiosmtplib", "aiosmtpd", "SQLAlchemy", "Jinja2"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {model}, {os.cpu_count()} CPUs (load {load}), "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {versions}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[100], help="one duban run per size")
    parser.add_argument("--profile", action="store_true", help="also profile one duban delivery (cProfile)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to fill instead of a temporary SQLite "
                                               "file (postgresql+psycopg://user@host:port/name)")
    parser.add_argument("--keep", action="store_true", help="keep the database (its path or URL is printed)")
    parser.add_argument("--connections", type=int, default=1,
                        help="the floor's connections at once (duban delivers over one until issue 17's item 2)")
    parser.add_argument("--reply-delay-ms", type=float, default=0.0,
                        help="the sink answers MAIL, RCPT and DATA after this long (a relay across a network)")
    args = parser.parse_args()

    from responsibilities.storage.db import make_engine

    print(f"machine: {machine()}")
    folder = None
    if args.database_url:
        engine = make_engine(args.database_url)
        bench_postgres.require_empty(engine, reuse=False)
        kept = bench_postgres.safe_url(engine)
        print(f"database engine: {kept}\n{bench_postgres.describe(engine)}")
    else:
        folder = Path(tempfile.mkdtemp(prefix="duban-delivery-"))
        kept = folder / "duban.sqlite3"
        engine = make_engine(f"sqlite:///{kept}")
        print(f"database engine: SQLite {sqlite3.sqlite_version}, {kept}")
    try:
        with Sink(delay=args.reply_delay_ms / 1000) as sink:
            results = run(args, engine, sink)
    finally:
        if args.keep:
            print(f"database kept: {kept}")
        elif folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            bench_postgres.drop_created(engine)
        engine.dispose()
    worst = min(d / b for _, b, d in results)
    print(f"goal: duban ≥ 0.7× bare; worst ratio {worst:.2f}× → {'met' if worst >= 0.7 else 'NOT met'}")
    for line in args.cases:
        print(line)
    return 0


def run(args: argparse.Namespace, engine, sink: Sink) -> list[tuple[int, float, float]]:
    started = time.perf_counter()
    session_factory, deliverables = build_database(engine, args.notices)
    print(f"database: {args.notices} pending reminder notices over {deliverables} deliverables "
          f"({time.perf_counter() - started:.1f} s to build); sink on {HOST}:{sink.port} (separate process)")

    started = time.perf_counter()
    messages = render_all(session_factory)
    render_seconds = time.perf_counter() - started
    # Whatever rendering left tracked, kept for the whole run: frozen, so that the cyclic collector does not
    # walk it again and again during the timed runs (of either side).
    gc.collect()
    gc.freeze()
    size = sum(len(m) for m, _, _ in messages[:100]) / min(len(messages), 100)
    print(f"rendered {len(messages)} messages once for the floor in {render_seconds:.2f} s (not timed; "
          f"~{size / 1024:.1f} KiB each)")

    expected = 0
    results = []
    cases: list[str] = []  # printed last, one line per case, for scripts
    for batch_size in args.batch_size:
        before = sink.count
        started = time.perf_counter()
        asyncio.run(bare_send(sink.port, messages, args.connections))
        bare = time.perf_counter() - started
        assert sink.count - before == len(messages), f"bare: sink got {sink.count - before}"
        expected += len(messages)

        reset_notices(engine)
        before = sink.count
        started = time.perf_counter()
        report = duban_deliver(session_factory, sink.port, batch_size)
        duban = time.perf_counter() - started
        statuses = status_counts(engine)
        assert report.sent == args.notices and statuses == {"sent": args.notices}, (report, statuses)
        assert sink.count - before == args.notices, f"duban: sink got {sink.count - before}"
        expected += args.notices

        bare_rate, duban_rate = len(messages) / bare, args.notices / duban
        results.append((batch_size, bare_rate, duban_rate))
        print(f"batch {batch_size:>5}: bare aiosmtplib {bare_rate:7.0f} msg/s ({bare:.2f} s) | "
              f"duban deliver {duban_rate:7.0f} msg/s ({duban:.2f} s) | ratio {duban_rate / bare_rate:.2f}×")
        case = f"connections {args.connections}, reply delay {args.reply_delay_ms:g} ms, batch {batch_size}"
        cases.append(f"{case}: duban {duban_rate:.0f} msg/s, floor {bare_rate:.0f} msg/s, "
                     f"ratio {duban_rate / bare_rate:.2f}×")
        print(f"{'':12}per message: bare {1000 * bare / len(messages):.2f} ms, "
              f"duban {1000 * duban / args.notices:.2f} ms")
        with_render = len(messages) / (render_seconds + bare)
        print(f"{'':12}for reference, the untimed rendering ({render_seconds:.2f} s) + bare sending: "
              f"{with_render:.0f} msg/s; duban / that {duban_rate / with_render:.2f}×")

    recorded, bare_updates = time_records(engine, session_factory, args.notices)
    print(f"for reference, the database's part alone, {args.notices} times: outbox.record (one transaction each, "
          f"as duban commits per message) {1000 * recorded / args.notices:.2f} ms per message; a bare one-row "
          f"UPDATE committed alone (DB-API) {1000 * bare_updates / args.notices:.2f} ms")

    if args.profile:
        reset_notices(engine)
        before = sink.count
        profiler = cProfile.Profile()
        profiler.enable()
        duban_deliver(session_factory, sink.port, args.batch_size[0])
        profiler.disable()
        expected += args.notices
        assert sink.count - before == args.notices
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    assert sink.count == expected, f"the sink received {sink.count} messages, expected {expected}"
    print(f"sink received {sink.count} messages in total (expected {expected}): OK")
    args.cases = cases
    return results


if __name__ == "__main__":
    sys.exit(main())
