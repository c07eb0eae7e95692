"""The daily sweep at scale: its time next to the bare SQL that selects the same owed rows (the floor).

Run by hand, not by the test suite:

    .venv/bin/python benchmarks/sweep_benchmark.py --deliverables 1000000 --units 5000
    .venv/bin/python benchmarks/sweep_benchmark.py --deliverables 1000000 --units 5000 \\
        --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db

It builds a fresh database with the real schema (Alembic migrations, real indexes), ``--plans`` plans (the real
seed plan's settings and working-day calendar; the others copies of its settings under their own ids), ``--units``
units each leading a handful of obligations (some with co-units), the obligations spread over the plans (plans of
different sizes: plan k holds a share ∝ 1/k), and ``--deliverables`` deliverables due between 2019-10 and 2022-01
(the sweep runs once per plan, with that plan's rules): by default a
temporary SQLite file; with ``--database-url``, an empty PostgreSQL database (see ``bench_postgres``: refused
if it has tables unless ``--reuse``; emptied again afterwards unless ``--keep``). Both get the same rows from
the same seed. Then, in the same run and on the same warm database, it times (median of ``--repeat`` runs each):

- the floor: the owed SELECTs the sweep inserts from (``Sweep.owed_selects()``), executed as bare SQL on the
  DB-API cursor with every row fetched; also, for reference, the same SELECTs wrapped in ``count(*)`` (the
  engine's work alone, no rows handed to Python);
- the sweep: ``responsibilities.notices.sweep.sweep`` on a database with no notices yet (the notices are deleted with
  plain SQL before each repetition), so every owed row is written;
- the second sweep on the same day, which must write 0 rows.

It also prints each owed SELECT's plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL) and flags a full
scan of ``deliverables``.

What differs per database is in one small class each (``SQLite``, ``Postgres``): how the rows are bulk-loaded,
how a transaction is taken on the bare cursor, how the notices are cleared, and how a plan is read.

- SQLite: ``executemany`` on a raw ``sqlite3`` connection (``synchronous = OFF`` for the build only). The
  triggers of migrations 0006, 0007 and 0010 fire for every deliverable inserted: ``deliverable_counts`` and
  ``deliverable_plan_counts`` are kept row by row, and ``unit_lights``' do nothing while ``lights_day`` is empty.
  Notices are cleared with ``DELETE`` and a WAL checkpoint (``wal_checkpoint(TRUNCATE)``).
- PostgreSQL: ``COPY … FROM STDIN`` (psycopg) in one transaction, with the user triggers of ``deliverables``
  (``deliverable_counts``', ``deliverable_plan_counts``' and ``unit_lights``') **disabled** for the load (foreign
  keys are still checked) and enabled again in the same transaction, then ``deliverable_counts`` and
  ``deliverable_plan_counts`` backfilled by the statements migrations 0006 and 0010 backfill them with
  (``unit_lights`` needs nothing, as in 0007: ``lights_day`` is empty).
  The result is the same rows as the triggers would have kept. Then ``VACUUM (ANALYZE)``: statistics for the
  planner, and the visibility map set so that index-only scans need no table visits, as autovacuum would
  leave a settled table. Notices are cleared with ``TRUNCATE`` and a ``CHECKPOINT``.

See benchmarks/README.md for figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_postgres  # noqa: E402 - benchmarks/, beside this script

from responsibilities.notices.sweep import prepare, sweep  # noqa: E402
from responsibilities.plan.deliverables import deliverable_ref  # noqa: E402
from responsibilities.plan.loader import load_plan  # noqa: E402
from responsibilities.storage import migrate  # noqa: E402
from responsibilities.storage.db import make_engine, make_session_factory, read_session  # noqa: E402
from responsibilities.storage.plan_sync import calendar_days, obligation_key, plan_settings, qualified_ref  # noqa: E402

FIRST_DUE, LAST_DUE = date(2019, 10, 1), date(2022, 1, 10)  # due dates are spread over this span
OBLIGATIONS_PER_UNIT = 8  # each unit leads a handful of obligations (the seed plan: 72 obligations, 36 units)
# State mix, independent of the due date: 60 % decided, 40 % still with the unit or the office.
STATES = (("accepted", 55), ("waived", 5), ("open", 28), ("returned", 6), ("submitted", 6))
RETIRED_SHARE = 0.01
PLAN_COPY_PREFIX = "bench-plan-"  # the plans besides the seed plan: bench-plan-02, bench-plan-03, …
CO_UNITS = ((0, 45), (1, 25), (2, 20), (3, 10))  # co-units per obligation, weights (seed plan: 1.6 on average)
OFFICE_EVERY = 100  # one after-event obligation, still waiting for its event, per this many units
BATCH = 50_000
STAMP = "2020-01-01 00:00:00.000000"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliverables", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument("--plans", type=int, default=50,
                        help="plans in the database: the seed plan and copies of its settings (bench-plan-02, …); "
                             "plan k holds a share of the obligations proportional to 1/k")
    parser.add_argument("--db", type=Path, help="the SQLite file to create (default: a temporary file)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to fill instead of a SQLite file "
                                               "(postgresql+psycopg://user@host:port/name)")
    parser.add_argument("--reuse", action="store_true",
                        help="use the database at --db or --database-url as this script built and kept it "
                             "(same --deliverables and --units), skipping the build")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2020, 6, 15),
                        help="the sweep's day (a working day in the seed calendar)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of each measurement (median)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--plan", type=Path, default=ROOT / "deadlines.yaml")
    parser.add_argument("--pragma", action="append", default=[], metavar="NAME=VALUE",
                        help="SQLite: an extra PRAGMA for every connection, on top of db.py's "
                             "(e.g. cache_size=-131072)")
    parser.add_argument("--keep", action="store_true", help="keep the database (file, or tables) afterwards")
    args = parser.parse_args(argv)
    if args.database_url and (args.db or args.pragma):
        parser.error("--db and --pragma are SQLite's: not with --database-url")
    if not 1 <= args.plans <= 999:
        parser.error("--plans: from 1 to 999")
    return args


def quoted(column: str) -> str:
    return f'"{column}"' if column == "end" else column  # a keyword in SQL


def weighted(rng: random.Random, choices: tuple[tuple[object, int], ...], n: int) -> list:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=n)


# ── the data, the same for every database ────────────────────────────────────────────────────────


@dataclass
class Rows:
    """The generated rows, as tuples in the column orders below (SQLite's values: text dates, 0/1 booleans)."""

    plans: list[tuple]  # PLAN_COLUMNS
    calendar: list[tuple]  # (day, working, cum)
    units: list[tuple]  # (id, name, short_name, kind, aliases, emails)
    unit_plans: list[tuple]  # (plan_id, unit_id): the plans naming each unit (lead or co-unit of their obligations)
    event: tuple  # (id, name, text, issued_by)
    obligations: list[tuple]  # (id, plan_id, ref, lead_unit_id, kind, awaits, co_unit_ids)
    co_units: list[tuple]  # (obligation_id, unit_id)
    deliverables: Iterator[tuple]  # DELIVERABLE_COLUMNS[:12], generated lazily (after the obligations' draws)
    plan_deliverables: dict[str, int]  # deliverables per plan, filled in as they are generated


PLAN_COLUMNS = ("id", "title", "short_name", "document_number", "issuer", "kind", "time_zone", "start", "end",
                "published_on", "settings", "loaded_at")
DELIVERABLE_COLUMNS = ("qualified_ref", "plan_id", "ref", "obligation_id", "unit_id", "period", "original_due", "due",
                       "state", "submitted_at", "decided_at", "retired", "set_by_office", "updated_at", "updated_by",
                       "version")
DELIVERABLE_CONSTANTS = (0, STAMP, "bench", 1)  # set_by_office, updated_at, updated_by, version


def plan_rows(plan, count: int) -> list[tuple]:
    """The seed plan as it is, and ``count - 1`` copies of its settings (rules, calendar, schedules, office) under
    their own ids, names and document numbers. The copies are published a day after the seed plan, so that the
    seed plan stays the office's first plan (``storage.plans.PRIMARY_ORDER``: published first, then by id)."""
    settings = json.dumps(plan_settings(plan))
    width = max(2, len(str(count)))
    rows = [(plan.id, plan.title, plan.display_name, plan.document_number, plan.issuer, "plan", plan.time_zone,
             plan.start.isoformat(), plan.end.isoformat(), plan.published_on.isoformat(), settings, STAMP)]
    for k in range(2, count + 1):
        number = f"{k:0{width}d}"
        rows.append((f"{PLAN_COPY_PREFIX}{number}", f"{plan.title}(基准副本{number})", f"基准方案{number}",
                     f"基准〔2019〕{k}号", plan.issuer, "plan", plan.time_zone, plan.start.isoformat(),
                     plan.end.isoformat(), (plan.published_on + timedelta(days=1)).isoformat(), settings, STAMP))
    return rows


def generate(args: argparse.Namespace) -> Rows:
    plan = load_plan(args.plan)
    rng = random.Random(args.seed)
    plans = plan_rows(plan, args.plans)
    plan_ids = [row[0] for row in plans]
    # Which plan each obligation belongs to, from a generator of its own: the units, obligations, co-units and
    # deliverables (dates, states) are the same rows as those of the one-plan builds before issue 15.
    placing = random.Random(f"{args.seed}:plans")
    plan_weights = [1 / k for k in range(1, len(plan_ids) + 1)]
    calendar = [(d.isoformat(), int(w), c) for d, w, c in calendar_days(plan.working_calendar(), plan.start, plan.end)]
    units = [f"u{i:05d}" for i in range(args.units)]
    unit_rows = [(u, f"单位{u}", u, "department", "[]", json.dumps([f"{u}@bench.example"])) for u in units]

    obligations, co_rows, named = [], [], set()
    for i, unit in enumerate(units):
        refs = [(f"{unit}.o{j}", "periodic", None) for j in range(OBLIGATIONS_PER_UNIT)]
        if i % OFFICE_EVERY == 0:  # waiting for an event that has not happened: the office is owed a notice
            refs.append((f"{unit}.await", "after_event", "bench-event"))
        for ref, kind, awaits in refs:
            plan_id = placing.choices(plan_ids, weights=plan_weights)[0]
            key = obligation_key(plan_id, ref)
            co = []
            if kind == "periodic":
                co = rng.sample(units, weighted(rng, CO_UNITS, 1)[0] + 1)
                co = [c for c in co if c != unit][:3]
            co_rows += [(key, c) for c in co]
            named.update((plan_id, u) for u in (unit, *co))
            obligations.append((key, plan_id, ref, unit, kind, awaits, json.dumps(co)))
    named.add((plan_ids[0], units[0]))  # the event's issuer
    dated = [(o[0], o[1], o[2], o[3]) for o in obligations if o[4] == "periodic"]
    counts = dict.fromkeys(plan_ids, 0)
    return Rows(plans, calendar, unit_rows, sorted(named), ("bench-event", "事件", "尚未发生", units[0]), obligations,
                co_rows, _deliverables(rng, dated, args.deliverables, counts), counts)


def _deliverables(rng: random.Random, dated: list[tuple[str, str, str, str]], total: int,
                  counts: dict[str, int]) -> Iterator[tuple]:
    span = (LAST_DUE - FIRST_DUE).days
    per, extra = divmod(total, len(dated))
    for n, (key, plan_id, ref, unit) in enumerate(dated):
        k_count = per + (n < extra)
        if k_count > span:
            raise SystemExit(f"{k_count} deliverables per obligation do not fit in {span} days: add units")
        phase = (n * 0.6180339887) % 1.0
        states = weighted(rng, STATES, k_count)
        counts[plan_id] += k_count
        for k in range(k_count):
            due = (FIRST_DUE + timedelta(days=int((k + phase) * span / k_count))).isoformat()
            state = states[k]
            decided = STAMP if state in ("accepted", "waived") else None
            submitted = STAMP if state in ("submitted", "accepted") else None
            deliverable = deliverable_ref(ref, due)
            yield (qualified_ref(plan_id, deliverable), plan_id, deliverable, key, unit, due, due, due, state,
                   submitted, decided, int(rng.random() < RETIRED_SHARE))


def sizes(rows: Rows, deliverables: int) -> dict[str, int]:
    return {"plans": len(rows.plans), "units": len(rows.units), "unit-plan rows": len(rows.unit_plans),
            "obligations": len(rows.obligations), "co-unit rows": len(rows.co_units), "deliverables": deliverables}


def plan_sizes(rows: Rows) -> str:
    """The deliverables of the largest plans and of the smallest."""
    ordered = sorted(rows.plan_deliverables.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{plan} {n:,}" for plan, n in ordered[:3]]
    if len(ordered) > 4:
        shown.append("…")
    shown += [f"{plan} {n:,}" for plan, n in ordered[max(3, len(ordered) - 1):]]
    return "deliverables per plan: " + ", ".join(shown)


# ── what differs per database ────────────────────────────────────────────────────────────────────


class SQLite:
    """A SQLite file: raw sqlite3 for the bulk build; the bare cursor in autocommit mode (explicit BEGIN)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.where = str(path)

    def header(self) -> str:
        return f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}; database {self.path}"

    def build(self, rows: Rows) -> int:
        engine = make_engine(self.url)
        migrate.upgrade(engine)
        engine.dispose()
        con = sqlite3.connect(self.path, isolation_level=None)
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO plans ({', '.join(map(quoted, PLAN_COLUMNS))}) "
                        f"VALUES ({', '.join('?' * len(PLAN_COLUMNS))})", rows.plans)
        con.executemany("INSERT INTO calendar_days (day, working, cum) VALUES (?, ?, ?)", rows.calendar)
        con.executemany("INSERT INTO units (id, name, short_name, kind, aliases, emails, retired) "
                        "VALUES (?, ?, ?, ?, ?, ?, 0)", rows.units)
        con.executemany("INSERT INTO unit_plans (plan_id, unit_id) VALUES (?, ?)", rows.unit_plans)
        con.execute("INSERT INTO events (id, name, text, issued_by) VALUES (?, ?, ?, ?)", rows.event)
        con.executemany("INSERT INTO obligations (id, plan_id, ref, declared_id, lead_unit_id, task, deadline_text, "
                        "kind, rule, awaits, sources, co_unit_ids) "
                        "VALUES (?1, ?2, ?3, ?3, ?4, '任务', '每月10日前', ?5, '{}', ?6, '[]', ?7)",
                        rows.obligations)
        con.executemany("INSERT INTO obligation_co_units (obligation_id, unit_id) VALUES (?, ?)", rows.co_units)
        batch, count = [], 0
        for row in rows.deliverables:
            batch.append(row)
            if len(batch) >= BATCH:
                count += self._insert_deliverables(con, batch)
        count += self._insert_deliverables(con, batch)
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        return count

    @staticmethod
    def _insert_deliverables(con: sqlite3.Connection, rows: list[tuple]) -> int:
        con.executemany(
            f"INSERT INTO deliverables ({', '.join(DELIVERABLE_COLUMNS)}) "
            f"VALUES ({'?, ' * (len(DELIVERABLE_COLUMNS) - 4)}0, '{STAMP}', 'bench', 1)", rows)
        n = len(rows)
        rows.clear()
        return n

    def size(self) -> str:
        return f"file {self.path.stat().st_size / 2**20:.0f} MiB"

    def configure(self, engine, args: argparse.Namespace) -> None:
        if args.pragma:
            @event.listens_for(engine, "connect")
            def extra_pragmas(dbapi_connection, _record):
                for pragma in args.pragma:
                    dbapi_connection.execute(f"PRAGMA {pragma}")
            print("extra PRAGMAs on every connection (floor and sweep alike): " + "; ".join(args.pragma))

    @contextmanager
    def transaction(self, raw):  # a sqlite3 connection in autocommit mode (db.py)
        raw.execute("BEGIN")
        yield
        raw.execute("COMMIT")

    def clear_notices(self, raw) -> None:
        raw.execute("DELETE FROM notices")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    plan_title = "EXPLAIN QUERY PLAN"

    def plan(self, raw, sql: str, params) -> tuple[list[str], list[str]]:
        """(the plan's lines, those that scan deliverables in full)."""
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        return plan, [p for p in plan if p.startswith("SCAN") and "deliverables" in p.split()[1:3]]

    @staticmethod
    def show_plan(plan: list[str]) -> str:
        return " | ".join(plan)

    def remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class Postgres:
    """An empty PostgreSQL database (``bench_postgres``): COPY for the bulk build; the bare psycopg cursor in
    its default mode (a transaction opened by the first statement, ended by ``commit``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.where = bench_postgres.safe_url(self.engine)

    def header(self) -> str:
        return (f"python {platform.python_version()}; database {self.where}\n"
                f"{bench_postgres.describe(self.engine)}")

    def build(self, rows: Rows) -> int:
        started = time.perf_counter()
        migrate.upgrade(self.engine)
        migrated = time.perf_counter()
        pooled = self.engine.raw_connection()
        try:
            con = pooled.driver_connection  # psycopg: the first statement opens the transaction
            with con.cursor() as cur:
                # Triggers of 0006/0007/0010 off for the load (foreign keys stay checked), on again in this transaction.
                cur.execute("ALTER TABLE deliverables DISABLE TRIGGER USER")
                self._copy(cur, "plans", PLAN_COLUMNS, rows.plans)
                self._copy(cur, "calendar_days", ("day", "working", "cum"), rows.calendar)
                self._copy(cur, "units", ("id", "name", "short_name", "kind", "aliases", "emails", "retired"),
                           (unit + (0,) for unit in rows.units))
                self._copy(cur, "unit_plans", ("plan_id", "unit_id"), rows.unit_plans)
                self._copy(cur, "events", ("id", "name", "text", "issued_by"), [rows.event])
                self._copy(cur, "obligations", ("id", "plan_id", "ref", "declared_id", "lead_unit_id", "task",
                                                "deadline_text", "kind", "rule", "awaits", "sources", "co_unit_ids"),
                           ((key, plan_id, ref, ref, unit, "任务", "每月10日前", kind, "{}", awaits, "[]", co)
                            for key, plan_id, ref, unit, kind, awaits, co in rows.obligations))
                self._copy(cur, "obligation_co_units", ("obligation_id", "unit_id"), rows.co_units)
                count = self._copy(cur, "deliverables", DELIVERABLE_COLUMNS,
                                   (row + DELIVERABLE_CONSTANTS for row in rows.deliverables))
                cur.execute("ALTER TABLE deliverables ENABLE TRIGGER USER")
                copied = time.perf_counter()
                # Migrations 0006's and 0010's backfills, word for word: what their triggers would have counted
                # row by row.
                cur.execute("INSERT INTO deliverable_counts (unit_id, state, dated, n) "
                            "SELECT unit_id, state, due IS NOT NULL, count(*) FROM deliverables "
                            "WHERE retired = false GROUP BY unit_id, state, due IS NOT NULL")
                cur.execute("INSERT INTO deliverable_plan_counts (plan_id, unit_id, state, dated, n) "
                            "SELECT plan_id, unit_id, state, due IS NOT NULL, count(*) FROM deliverables "
                            "WHERE retired = false GROUP BY plan_id, unit_id, state, due IS NOT NULL")
            con.commit()
            counted = time.perf_counter()
        finally:
            pooled.close()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
        print(f"  PostgreSQL build: migrations {migrated - started:.1f} s, COPY {copied - migrated:.1f} s, "
              f"counts backfilled {counted - copied:.1f} s, VACUUM (ANALYZE) {time.perf_counter() - counted:.1f} s")
        return count

    @staticmethod
    def _copy(cur, table: str, columns: tuple[str, ...], rows) -> int:
        from psycopg import sql

        n = 0
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table),
                                                              sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    def size(self) -> str:
        return f"database {bench_postgres.database_size(self.engine)}"

    def configure(self, engine, args: argparse.Namespace) -> None:
        pass  # server settings come from the server, or from the URL (?options=-csynchronous_commit%3Doff)

    @contextmanager
    def transaction(self, raw):  # a psycopg connection, not in autocommit mode
        yield
        raw.commit()

    checkpoints = True

    def clear_notices(self, raw) -> None:
        from psycopg.errors import InsufficientPrivilege

        raw.execute("TRUNCATE notices")
        raw.commit()
        if self.checkpoints:  # as SQLite's wal_checkpoint: the sweep starts after a checkpoint, as a daily job does
            try:
                raw.execute("CHECKPOINT")
            except InsufficientPrivilege:  # needs a superuser or pg_checkpoint: then the checkpointer decides
                print("  (no CHECKPOINT before each sweep: the role may not; grant it pg_checkpoint)")
                self.checkpoints = False
            raw.rollback()

    plan_title = "EXPLAIN"

    def plan(self, raw, sql: str, params) -> tuple[list[str], list[str]]:
        plan = [row[0] for row in raw.execute(f"EXPLAIN {sql}", params)]
        raw.rollback()
        return plan, [p.strip() for p in plan if "Seq Scan on deliverables" in p]

    @staticmethod
    def show_plan(plan: list[str]) -> str:
        return "\n      " + "\n      ".join(plan)

    def remove(self) -> None:
        bench_postgres.drop_created(self.engine)
        self.engine.dispose()


# ── the measurements, the same for every database ────────────────────────────────────────────────


def build(path: Path, args: argparse.Namespace) -> tuple[dict[str, int], str]:
    """A fresh SQLite file: real schema by migration, then bulk inserts (also web_benchmark's builder); returns the
    sizes and the deliverables of the largest and smallest plans (``plan_sizes``)."""
    rows = generate(args)
    built = sizes(rows, SQLite(path).build(rows))
    return built, plan_sizes(rows)


def owed_statements(engine, session_factory, today: date,
                    now: datetime) -> list[tuple[str, str, tuple | dict]]:
    """(kind, SQL, parameters) of each owed SELECT, exactly as the driver receives them."""
    captured: list[tuple[str, tuple | dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, dict(parameters) if isinstance(parameters, dict) else tuple(parameters)))

    with read_session(session_factory) as session:
        plan_sweeps, working = prepare(session, today, now)
        if not working:
            raise SystemExit(f"{today} is not a working day: the sweep writes nothing on it; pick another --today")
        kinds = []
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for kind, queries in ((k, q) for s in plan_sweeps for k, q in s.owed_selects().items()):
                for query in queries:
                    before = len(captured)
                    session.execute(query).all()  # compiled and bound by SQLAlchemy; also warms the cache
                    del captured[before:-1]
                    kinds.append(kind)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    assert len(kinds) == len(captured)
    statements = [(kind, sql, params) for kind, (sql, params) in zip(kinds, captured, strict=True)]
    return statements


def time_floor(db: SQLite | Postgres, raw, statements, count_only: bool = False) -> tuple[float, int]:
    rows = 0
    start = time.perf_counter()
    with db.transaction(raw):
        cursor = raw.cursor()
        for _, sql, params in statements:
            if count_only:
                cursor.execute(f"SELECT count(*) FROM ({sql}) AS owed", params)
                rows += cursor.fetchone()[0]
            else:
                cursor.execute(sql, params)
                rows += len(cursor.fetchall())
        cursor.close()
    return time.perf_counter() - start, rows


def notices_by_kind(db: SQLite | Postgres, raw) -> dict[str, int]:
    with db.transaction(raw):
        cursor = raw.cursor()
        cursor.execute("SELECT kind, count(*) FROM notices GROUP BY kind")
        counts = dict(cursor.fetchall())
        cursor.close()
    return {kind: counts.get(kind, 0) for kind in ("reminder", "chase", "escalation", "office", *sorted(counts))}


def explain(db: SQLite | Postgres, raw, statements) -> list[str]:
    problems = []
    for i, (kind, sql, params) in enumerate(statements):
        plan, scans = db.plan(raw, sql, params)
        print(f"  [{i}] {kind}: " + db.show_plan(plan))
        problems += [f"[{i}] {kind}: {p}" for p in scans]
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmpdir = None
    if args.database_url:
        db: SQLite | Postgres = Postgres(args.database_url)
        fresh = bench_postgres.require_empty(db.engine, args.reuse)
    else:
        if args.db is None:
            tmpdir = tempfile.mkdtemp(prefix="duban-bench-")
            path = Path(tmpdir) / "bench.sqlite3"
        else:
            path = args.db
            if path.exists() and not args.reuse:
                raise SystemExit(f"{path} exists: the benchmark builds a fresh database; remove it or pick another "
                                 "--db (or --reuse it, if this script built and kept it)")
        db = SQLite(path)
        fresh = not path.exists()
    print(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs; "
          "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(db.header())
    try:
        if fresh:
            start = time.perf_counter()
            rows = generate(args)
            built = sizes(rows, db.build(rows))
            print(f"built in {time.perf_counter() - start:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in built.items())
                  + f"; {db.size()}\n{plan_sizes(rows)}")
        else:
            print(f"reusing the database as built before ({db.size()}): not rebuilt")
        return measure(db, args, reused=not fresh)
    finally:
        if args.keep or not fresh:
            print(f"kept {db.where}")
        else:
            db.remove()
            if tmpdir:
                os.rmdir(tmpdir)


def check_reused(engine, args: argparse.Namespace) -> None:
    """A reused database must be what this script would build: the current schema, the same sizes."""
    with engine.connect() as connection:
        found = tuple(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                      for table in ("deliverables", "units", "plans"))
    revision = migrate.current_revision(engine)
    if found != (args.deliverables, args.units, args.plans) or revision != migrate.HEAD:
        raise SystemExit(f"--reuse: the database holds {found[0]:,} deliverables, {found[1]:,} units and {found[2]} "
                         f"plans at schema {revision}; asked for {args.deliverables:,}, {args.units:,} and "
                         f"{args.plans} at {migrate.HEAD}")


def measure(db: SQLite | Postgres, args: argparse.Namespace, reused: bool = False) -> int:
    engine = make_engine(db.url)
    db.configure(engine, args)
    session_factory = make_session_factory(engine)
    if reused:
        check_reused(engine, args)
    now = datetime.combine(args.today, datetime.min.time(), timezone.utc) + timedelta(hours=1)
    statements = owed_statements(engine, session_factory, args.today, now)
    pooled = engine.raw_connection()  # the floor's connection: the app's own settings (db.py), as the sweep's
    raw = pooled.driver_connection  # sqlite3 in autocommit mode (BEGIN/COMMIT explicit), or psycopg

    print(f"\n{db.plan_title} of the {len(statements)} owed SELECTs (today {args.today}):")
    problems = explain(db, raw, statements)
    print("  full scans of deliverables: " + ("; ".join(problems) if problems else "none"))

    time_floor(db, raw, statements)  # warm the cache for both sides
    floor, counted, swept = [], [], []
    owed = written = reported = None
    for _ in range(args.repeat):
        seconds, owed_now = time_floor(db, raw, statements)
        floor.append(seconds)
        counted.append(time_floor(db, raw, statements, count_only=True)[0])
        db.clear_notices(raw)
        start = time.perf_counter()
        report = sweep(session_factory, now=now, today=args.today)
        swept.append(time.perf_counter() - start)
        owed, reported = owed_now, report.written
        written = notices_by_kind(db, raw)  # counted in the table, not timed: the sweep's report is checked below
    assert sum(written.values()) == owed, f"the sweep wrote {written}, but {owed} rows are owed"

    second, second_rows, second_reported = [], [], []
    for i in range(args.repeat):
        start = time.perf_counter()
        report = sweep(session_factory, now=now + timedelta(hours=i + 1), today=args.today)
        second.append(time.perf_counter() - start)
        second_rows.append(sum(notices_by_kind(db, raw).values()) - owed)
        second_reported.append(report.total)
    assert second_rows == [0] * args.repeat, f"the second sweep wrote rows: {second_rows}"
    pooled.close()
    engine.dispose()
    if reported != written or second_reported != second_rows:  # the report is the app's rowcount, the table the truth
        print(f"\nwarning: the sweep's report says it wrote {reported} (first) and {second_reported} (second), "
              f"the notices table has {written} and {second_rows} more")

    f, c, s, s2 = (statistics.median(x) for x in (floor, counted, swept, second))
    print(f"\nmedian of {args.repeat} runs each; first sweep wrote {written}")
    table = [("rows owed (floor SELECTs)", f"{owed:,}"),
             ("floor: owed SELECTs, all rows fetched", f"{f:.3f} s"),
             ("  (same SELECTs as count(*) only)", f"{c:.3f} s"),
             ("sweep, no notices yet", f"{s:.3f} s  (wrote {sum(written.values()):,})"),
             ("ratio sweep / floor", f"{s / f:.2f}×  (goal ≤ 2×; vs count(*): {s / c:.2f}×)"),
             ("second sweep, same day", f"{s2:.3f} s  (wrote {second_rows[-1]})")]
    width = max(len(k) for k, _ in table)
    for key, value in table:
        print(f"  {key.ljust(width)}  {value}")
    runs = {"floor": floor, "count": counted, "sweep": swept, "second": second}
    print("  all runs (s): " + "; ".join(f"{name} " + " ".join(f"{x:.3f}" for x in xs) for name, xs in runs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
