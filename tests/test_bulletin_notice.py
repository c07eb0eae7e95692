"""The monthly bulletin: on the first working day of each month the office and the leaders are owed the last month's
bulletin, once (bulletin:<YYYY-MM>), by the digests job; the mail says what the bulletin says as of the month's close.

1 November 2019 is a Friday; 1 December a Sunday (2 December the first working day); 1 January 2020 a holiday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from notifications.delivery import DeliverySettings, deliver
from notifications.messages import Message, render_notice
from notifications.transports import MemoryTransport
from responsibilities.reports.bulletin import queue_monthly_bulletin
from responsibilities.storage.model import Notice
from responsibilities.tracking import services
from workflows.runtime import Runtime, fixed_clock
from workflows.schedule import jobs
from workflows.settings import Settings

from conftest import OFFICE, at

pytestmark = pytest.mark.both_databases

BASE = "https://duban.example/"
SENDER = "贵港市职业技能提升行动领导小组办公室 <duban@guigang.example>"


def bulletins_on(session_factory, day: date) -> int:
    return queue_monthly_bulletin(session_factory, now=at(day.year, day.month, day.day, 8, 30), today=day)


def bulletin_notices(session_factory) -> dict[str, date]:
    with session_factory() as session:
        return dict(session.execute(select(Notice.dedupe_key, Notice.owed_on).where(Notice.kind == "bulletin")).all())


def rendered(session_factory, key: str, today: date) -> Message:
    with session_factory() as session:
        row = session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()
        return render_notice(session, row, base_url=BASE, sender=SENDER, today=today)


def test_on_the_first_working_day_of_a_month_last_months_bulletin_is_owed_to_the_office_and_the_leaders(
        loaded, session_factory):
    assert bulletins_on(session_factory, date(2019, 11, 1)) == 1
    assert bulletin_notices(session_factory) == {"bulletin:2019-10": date(2019, 11, 1)}
    with session_factory() as session:
        row = session.scalars(select(Notice).where(Notice.kind == "bulletin")).one()
    assert (row.audience, row.unit_id, row.deliverable_id, row.plan_id, row.status) == (
        "leader,deputies,office", None, None, None, "pending")


def test_the_monthly_bulletin_is_written_once_per_month_however_often_the_job_runs(loaded, session_factory):
    assert [bulletins_on(session_factory, date(2019, 11, day)) for day in (1, 1, 4, 5, 29)] == [1, 0, 0, 0, 0]
    assert [bulletins_on(session_factory, date(2019, 12, day)) for day in (2, 2, 3)] == [1, 0, 0]
    assert set(bulletin_notices(session_factory)) == {"bulletin:2019-10", "bulletin:2019-11"}


def test_nothing_is_owed_on_a_day_off_and_the_first_working_day_after_it_catches_up(loaded, session_factory):
    assert bulletins_on(session_factory, date(2019, 12, 1)) == 0  # a Sunday
    assert bulletins_on(session_factory, date(2019, 12, 2)) == 1
    assert bulletins_on(session_factory, date(2020, 1, 1)) == 0  # New Year's Day
    assert bulletin_notices(session_factory) == {"bulletin:2019-11": date(2019, 12, 2)}


def test_after_downtime_only_the_last_months_bulletin_is_written(loaded, session_factory):
    assert bulletins_on(session_factory, date(2020, 1, 15)) == 1  # nothing ran in November nor December
    assert set(bulletin_notices(session_factory)) == {"bulletin:2019-12"}


def test_a_month_with_nothing_to_report_owes_no_bulletin(loaded, session_factory):
    # September 2019: the plan reached duban on 23 October, so nothing was tracked in September.
    assert bulletins_on(session_factory, date(2019, 10, 24)) == 0
    assert bulletin_notices(session_factory) == {}


def test_the_digests_job_owes_the_monthly_bulletin_with_the_days_digests(loaded, tmp_path):
    settings = replace(Settings.from_environment(), database_url=loaded.url, reports_dir=tmp_path / "reports")
    runtime = Runtime(settings, clock=fixed_clock(at(2019, 11, 1, 8, 30)))
    try:
        first, second = jobs.digests(runtime=runtime), jobs.digests(runtime=runtime)
    finally:
        runtime.close()
    assert (first["bulletin"], second["bulletin"]) == (1, 0) and first["office"] == 1
    assert set(bulletin_notices(loaded.session_factory)) == {"bulletin:2019-10"}


def test_the_mail_states_the_months_bulletin_as_of_its_close_worst_units_first(loaded, session_factory):
    services.submit(session_factory, actor=OFFICE, ref="miit-1", now=at(2019, 10, 30), note="已办结")
    bulletins_on(session_factory, date(2019, 11, 1))
    services.submit(session_factory, actor=OFFICE, ref="hrss-1", now=at(2019, 11, 4), note="已办结")  # after October
    message = rendered(session_factory, "bulletin:2019-10", date(2019, 11, 5))
    assert message.to == ("wei-yan@guigang.example", "chen-xinhan@guigang.example",
                          "huang-chuangyou@guigang.example", "office@guigang.example")
    assert message.subject == "【督查通报】2019年10月督查通报:逾期未报送15项"
    assert "统计截至 2019-10-31" in message.text and "第1名 市人力资源社会保障局:逾期未报送4项" in message.text
    assert "hrss-1 牵头制定全市职业技能提升三年行动工作方案" in message.text and "已逾期17天" in message.text
    assert "https://duban.example/reports/bulletin?from=2019-10-01&to=2019-10-31" in message.text
    assert "逾期未报送15项" in message.html and "查看通报全文" in message.html
    assert rendered(session_factory, "bulletin:2019-10", date(2020, 6, 1)).text == message.text  # whenever sent


def test_the_monthly_bulletin_is_delivered_like_every_notice(loaded, session_factory):
    bulletins_on(session_factory, date(2019, 11, 1))
    transport = MemoryTransport()
    report = deliver(session_factory, transport, DeliverySettings(base_url=BASE, sender=SENDER),
                     now=at(2019, 11, 1, 8, 31))
    assert report.sent == 1 and len(transport.sent) == 1
    message, _, recipients = transport.sent[0]
    assert message["Subject"].startswith("【督查通报】2019年10月督查通报") and "office@guigang.example" in recipients
    assert message["X-Duban-Notice"] == "bulletin:2019-10"


def test_duban_digest_owes_the_monthly_bulletin_too_and_says_so(loaded, tmp_path, monkeypatch, capsys):
    from workflows.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DUBAN_DATABASE_URL", loaded.url)
    assert main(["digest", "--as-of", "2019-11-01T08:30"]) == 0
    assert "2019-11-01 已写入2019年10月督查通报,发送领导小组和办公室" in capsys.readouterr().out
    assert main(["digest", "--as-of", "2019-11-04T08:30"]) == 0
    assert "督查通报" not in capsys.readouterr().out  # written once
