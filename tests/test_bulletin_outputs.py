"""The bulletin as files: a printable HTML page and a spreadsheet, in Chinese, saying "统计截至 YYYY-MM-DD"."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from responsibilities.reports.bulletin import bulletin
from responsibilities.reports.files import bulletin_file_name, render_bulletin
from responsibilities.reports.html import render_bulletin_html
from responsibilities.reports.xlsx import render_bulletin_xlsx
from responsibilities.storage.model import ObligationRecord
from responsibilities.tracking import services

from conftest import OFFICE, at

pytestmark = pytest.mark.both_databases

SHEETS = ["各单位情况", "合计", "逾期未报送事项", "统计口径"]


@pytest.fixture
def october(loaded, session_factory):
    """October 2019, made in June 2020: miit on time, hrss-4 returned, the rest overdue; a task text that looks like
    markup."""
    services.submit(session_factory, actor=OFFICE, ref="miit-1", now=at(2019, 10, 30), note="已办结")
    services.submit(session_factory, actor=OFFICE, ref="hrss-4", now=at(2019, 10, 20), note="已办结")
    services.return_for_rework(session_factory, actor=OFFICE, ref="hrss-4", reason="不全", now=at(2019, 10, 25))
    with session_factory.begin() as session:
        session.execute(update(ObligationRecord).where(ObligationRecord.ref == "union-1")
                        .values(task='<script>alert("x")</script> 职工培训 & 竞赛'))
    return bulletin(session_factory, start=date(2019, 10, 1), end=date(2019, 10, 31), today=date(2020, 6, 1))


@pytest.fixture
def august(loaded, session_factory):
    return bulletin(session_factory, start=date(2019, 8, 1), end=date(2019, 8, 31), today=date(2020, 6, 1))


# ── HTML ─────────────────────────────────────────────────────────────────────────────────────────


def test_the_page_names_the_period_and_says_as_of_when_it_counts(october):
    page = render_bulletin_html(october)
    assert "<title>2019年10月督查通报</title>" in page and "<h1>2019年10月督查通报</h1>" in page
    assert "统计期:2019年10月1日至2019年10月31日" in page and "统计截至 2019-10-31" in page
    assert "《职业技能提升行动》" in page and "@media print" in page


def test_the_page_ranks_the_units_worst_first_and_writes_its_ranking_rule(october):
    page = render_bulletin_html(october)
    units = page[page.index('<table id="units">'):page.index("</table>")]
    assert units.index("市人力资源社会保障局") < units.index("市财政局") < units.index("市工业和信息化局")
    assert "逾期未报送项数多者在前;相同的,逾期天数合计多者在前" in page
    assert "按期末(2019-10-31 24时)的状态统计" in page


def test_the_page_lists_the_overdue_items_under_their_units(october):
    page = render_bulletin_html(october)
    worst = page[page.index('<table class="red" id="worst">'):]
    worst = worst[:worst.index("</table>")]
    groups = re.findall(r'<tr class="group"><td colspan="5">([^(]+)\(排名第 (\d+) 名', worst)
    assert groups[:2] == [("市人力资源社会保障局", "1"), ("市财政局", "2")]
    hrss = worst[worst.index("市人力资源社会保障局"):worst.index("市财政局")]
    assert "hrss-1" in hrss and "2019-10-15" in hrss and ">17<" in hrss and "hrss-4" not in hrss


def test_task_texts_are_escaped_and_the_page_is_self_contained(october):
    page = render_bulletin_html(october)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 职工培训 &amp; 竞赛" in page
    assert not re.search(r"<script|<link|<img|<iframe|src=|href=|url\(|@import|https?://", page, re.IGNORECASE)


def test_a_period_with_nothing_to_report_is_a_short_page_that_says_so(august):
    page = render_bulletin_html(august)
    assert "2019年8月没有应报送的事项" in page and "本期无需通报" in page and "统计截至 2019-08-31" in page
    assert "<table" not in page and "统计口径" not in page


def test_a_running_period_says_it_is_counted_as_of_today(loaded, session_factory):
    running = bulletin(session_factory, start=date(2019, 11, 1), end=date(2019, 11, 30), today=date(2019, 11, 10))
    page = render_bulletin_html(running)
    assert "统计截至 2019-11-10(统计期尚未结束,按当日情况统计)" in page
    assert "逾期天数 = 统计当日 − 原定完成时限" in page


# ── XLSX ─────────────────────────────────────────────────────────────────────────────────────────


def workbook(b):
    return load_workbook(BytesIO(render_bulletin_xlsx(b)))


def test_the_workbook_has_the_units_the_totals_the_overdue_items_and_the_rules(october):
    book = workbook(october)
    assert book.sheetnames == SHEETS and book.properties.title == "2019年10月督查通报"
    for sheet in book:
        assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
    units = book["各单位情况"]
    assert [c.value for c in units[1]] == ["排名", "单位编号", "牵头单位", "应报送", "按时报送", "逾期报送",
                                           "逾期未报送", "逾期天数合计", "最长逾期天数", "退回重办", "免报", "未到期",
                                           "按时报送率"]
    rows = [[c.value for c in row] for row in units.iter_rows(min_row=2)]
    assert [r[1] for r in rows][:2] == ["hrss", "finance"] and rows[0][0] == 1
    assert rows[0][3:8] == [4, 0, 0, 3, 19] and rows[0][9] == 1  # three overdue, 19 days in all; one returned
    assert units.max_row - 1 == len(october.units)


def test_numbers_dates_and_rates_in_the_workbook_are_real_values_with_formats(october):
    book = workbook(october)
    miit = next(row for row in book["各单位情况"].iter_rows(min_row=2) if row[1].value == "miit")
    assert (miit[-1].value, miit[-1].number_format, miit[-1].data_type) == (1, "0.0%", "n")
    totals = {row[0].value: row[1] for row in book["合计"].iter_rows(min_row=2)}
    assert totals["统计期"].value == "2019年10月" and totals["统计截至"].value == datetime(2019, 10, 31)
    assert totals["应报送"].value == october.totals.items and totals["逾期未报送"].data_type == "n"
    worst = book["逾期未报送事项"]
    assert [c.value for c in worst[1]] == ["排名", "牵头单位", "事项编号", "工作方案", "工作任务", "原定时限", "现时限",
                                           "逾期天数"]
    first = [c.value for c in worst[2]]
    assert first[:3] == [1, "市人力资源社会保障局", "hrss-1"] and first[5] == datetime(2019, 10, 15) and first[7] == 17
    assert worst.max_row - 1 == october.totals.overdue
    rules = [row[1].value for row in book["统计口径"].iter_rows(min_row=2)]
    assert any(rule.startswith("排名(问题最突出的排第 1 名)") for rule in rules)


def test_a_period_with_nothing_to_report_is_one_sheet_that_says_so(august):
    book = workbook(august)
    assert book.sheetnames == ["督查通报"]
    rows = {row[0].value: row[1].value for row in book["督查通报"].iter_rows(min_row=2)}
    assert rows["统计期"] == "2019年8月" and rows["统计截至"] == datetime(2019, 8, 31)
    assert "没有应报送的事项" in rows["说明"]


def test_each_format_has_its_bytes_and_its_file_name(october):
    assert json.loads(render_bulletin(october, "json"))["title"] == "2019年10月督查通报"
    assert render_bulletin(october, "html").startswith(b"<!DOCTYPE html>")
    assert render_bulletin(october, "xlsx")[:2] == b"PK"
    assert bulletin_file_name(october, "xlsx") == "bulletin-2019-10.xlsx"
