"""Digests (摘要) against a real SQLite file of the seed plan: who gets one, when, once, and what it says.

On Monday 2019-10-28 twelve units have deliverables due on 2019-10-31 (hrss three of them), finance-1 has been
overdue since 2019-09-30 and hrss-1 since 2019-10-15; hrss-2 waits for an event and hrss-9 for an outside date.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import select, update

from notifications.delivery import DeliverySettings, deliver
from notifications.messages import Message, render_notice
from notifications.transports import MemoryTransport
from responsibilities.notices.digests import write_digests
from responsibilities.storage.model import Notice, ObligationRecord
from responsibilities.tracking import services

from conftest import HRSS, OFFICE, ROOT, at, seed_key

pytestmark = pytest.mark.both_databases

BASE = "https://duban.example/"
SENDER = "贵港市职业技能提升行动领导小组办公室 <duban@guigang.example>"
DUE_ON_31_OCTOBER = {"agriculture", "civil-affairs", "emergency", "housing", "hrss", "industrial-parks", "market",
                     "miit", "poverty", "sasac", "transport", "union"}
NOTHING = {"unit": 0, "office": 0, "leaders": 0}


def digests_on(session_factory, day: date) -> dict[str, int]:
    return write_digests(session_factory, now=at(day.year, day.month, day.day, 8, 30), today=day)


def keys(session_factory) -> dict[str, date]:
    with session_factory() as session:
        return dict(session.execute(select(Notice.dedupe_key, Notice.owed_on).where(Notice.kind == "digest")).all())


def rendered(session_factory, key: str, today: date) -> Message:
    with session_factory() as session:
        row = session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()
        return render_notice(session, row, base_url=BASE, sender=SENDER, today=today)


# ── when and for whom ───────────────────────────────────────────────────────────────────────────


def test_on_monday_every_unit_with_something_due_within_two_weeks_or_overdue_gets_its_weekly_digest(
        loaded, session_factory):
    written = digests_on(session_factory, date(2019, 10, 28))
    assert written == {"unit": 13, "office": 1, "leaders": 1}
    units = {key.split(":")[1] for key in keys(session_factory) if key.endswith(":2019-W44")} - {"leaders"}
    assert units == DUE_ON_31_OCTOBER | {"finance"}  # finance: nothing due soon, but finance-1 is overdue
    with session_factory() as session:
        row = session.scalars(select(Notice).where(Notice.dedupe_key == "digest:hrss:2019-W44")).one()
    assert (row.kind, row.audience, row.unit_id, row.level, row.owed_on, row.deliverable_id) == (
        "digest", "unit", "hrss", 0, date(2019, 10, 28), None)


def test_a_unit_with_nothing_to_report_gets_no_digest_row(loaded, session_factory):
    services.submit(session_factory, actor="union-clerk", ref="union-1", now=at(2019, 10, 25), note="已办结")
    services.accept(session_factory, actor=OFFICE, ref="union-1", now=at(2019, 10, 25, 10))
    digests_on(session_factory, date(2019, 10, 28))
    written = keys(session_factory)
    assert "digest:union:2019-W44" not in written  # its one deliverable due soon is signed off
    assert "digest:education:2019-W44" not in written  # nothing due before 2020
    assert "digest:hrss:2019-W44" in written


def test_the_weekly_digests_are_written_once_a_week_and_the_office_digest_once_a_day(loaded, session_factory):
    digests_on(session_factory, date(2019, 10, 28))
    assert digests_on(session_factory, date(2019, 10, 28)) == NOTHING
    assert digests_on(session_factory, date(2019, 10, 29)) == {"unit": 0, "office": 1, "leaders": 0}
    assert digests_on(session_factory, date(2019, 10, 31)) == {"unit": 0, "office": 1, "leaders": 0}
    written = keys(session_factory)
    assert len([k for k in written if k.endswith("2019-W44")]) == 14
    assert {k for k in written if k.startswith("digest:office:")} == {
        "digest:office:2019-10-28", "digest:office:2019-10-29", "digest:office:2019-10-31"}


def test_when_monday_was_missed_the_weekly_digests_go_out_on_tuesday(loaded, session_factory):
    assert digests_on(session_factory, date(2019, 10, 29)) == {"unit": 13, "office": 1, "leaders": 1}
    written = keys(session_factory)
    assert written["digest:hrss:2019-W44"] == written["digest:leaders:2019-W44"] == date(2019, 10, 29)
    assert digests_on(session_factory, date(2019, 10, 30))["unit"] == 0


def test_when_monday_is_a_holiday_the_weekly_digests_go_out_on_the_first_working_day_of_the_week(
        loaded, session_factory):
    assert digests_on(session_factory, date(2019, 10, 7)) == NOTHING  # the last day of National Day
    written = digests_on(session_factory, date(2019, 10, 8))
    assert written["unit"] > 0 and written["leaders"] == 1  # finance-1 overdue since 30 September
    assert keys(session_factory)["digest:finance:2019-W41"] == date(2019, 10, 8)


def test_nothing_is_written_on_a_weekend_or_a_holiday(loaded, session_factory):
    for day in (date(2019, 11, 2), date(2019, 11, 3), date(2019, 10, 1), date(2020, 1, 27)):
        assert digests_on(session_factory, day) == NOTHING
    assert loaded.count("notices") == 0


def test_after_30_days_down_exactly_one_digest_per_unit_office_and_leaders_for_the_current_period(
        loaded, session_factory):
    digests_on(session_factory, date(2019, 10, 28))
    written = digests_on(session_factory, date(2019, 11, 27))  # a Wednesday, four weeks later
    assert written["office"] == written["leaders"] == 1 and written["unit"] > 0
    new = {k: owed for k, owed in keys(session_factory).items() if owed == date(2019, 11, 27)}
    assert len(new) == sum(written.values())
    assert all(k.endswith(":2019-W48") or k == "digest:office:2019-11-27" for k in new)
    periods = {k.rsplit(":", 1)[1] for k in keys(session_factory)}
    assert periods == {"2019-W44", "2019-10-28", "2019-W48", "2019-11-27"}  # no catch-up for W45–W47


def test_the_office_and_leaders_digests_are_not_written_when_nothing_waits_and_nothing_is_red(
        loaded, session_factory):
    with session_factory.begin() as session:  # the plan without its two obligations that wait for the office
        session.execute(update(ObligationRecord).where(ObligationRecord.ref.in_(("hrss-2", "hrss-9")))
                        .values(retired_at=at(2019, 9, 1)))
    assert digests_on(session_factory, date(2019, 9, 27)) == {"unit": 1, "office": 0, "leaders": 0}  # finance-1
    assert digests_on(session_factory, date(2019, 10, 8))["office"] == 1  # finance-1 is red now


@pytest.mark.slow
def test_two_digest_runs_in_two_processes_at_once_write_each_digest_once(loaded, session_factory):
    code = ("import sys; from datetime import date; sys.path.insert(0, 'tests');"
            "from conftest import at; from responsibilities.storage import db; "
            "from responsibilities.notices.digests import write_digests;"
            f"f = db.make_session_factory(db.make_engine('{loaded.url}'));"
            "print(sum(write_digests(f, now=at(2019, 11, 4, 8, 30), today=date(2019, 11, 4)).values()))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    totals = sorted(int(p.communicate(timeout=120)[0]) for p in runs)
    assert all(p.returncode == 0 for p in runs)
    assert totals == [0, 15] and len(keys(session_factory)) == 15


# ── what they say ───────────────────────────────────────────────────────────────────────────────


def test_a_unit_digest_names_its_overdue_and_soon_due_work_with_links(loaded, session_factory):
    digests_on(session_factory, date(2019, 10, 28))
    message = rendered(session_factory, "digest:hrss:2019-W44", date(2019, 10, 28))
    assert message.subject == "【周报】市人力资源社会保障局 2019年第44周督办事项:逾期1项,两周内到期3项"
    assert message.to == ("hrss@guigang.example",)
    for part in (message.text, message.html):
        for fact in ("贵港市人力资源和社会保障局", "2019年第44周(2019-10-28至2019-11-03)", "一、逾期事项(1项)",
                     "二、两周内到期(3项)", "三、退回修改(0项)", "牵头制定全市职业技能提升三年行动工作方案",
                     "举办职业技能提升行动政策培训班", "13天", f"https://duban.example/deliverables/{seed_key('hrss-1')}",
                     f"https://duban.example/deliverables/{seed_key('hrss-4')}",
                     f"https://duban.example/deliverables/{seed_key('hrss-3@stage-1')}",
                     "https://duban.example/\"" if part is message.html else "https://duban.example/\n"):
            assert fact in part, fact
    assert "贵港市职业技能提升行动工作方案(2019—2021年)" in message.html and '<html lang="zh-CN">' in message.html
    assert "finance-1" not in message.text  # another unit's work


def test_a_unit_digest_counts_what_was_returned_for_rework(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 25), note="已办结")
    services.return_for_rework(session_factory, actor=OFFICE, ref="hrss-4", reason="缺少培训签到表",
                               now=at(2019, 10, 25, 15))
    digests_on(session_factory, date(2019, 10, 28))
    message = rendered(session_factory, "digest:hrss:2019-W44", date(2019, 10, 28))
    assert message.subject == "【周报】市人力资源社会保障局 2019年第44周督办事项:逾期1项,两周内到期3项,退回修改1项"
    assert "三、退回修改(1项)" in message.text and "退回修改" in message.html


def test_the_office_digest_shows_the_lights_the_reviews_waiting_and_the_missing_event_and_date(
        loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 31, 16), note="已办结")
    digests_on(session_factory, date(2019, 11, 1))
    message = rendered(session_factory, "digest:office:2019-11-01", date(2019, 11, 1))
    assert message.subject == "【日报】领导小组办公室 2019-11-01:待审核1项,逾期15项"
    assert message.to == ("office@guigang.example",)
    for part in (message.text, message.html):
        for fact in ("贵港市职业技能提升行动领导小组办公室", "二、待审核的报送(1项)", "举办职业技能提升行动政策培训班",
                     f"https://duban.example/deliverables/{seed_key('hrss-4')}",
                     "自治区职业技能提升行动相关配套文件下发",
                     f"https://duban.example/obligations/{seed_key('hrss-2')}",
                     f"https://duban.example/obligations/{seed_key('hrss-9')}",
                     "三、投递失败的通知(0条)", "市财政局"):
            assert fact in part, fact
    assert "市人力资源社会保障局:红3 黄1 绿39 灰2" in message.text  # hrss-1, hrss-3@stage-1, prep-2; hrss-4 submitted
    assert "合计:红15 " in message.text


def test_the_office_digest_lists_notices_whose_delivery_failed(loaded, session_factory):
    digests_on(session_factory, date(2019, 10, 28))
    with session_factory.begin() as session:
        session.execute(update(Notice).where(Notice.dedupe_key == "digest:union:2019-W44").values(
            status="failed", attempts=1, last_error="550 5.1.1 mailbox unavailable"))
    digests_on(session_factory, date(2019, 10, 29))
    message = rendered(session_factory, "digest:office:2019-10-29", date(2019, 10, 29))
    assert message.subject.endswith(",投递失败1条")
    for part in (message.text, message.html):
        assert "digest:union:2019-W44" in part and "550 5.1.1 mailbox unavailable" in part and "市总工会" in part


def test_the_leaders_digest_lists_the_red_items_and_the_units_furthest_behind(loaded, session_factory):
    digests_on(session_factory, date(2019, 11, 4))
    message = rendered(session_factory, "digest:leaders:2019-W45", date(2019, 11, 4))
    assert message.subject == "【周报】领导小组 2019年第45周:红色事项16项"
    assert message.to == ("wei-yan@guigang.example", "chen-xinhan@guigang.example", "huang-chuangyou@guigang.example")
    assert "1. 市人力资源社会保障局:红色事项4项,累计逾期32天,最长逾期20天" in message.text
    assert "2. 市财政局:红色事项1项,累计逾期35天,最长逾期35天" in message.text  # ties broken by days overdue
    red = message.text.split("二、红色事项")[1]
    assert red.index("finance-1") < red.index("hrss-1") < red.index("union-1")  # most overdue first
    assert "截止2019-09-30,已逾期35天" in red
    for ref in ("finance-1", "hrss-1", "union-1", "prep-2"):
        assert f'href="https://duban.example/deliverables/{seed_key(ref)}"' in message.html


def test_the_office_and_leaders_digests_name_each_region_missing_its_monthly_report_on_a_line_of_its_own(
        loaded, session_factory):
    # No region filed its November 2019 report, due on 5 December: on Monday 9 December all six are behind.
    digests_on(session_factory, date(2019, 12, 9))
    for key in ("digest:office:2019-12-09", "digest:leaders:2019-W50"):
        message = rendered(session_factory, key, date(2019, 12, 9))
        lines = message.text.split("培训目标序时进度(6个地区落后或缺报)\n")[1].splitlines()[:6]
        assert [line.split(":")[0].strip() for line in lines] == [
            "1. 市本级", "2. 港北区", "3. 港南区", "4. 桂平市", "5. 平南县", "6. 覃塘区"], key
        assert lines[3] == "  4. 桂平市:本年完成0人次,序时进度3,900人次,年度目标7,800人次;缺报月报:2019-11", key
        assert "桂平市" in message.html and "2019-11" in message.html


def test_a_digest_escapes_the_task_in_html_and_keeps_it_verbatim_in_text(loaded, session_factory):
    task = '<script>alert("x")</script> 培训 & 宣传'
    with session_factory.begin() as session:
        session.get(ObligationRecord, seed_key("hrss-4")).task = task
    digests_on(session_factory, date(2019, 10, 28))
    message = rendered(session_factory, "digest:hrss:2019-W44", date(2019, 10, 28))
    assert "<script" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 培训 &amp; 宣传" in message.html
    assert task in message.text


def test_digests_are_delivered_like_every_other_notice(loaded, session_factory):
    digests_on(session_factory, date(2019, 10, 28))
    transport = MemoryTransport()
    report = deliver(session_factory, transport, DeliverySettings(base_url=BASE, sender=SENDER),
                     now=at(2019, 10, 28, 9))
    assert report.sent == 15 and report.failed == 0
    subjects = sorted(message["Subject"] for message, _, _ in transport.sent)
    assert sum(s.startswith("【周报】") for s in subjects) == 14
    assert "【日报】领导小组办公室 2019-10-28:待审核0项,逾期2项" in subjects
    hrss = next(m for m, _, to in transport.sent if to == ("hrss@guigang.example",))
    assert hrss["X-Duban-Notice"] == "digest:hrss:2019-W44"
    assert hrss.get_body(("html",)).get_content().count("https://duban.example/deliverables/") == 4
    with session_factory() as session:
        assert set(session.scalars(select(Notice.status))) == {"sent"}


# ── at the command line ─────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_duban_digest_writes_the_digests_owed_that_day_and_says_so_in_chinese(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai"}
    for name in ("DUBAN_DATABASE_URL", "DUBAN_PLAN", "DUBAN_SMTP_URL", "DUBAN_MAIL_DIR", "DUBAN_BASE_URL"):
        env.pop(name, None)
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)

    def duban(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        return result.stdout

    duban("load", "--as-of", "2019-10-23")
    assert ("2019-10-28 摘要:新写入 单位周报 13、办公室日报 1、领导小组周报 1"
            in duban("digest", "--as-of", "2019-10-28"))
    assert "单位周报 0、办公室日报 0、领导小组周报 0" in duban("digest", "--as-of", "2019-10-28")
    assert "2019-11-02 不是工作日:不写摘要" in duban("digest", "--as-of", "2019-11-02")
