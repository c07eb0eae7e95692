"""The year-end summary as files: printable HTML, a spreadsheet, JSON, and `duban report year` writing them."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from responsibilities.errors import InvalidInput
from responsibilities.reports.files import write_year_report
from responsibilities.reports.html import render_html
from responsibilities.reports.summary import year_end_summary, year_summary_to_json
from responsibilities.reports.xlsx import render_xlsx
from responsibilities.storage.model import ObligationRecord
from responsibilities.tracking import services

from conftest import OFFICE, ROOT, at, run_duban

pytestmark = pytest.mark.both_databases

AFTER_2019 = date(2020, 1, 10)
SHEETS = ["单位情况", "全市合计", "排名", "红色事项", "各地区培训目标", "全市培训目标"]


@pytest.fixture
def summary(loaded, session_factory):
    """A 2019 with an on-time, a late and a waived deliverable, and a task text that looks like markup."""
    for ref, submitted in (("miit-1", at(2019, 10, 30)), ("hrss-4", at(2019, 11, 4))):
        services.submit(session_factory, actor=OFFICE, ref=ref, now=submitted, note="已办结")
        services.accept(session_factory, actor=OFFICE, ref=ref, now=submitted)
    services.waive(session_factory, actor=OFFICE, ref="market-1", reason="职能调整", now=at(2019, 10, 30))
    with session_factory.begin() as session:
        session.execute(update(ObligationRecord).where(ObligationRecord.ref == "union-1")
                        .values(task='<script>alert("x")</script> 职工培训 & 竞赛'))
    return year_end_summary(session_factory, year=2019, today=AFTER_2019)


# ── HTML ─────────────────────────────────────────────────────────────────────────────────────────


def test_the_html_page_has_the_title_the_document_number_the_date_and_a_bar_per_ranked_unit(summary):
    page = render_html(summary)
    assert "<title>贵港市职业技能提升行动 2019年度督办情况总结</title>" in page
    assert "贵政办发〔2019〕24号" in page and "统计截至 2020年1月10日" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count("<rect") == len(summary.ranking) > 0
    assert "1. 市工业和信息化局" in svg and "100.0%" in svg
    assert "@media print" in page and "size: A4 portrait" in page


def test_the_html_page_is_self_contained_without_scripts_or_outside_references(summary):
    page = render_html(summary)
    assert not re.search(r"<script|<link|<img|<iframe|src=|href=|url\(|@import|https?://", page, re.IGNORECASE)


def test_task_texts_are_escaped_in_the_html_page(summary):
    page = render_html(summary)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 职工培训 &amp; 竞赛" in page


# ── XLSX ─────────────────────────────────────────────────────────────────────────────────────────


def workbook(summary):
    return load_workbook(BytesIO(render_xlsx(summary)))


def test_the_workbook_has_one_sheet_per_section_with_bold_frozen_chinese_headers(summary):
    book = workbook(summary)
    assert book.sheetnames == SHEETS
    units = book["单位情况"]
    assert [c.value for c in units[1]][:5] == ["排名", "单位编号", "牵头单位", "应办", "按时办结"]
    assert [c.value for c in book["红色事项"][1]] == ["序号", "事项编号", "牵头单位", "工作任务", "原定时限", "现时限",
                                                      "逾期天数", "状态"]
    for sheet in book:
        assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
        assert sheet.column_dimensions["B"].width >= 8


def test_numbers_dates_and_rates_in_the_workbook_are_real_numbers_with_formats(summary):
    book = workbook(summary)
    units = book["单位情况"]
    headers = [c.value for c in units[1]]
    miit = next(row for row in units.iter_rows(min_row=2) if row[1].value == "miit")
    rate = miit[headers.index("按时办结率")]
    assert (rate.data_type, rate.value, rate.number_format) == ("n", 1, "0.0%")
    assert all(miit[headers.index(h)].data_type == "n" for h in ("应办", "按时办结", "逾期办结", "逾期未办结"))
    totals = {row[0].value: row[1] for row in book["全市合计"].iter_rows(min_row=2)}
    assert totals["应办"].value == summary.totals.due and totals["应办"].data_type == "n"
    assert totals["按时办结率"].value == pytest.approx(summary.totals.on_time_rate)
    assert "%" in totals["按时办结率"].number_format
    assert totals["统计截至"].value == datetime(2020, 1, 10)
    red = book["红色事项"]
    first = [c for c in red[2]]
    assert isinstance(first[4].value, datetime) and first[6].data_type == "n"
    ranking = book["排名"]
    assert ranking["C2"].number_format == "0.0%" and ranking["A2"].value == 1
    assert ranking.max_row - 1 == len(summary.ranking)


# ── JSON and files ───────────────────────────────────────────────────────────────────────────────


def test_the_json_form_carries_every_section_in_plain_types(summary):
    data = json.loads(json.dumps(year_summary_to_json(summary)))
    assert data["year"] == 2019 and data["as_of"] == "2020-01-10"
    assert data["totals"]["due"] == summary.totals.due
    assert {u["unit_id"] for u in data["units"]} == {u.unit_id for u in summary.units}
    hrss = next(u for u in data["units"] if u["unit_id"] == "hrss")
    assert hrss["days_late"] == [4] and hrss["max_days_late"] == 4
    assert data["ranking"][0] == {"rank": 1, "unit_id": "miit", "unit_name": "市工业和信息化局",
                                  "on_time_rate": 1.0, "overdue": 0}
    assert next(u for u in data["units"] if u["unit_id"] == "market")["on_time_rate"] is None
    assert all(isinstance(r["original_due"], str) for r in data["red_items"])


def test_writing_the_report_leaves_three_complete_files_and_no_temporary_ones(loaded, session_factory, tmp_path):
    paths = write_year_report(session_factory, year=2019, today=AFTER_2019, out_dir=tmp_path / "reports")
    assert paths == {fmt: tmp_path / "reports" / f"summary-2019.{fmt}" for fmt in ("html", "xlsx", "json")}
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "summary-2019.html", "summary-2019.json", "summary-2019.xlsx"]
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["year"] == 2019
    with pytest.raises(InvalidInput, match="不支持的报告格式“pdf”"):
        write_year_report(session_factory, year=2019, today=AFTER_2019, out_dir=tmp_path, formats=("pdf",))


# ── the command line ─────────────────────────────────────────────────────────────────────────────




@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("report-cli")
    shutil.copy(ROOT / "deadlines.yaml", workdir)
    for args in (("load", "--as-of", "2019-10-23"), ("users", "add", "王春", "--role", "office"),
                 ("submit", "miit-1", "--as", "王春", "--as-of", "2019-10-30", "--note", "已办结"),
                 ("accept", "miit-1", "--as", "王春", "--as-of", "2019-10-31")):
        assert run_duban(workdir, *args).returncode == 0
    return workdir


@pytest.mark.slow
def test_report_year_writes_the_three_files_into_var_reports_and_prints_their_paths(workdir):
    result = run_duban(workdir, "report", "year", "2019", "--as-of", "2020-01-10")
    assert result.returncode == 0, result.stderr
    for fmt in ("html", "xlsx", "json"):
        path = Path("var/reports") / f"summary-2019.{fmt}"
        assert str(path) in result.stdout and (workdir / path).stat().st_size > 0
    assert json.loads((workdir / "var/reports/summary-2019.json").read_text(encoding="utf-8"))["ranking"][0][
        "unit_id"] == "miit"


@pytest.mark.slow
def test_report_year_writes_one_format_to_a_chosen_path_or_prints_json(workdir):
    result = run_duban(workdir, "report", "year", "2019", "--format", "xlsx", "--out", "out/年度总结.xlsx",
                 "--as-of", "2020-01-10")
    assert result.returncode == 0, result.stderr
    assert load_workbook(workdir / "out/年度总结.xlsx").sheetnames == SHEETS
    printed = run_duban(workdir, "report", "year", "2019", "--format", "json", "--out", "-", "--as-of", "2019-12-20")
    assert printed.returncode == 0 and json.loads(printed.stdout)["as_of"] == "2019-12-20"


@pytest.mark.slow
def test_report_year_refuses_a_year_outside_the_plan_with_a_message(workdir):
    result = run_duban(workdir, "report", "year", "2018", "--as-of", "2020-01-10")
    assert (result.returncode == 1 and result.stderr.startswith("duban: 2018 年不在工作方案实施期内")
            and "2019" in result.stderr)
    assert not (workdir / "var/reports/summary-2018.html").exists()


def test_a_year_with_nothing_due_yet_renders_without_a_chart_or_a_rate(loaded, session_factory):
    early = year_end_summary(session_factory, year=2021, today=date(2019, 12, 1))
    page = render_html(early)
    assert "<svg" not in page and "暂不计算按时办结率" in page and "本年度无逾期未办结事项" in page
    assert workbook(early)["排名"].max_row == 1  # the header alone
