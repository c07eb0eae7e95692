"""The bulletin on the web: the office's reports page offers the last month's, the last quarter's and the year's so
far, to read on the page or download (HTML, XLSX); the API gives any period's. The office and the leaders only."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from responsibilities.tracking import services

from conftest import HRSS, LEADER, OFFICE, at
from web_support import make_app, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2020, 4, 3)  # last month: March 2020; last quarter: 2020 Q1; the year so far: 1 January … 3 April
MARCH = "from=2020-03-01&to=2020-03-31"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(web_db, tmp_path):
    services.submit(web_db.session_factory, actor=OFFICE, ref="miit-1", now=at(2019, 10, 30), note="已办结")
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def test_the_reports_page_offers_the_last_month_the_last_quarter_and_the_year_so_far(app):
    page = sign_in(app, OFFICE).get("/reports").text
    offers = page.split('id="bulletins"')[1].split("</ul>")[0]
    assert "上月(2020年3月)" in offers and "上季度(2020年第一季度)" in offers
    assert "今年以来(2020年1月1日至4月3日)" in offers
    assert f'href="/reports/bulletin?{MARCH.replace("&", "&amp;")}"' in offers
    assert 'href="/reports/bulletin.xlsx?from=2020-01-01&amp;to=2020-03-31"' in offers
    assert 'href="/reports/bulletin.html?from=2020-01-01&amp;to=2020-04-03"' in offers


def test_the_office_reads_a_bulletin_on_the_page_worst_units_first_with_their_overdue_items(app):
    page = sign_in(app, OFFICE).get(f"/reports/bulletin?{MARCH}").text
    assert "<title>2020年3月督查通报 · duban 督办</title>" in page and "统计截至 2020-03-31" in page
    units = re.findall(r'<tr data-unit="([^"]+)"><td>(\d+)</td>', page)
    assert units[0] == ("hrss", "1") and ("miit", "1") not in units
    worst = page.split('id="bulletin-worst"')[1].split("</table>")[0]
    assert re.findall(r'<tbody data-unit="([^"]+)">', worst)[0] == "hrss"
    assert 'href="/deliverables/guigang-skills-2019:hrss-1"' in worst


def test_a_running_period_is_read_as_of_today(app):
    page = sign_in(app, LEADER).get("/reports/bulletin?from=2020-01-01&to=2020-04-03").text
    assert "统计截至 2020-04-03(统计期尚未结束,按当日情况统计)" in page


def test_a_period_with_nothing_to_report_says_so_on_the_page(app):
    page = sign_in(app, OFFICE).get("/reports/bulletin?from=2019-08-01&to=2019-08-31").text
    assert "2019年8月没有应报送的事项" in page and 'id="bulletin-units"' not in page


def test_the_bulletin_downloads_as_a_spreadsheet_and_as_a_printable_page(app):
    office = sign_in(app, OFFICE)
    xlsx = office.get(f"/reports/bulletin.xlsx?{MARCH}")
    assert xlsx.headers["content-type"] == XLSX
    assert xlsx.headers["content-disposition"] == 'attachment; filename="bulletin-2020-03.xlsx"'
    book = load_workbook(BytesIO(xlsx.content))
    assert book["各单位情况"]["B2"].value == "hrss" and book["合计"]["B2"].value == "2020年3月"
    html = office.get(f"/reports/bulletin.html?{MARCH}")
    assert html.headers["content-disposition"] == 'attachment; filename="bulletin-2020-03.html"'
    assert "<h1>2020年3月督查通报</h1>" in html.text and "统计截至 2020-03-31" in html.text


def test_a_leader_reads_and_downloads_it_too(app):
    leader = sign_in(app, LEADER)
    assert leader.get(f"/reports/bulletin?{MARCH}").status_code == 200
    assert leader.get(f"/reports/bulletin.xlsx?{MARCH}").status_code == 200
    assert leader.get(f"/api/reports/bulletin?{MARCH}").json()["title"] == "2020年3月督查通报"


def test_a_unit_may_not_see_a_bulletin_on_the_pages_nor_through_the_api(app):
    unit = sign_in(app, HRSS)
    for path in (f"/reports/bulletin?{MARCH}", f"/reports/bulletin.xlsx?{MARCH}", f"/reports/bulletin.html?{MARCH}",
                 f"/api/reports/bulletin?{MARCH}", "/reports"):
        response = unit.get(path)
        assert response.status_code == 403 and "hrss-1" not in response.text, path


def test_a_bad_period_is_refused_in_words(app):
    office = sign_in(app, OFFICE)
    backwards = office.get("/reports/bulletin?from=2020-03-31&to=2020-03-01")
    assert backwards.status_code == 422 and "统计期起始日 2020-03-31 晚于截止日 2020-03-01" in backwards.text
    missing = office.get("/reports/bulletin.xlsx?from=2020-03-01")
    assert missing.status_code == 422 and "统计期截止日" in missing.text
    assert office.get(f"/reports/bulletin.pdf?{MARCH}").status_code == 404
    api = office.get("/api/reports/bulletin?from=2015-01-01&to=2020-03-31")
    assert api.status_code == 422 and "超过 5 年" in api.json()["error"]["detail"]
    assert office.get("/api/reports/bulletin?from=2020-03-01&to=soon").status_code == 422


def test_the_api_gives_the_bulletin_as_json_or_as_a_file(app):
    office = sign_in(app, OFFICE)
    data = office.get(f"/api/reports/bulletin?{MARCH}").json()
    assert data["as_of"] == "2020-03-31" and data["ended"] and data["units"][0]["unit_id"] == "hrss"
    xlsx = office.get(f"/api/reports/bulletin?{MARCH}&format=xlsx")
    assert xlsx.headers["content-type"] == XLSX and xlsx.content[:2] == b"PK"
