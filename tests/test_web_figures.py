"""The monthly figures on the web: a region's form and upload in its workspace, the office's progress table and
chart, the JSON API; bad figures come back next to their field (or cell) and nothing is recorded.

The clock is 3 April 2020: the reports of November 2019 to February 2020 are past due, March's is due on 5 April.
"""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from responsibilities.figures.service import figure_history, submit_figures
from responsibilities.figures.xlsx import FORM_SHEET, MAX_BYTES, form_for
from responsibilities.reading import queries
from responsibilities.tracking import services
from responsibilities.tracking.accounts import set_password

from conftest import GUIPING, HRSS, LEADER, OFFICE, at, database_unchanged
from web_support import PASSWORD, api_csrf, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2020, 4, 3)
FIELDS = ["total", "enterprise-workers", "key-groups", "graduates", "migrant-workers", "school-leavers", "laid-off",
          "veterans", "hard-to-employ", "poor-labour", "new-apprentices"]
GOOD = dict(zip(FIELDS, [900, 500, 300, 50, 100, 30, 40, 20, 10, 80, 9], strict=True))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def post(client, path: str, files=None, **data):
    return client.post(path, data={**data, "csrf_token": page_csrf(client, "/api/docs")}, files=files,
                       follow_redirects=False)


def month_form(month: str, values: dict, **extra) -> dict:
    return {"month": month, **{k: str(v) for k, v in values.items()}, **extra}


def workbook(session_factory, rows: dict[str, list], month: date = date(2020, 3, 1), regions=None) -> bytes:
    """The blank form `duban figures template` writes, with the given regions' rows filled in."""
    book = load_workbook(BytesIO(form_for(session_factory, month=month, regions=regions)))
    sheet = book[FORM_SHEET]
    for row in sheet.iter_rows(min_row=2):
        for column, value in enumerate(rows.get(row[0].value, []), start=4):
            sheet.cell(row=row[0].row, column=column, value=value)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def cell(html: str, region: str, column: str) -> str:
    row = html.split(f'data-region="{region}"')[1].split("</tr>")[0]
    return re.search(rf'data-col="{column}">([^<]*)<', row).group(1)


def history(web_db, ref: str) -> list:
    return figure_history(web_db.session_factory, ref=ref)


# ── a region's workspace ─────────────────────────────────────────────────────────────────────────


def test_a_region_hands_in_a_month_from_its_workspace_the_office_accepts_it_and_the_dashboard_counts_it(app, web_db):
    clerk, office = sign_in(app, GUIPING), sign_in(app, OFFICE)
    workspace = clerk.get("/units/guiping").text
    assert 'id="figures-form"' in workspace and 'id="upload-form"' in workspace
    assert '<option value="2019-11" selected>' in workspace  # the oldest month still owed comes first
    response = post(clerk, "/units/guiping/figures", **month_form("2020-02", GOOD, note="含线上培训"))
    assert response.status_code == 303
    assert response.headers["location"] == "/deliverables/monthly-report.guiping@2020-02?done=figures"
    page = clerk.get(response.headers["location"]).text
    assert "第 1 版" in page.split('id="figures-version"')[1][:200]
    assert "900" in page.split('data-field="total"')[1][:120]
    assert 'id="submit-form"' not in page  # a monthly report is handed in with its figures, not an empty note
    assert queries.show(web_db.session_factory, ref="monthly-report.guiping@2020-02").deliverable.state == "submitted"
    review = office.get("/deliverables/monthly-report.guiping@2020-02").text
    assert 'id="accept-form"' in review and "900" in review.split('id="figures-values"')[1][:600]
    assert post(office, "/deliverables/monthly-report.guiping@2020-02/accept").status_code == 303
    dashboard = office.get("/dashboard").text
    assert cell(dashboard, "guiping", "actual") == "900"
    assert cell(dashboard, "guiping", "target") == "11,700"


def test_progress_is_as_of_the_apps_today_expected_to_date_is_two_twelfths_of_the_annual_target_in_early_april(
        app, web_db):
    office = sign_in(app, OFFICE)
    dashboard = office.get("/dashboard").text
    assert "2020 年,截至 2020-04-03" in dashboard
    assert cell(dashboard, "guiping", "expected") == "1,950"  # 11,700 × 2 / 12: January's and February's reports due
    app.state.test_clock["now"] = at(2020, 4, 6)
    assert cell(sign_in(app, OFFICE).get("/dashboard").text, "guiping", "expected") == "2,925"  # March's now too


def test_the_dashboard_has_a_progress_table_and_an_svg_chart_with_the_values_written_as_text(app, web_db):
    submit_figures(web_db.session_factory, actor=GUIPING, region="guiping", month=date(2020, 1, 1), values=GOOD,
                   now=at(2020, 2, 3))
    html = sign_in(app, OFFICE).get("/dashboard").text
    chart = html.split('<svg class="chart" id="progress-chart"')[1].split("</svg>")[0]
    assert "<title" in chart and "桂平市" in chart and "900 / 11,700(7.7%)" in chart
    assert chart.count('class="chart-actual') == 6  # one bar per region of the target table
    row = html.split('data-region="guiping"')[1].split("</tr>")[0]
    assert "有月报缺报" in row and "缺报 2020-02" in row  # the year's missing month, in words: never colour alone


def test_bad_figures_come_back_next_to_each_field_with_what_was_typed_and_nothing_is_written(app, web_db):
    clerk = sign_in(app, GUIPING)
    bad = {**GOOD, "total": "-5", "graduates": "十二", "enterprise-workers": "1000", "new-apprentices": "2.5"}
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures", **month_form("2020-02", bad, note="我的备注"))
    assert response.status_code == 422
    html = response.text
    assert "负数" in html.split('id="figures-total-error"')[1][:100]
    assert "不是数字" in html.split('id="figures-graduates-error"')[1][:100]
    assert "不是整数" in html.split('id="figures-new-apprentices-error"')[1][:100]
    assert 'value="十二"' in html and 'value="-5"' in html and 'value="我的备注"' in html
    assert '<option value="2020-02" selected>' in html


def test_a_category_larger_than_its_total_is_named_next_to_the_category(app, web_db):
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures", **month_form("2020-02", {**GOOD, "enterprise-workers": 901}))
    assert response.status_code == 422
    assert ("「企业职工」901 大于「培训总人次」900"
            in response.text.split('id="figures-enterprise-workers-error"')[1][:200])


@pytest.mark.parametrize("month, says", [("2030-01", "不在方案实施期内"), ("2019-10", "不在方案实施期内"),
                                         ("2020-05", "尚未开始"), ("soon", "请选择月份")])
def test_a_month_outside_the_plan_or_not_yet_begun_is_refused_next_to_the_month(app, web_db, month, says):
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures", **month_form(month, GOOD))
    assert response.status_code == 422 and says in response.text.split('id="figures-month-error"')[1][:200]


def test_correcting_an_accepted_report_needs_a_reason_and_then_is_a_new_version(app, web_db):
    ref = "monthly-report.guiping@2020-01"
    submit_figures(web_db.session_factory, actor=GUIPING, region="guiping", month=date(2020, 1, 1), values=GOOD,
                   now=at(2020, 2, 3))
    services.accept(web_db.session_factory, actor=OFFICE, ref=ref, now=at(2020, 2, 4))
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures", **month_form("2020-01", {**GOOD, "total": 950}))
    assert response.status_code == 422 and "须说明理由" in response.text.split('id="figures-reason-error"')[1][:200]
    assert post(clerk, "/units/guiping/figures", **month_form("2020-01", {**GOOD, "total": 950},
                                                                reason="漏报一期")).status_code == 303
    assert [(r.version, v["total"]) for r, v in history(web_db, ref)] == [(1, 900), (2, 950)]
    assert queries.show(web_db.session_factory, ref=ref).deliverable.state == "accepted"


def test_a_unit_cannot_see_or_file_another_regions_figures(app, web_db):
    services.add_user(web_db.session_factory, name="pingnan-clerk", role="unit:pingnan", now=NOW)
    set_password(web_db.session_factory, name="pingnan-clerk", password=PASSWORD, now=NOW)
    neighbour = sign_in(app, "pingnan-clerk")
    with database_unchanged(web_db):
        assert post(neighbour, "/units/guiping/figures", **month_form("2020-02", GOOD)).status_code == 404
        assert neighbour.get("/units/guiping/figures/template.xlsx?month=2020-03").status_code == 404
        assert neighbour.get("/api/units/guiping/progress").status_code == 404
        assert neighbour.post("/api/units/guiping/figures", json={"month": "2020-02", "values": GOOD},
                              headers={"x-csrf-token": api_csrf(neighbour)}).status_code == 404
    assert 'id="figures-form"' in neighbour.get("/units/pingnan").text


def test_a_unit_that_owes_no_monthly_report_has_no_figures_section(app):
    html = sign_in(app, HRSS).get("/units/hrss").text
    assert 'id="figures"' not in html and 'id="figures-form"' not in html


def test_a_leader_sees_a_regions_progress_but_gets_no_form_and_cannot_submit(app, web_db):
    leader = sign_in(app, LEADER)
    html = leader.get("/units/guiping").text
    assert 'id="region-progress"' in html and 'id="figures-form"' not in html and 'id="upload-form"' not in html
    with database_unchanged(web_db):
        assert post(leader, "/units/guiping/figures", **month_form("2020-02", GOOD)).status_code == 403


# ── the XLSX upload ──────────────────────────────────────────────────────────────────────────────


def test_a_region_uploads_its_filled_form_and_it_is_recorded(app, web_db):
    clerk = sign_in(app, GUIPING)
    template = clerk.get("/units/guiping/figures/template.xlsx?month=2020-03")
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    assert template.headers["content-disposition"] == 'attachment; filename="figures-2020-03-guiping.xlsx"'
    data = workbook(web_db.session_factory, {"guiping": list(GOOD.values())}, regions=["guiping"])
    response = post(clerk, "/units/guiping/figures/upload", files={"file": ("桂平3月.xlsx", data, XLSX)})
    assert response.status_code == 303 and response.headers["location"] == "/units/guiping?imported=1&skipped=0#figures"
    assert "已导入 1 份月报" in clerk.get(response.headers["location"]).text
    assert [v["total"] for _, v in history(web_db, "monthly-report.guiping@2020-03")] == [900]


def test_an_upload_with_any_bad_cell_lists_every_cell_and_imports_nothing(app, web_db):
    clerk = sign_in(app, GUIPING)
    data = workbook(web_db.session_factory, {"guiping": [900, 950, -3, *list(GOOD.values())[3:]]}, regions=["guiping"])
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures/upload", files={"file": ("月报.xlsx", data, XLSX)},
                        reason="我的理由")
    assert response.status_code == 422
    problems = response.text.split('id="upload-problems"')[1].split("</ul>")[0]
    assert "工作表「月报表」第2行 E2:「企业职工」950 大于「培训总人次」900" in problems
    assert "工作表「月报表」第2行 F2:「就业重点群体」-3 是负数" in problems
    assert "处错误,未导入任何数据" in response.text and 'value="我的理由"' in response.text


def test_an_upload_with_a_row_for_another_region_imports_nothing_not_even_the_own_row(app, web_db):
    clerk = sign_in(app, GUIPING)
    data = workbook(web_db.session_factory, {"guiping": list(GOOD.values()), "pingnan": list(GOOD.values())})
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures/upload", files={"file": ("全市.xlsx", data, XLSX)})
    assert response.status_code == 422
    problems = response.text.split('id="upload-problems"')[1].split("</ul>")[0]
    assert "工作表「月报表」第4行" in problems and "不能报送 pingnan 的月报" in problems


@pytest.mark.parametrize("name, content, says", [
    ("月报.csv", b"total,900\n", "不是 .xlsx 文件"),
    ("月报.xlsx", b"%PDF-1.4\n%%EOF\n", "不是 Excel 工作簿"),
    ("月报.xlsx", b"PK\x03\x04" + b"\x00" * 100, "不是 Excel 工作簿"),
    ("月报.xlsx", b"PK\x03\x04" + b"\x00" * MAX_BYTES, "过大"),
])
def test_only_an_xlsx_workbook_within_the_size_limit_is_read(app, web_db, name, content, says):
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = post(clerk, "/units/guiping/figures/upload", files={"file": (name, content, XLSX)})
    assert response.status_code == 422 and says in response.text


def test_an_upload_without_a_file_asks_for_one(app, web_db):
    response = post(sign_in(app, GUIPING), "/units/guiping/figures/upload")
    assert response.status_code == 422 and "请选择要上传的月报表" in response.text


def test_the_office_uploads_every_regions_form_on_the_figures_page(app, web_db):
    office = sign_in(app, OFFICE)
    page = office.get("/figures").text
    assert 'href="/figures/template.xlsx?month=2020-03"' in page and 'id="upload-form"' in page
    data = workbook(web_db.session_factory, {"guiping": list(GOOD.values()), "pingnan": list(GOOD.values())})
    response = post(office, "/figures/upload", files={"file": ("全市3月.xlsx", data, XLSX)})
    assert response.status_code == 303 and response.headers["location"] == "/figures?imported=2&skipped=4"
    html = office.get(response.headers["location"]).text
    assert cell(html, "pingnan", "actual") == "900" and "已导入 2 份月报,跳过未填写的行 4 行" in html


def test_the_figures_page_shows_another_year_and_refuses_a_year_outside_the_plan(app):
    office = sign_in(app, OFFICE)
    assert "2019 年,截至" not in office.get("/figures?year=2019").text  # the dashboard's words, not this page's
    html = office.get("/figures?year=2019").text
    for chart in ("progress-chart", "cumulative-chart"):
        drawn = html.split(f'id="{chart}"')[1].split("</svg>")[0]
        assert drawn.count('class="chart-actual') == 6 and "桂平市" in drawn
    assert office.get("/figures?year=2030").status_code == 404


# ── the JSON API ─────────────────────────────────────────────────────────────────────────────────


def test_the_api_takes_a_months_figures_and_a_region_reads_its_own_progress(app, web_db):
    clerk = sign_in(app, GUIPING)
    response = clerk.post("/api/units/guiping/figures", json={"month": "2020-02", "values": GOOD, "note": "线上"},
                          headers={"x-csrf-token": api_csrf(clerk)})
    assert response.status_code == 200, response.text
    assert response.json() | {"values": None} == {"ref": "monthly-report.guiping@2020-02", "region": "guiping",
                                                  "month": "2020-02", "version": 1, "kind": "submission",
                                                  "state": "submitted", "values": None}
    progress = clerk.get("/api/units/guiping/progress").json()
    assert progress["as_of"] == "2020-04-03" and progress["region"]["year"]["actual"] == 900
    assert progress["region"]["year"]["expected"] == 1950.0
    february = next(m for m in progress["months"] if m["month"] == "2020-02")
    assert february["state"] == "submitted" and february["values"]["total"] == 900
    assert clerk.get("/api/progress").status_code == 403  # every region is the office's and the leaders' view


def test_bad_figures_through_the_api_are_a_422_naming_each_field_and_nothing_is_written(app, web_db):
    office = sign_in(app, OFFICE)
    bad = {**GOOD, "total": -1, "key-groups": 12.5, "trainees": 3}
    with database_unchanged(web_db):
        response = office.post("/api/units/guiping/figures", json={"month": "2020-02", "values": bad},
                               headers={"x-csrf-token": api_csrf(office)})
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["error"]["fields"]}
    assert "负数" in fields["values.total"] and "不是整数" in fields["values.key-groups"]
    assert "trainees" in fields["values.trainees"]


def test_the_api_imports_an_upload_and_lists_every_bad_cell_of_a_bad_one(app, web_db):
    office = sign_in(app, OFFICE)
    headers = {"x-csrf-token": api_csrf(office)}
    bad = workbook(web_db.session_factory, {"guiping": [-1, *list(GOOD.values())[1:]]})
    with database_unchanged(web_db):
        response = office.post("/api/figures/import", files={"file": ("m.xlsx", bad, XLSX)}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["problems"] == ["工作表「月报表」第3行 D3:「培训总人次」-1 是负数:人次不能为负"]
    good = workbook(web_db.session_factory, {"guiping": list(GOOD.values())})
    response = office.post("/api/figures/import", files={"file": ("m.xlsx", good, XLSX)}, headers=headers)
    assert response.status_code == 200
    assert [r["ref"] for r in response.json()["recorded"]] == ["monthly-report.guiping@2020-03"]
    assert office.get("/api/progress").json()["regions"][1]["year"]["actual"] == 900
    assert office.post("/api/figures/import", files={"file": ("m.pdf", b"%PDF", "application/pdf")},
                       headers=headers).status_code == 422


def test_the_pages_with_figures_have_no_inline_styles_or_scripts(app):
    office = sign_in(app, OFFICE)
    for path in ("/dashboard", "/figures", "/units/guiping", "/deliverables/monthly-report.guiping@2020-02"):
        html = office.get(path).text
        assert "<script" not in html and "<style" not in html and " style=" not in html, path


def test_figures_are_not_changed_by_get(app):
    office = sign_in(app, OFFICE)
    assert office.get("/units/guiping/figures").status_code == 405
    assert office.get("/figures/upload").status_code == 405

