"""`duban simulate`: replay the plan day by day on a fresh database, with the units and the office played.

What it does: creates a new SQLite database (var/simulate/duban-<seed>.sqlite3 unless --db says otherwise;
never the configured one), migrates it, loads the plan, adds users, and walks the calendar from --from to
--to. On each simulated day every scheduled flow runs at the times its cron schedule (the plan's
``schedules``, in the plan's time zone) fires that day, with ``now`` = the firing time: the same job
functions the Prefect flows and the embedded scheduler call (workflows.jobs), on one Runtime whose ``now``
moves. The scenario (workflows.scenario) plays the units at 10:00 and the office at 15:00 through the same
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

Rendering and sending a message costs ~10–20 ms of Python, and three years make ~8,000 of them: most of the
replay's time. So each delivery runs in two deliverers at once, this process and a helper process (the
machine's second core), claiming small batches from the same outbox, as several deliverers do in a
scaled-out installation; the conditional claim keeps each notice to one of them. `--deliverers 1` delivers
in this process only.
"""

from __future__ import annotations

import sqlite3
import sys
import time as clock
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, TextIO
from zoneinfo import ZoneInfo

from workflows.settings import Settings

SIM_DIR = Path("var/simulate")
NOTICE_KINDS = ("reminder", "chase", "escalation", "office", "digest", "summary")
SCHEDULED_FLOWS = ("sweep", "digests", "year_end")  # run at each firing; delivery is placed after them
SIM_ACTOR = "simulate"  # who loaded the plan: marks a database as a replay's, which a rerun may replace
SENDER = "duban@guigang.example"
SHARED_BATCH = 8  # notices claimed at a time when two deliverers share the outbox: small, so both get work


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
    deliverers: int = 2  # processes delivering at once (1: this process only)


@dataclass
class Tally:
    """Running counts, for the progress bar."""

    day: date | None = None
    days: int = 0
    notices: Counter = field(default_factory=Counter)
    delivered: int = 0
    delivered_by_helper: int = 0
    seconds: Counter = field(default_factory=Counter)  # wall time by step: sweep, digests, deliver, units, …

    def timed(self, step: str, started: float) -> None:
        self.seconds[step] += clock.perf_counter() - started


# ── input ─────────────────────────────────────────────────────────────────────────────────────────


def _window(options: Options, plan) -> tuple[date, date]:  # noqa: ANN001 - a responsibilities Plan
    from responsibilities.services import REPORTING_HORIZON

    first_month = plan.start if plan.start.day == 1 else (plan.start.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = options.start or first_month
    end = options.end or plan.end
    last = plan.end + REPORTING_HORIZON
    if start > end:
        raise SimulationError(f"--from {start} is after --to {end}")
    if start < plan.start or end > last:
        raise SimulationError(f"the replay must fall within the plan: {plan.start} to {plan.end} "
                              f"(--to may run to {last}, to see the last reports come in); got {start} to {end}")
    return start, end


def _fresh_database(path: Path, configured_url: str | None) -> None:
    """Delete a previous replay's database at ``path``; refuse to touch any other database."""
    from responsibilities.db import database_url

    configured = database_url(configured_url)
    if configured.startswith("sqlite:///") and Path(configured.split("///", 1)[1]).resolve() == path.resolve():
        raise SimulationError(f"{path} is duban's configured database (DUBAN_DATABASE_URL): "
                              "a replay needs a database of its own; choose another --db")
    if path.exists() and not _made_by_a_replay(path):
        raise SimulationError(f"{path} exists and is not a replay's database: choose another --db, "
                              "or remove it yourself")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _made_by_a_replay(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT count(*) FROM audit WHERE actor = ?", (SIM_ACTOR,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


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
    """Run the replay; returns what happened (the `--json` object)."""
    from notifications.sink import CountingSink, MailSink
    from notifications.transports import SmtpSettings, SmtpTransport
    from responsibilities.db import make_session_factory
    from responsibilities.migrate import upgrade
    from responsibilities.plan import PlanInvalid, load_plan
    from responsibilities.plan_sync import sync_plan
    from workflows import jobs
    from workflows.scenario import Scenario

    started = clock.monotonic()
    base = settings or Settings.from_environment()
    plan_file = options.plan_file or base.plan_file
    try:
        plan = load_plan(plan_file)
    except PlanInvalid as invalid:
        raise SimulationError(f"{plan_file}: {len(invalid.problems)} problem(s); `duban plan check` lists them") from None
    except FileNotFoundError:
        raise SimulationError(f"no plan file {plan_file}: run this where deadlines.yaml is, or set DUBAN_PLAN") from None
    if options.seed < 0:
        raise SimulationError(f"--seed must be 0 or more, not {options.seed}")
    start, end = _window(options, plan)
    zone = ZoneInfo(plan.time_zone)
    db_path = options.db or SIM_DIR / f"duban-{options.seed}.sqlite3"
    _fresh_database(db_path, base.database_url)
    reports_dir = SIM_DIR / "reports"
    for old in reports_dir.glob("summary-*.*"):
        old.unlink()  # a previous replay's, which this one may not rewrite
    mail_dir = SIM_DIR / "mail"

    if options.deliverers not in (1, 2):
        raise SimulationError(f"--deliverers must be 1 or 2, not {options.deliverers}")

    # Counting only (a minimal SMTP server), unless the messages are to be kept (aiosmtpd, .eml files).
    sink = (MailSink(mail_dir) if options.keep_mail else CountingSink()).start()
    runtime = helper = None
    try:
        url = f"{sink.url}?from={SENDER.replace('@', '%40')}"
        sim_settings = replace(base, database_url=f"sqlite:///{db_path}", evidence_dir=SIM_DIR / "evidence",
                               plan_file=plan_file, time_zone=zone, smtp_url=url, mail_dir=mail_dir,
                               mail_from=SENDER, reports_dir=reports_dir)
        if options.deliverers == 2:
            helper = HelperDeliverer(sim_settings)  # starts now: its imports overlap the set-up below
        day_start = datetime.combine(start, time(0), zone)
        runtime = jobs.Runtime(sim_settings, day_start)
        upgrade(runtime.engine)
        sessions = make_session_factory(runtime.engine)
        sync_plan(sessions, plan, now=day_start, actor=SIM_ACTOR)
        scenario = Scenario(runtime.sessions, plan.working_calendar(), zone, seed=options.seed, start=start, end=end)
        scenario.add_users(day_start)
        transport = SmtpTransport(SmtpSettings.from_url(url))
        replay = _Replay(runtime, transport, scenario, plan.schedules, zone, helper)
        reports: dict[str, dict[str, str]] = {}
        setup_seconds = clock.monotonic() - started
        day = start
        while day <= end:
            reports |= replay.day(day)
            if progress:
                progress(replay.tally, start, end)
            day += timedelta(days=1)
        replay.tally.seconds["setup"] = setup_seconds
        return _result(runtime, replay, sink, options, start, end, db_path, reports, started, plan.end.year)
    finally:
        if helper is not None:
            helper.stop()
        if runtime is not None:
            runtime.close()
        sink.stop()


def _helper_deliverer(connection, settings: Settings) -> None:  # noqa: ANN001 - a multiprocessing Connection
    """The helper process: deliver as of each moment received, answer with the job's report; stop on None."""
    from notifications.transports import SmtpSettings, SmtpTransport
    from workflows import jobs

    runtime = jobs.Runtime(settings, datetime.now(settings.time_zone))
    transport = SmtpTransport(SmtpSettings.from_url(settings.smtp_url))
    try:
        while (moment := connection.recv()) is not None:
            runtime.now = moment
            connection.send(jobs.deliver(runtime=runtime, transport=transport, batch_size=SHARED_BATCH))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        runtime.close()


class HelperDeliverer:
    """A second deliverer in its own process (spawned: nothing of this process's threads or connections is
    inherited). If it dies, delivery goes on in this process alone; what it had claimed is taken over once
    its claim is stale."""

    def __init__(self, settings: Settings) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_helper_deliverer, args=(child, settings), daemon=True,
                                       name="duban-simulate-deliverer")
        self.process.start()
        child.close()
        self.alive = True

    def start_delivery(self, moment: datetime) -> bool:
        if self.alive:
            try:
                self.connection.send(moment)
            except (BrokenPipeError, OSError):
                self.alive = False
        return self.alive

    def report(self) -> dict[str, Any] | None:
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.alive = False
            return None

    def stop(self) -> None:
        if self.alive:
            try:
                self.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()


class _Replay:
    """One simulated day at a time: the flows at their firings, the scenario at its hours, delivery after."""

    def __init__(self, runtime, transport, scenario, schedules, zone: ZoneInfo,  # noqa: ANN001
                 helper: HelperDeliverer | None = None) -> None:
        self.runtime, self.transport, self.scenario, self.zone = runtime, transport, scenario, zone
        self.helper = helper
        self.schedules = {name: Schedule(expr, zone) for name, expr in schedules.items()
                          if name in (*SCHEDULED_FLOWS, "deliver")}
        self.tally = Tally()
        self.deliver_at: datetime | None = None  # delivery owed at this moment (notices were written)
        self.retry = False  # the last delivery left messages to retry

    def day(self, day: date) -> dict[str, dict[str, str]]:
        from workflows.scenario import OFFICE_ACTS_AT, UNITS_ACT_AT

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
        from workflows import jobs

        self.runtime.now = moment
        if name == "sweep":
            counts = jobs.sweep(runtime=self.runtime)
            written = {k: v for k, v in counts.items() if k in NOTICE_KINDS}
            self.tally.notices.update(written)
            return sum(written.values()), None
        if name == "digests":
            counts = jobs.digests(runtime=self.runtime)
            written = sum(v for k, v in counts.items() if k != "day")
            self.tally.notices["digest"] += written
            return written, None
        result = jobs.year_end(runtime=self.runtime)
        self.tally.notices["summary"] += result.get("summary", 0)
        return result.get("summary", 0), result

    def _deliver_until(self, moment: datetime) -> None:
        if self.deliver_at is not None and self.deliver_at <= moment:
            at, self.deliver_at = self.deliver_at, None
            self._deliver(at)

    def _deliver(self, moment: datetime) -> None:
        from workflows import jobs

        began = clock.perf_counter()
        self.runtime.now = moment
        shared = self.helper is not None and self.helper.start_delivery(moment)
        reports = [jobs.deliver(runtime=self.runtime, transport=self.transport,
                                batch_size=SHARED_BATCH if shared else None)]
        if shared:
            reports.append(self.helper.report() or {"sent": 0, "retrying": 0, "server_unreachable": False})
            self.tally.delivered_by_helper += reports[-1]["sent"]
        self.tally.timed("deliver", began)
        self.tally.delivered += sum(r["sent"] for r in reports)
        self.retry = any(r["retrying"] or r["server_unreachable"] for r in reports)


# ── what happened ────────────────────────────────────────────────────────────────────────────────


def _result(runtime, replay, sink, options: Options, start: date, end: date, db_path: Path,  # noqa: ANN001
            reports: dict[str, dict[str, str]], started: float, last_plan_year: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from responsibilities.db import read_session
    from responsibilities.model import Deliverable, Notice
    from responsibilities.reports import best_and_worst, year_end_summary

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

    def units(entries) -> list[dict[str, Any]]:  # noqa: ANN001
        return [{"rank": e.rank, "unit_id": e.unit_id, "unit": e.unit_name,
                 "on_time_rate": round(e.on_time_rate, 4), "overdue": e.overdue} for e in entries]

    return {
        "from": start.isoformat(), "to": end.isoformat(), "seed": options.seed,
        "days": (end - start).days + 1, "database": str(db_path), "deliverers": options.deliverers,
        "deliverables": sum(states.values()), "deliverable_states": dict(sorted(states.items())),
        "scenario": replay.scenario.stats.as_dict(),
        "notices": notices, "notice_status": dict(sorted(by_status.items())),
        "delivered": by_status.get("sent", 0), "delivered_by_helper": replay.tally.delivered_by_helper,
        "mail_sink": {"received": sink.count,
                                                             "folder": str(sink.folder) if sink.folder else None},
        "reports": dict(sorted(reports.items())),
        "ranking_year": summary.year, "best_units": units(best), "worst_units": units(worst),
        "elapsed_seconds": round(clock.monotonic() - started, 1),
        "seconds_by_step": {k: round(v, 1) for k, v in sorted(replay.tally.seconds.items())},
    }


# ── the command ──────────────────────────────────────────────────────────────────────────────────

KIND_NAMES = {"reminder": "提醒", "chase": "催办", "escalation": "督办通知单", "office": "办公室提示",
              "digest": "摘要", "summary": "年度总结"}
ACTION_NAMES = {"submit": "报送", "resubmit": "退回后重新报送", "accept": "审核销号", "return": "退回",
                "extension.request": "申请延期", "extension.grant": "批准延期", "extension.refuse": "不予延期",
                "event.record": "登记外部事件", "date.set": "登记外部时限"}
STATE_NAMES = {"open": "待办", "submitted": "待审核", "returned": "退回修改", "accepted": "已销号", "waived": "免报"}


def render_summary(result: dict[str, Any]) -> str:
    """What happened, in Chinese, for a person."""
    notices = result["notices"]
    lines = [
        f"督办演练:{result['from']} 至 {result['to']},共 {result['days']} 天(随机种子 {result['seed']})",
        f"数据库:{result['database']}",
        f"应交事项 {result['deliverables']} 项:" + ",".join(
            f"{STATE_NAMES.get(k, k)} {v}" for k, v in result["deliverable_states"].items()),
        "单位与办公室的操作:" + (",".join(f"{ACTION_NAMES.get(k, k)} {v} 次" for k, v in
                                         result["scenario"]["actions"].items()) or "无"),
        "通知:" + ",".join(f"{KIND_NAMES.get(k, k)} {v} 条" for k, v in notices.items())
        + f";共 {sum(notices.values())} 条",
        f"邮件:经 SMTP 投递 {result['delivered']} 封,收件服务器收到 {result['mail_sink']['received']} 封"
        + (f"(保存在 {result['mail_sink']['folder']})" if result["mail_sink"]["folder"] else ""),
    ]
    if result["reports"]:
        lines.append("年度总结:")
        for year, paths in result["reports"].items():
            lines.append(f"  {year}年:" + "、".join(paths[fmt] for fmt in ("html", "xlsx", "json") if fmt in paths))
    else:
        lines.append("年度总结:本次演练未到 12 月 31 日,未生成")
    for title, entries in (("按时办结率最高", result["best_units"]), ("按时办结率最低", result["worst_units"])):
        ranked = ";".join(f"第{e['rank']}名 {e['unit']} {e['on_time_rate'] * 100:.1f}%(逾期未办结 {e['overdue']} 项)"
                          for e in entries) or "无可排名单位"
        lines.append(f"{result['ranking_year']}年{title}的单位:{ranked}")
    if result["scenario"]["refused"]:
        lines.append(f"注意:演练中有 {result['scenario']['refused']} 次操作被系统拒绝")
    lines.append(f"用时 {result['elapsed_seconds']} 秒")
    return "\n".join(lines)


class ProgressBar:
    """One line on stderr, redrawn in place (\\r) at most ten times a second."""

    WIDTH = 30

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out, self.shown_at, self.drawn = out, 0.0, False

    def __call__(self, tally: Tally, start: date, end: date) -> None:
        now = clock.monotonic()
        if tally.day != end and now - self.shown_at < 0.1:
            return
        self.shown_at = now
        share = tally.days / ((end - start).days + 1)
        filled = int(share * self.WIDTH)
        counts = " ".join(f"{KIND_NAMES[k]}{tally.notices[k]}" for k in NOTICE_KINDS)
        self.out.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {tally.day} {share * 100:3.0f}% "
                       f"{counts} 已投递{tally.delivered}\x1b[K")
        self.out.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


def cmd_simulate(ctx) -> int:  # noqa: ANN001 - a cli_track.Context
    import json

    args = ctx.args
    bar = ProgressBar() if not args.no_progress and sys.stderr.isatty() else None
    options = Options(start=args.from_date, end=args.to_date, seed=args.seed,
                      db=Path(args.db) if args.db else None, keep_mail=args.keep_mail, deliverers=args.deliverers,
                      plan_file=Path(args.plan) if args.plan else None)
    try:
        result = simulate(options, settings=ctx.settings, progress=bar)
    except SimulationError as error:
        print(f"duban simulate: {error}", file=sys.stderr)
        return 1
    finally:
        if bar:
            bar.finish()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_summary(result))
    return 0


def _seed(value: str) -> int:
    import argparse

    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{value}" is not a whole number') from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{seed} is negative; a seed is 0 or more")
    return seed


def add_simulate_command(command) -> None:  # noqa: ANN001 - cli_track's helper
    from workflows.cli_track import _date

    simulate_parser = command("simulate", cmd_simulate,
                              "replay the plan day by day on a fresh database, with the units and the office played")
    simulate_parser.add_argument("--from", dest="from_date", type=_date, metavar="DATE",
                                 help="the first simulated day (default: the plan's first whole month, 2019-10-01)")
    simulate_parser.add_argument("--to", dest="to_date", type=_date, metavar="DATE",
                                 help="the last simulated day (default: the plan's end, 2021-12-31)")
    simulate_parser.add_argument("--seed", type=_seed, default=1, metavar="N",
                                 help="the scenario's random seed (default: 1): the same seed plays the same way")
    simulate_parser.add_argument("--db", metavar="PATH",
                                 help="the replay's SQLite file (default: var/simulate/duban-<seed>.sqlite3); "
                                      "replaced if a previous replay made it")
    simulate_parser.add_argument("--plan", metavar="FILE", help="the plan (default: $DUBAN_PLAN or deadlines.yaml)")
    simulate_parser.add_argument("--keep-mail", action="store_true",
                                 help="keep every message the sink receives, as .eml files under var/simulate/mail")
    simulate_parser.add_argument("--deliverers", type=int, choices=(1, 2), default=2,
                                 help="deliverers sending at once: 2 (default) adds a helper process, 1 sends from "
                                      "this process only")
    simulate_parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    simulate_parser.add_argument("--json", action="store_true", help="print what happened as one JSON object")
