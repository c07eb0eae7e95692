"""The daily sweep at scale: its time next to the bare SQL that selects the same owed rows (the floor).

Run by hand, not by the test suite:

    .venv/bin/python benchmarks/sweep_benchmark.py --deliverables 1000000 --units 5000

It builds a fresh SQLite file with the real schema (Alembic migrations, real indexes), the real seed plan's
supervision settings and working-day calendar, ``--units`` units each leading a handful of obligations
(some with co-units), and ``--deliverables`` deliverables due between 2019-10 and 2022-01. Then, in the same
run and on the same warm database, it times (median of ``--repeat`` runs each):

- the floor: the owed SELECTs the sweep inserts from (``Sweep.owed_selects()``), executed as bare SQL on the
  DB-API cursor with every row fetched; also, for reference, the same SELECTs wrapped in ``count(*)`` (the
  engine's work alone, no rows handed to Python);
- the sweep: ``responsibilities.sweep.sweep`` on a database with no notices yet (the notices are deleted with
  plain SQL before each repetition), so every owed row is written;
- the second sweep on the same day, which must write 0 rows.

It also prints EXPLAIN QUERY PLAN for each owed SELECT and flags a full scan of ``deliverables``.
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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from responsibilities import migrate  # noqa: E402
from responsibilities.db import make_engine, make_session_factory, read_session  # noqa: E402
from responsibilities.plan import load_plan  # noqa: E402
from responsibilities.plan_sync import calendar_days, plan_settings  # noqa: E402
from responsibilities.sweep import prepare, sweep  # noqa: E402

FIRST_DUE, LAST_DUE = date(2019, 10, 1), date(2022, 1, 10)  # due dates are spread over this span
OBLIGATIONS_PER_UNIT = 8  # each unit leads a handful of obligations (the seed plan: 72 obligations, 36 units)
# State mix, independent of the due date: 60 % decided, 40 % still with the unit or the office.
STATES = (("accepted", 55), ("waived", 5), ("open", 28), ("returned", 6), ("submitted", 6))
RETIRED_SHARE = 0.01
CO_UNITS = ((0, 45), (1, 25), (2, 20), (3, 10))  # co-units per obligation, weights (seed plan: 1.6 on average)
OFFICE_EVERY = 100  # one after-event obligation, still waiting for its event, per this many units
BATCH = 50_000
STAMP = "2020-01-01 00:00:00.000000"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliverables", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument("--db", type=Path, help="the SQLite file to create (default: a temporary file)")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2020, 6, 15),
                        help="the sweep's day (a working day in the seed calendar)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of each measurement (median)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--plan", type=Path, default=ROOT / "deadlines.yaml")
    parser.add_argument("--pragma", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra PRAGMA for every connection, on top of db.py's (e.g. cache_size=-131072)")
    parser.add_argument("--keep", action="store_true", help="keep the database file afterwards")
    return parser.parse_args(argv)


def weighted(rng: random.Random, choices: tuple[tuple[object, int], ...], n: int) -> list:
    values, weights = zip(*choices)
    return rng.choices(values, weights=weights, k=n)


def build(path: Path, args: argparse.Namespace) -> dict[str, int]:
    """A fresh database: real schema by migration, then bulk inserts on a raw sqlite3 connection."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    plan = load_plan(args.plan)
    rng = random.Random(args.seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.execute("INSERT INTO plans (id, title, document_number, time_zone, start, \"end\", published_on, settings, "
                "loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (plan.id, plan.title, plan.document_number, plan.time_zone, plan.start.isoformat(),
                 plan.end.isoformat(), plan.published_on.isoformat(), json.dumps(plan_settings(plan)), STAMP))
    con.executemany("INSERT INTO calendar_days (day, working, cum) VALUES (?, ?, ?)",
                    [(d.isoformat(), int(w), c) for d, w, c in calendar_days(plan)])
    units = [f"u{i:05d}" for i in range(args.units)]
    con.executemany("INSERT INTO units (id, name, short_name, kind, aliases, emails, retired) "
                    "VALUES (?, ?, ?, ?, ?, ?, 0)",
                    [(u, f"单位{u}", u, "department", "[]", json.dumps([f"{u}@bench.example"])) for u in units])
    con.execute("INSERT INTO events (id, name, text, issued_by) VALUES ('bench-event', '事件', '尚未发生', ?)",
                (units[0],))

    obligations, co_rows = [], []
    for i, unit in enumerate(units):
        for j in range(OBLIGATIONS_PER_UNIT):
            oid = f"{unit}.o{j}"
            co = rng.sample(units, weighted(rng, CO_UNITS, 1)[0] + 1)
            co = [c for c in co if c != unit][:3]
            co_rows += [(oid, c) for c in co]
            obligations.append((oid, unit, "periodic", None, json.dumps(co)))
        if i % OFFICE_EVERY == 0:  # waiting for an event that has not happened: the office is owed a notice
            obligations.append((f"{unit}.await", unit, "after_event", "bench-event", "[]"))
    con.executemany("INSERT INTO obligations (id, declared_id, lead_unit_id, task, deadline_text, kind, rule, awaits, "
                    "sources, co_unit_ids) VALUES (?1, ?1, ?2, '任务', '每月10日前', ?3, '{}', ?4, '[]', ?5)",
                    obligations)
    con.executemany("INSERT INTO obligation_co_units (obligation_id, unit_id) VALUES (?, ?)", co_rows)

    dated = [o[0] for o in obligations if o[2] == "periodic"]
    span = (LAST_DUE - FIRST_DUE).days
    per, extra = divmod(args.deliverables, len(dated))
    rows, count = [], 0
    for n, oid in enumerate(dated):
        k_count = per + (n < extra)
        if k_count > span:
            raise SystemExit(f"{k_count} deliverables per obligation do not fit in {span} days: add units")
        phase = (n * 0.6180339887) % 1.0
        unit = oid.split(".")[0]
        states = weighted(rng, STATES, k_count)
        for k in range(k_count):
            due = (FIRST_DUE + timedelta(days=int((k + phase) * span / k_count))).isoformat()
            state = states[k]
            decided = STAMP if state in ("accepted", "waived") else None
            submitted = STAMP if state in ("submitted", "accepted") else None
            rows.append((f"{oid}@{due}", oid, unit, due, due, due, state, submitted, decided,
                         int(rng.random() < RETIRED_SHARE)))
            if len(rows) >= BATCH:
                count += insert_deliverables(con, rows)
    count += insert_deliverables(con, rows)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"units": len(units), "obligations": len(obligations), "co-unit rows": len(co_rows), "deliverables": count}


def insert_deliverables(con: sqlite3.Connection, rows: list[tuple]) -> int:
    con.executemany(
        "INSERT INTO deliverables (ref, obligation_id, unit_id, period, original_due, due, state, submitted_at, "
        "decided_at, retired, set_by_office, updated_at, updated_by, version) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '{STAMP}', 'bench', 1)", rows)
    n = len(rows)
    rows.clear()
    return n


def owed_statements(engine, session_factory, today: date,  # noqa: ANN001
                    now: datetime) -> list[tuple[str, str, tuple]]:
    """(kind, SQL, parameters) of each owed SELECT, exactly as the driver receives them."""
    captured: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        captured.append((statement, tuple(parameters)))

    with read_session(session_factory) as session:
        plan_sweep, working = prepare(session, today, now)
        if not working:
            raise SystemExit(f"{today} is not a working day: the sweep writes nothing on it; pick another --today")
        kinds = []
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for kind, queries in plan_sweep.owed_selects().items():
                for query in queries:
                    before = len(captured)
                    session.execute(query).all()  # compiled and bound by SQLAlchemy; also warms the cache
                    del captured[before:-1]
                    kinds.append(kind)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    assert len(kinds) == len(captured)
    statements = [(kind, sql, params) for kind, (sql, params) in zip(kinds, captured)]
    return statements


def time_floor(con: sqlite3.Connection, statements, count_only: bool = False) -> tuple[float, int]:  # noqa: ANN001
    rows = 0
    start = time.perf_counter()
    con.execute("BEGIN")
    for _, sql, params in statements:
        if count_only:
            rows += con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
        else:
            rows += len(con.execute(sql, params).fetchall())
    con.execute("COMMIT")
    return time.perf_counter() - start, rows


def clear_notices(con: sqlite3.Connection) -> None:
    con.execute("DELETE FROM notices")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def explain(con: sqlite3.Connection, statements) -> list[str]:  # noqa: ANN001
    problems = []
    for i, (kind, sql, params) in enumerate(statements):
        plan = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        print(f"  [{i}] {kind}: " + " | ".join(plan))
        scans = [p for p in plan if p.startswith("SCAN") and "deliverables" in p.split()[1:3]]
        problems += [f"[{i}] {kind}: {p}" for p in scans]
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmpdir = None
    if args.db is None:
        tmpdir = tempfile.mkdtemp(prefix="duban-bench-")
        path = Path(tmpdir) / "bench.sqlite3"
    else:
        path = args.db
        if path.exists():
            raise SystemExit(f"{path} exists: the benchmark builds a fresh database; remove it or pick another --db")
    print(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs")
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}; database {path}")
    try:
        start = time.perf_counter()
        sizes = build(path, args)
        print(f"built in {time.perf_counter() - start:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
              + f"; file {path.stat().st_size / 2**20:.0f} MiB")
        return measure(path, args)
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            if tmpdir:
                os.rmdir(tmpdir)


def measure(path: Path, args: argparse.Namespace) -> int:
    engine = make_engine(f"sqlite:///{path}")
    if args.pragma:
        @event.listens_for(engine, "connect")
        def extra_pragmas(dbapi_connection, _record):  # noqa: ANN001
            for pragma in args.pragma:
                dbapi_connection.execute(f"PRAGMA {pragma}")
        print("extra PRAGMAs on every connection (floor and sweep alike): " + "; ".join(args.pragma))
    session_factory = make_session_factory(engine)
    now = datetime.combine(args.today, datetime.min.time(), timezone.utc) + timedelta(hours=1)
    statements = owed_statements(engine, session_factory, args.today, now)
    pooled = engine.raw_connection()  # the floor's connection: the app's own settings (db.py), as the sweep's
    raw = pooled.driver_connection  # a sqlite3 connection in autocommit mode: BEGIN/COMMIT are explicit

    print(f"\nEXPLAIN QUERY PLAN of the {len(statements)} owed SELECTs (today {args.today}):")
    problems = explain(raw, statements)
    print("  full scans of deliverables: " + ("; ".join(problems) if problems else "none"))

    time_floor(raw, statements)  # warm the cache for both sides
    floor, counted, swept = [], [], []
    owed = written = None
    for _ in range(args.repeat):
        seconds, owed_now = time_floor(raw, statements)
        floor.append(seconds)
        counted.append(time_floor(raw, statements, count_only=True)[0])
        clear_notices(raw)
        start = time.perf_counter()
        report = sweep(session_factory, now=now, today=args.today)
        swept.append(time.perf_counter() - start)
        owed, written = owed_now, report.written
    assert sum(written.values()) == owed, f"the sweep wrote {written}, but {owed} rows are owed"

    second, second_rows = [], []
    for i in range(args.repeat):
        start = time.perf_counter()
        report = sweep(session_factory, now=now + timedelta(hours=i + 1), today=args.today)
        second.append(time.perf_counter() - start)
        second_rows.append(report.total)
    assert second_rows == [0] * args.repeat, f"the second sweep wrote rows: {second_rows}"
    pooled.close()
    engine.dispose()

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
