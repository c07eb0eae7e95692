"""The office's dashboard and a unit's workspace at scale: server time per request, next to the bare SQL floor.

Run by hand, not by the test suite:

    .venv/bin/python benchmarks/web_benchmark.py --deliverables 1000000 --units 5000 --plans 50

It builds the database with the sweep benchmark's builder (``sweep_benchmark.build``: the real schema by
migration, ``--plans`` plans with the seed plan's settings and calendar, ``--units`` units, ``--deliverables``
deliverables spread over the plans, plan k holding a share ∝ 1/k), adds an office account and a unit's account,
signs both in through the sign-in page, and then requests ``/dashboard`` (every plan), ``/dashboard?plan=<id>``
for a large plan and a small one (by default the plans with the most and the fewest deliverables) and
``/units/<unit>`` ``--requests`` times each, in process (Starlette's TestClient), after a few warm-up requests.
The time counted is the server's: from the moment the application receives the request until it has sent the
last byte of the response (an ASGI wrapper around the app), so the test client's own work is left out. Medians
and 95th percentiles are printed, each with its goal. Before those, the day's first dashboard: a dashboard
requested before the day's sweep has moved the kept lights (with no day kept, and with the day before kept),
and the first one after the move.

In the same run, on the same warm database, it times the floors: the bare SQL aggregate the dashboard's
matrix needs (units × lights with counts, every current deliverable), and the same aggregate for one plan's
deliverables, on a DB-API cursor with the app's connection settings. It also lists every statement each page
runs, each timed bare, with its query plan, so one sees where the time goes; ``--profile`` adds cProfile's top
functions for each page.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sweep_benchmark  # noqa: E402 - the builder, reused

from responsibilities.storage.db import make_engine, make_session_factory, read_session  # noqa: E402
from responsibilities.storage.migrate import upgrade  # noqa: E402
from responsibilities.storage.model import User  # noqa: E402
from responsibilities.storage.plans import require_plan  # noqa: E402
from responsibilities.tracking.accounts import set_password  # noqa: E402
from responsibilities.tracking.services import add_user  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
OFFICE, UNIT_USER, PASSWORD = "bench-office", "bench-unit", "benchmark password 2019"
# seconds, median (issue 15: at 1,000,000 deliverables across 50 plans and 5,000 units)
GOALS = {"dashboard": 0.100, "dashboard, large plan": 0.100, "dashboard, small plan": 0.100, "workspace": 0.030}
FIRST_GOAL = 0.150  # the day's first dashboard


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliverables", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument("--plans", type=int, default=50, help="plans in the database built (sweep_benchmark's)")
    parser.add_argument("--large-plan", help="the large plan whose dashboard is timed (default: the most deliverables)")
    parser.add_argument("--small-plan", help="the small plan whose dashboard is timed (default: the fewest)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests of each page")
    parser.add_argument("--warm-up", type=int, default=3, help="untimed requests of each page first")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2020, 6, 15))
    parser.add_argument("--unit", default="u00042", help="the unit whose workspace is requested")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--db", type=Path, help="the SQLite file (default: a temporary file); built if missing")
    parser.add_argument("--reuse", action="store_true", help="use an existing --db as it is (built by this script)")
    parser.add_argument("--profile", action="store_true", help="also run each page under cProfile; print the top")
    parser.add_argument("--keep", action="store_true", help="keep the database file afterwards")
    return parser.parse_args(argv)


class ServerTimer:
    """ASGI wrapper: the time from receiving a request to sending the end of its response."""

    def __init__(self, app) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope, receive, send) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.times.append(time.perf_counter() - start)


def build(path: Path, args: argparse.Namespace) -> None:
    builder_args = sweep_benchmark.parse_args(["--deliverables", str(args.deliverables), "--units", str(args.units),
                                               "--plans", str(args.plans), "--seed", str(args.seed)])
    start = time.perf_counter()
    sizes, per_plan = sweep_benchmark.build(path, builder_args)
    print(f"built in {time.perf_counter() - start:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
          + f"; file {path.stat().st_size / 2**20:.0f} MiB\n{per_plan}")


def add_accounts(session_factory, unit: str, now: datetime) -> None:
    with read_session(session_factory) as session:
        existing = {name for (name,) in session.query(User.name)}
    for name, role in ((OFFICE, "office"), (UNIT_USER, f"unit:{unit}")):
        if name not in existing:
            add_user(session_factory, name=name, role=role, now=now)
        set_password(session_factory, name=name, password=PASSWORD, now=now)


def make_client(path: Path, now: datetime):
    from fastapi.testclient import TestClient

    from workflows.settings import Settings
    from workflows.web.app import create_app

    settings = replace(Settings.from_environment(), database_url=f"sqlite:///{path}",
                       evidence_dir=path.parent / "evidence", time_zone=ZONE, base_url="http://testserver")
    app = create_app(settings, now=lambda: now)
    timer = ServerTimer(app)
    return app, timer, lambda: TestClient(timer, base_url="http://testserver")


def sign_in(client, name: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
    response = client.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]


def first_of_the_day(session_factory, client, timer: ServerTimer, today: date,
                     rounds: int = 3) -> dict[str, list[float]]:
    """The day's first dashboard. A GET never writes: before the day's sweep has moved the kept lights to the day,
    the matrix is counted otherwise (with no day kept at all, as after the upgrade and before the first sweep; and
    with the day before kept, as every day between midnight and the sweep). Also the sweep's moves of the lights
    (from no day kept: every deliverable counted; from the day before: only those whose light changes overnight),
    and the first dashboard after the move (the move's write has emptied the readers' page caches).

    First the process's first dashboard (no day kept: templates and statements compiled on the way, as after a
    restart); then one dashboard on today's kept lights, and ``rounds`` times each of the above, in that order."""
    from sqlalchemy import delete

    from responsibilities.reading import lights
    from responsibilities.storage.model import LightsDay

    def one() -> float:
        timer.times.clear()
        assert client.get("/dashboard").status_code == 200
        return timer.times[-1]

    def move(day: date) -> float:
        began = time.perf_counter()
        lights.keep_up(session_factory, day)
        return time.perf_counter() - began

    def forget() -> None:
        with session_factory.begin() as session:
            session.execute(delete(LightsDay))

    forget()
    found: dict[str, list[float]] = {"the process's first dashboard, no day kept": [one()]}
    move(today)
    one()
    for _ in range(rounds):
        forget()
        for what, seconds in (("dashboard before the day's sweep, no day kept yet", one()),
                              ("sweep moves the lights: no day kept yet", move(today - timedelta(days=1))),
                              ("dashboard before the day's sweep, the day before kept", one()),
                              ("sweep moves the lights: from the day before", move(today)),
                              ("first dashboard after the day's sweep", one())):
            found.setdefault(what, []).append(seconds)
    return found


def time_page(client, timer: ServerTimer, path: str, n: int, warm_up: int, expect: str) -> list[float]:
    for _ in range(warm_up):
        client.get(path)
    timer.times.clear()
    for _ in range(n):
        response = client.get(path)
        assert response.status_code == 200 and expect in response.text, (path, response.status_code)
    return list(timer.times)


def capture_statements(app, client, path: str) -> list[tuple[str, tuple]]:
    captured: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, tuple(parameters) if parameters else ()))

    event.listen(app.state.engine, "before_cursor_execute", capture)
    try:
        client.get(path)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", capture)
    return captured


def bare(con: sqlite3.Connection, sql: str, params: tuple, repeat: int = 5) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = len(con.execute(sql, params).fetchall())
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def floor_sql(session_factory, today: date, plan: str | None = None) -> tuple[str, tuple]:
    """The least SQL that yields the dashboard's matrix: one pass over the current deliverables (of ``plan``, when
    named), grouped."""
    with read_session(session_factory) as session:
        soon = require_plan(session).soon_before(today)
    sql = ("SELECT unit_id, CASE WHEN state IN ('accepted', 'waived') THEN 'green' WHEN state = 'submitted' "
           "THEN 'yellow' WHEN due IS NULL THEN 'grey' WHEN due < ? THEN 'red' WHEN due < ? THEN 'yellow' "
           "ELSE 'green' END AS light, count(*) FROM deliverables WHERE retired = 0"
           + (" AND plan_id = ?" if plan is not None else "") + " GROUP BY unit_id, light")
    return sql, (today.isoformat(), soon.isoformat(), *([plan] if plan is not None else []))


def pick_plans(con: sqlite3.Connection, args: argparse.Namespace) -> tuple[dict[str, int], str, str]:
    """Deliverables per plan, and the large and the small plan whose dashboards are timed."""
    counts = dict(con.execute("SELECT plan_id, count(*) FROM deliverables GROUP BY plan_id").fetchall())
    for name in (args.large_plan, args.small_plan):
        if name is not None and name not in counts:
            raise SystemExit(f"no plan {name} with deliverables in the database: {', '.join(sorted(counts))}")
    ordered = sorted(counts, key=lambda plan: (-counts[plan], plan))
    return counts, args.large_plan or ordered[0], args.small_plan or ordered[-1]


def statement_report(con: sqlite3.Connection, statements: list[tuple[str, tuple]]) -> float:
    total = 0.0
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT"):
            print(f"    (not a SELECT, not timed) {' '.join(sql.split())[:100]}")
            continue
        seconds, rows = bare(con, sql, params, repeat=3)
        total += seconds
        plan = " | ".join(row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        print(f"    {seconds * 1000:8.2f} ms {rows:6,} rows  {' '.join(sql.split())[:110]}")
        print(f"                plan: {plan[:220]}")
    return total


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(times), p95


def profile(client, path: str, n: int = 10) -> None:
    """cProfile of the server's work for ``path``: the application runs its synchronous routes and dependencies in
    worker threads (FastAPI's ``run_in_threadpool``), which a profiler of this thread does not see; each of those
    calls is profiled in its own thread, and the profiles are added up."""
    import fastapi.dependencies.utils
    import fastapi.routing

    profilers: list[cProfile.Profile] = []
    modules = (fastapi.routing, fastapi.dependencies.utils)
    original = fastapi.routing.run_in_threadpool

    async def profiled(func, *args, **kwargs):
        def run(*inner_args, **inner_kwargs):
            profiler = cProfile.Profile()
            try:
                return profiler.runcall(func, *inner_args, **inner_kwargs)
            finally:
                profilers.append(profiler)
        return await original(run, *args, **kwargs)

    for module in modules:
        module.run_in_threadpool = profiled
    try:
        for _ in range(n):
            client.get(path)
    finally:
        for module in modules:
            module.run_in_threadpool = original
    out = io.StringIO()
    pstats.Stats(*profilers, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"\ncProfile of {n} × GET {path} (the server's threads), top 30 by cumulative time:")
    print("\n".join(out.getvalue().splitlines()[:60]))


def verdict(seconds: float, goal: float) -> str:
    return f"goal ≤ {goal * 1000:.0f} ms: {'met' if seconds <= goal else 'MISSED'}"


def measure(path: Path, args: argparse.Namespace) -> int:
    now = datetime.combine(args.today, datetime.min.time(), ZONE) + timedelta(hours=10)
    engine = make_engine(f"sqlite:///{path}")
    session_factory = make_session_factory(engine)
    add_accounts(session_factory, args.unit, now)
    pooled = engine.raw_connection()  # the floors' connection: the app's own connection settings (db.py)
    raw = pooled.driver_connection
    per_plan, large, small = pick_plans(raw, args)
    print(f"{len(per_plan)} plans with deliverables; timed: large plan {large} ({per_plan[large]:,} deliverables), "
          f"small plan {small} ({per_plan[small]:,})")
    app, timer, new_client = make_client(path, now)
    office, unit = new_client(), new_client()
    sign_in(office, OFFICE)
    sign_in(unit, UNIT_USER)
    pages = {"dashboard": (office, "/dashboard", "各单位状态灯"),
             "dashboard, large plan": (office, f"/dashboard?plan={large}", f'value="{large}" selected'),
             "dashboard, small plan": (office, f"/dashboard?plan={small}", f'value="{small}" selected'),
             "workspace": (unit, f"/units/{args.unit}", 'id="deliverables"')}

    firsts = first_of_the_day(session_factory, office, timer, args.today)
    results = {name: time_page(client, timer, url, args.requests, args.warm_up, expect)
               for name, (client, url, expect) in pages.items()}

    floors = {}
    for name, plan_id in (("every plan", None), (f"large plan {large}", large), (f"small plan {small}", small)):
        sql, params = floor_sql(session_factory, args.today, plan_id)
        bare(raw, sql, params, repeat=1)  # warm
        seconds, rows = bare(raw, sql, params, repeat=max(5, min(args.requests, 20)))
        plan = " | ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        floors[name] = (seconds, rows, plan)

    print(f"\n{args.requests} requests each after {args.warm_up} warm-up requests; today {args.today}; "
          f"workspace of {args.unit}")
    width = max(len(name) for name in [*results, *floors])
    for name, times in results.items():
        median, p95 = summary(times)
        print(f"  {name:<{width}}  median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
              f"({verdict(median, GOALS[name])})")
    print("floors: the bare matrix aggregate (units × lights, counted over the current deliverables)")
    for name, (seconds, rows, plan) in floors.items():
        print(f"  {name:<{width}}  median {seconds * 1000:7.1f} ms   {rows:,} rows; plan: {plan}")
    dashboards = {"dashboard": "every plan", "dashboard, large plan": f"large plan {large}",
                  "dashboard, small plan": f"small plan {small}"}
    print("  " + "; ".join(f"{name} / floor: {statistics.median(results[name]) / floors[floor][0]:.3f}×"
                           for name, floor in dashboards.items()))
    print("the day's first dashboard (median of the rounds; all rounds):")
    for what, times in firsts.items():
        median = statistics.median(times)
        day_first = "dashboard" in what and "process" not in what  # a restart is not a day's first request
        goal = f"   ({verdict(median, FIRST_GOAL)})" if day_first else ""
        print(f"  {what}: {median * 1000:.1f} ms{goal}   [" + " ".join(f"{t * 1000:.1f}" for t in times) + "]")
    for _name, (client, url, _) in pages.items():
        print(f"\nstatements of one GET {url}, each timed bare (median of 3):")
        total = statement_report(raw, capture_statements(app, client, url))
        print(f"    {total * 1000:8.2f} ms in all")
    pooled.close()
    if args.profile:
        for _name, (client, url, _) in pages.items():
            profile(client, url)
    for client in (office, unit):
        client.close()
    engine.dispose()
    app.state.engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmpdir = None
    if args.db is None:
        tmpdir = tempfile.mkdtemp(prefix="duban-web-bench-")
        path = Path(tmpdir) / "bench.sqlite3"
    else:
        path = args.db
        if path.exists() and not args.reuse:
            raise SystemExit(f"{path} exists: pass --reuse to use it as it is, or pick another --db")
    print(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs")
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}; database {path}")
    try:
        if not path.exists():
            build(path, args)
        else:  # a database an older duban built: bring its schema up to this one's
            start = time.perf_counter()
            before, after = upgrade(make_engine(f"sqlite:///{path}"))
            if before != after:
                print(f"schema {before} → {after} in {time.perf_counter() - start:.1f} s")
        return measure(path, args)
    finally:
        if args.keep or args.reuse:
            print(f"kept {path}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            if tmpdir:
                for leftover in Path(tmpdir).rglob("*"):
                    if leftover.is_file():
                        leftover.unlink()
                for folder in sorted(Path(tmpdir).rglob("*"), reverse=True):
                    folder.rmdir()
                os.rmdir(tmpdir)


if __name__ == "__main__":
    raise SystemExit(main())
