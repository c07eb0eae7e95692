"""`duban simulate`: the plan replayed day by day on a fresh database, mail over SMTP to an in-process sink."""

from __future__ import annotations

import email
import email.policy
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from responsibilities.plan.loader import load_plan
from responsibilities.storage import db, migrate, plan_sync
from responsibilities.storage.model import Notice
from responsibilities.tracking import services
from workflows.cli.main import main
from workflows.replay.simulate import NOTICE_KINDS, Options, Schedule, simulate
from workflows.runtime import Runtime, fixed_clock
from workflows.schedule import jobs
from workflows.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "deadlines.yaml"
JSON_KEYS = {"from", "to", "seed", "days", "database", "notices", "delivered", "reports", "best_units",
             "worst_units", "elapsed_seconds"}


def settings() -> Settings:
    return replace(Settings.from_environment(), database_url=None, smtp_url=None, plan_file=PLAN)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Replays write under ./var/simulate: run each in its own folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("DUBAN_DATABASE_URL", "DUBAN_SMTP_URL", "DUBAN_REPORTS_DIR", "DUBAN_MAIL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUBAN_PLAN", str(PLAN))
    return tmp_path


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> dict:
    """2019-10-20 … 2019-11-20: around the plan's first deadlines (31 October), seed 7."""
    folder = tmp_path_factory.mktemp("month")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return simulate(Options(start=date(2019, 10, 20), end=date(2019, 11, 20), seed=7), settings=settings())
    finally:
        os.chdir(cwd)


def test_a_month_sends_reminders_chases_escalations_and_digests_over_smtp_to_the_sink(month):
    notices = month["notices"]
    for kind in ("reminder", "chase", "escalation", "digest"):
        assert notices[kind] > 0, kind
    assert notices["summary"] == 0  # no 31 December in the window
    assert month["delivered"] == sum(notices.values()) == month["mail_sink"]["received"]
    assert month["days"] == 32


def test_the_scenario_plays_units_and_office_through_the_services_without_a_refusal(month):
    actions = month["scenario"]["actions"]
    assert actions["submit"] > 0 and actions["accept"] > 0
    assert month["scenario"]["refused"] == 0
    assert sum(month["scenario"]["fates"].values()) == month["deliverables"]
    assert month["deliverable_states"]["open"] > month["deliverable_states"]["accepted"]  # most still ahead


def test_the_same_seed_replays_identically(in_tmp, month):
    again = simulate(Options(start=date(2019, 10, 20), end=date(2019, 11, 20), seed=7), settings=settings())
    for key in ("notices", "delivered", "scenario", "deliverable_states", "best_units", "worst_units"):
        assert again[key] == month[key], key


def test_another_seed_plays_differently(in_tmp, month):
    # Fates are drawn for every deliverable the day it is met (all of the plan's, at load): any window shows them.
    # The items the office assigns by hand depend on the seed too, so the counts of the two replays differ.
    other = simulate(Options(start=date(2019, 10, 20), end=date(2019, 10, 21), seed=8),
                     settings=settings())
    assert other["scenario"]["fates"] != month["scenario"]["fates"]
    assert sum(other["scenario"]["fates"].values()) == other["deliverables"]


def test_the_counting_sink_speaks_enough_smtp_for_the_transport():
    import asyncio
    from email.message import EmailMessage

    from notifications.sink import CountingSink
    from notifications.transports import SmtpSettings, SmtpTransport

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "duban@gov.example", "hrss@gov.example", "催办"
    message.set_content("第一行\n.\n..以点开头的行\n" * 200)
    wire = message.as_bytes(policy=email.policy.SMTP)

    async def send_three(transport: SmtpTransport) -> list:
        async with transport:
            return [await transport.send(wire, sender="duban@gov.example",
                                         recipients=["hrss@gov.example", "office@gov.example"]) for _ in range(3)]

    with CountingSink() as sink:
        transport = SmtpTransport(SmtpSettings.from_url(sink.url + "?from=duban%40gov.example"))
        results = asyncio.run(send_three(transport))
    assert sink.count == 3 and transport.connections == 1
    assert all(r.accepted == ("hrss@gov.example", "office@gov.example") and not r.refused for r in results)


def test_a_window_over_31_december_writes_the_year_summary_and_mails_it(in_tmp):
    result = simulate(Options(start=date(2019, 12, 24), end=date(2020, 1, 3), seed=3, keep_mail=True),
                      settings=settings())
    paths = result["reports"]["2019"]
    assert set(paths) == {"html", "xlsx", "json"}
    for path in paths.values():
        assert Path(path).is_file() and Path(path).parent == Path("var/simulate/reports")
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8"))["as_of"] == "2019-12-31"
    assert result["notices"]["summary"] == 2  # the plan's, and that of the items the office assigned in 2019
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in Path("var/simulate/mail").glob("*.eml")]
    assert len(mails) == result["delivered"]
    summary = [m for m in mails if m["X-Duban-Notice"] == "summary:guigang-skills-2019:2019"]
    assert len(summary) == 1 and [m["Subject"] for m in mails if m["X-Duban-Notice"] == "summary:assigned-2019:2019"]
    assert "年度总结" in summary[0]["Subject"]
    text = summary[0].get_body(("plain",)).get_content()
    assert "按时办结率最高的单位" in text and "/reports/2019" in text


def test_the_regions_file_monthly_figures_and_the_2019_summary_shows_them_against_the_targets(in_tmp):
    result = simulate(Options(start=date(2019, 11, 20), end=date(2019, 12, 31), seed=1), settings=settings())
    assert result["scenario"]["actions"]["figures"] >= 5 and result["scenario"]["refused"] == 0
    numbers = json.loads(Path(result["reports"]["2019"]["json"]).read_text(encoding="utf-8"))["numbers"]
    regions = {r["region"]: r for r in numbers["regions"]}
    assert list(regions) == ["city-level", "guiping", "pingnan", "gangbei", "gangnan", "qintang"]
    assert regions["guiping"]["year"]["target"] == 7800 and numbers["year_total"]["target"] == 30000
    reported = [r for r in regions.values() if r["year"]["actual"] > 0]
    assert len(reported) >= 4  # November's reports are in (a few are late or never come: red)
    for r in reported:  # one month of two is due by 31 December: expected-to-date is half the annual target
        assert r["year"]["expected"] == r["year"]["target"] / 2 and r["share_met"] is not None
        assert r["categories"]["enterprise-workers"] + r["categories"]["key-groups"] <= r["year"]["actual"]
    assert regions["gangnan"]["share_met"] in (False, None)  # the region that trains too few enterprise workers
    assert numbers["year_total"]["actual"] == sum(r["year"]["actual"] for r in regions.values())


def test_the_replay_never_touches_the_configured_database(in_tmp):
    real = in_tmp / "var" / "duban.sqlite3"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"not a replay")
    code = main(["simulate", "--from", "2019-11-01", "--to", "2019-11-02", "--db", str(real), "--no-progress"])
    assert code == 1 and real.read_bytes() == b"not a replay"
    other = in_tmp / "mine.sqlite3"
    other.write_bytes(b"someone's data")
    assert main(["simulate", "--from", "2019-11-01", "--to", "2019-11-02", "--db", str(other)]) == 1
    assert other.read_bytes() == b"someone's data"


def test_a_rerun_replaces_its_own_database(in_tmp):
    first = simulate(Options(start=date(2019, 11, 1), end=date(2019, 11, 3), seed=5), settings=settings())
    second = simulate(Options(start=date(2019, 11, 1), end=date(2019, 11, 3), seed=5), settings=settings())
    assert first["database"] == second["database"] == "var/simulate/duban-5.sqlite3"
    assert first["notices"] == second["notices"]


def test_a_replay_interrupted_on_its_first_day_is_replaced_by_the_next(in_tmp):
    def interrupt(*_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(Options(start=date(2019, 11, 1), end=date(2019, 11, 3), seed=6), settings=settings(),
                 progress=interrupt)
    again = simulate(Options(start=date(2019, 11, 1), end=date(2019, 11, 3), seed=6), settings=settings())
    assert again["days"] == 3 and again["database"] == "var/simulate/duban-6.sqlite3"


def test_a_database_a_replay_created_but_never_loaded_counts_as_a_replays_and_any_other_does_not(tmp_path):
    from workflows.replay.simulate import _create_marked, _made_by_a_replay

    created = tmp_path / "created.sqlite3"
    _create_marked(created)  # what a replay does first; one that fails before loading the plan leaves this
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE audit (actor TEXT)").connection.commit()
    assert _made_by_a_replay(created) and not _made_by_a_replay(other)


def test_the_cli_prints_one_json_object_with_the_documented_keys(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["PYTHONPATH"] = str(ROOT)
    (tmp_path / "deadlines.yaml").write_bytes(PLAN.read_bytes())
    result = subprocess.run([sys.executable, "-m", "workflows.cli", "simulate", "--from", "2019-10-28",
                             "--to", "2019-11-04", "--seed", "2", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert JSON_KEYS <= set(data)
    assert set(data["notices"]) >= set(NOTICE_KINDS)
    assert (data["from"], data["to"], data["seed"], data["days"]) == ("2019-10-28", "2019-11-04", 2, 8)
    assert (tmp_path / data["database"]).is_file()
    assert "Traceback" not in result.stderr


def test_the_cli_summary_is_in_chinese_every_action_named_by_the_vocabulary(in_tmp, capsys):
    import inspect
    import re

    from responsibilities.vocabulary import ACTION_NAMES
    from workflows.cli.simulate import render_summary
    from workflows.replay import scenario

    assert main(["simulate", "--from", "2019-10-28", "--to", "2019-11-01", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "督办演练" in out and "通知" in out and "用时" in out
    # every action the scenario counts (a full replay also hands in figures), as the summary words it
    counted = {key for line in inspect.getsource(scenario).splitlines() if "stats.actions[" in line
               for key in re.findall(r'"([a-z.]+)"', line)}
    assert {"submit", "figures", "accept"} <= counted
    result = simulate(Options(start=date(2019, 10, 28), end=date(2019, 10, 29)))
    result["scenario"]["actions"] = dict.fromkeys(counted, 158)
    summary = render_summary(result)
    assert all(f"{ACTION_NAMES[key]} 158 次" in summary for key in counted)
    assert not re.search(r"\b(" + "|".join(re.escape(key) for key in counted) + r")\b", summary)


@pytest.mark.parametrize("args, code, says", [
    (["--from", "2020-05-01", "--to", "2020-04-01"], 1, "晚于结束日期"),
    (["--from", "2019-01-01", "--to", "2019-11-01"], 1, "演练须在工作方案期限内"),
    (["--from", "2021-12-01", "--to", "2023-01-01"], 1, "演练须在工作方案期限内"),
    (["--seed", "abc"], 2, "“abc”不是整数"),
    (["--seed", "-3"], 2, "-3 是负数"),
    (["--from", "2020-13-01"], 2, "YYYY-MM-DD"),
])
def test_bad_input_is_a_message_and_an_exit_status_not_a_traceback(in_tmp, capsys, args, code, says):
    try:
        status = main(["simulate", "--no-progress", *args])
    except SystemExit as exit_:  # argparse refuses a malformed value itself
        status = exit_.code
    assert status == code
    assert says in capsys.readouterr().err
    assert not Path("var/simulate").exists() or not list(Path("var/simulate").glob("*.sqlite3"))


def test_schedules_fire_at_their_cron_times_in_the_plan_zone():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    day = datetime(2019, 12, 31, tzinfo=zone)
    assert [t.hour for t in Schedule("0 8 * * *", zone).fires_on(day, day.replace(day=31, hour=23))] == [8]
    assert [t.strftime("%H:%M")
            for t in Schedule("0 18 31 12 *", zone).fires_on(day, day.replace(hour=23))] == ["18:00"]
    assert Schedule("0 18 31 12 *", zone).fires_on(day.replace(month=11, day=30),
                                                   day.replace(month=11, day=30, hour=23)) == []
    assert Schedule("* * * * *", zone).next_after(day.replace(hour=8)) == day.replace(hour=8, minute=1)


def test_the_year_end_job_owes_one_summary_notice_however_often_it_runs(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    migrate.upgrade(engine)
    sessions = db.make_session_factory(engine)
    zone = Settings.from_environment().time_zone
    plan_sync.sync_plan(sessions, load_plan(PLAN), now=datetime(2019, 10, 23, 9, tzinfo=zone))
    services.add_user(sessions, name="office", role="office", now=datetime(2019, 10, 23, 9, tzinfo=zone))
    runtime = Runtime(replace(settings(), database_url=f"sqlite:///{tmp_path / 'd.sqlite3'}",
                              reports_dir=tmp_path / "reports"),
                      clock=fixed_clock(datetime(2019, 12, 31, 18, tzinfo=zone)))
    try:
        first = jobs.year_end(runtime=runtime)
        second = jobs.year_end(runtime=runtime)
    finally:
        runtime.close()
    assert (first["summary"], second["summary"]) == (1, 0)
    with sessions() as session:
        notice = session.query(Notice).filter_by(kind="summary").one()
    assert (notice.dedupe_key, notice.audience, notice.unit_id) == (
        "summary:guigang-skills-2019:2019", "leader,deputies,office", None)
