"""`duban simulate`: replay the plan day by day on a fresh database, with the units and the office played.

What it does: creates a new SQLite database (var/simulate/duban-<seed>.sqlite3 unless --db says otherwise;
never the configured one), migrates it, loads the plan, adds users, and walks the calendar from --from to
--to. On each simulated day every scheduled flow runs at the times its cron schedule (the plan's
``schedules``, in the plan's time zone) fires that day, with ``now`` = the firing time: the same job
functions the Prefect flows and the embedded scheduler call (workflows.schedule.jobs), on one Runtime whose ``now``
moves. The scenario (workflows.replay.scenario) plays the units at 10:00 and the office at 15:00 through the same
services a person would use. Mail goes over real SMTP (aiosmtplib, through SmtpTransport) to a sink in this
process on 127.0.0.1: by default a minimal SMTP server that only counts what it receives
(notifications.sink.CountingSink); with --keep-mail, aiosmtpd storing every message as an .eml file.

Delivery is scheduled every minute, but is not run 1,440 times a simulated day. It runs at the first firing
of its schedule after each flow that wrote notices (the sweep at 08:00 → delivery at 08:01), and again at the
day's end only if messages were left to retry. That is equivalent: a delivery run drains everything
claimable, and between those moments nothing writes notices, so the runs skipped would find nothing to do.
(Notices waiting on a retry backoff would be the exception; the sink does not fail, and the end-of-day run
catches any.) Prefect's engine is not used: its start-up and per-run cost would dominate a replay of
thousands of flow runs; the flows only wrap these jobs.
"""

from __future__ import annotations

import sqlite3
import time as clock
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from workflows.runtime import Runtime, fixed_clock
from workflows.settings import Settings

SIM_DIR = Path("var/simulate")
NOTICE_KINDS = ("reminder", "chase", "escalation", "office", "digest", "summary", "bulletin")
SCHEDULED_FLOWS = ("sweep", "digests", "year_end")  # run at each firing; delivery is placed after them
SIM_ACTOR = "simulate"  # who loaded the plan: marks a database as a replay's, which a rerun may replace
REPLAY_APPLICATION_ID = 0x64624E52  # "dbNR": in the SQLite header of a replay's database, from its creation
SENDER = "duban@guigang.example"


class SimulationError(Exception):
    """Bad input for a replay: a message for the person, exit status 1."""


@dataclass(frozen=True)
class Options:
    start: date | None = None  # default: the plan's first whole month
    end: date | None = None  # default: the plan's end
    seed: int = 1
    db: Path | None = None  # default: var/simulate/duban-<seed>.sqlite3
    keep_mail: bool = False
    plan_file: Path | None = None  # default: the settings' plan file (DUBAN_PLAN or deadlines.yaml)


@dataclass
class Tally:
    """Running counts, for the progress bar."""

    day: date | None = None
    days: int = 0
    notices: Counter = field(default_factory=Counter)
    delivered: int = 0
    seconds: Counter = field(default_factory=Counter)  # wall time by step: sweep, digests, deliver, units, …

    def timed(self, step: str, started: float) -> None:
        self.seconds[step] += clock.perf_counter() - started


# ── input ─────────────────────────────────────────────────────────────────────────────────────────


def _window(options: Options, plan) -> tuple[date, date]:  # a responsibilities Plan
    from responsibilities.tracking.services import REPORTING_HORIZON

    first_month = plan.start if plan.start.day == 1 else (plan.start.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = options.start or first_month
    end = options.end or plan.end
    last = plan.end + REPORTING_HORIZON
    if start > end:
        raise SimulationError(f"开始日期 --from {start} 晚于结束日期 --to {end}:请对调或改正")
    if start < plan.start or end > last:
        raise SimulationError(f"演练须在工作方案期限内:{plan.start} 至 {plan.end}(--to 最晚可到 {last},"
                              f"以看到最后一批报送);现为 {start} 至 {end}")
    return start, end


def _fresh_database(path: Path, configured_url: str | None) -> None:
    """Delete a previous replay's database at ``path``; refuse to touch any other database."""
    from responsibilities.storage.db import database_url

    configured = database_url(configured_url)
    if configured.startswith("sqlite:///") and Path(configured.split("///", 1)[1]).resolve() == path.resolve():
        raise SimulationError(f"{path} 是 duban 正在使用的数据库(DUBAN_DATABASE_URL):演练需要单独的数据库,"
                              "请用 --db 另选一个文件")
    if path.exists() and not _made_by_a_replay(path):
        raise SimulationError(f"{path} 已存在,且不是演练生成的数据库:请用 --db 另选一个文件,或自行删除它")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _made_by_a_replay(path: Path) -> bool:
    """Marked as a replay's when it was created (even if that replay stopped before loading the plan), or
    loaded by one."""
    if path.stat().st_size == 0:
        return True
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if connection.execute("PRAGMA application_id").fetchone()[0] == REPLAY_APPLICATION_ID:
                return True
            row = connection.execute("SELECT count(*) FROM audit WHERE actor = ?", (SIM_ACTOR,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def _create_marked(path: Path) -> None:
    """A new, empty SQLite file marked as a replay's (its header's application id), before anything else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA application_id = {REPLAY_APPLICATION_ID}")
        connection.commit()
    finally:
        connection.close()


# ── the schedules ────────────────────────────────────────────────────────────────────────────────


class Schedule:
    """A flow's cron schedule (APScheduler's CronTrigger, as the embedded scheduler uses it)."""

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        from apscheduler.triggers.cron import CronTrigger

        self.trigger = CronTrigger.from_crontab(expression, timezone=zone)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment``."""
        return self.trigger.get_next_fire_time(None, moment + timedelta(seconds=1))

    def fires_on(self, start: datetime, end: datetime) -> list[datetime]:
        """Every firing in [start, end)."""
        out = []
        moment = self.trigger.get_next_fire_time(None, start)
        while moment is not None and moment < end:
            out.append(moment)
            moment = self.next_after(moment)
        return out


# ── the replay ───────────────────────────────────────────────────────────────────────────────────


def simulate(options: Options, *, settings: Settings | None = None,
             progress: Callable[[Tally, date, date], None] | None = None) -> dict[str, Any]:
    """Run the replay; returns what happened, the `duban simulate --json` object: from, to, seed, days, database,
    deliverables and their states, the scenario's fates and actions, notices by kind (reminder, chase,
    escalation, office, digest, summary) and by status, delivered (sent) and what the sink received, the
    year-end summaries written ({year: {html, xlsx, json}}), the best and worst units of the last plan year
    reached, elapsed seconds and seconds by step. Raises SimulationError for bad input, before writing."""
    from notifications.sink import CountingSink, MailSink
    from notifications.transports import SmtpSettings, SmtpTransport
    from responsibilities.storage.migrate import upgrade
    from responsibilities.storage.plan_sync import sync_plan
    from workflows.replay.scenario import Scenario

    started = clock.monotonic()
    base = settings or Settings.from_environment()
    plan_file = options.plan_file or base.plan_file
    plan = _checked_plan(plan_file, options)
    start, end = _window(options, plan)
    zone = ZoneInfo(plan.time_zone)
    db_path = options.db or SIM_DIR / f"duban-{options.seed}.sqlite3"
    _fresh_database(db_path, base.database_url)
    _create_marked(db_path)
    reports_dir = SIM_DIR / "reports"
    for old in reports_dir.glob("summary-*.*"):
        old.unlink()  # a previous replay's, which this one may not rewrite
    mail_dir = SIM_DIR / "mail"

    # Counting only (a minimal SMTP server), unless the messages are to be kept (aiosmtpd, .eml files).
    sink = (MailSink(mail_dir) if options.keep_mail else CountingSink()).start()
    url = f"{sink.url}?from={SENDER.replace('@', '%40')}"
    sim_settings = replace(base, database_url=f"sqlite:///{db_path}", evidence_dir=SIM_DIR / "evidence",
                           plan_file=plan_file, time_zone=zone, smtp_url=url, mail_dir=mail_dir,
                           mail_from=SENDER, reports_dir=reports_dir)
    day_start = datetime.combine(start, time(0), zone)
    try:
        with Runtime(sim_settings, clock=fixed_clock(day_start)) as runtime:
            upgrade(runtime.engine)
            sync_plan(runtime.sessions, plan, now=day_start, actor=SIM_ACTOR)
            scenario = Scenario(runtime.sessions, plan.working_calendar(), zone, seed=options.seed, start=start)
            scenario.add_users(day_start)
            replay = _Replay(runtime, SmtpTransport(SmtpSettings.from_url(url)), scenario, plan.schedules, zone)
            replay.tally.seconds["setup"] = clock.monotonic() - started
            reports = replay.days(start, end, progress)
            return _result(runtime, replay, sink, options, start, end, db_path, reports, started, plan.end.year)
    finally:
        sink.stop()


def _checked_plan(plan_file: Path, options: Options):  # a responsibilities.plan.model.Plan
    """The plan to replay, and the options checked, before anything is written."""
    from responsibilities.plan.loader import PlanInvalid, load_plan

    try:
        plan = load_plan(plan_file)
    except PlanInvalid as invalid:
        raise SimulationError(f"{plan_file} 有 {len(invalid.problems)} 处问题:"
                              "运行 `duban plan check` 查看并改正") from None
    except FileNotFoundError:
        raise SimulationError(f"找不到工作方案文件 {plan_file}:"
                              "请在 deadlines.yaml 所在目录运行,或设置 DUBAN_PLAN") from None
    if options.seed < 0:
        raise SimulationError(f"--seed 须为 0 或正整数,现为 {options.seed}")
    return plan


class _Replay:
    """One simulated day at a time: the flows at their firings, the scenario at its hours, delivery after."""

    def __init__(self, runtime, transport, scenario, schedules, zone: ZoneInfo) -> None:
        self.runtime, self.transport, self.scenario, self.zone = runtime, transport, scenario, zone
        self.schedules = {name: Schedule(expr, zone) for name, expr in schedules.items()
                          if name in (*SCHEDULED_FLOWS, "deliver")}
        self.tally = Tally()
        self.deliver_at: datetime | None = None  # delivery owed at this moment (notices were written)
        self.retry = False  # the last delivery left messages to retry

    def days(self, start: date, end: date,
             progress: Callable[[Tally, date, date], None] | None) -> dict[str, dict[str, str]]:
        """Every day from ``start`` to ``end``; the year-end summaries written, by year."""
        reports: dict[str, dict[str, str]] = {}
        day = start
        while day <= end:
            reports |= self.day(day)
            if progress:
                progress(self.tally, start, end)
            day += timedelta(days=1)
        return reports

    def day(self, day: date) -> dict[str, dict[str, str]]:
        from workflows.replay.scenario import OFFICE_ACTS_AT, UNITS_ACT_AT

        begin = datetime.combine(day, time(0), self.zone)
        end = begin + timedelta(days=1)
        steps: list[tuple[datetime, int, str]] = []
        for order, name in enumerate(SCHEDULED_FLOWS):
            if name in self.schedules:
                steps += [(moment, order, name) for moment in self.schedules[name].fires_on(begin, end)]
        steps += [(datetime.combine(day, UNITS_ACT_AT, self.zone), 10, "units"),
                  (datetime.combine(day, OFFICE_ACTS_AT, self.zone), 11, "office")]
        reports: dict[str, dict[str, str]] = {}
        last = begin
        for moment, _, step in sorted(steps):
            self._deliver_until(moment)
            began = clock.perf_counter()
            if step == "units":
                self.scenario.units_act(day)
                self.tally.timed("units", began)
            elif step == "office":
                self.scenario.office_acts(day)
                self.tally.timed("office", began)
            else:
                written, report = self._flow(step, moment)
                self.tally.timed(step, began)
                if report:
                    reports[str(report["year"])] = report["reports"]
                if written and "deliver" in self.schedules:
                    after = self.schedules["deliver"].next_after(moment)
                    self.deliver_at = min(self.deliver_at or after, after) if after else self.deliver_at
            last = moment
        self._deliver_until(end - timedelta(microseconds=1))
        if self.retry and "deliver" in self.schedules:
            final = self.schedules["deliver"].next_after(last)
            if final is not None and final < end:
                self._deliver(final)
        self.tally.day, self.tally.days = day, self.tally.days + 1
        return reports

    def _flow(self, name: str, moment: datetime) -> tuple[int, dict[str, Any] | None]:
        from workflows.schedule import jobs

        self.runtime.clock = fixed_clock(moment)
        if name == "sweep":
            counts = jobs.sweep(runtime=self.runtime)
            written = {k: v for k, v in counts.items() if k in NOTICE_KINDS}
            self.tally.notices.update(written)
            return sum(written.values()), None
        if name == "digests":
            counts = jobs.digests(runtime=self.runtime)
            digests = sum(v for k, v in counts.items() if k not in ("day", "bulletin"))
            self.tally.notices["digest"] += digests
            self.tally.notices["bulletin"] += counts["bulletin"]
            return digests + counts["bulletin"], None
        result = jobs.year_end(runtime=self.runtime)
        self.tally.notices["summary"] += result.get("summary", 0)
        return result.get("summary", 0), result

    def _deliver_until(self, moment: datetime) -> None:
        if self.deliver_at is not None and self.deliver_at <= moment:
            at, self.deliver_at = self.deliver_at, None
            self._deliver(at)

    def _deliver(self, moment: datetime) -> None:
        from workflows.schedule import jobs

        began = clock.perf_counter()
        self.runtime.clock = fixed_clock(moment)
        report = jobs.deliver(runtime=self.runtime, transport=self.transport)
        self.tally.timed("deliver", began)
        self.tally.delivered += report["sent"]
        self.retry = bool(report["retrying"] or report["server_unreachable"])


# ── what happened ────────────────────────────────────────────────────────────────────────────────


def _result(runtime, replay, sink, options: Options, start: date, end: date, db_path: Path,
            reports: dict[str, dict[str, str]], started: float, last_plan_year: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from responsibilities.reports.summary import best_and_worst, year_end_summary
    from responsibilities.storage.db import read_session
    from responsibilities.storage.model import Deliverable, Notice

    with read_session(runtime.sessions) as session:
        by_kind = dict(session.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all())
        by_status = dict(session.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())
        states = dict(session.execute(select(Deliverable.state, func.count())
                                      .where(Deliverable.retired.is_(False)).group_by(Deliverable.state)).all())
    notices = {kind: by_kind.pop(kind, 0) for kind in NOTICE_KINDS} | by_kind
    # The ranking: of the last plan year the replay reached, as of its last day (on 31 December, what the
    # year-end summary says).
    summary = year_end_summary(runtime.sessions, year=min(end.year, last_plan_year), today=end)
    best, worst = best_and_worst(summary)

    def units(entries) -> list[dict[str, Any]]:
        return [{"rank": e.rank, "unit_id": e.unit_id, "unit": e.unit_name,
                 "on_time_rate": round(e.on_time_rate, 4), "overdue": e.overdue} for e in entries]

    return {
        "from": start.isoformat(), "to": end.isoformat(), "seed": options.seed,
        "days": (end - start).days + 1, "database": str(db_path),
        "deliverables": sum(states.values()), "deliverable_states": dict(sorted(states.items())),
        "scenario": replay.scenario.stats.as_dict(),
        "notices": notices, "notice_status": dict(sorted(by_status.items())),
        "delivered": by_status.get("sent", 0), "mail_sink": {"received": sink.count,
                                                             "folder": str(sink.folder) if sink.folder else None},
        "reports": dict(sorted(reports.items())),
        "ranking_year": summary.year, "best_units": units(best), "worst_units": units(worst),
        "elapsed_seconds": round(clock.monotonic() - started, 1),
        "seconds_by_step": {k: round(v, 1) for k, v in sorted(replay.tally.seconds.items())},
    }
