"""The pages as people use them: the supervision cycle, forms that come back intact, the dashboard's counts."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from urllib.parse import quote

import pytest

from responsibilities.reading import board, queries
from responsibilities.tracking import services

from conftest import GUIPING, HRSS, LEADER, OFFICE, at, database_unchanged
from web_support import make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 25)


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def post(client, path: str, **data):
    return client.post(path, data={**data, "csrf_token": page_csrf(client, "/api/docs")}, follow_redirects=False)


def test_a_unit_submits_the_office_returns_with_a_reason_the_unit_sees_why_resubmits_and_the_office_accepts(
        app, web_db):
    unit, office = sign_in(app, HRSS), sign_in(app, OFFICE)
    assert post(unit, "/deliverables/hrss-4/submit", note="已印发方案",
                links="https://example.gov.cn/notice/1").status_code == 303
    assert "hrss-4" in office.get("/dashboard").text.split('id="reviews"')[1].split("</table>")[0]
    assert post(office, "/deliverables/hrss-4/return", reason="缺少印发文件").status_code == 303
    now = unit.get("/units/hrss").text.split('id="now"')[1].split("</section>")[0]  # what to do now, with why
    assert 'data-ref="hrss-4" data-why="returned"' in now and "退回理由:缺少印发文件" in now
    assert post(unit, "/deliverables/hrss-4/submit", note="补充印发文件").status_code == 303
    assert post(office, "/deliverables/hrss-4/accept").status_code == 303
    page = unit.get("/deliverables/hrss-4").text
    assert "已销号" in page.split('id="state"')[1][:200]
    actions = re.findall(r'data-action="([^"]+)"', page)
    assert actions[-4:] == ["submit", "return", "submit", "accept"]


def test_a_unit_asks_for_an_extension_and_the_office_grants_it_keeping_the_original_date(app, web_db):
    unit, office = sign_in(app, HRSS), sign_in(app, OFFICE)
    assert post(unit, "/deliverables/hrss-4/extension", new_due="2019-11-15", reason="会议改期").status_code == 303
    assert "hrss-4" in office.get("/dashboard").text.split('id="extension-requests"')[1].split("</table>")[0]
    assert post(office, "/deliverables/hrss-4/extension/grant").status_code == 303
    due = unit.get("/deliverables/hrss-4").text.split('id="due"')[1][:120]
    assert "2019-11-15" in due and "原定 2019-10-31" in due


def test_the_office_records_an_event_and_sets_an_outside_date_from_the_pages(app, web_db):
    office = sign_in(app, OFFICE)
    assert post(office, "/events/region-supporting-documents", occurred_on="2019-10-24").status_code == 303
    assert "region-supporting-documents" not in office.get("/events").text.split("<main")[1]
    response = post(office, "/obligations/hrss-9/dates", due="2019-11-20")
    assert response.status_code == 303
    assert office.get(response.headers["location"]).status_code == 200
    assert queries.show(web_db.session_factory, ref="hrss-9@2019-11-20").deliverable.due == date(2019, 11, 20)


def test_a_missing_reason_brings_the_form_back_with_the_message_next_to_the_field_and_nothing_written(app, web_db):
    services.submit(web_db.session_factory, actor=HRSS, ref="hrss-4", now=NOW, note="已办结")
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        response = post(office, "/deliverables/hrss-4/return", reason="   ")
    assert response.status_code == 422
    assert 'id="review-reason-error"' in response.text and "请填写退回理由" in response.text


def test_a_date_outside_the_plan_comes_back_next_to_the_date_with_the_reason_kept(app, web_db):
    unit = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = post(unit, "/deliverables/hrss-4/extension", new_due="2031-01-01", reason="我的理由")
    assert response.status_code == 422
    assert ('id="extend-new_due-error"' in response.text
            and "新的截止日期 2031-01-01 不在工作方案实施期内" in response.text)
    assert 'value="2031-01-01"' in response.text and "我的理由" in response.text


def test_a_date_that_is_not_a_date_is_explained_in_chinese(app, web_db):
    unit = sign_in(app, HRSS)
    response = post(unit, "/deliverables/hrss-4/extension", new_due="下周五", reason="理由")
    assert response.status_code == 422 and "应为日期" in response.text and 'value="下周五"' in response.text


def test_an_oversized_note_comes_back_with_its_length_and_its_text(app, web_db):
    unit = sign_in(app, HRSS)
    response = post(unit, "/deliverables/hrss-4/notes", note="进" * 2001)
    assert response.status_code == 422 and "不能超过 2000 个字符" in response.text and "进" * 2001 in response.text


def test_someone_elses_change_first_gives_409_and_the_typed_reason_is_kept(app, web_db):
    services.submit(web_db.session_factory, actor=HRSS, ref="hrss-4", now=NOW, note="已办结")
    office = sign_in(app, OFFICE)
    version = re.search(r'name="version" value="(\d+)"', office.get("/deliverables/hrss-4").text).group(1)
    services.add_note(web_db.session_factory, actor=HRSS, ref="hrss-4", note="补充说明",
                      now=at(2019, 10, 25, 9, 5))  # meanwhile
    response = post(office, "/deliverables/hrss-4/return", reason="请补充照片", version=version)
    assert response.status_code == 409
    assert "该事项已被他人修改" in response.text and HRSS in response.text and "请补充照片" in response.text


def test_a_co_unit_may_add_notes_but_is_not_offered_the_submit_form(app):
    union = sign_in(app, "union-clerk")
    page = union.get("/deliverables/work-1.guiping@2019-Q4")
    assert page.status_code == 200 and 'id="note-form"' in page.text and 'id="submit-form"' not in page.text
    assert post(union, "/deliverables/work-1.guiping@2019-Q4/submit", note="x").status_code == 403


def test_leaders_read_the_dashboard_and_deliverables_without_any_action_form(app):
    leader = sign_in(app, LEADER)
    for path in ("/dashboard", "/deliverables/hrss-4", "/obligations/hrss-9", "/events"):
        page = leader.get(path)
        assert page.status_code == 200
        forms = re.findall(r'<form[^>]* method="post" action="([^"]+)"', page.text)
        assert forms == ["/signout"], (path, forms)


def test_the_dashboard_matrix_counts_the_same_lights_as_the_status_query(app, web_db):
    today = date(2019, 11, 1)
    app.state.test_clock["now"] = at(2019, 11, 1)
    office = sign_in(app, OFFICE)
    response = office.get("/dashboard", follow_redirects=False)
    assert response.status_code == 200
    html = response.text
    counts = Counter(r.light for r in queries.status(web_db.session_factory, today=today))
    for light in ("red", "yellow", "green", "grey"):
        assert re.search(rf'id="total-{light}">(\d+)<', html).group(1) == str(counts[light])
    assert counts["red"] > 0


def test_the_dashboard_filters_narrow_the_matrix(app, web_db):
    office = sign_in(app, OFFICE)
    html = office.get("/dashboard?unit=hrss&kind=fixed").text
    assert re.findall(r'<tr data-unit="([^"]+)"', html) == ["hrss"]
    bad = office.get("/dashboard?within=abc&kind=nonsense")
    assert bad.status_code == 422 and "应为整数" in bad.text and "未知的时限类型" in bad.text


def test_the_office_finds_a_unit_for_the_dashboard_by_typing_its_name_or_part_of_it(app, web_db):
    office = sign_in(app, OFFICE)
    for typed in ("贵港市财政局", "市财政局", "财政", "finance"):
        page = office.get("/dashboard", params={"unit": typed})
        assert page.status_code == 200, typed
        assert re.findall(r'<tr data-unit="([^"]+)"', page.text) == ["finance"], typed
        assert f'value="{typed}"' in page.text  # what was typed stays in the field
    suggestions = re.findall(r'<option value="([^"]+)">([^<]+)</option>', office.get("/dashboard").text)
    assert ("市财政局", "finance") in suggestions and len(suggestions) >= 25


def test_a_unit_name_that_fits_no_unit_or_several_is_said_next_to_the_field_and_every_unit_is_shown(app, web_db):
    office = sign_in(app, OFFICE)
    nowhere = office.get("/dashboard", params={"unit": "市气象局"})
    assert nowhere.status_code == 422 and "没有名称或代码为「市气象局」的单位" in nowhere.text
    several = office.get("/dashboard", params={"unit": "区人民政府"})
    assert several.status_code == 422
    message = re.search(r'id="filters-unit-error"[^>]*>([^<]+)<', several.text).group(1)
    assert message.startswith("有多个单位符合「区人民政府」:") and "港北区" in message and "港南区" in message
    assert len(re.findall(r'<tr data-unit="', several.text)) > 20


def test_the_dashboard_api_gives_one_page_of_units_and_the_totals_over_all_of_them(app, web_db):
    office = sign_in(app, OFFICE)
    whole = office.get("/api/dashboard", params={"size": 200}).json()
    last = office.get("/api/dashboard", params={"size": 10, "page": 3}).json()
    assert (whole["total"], whole["pages"], len(whole["units"])) == (27, 1, 27)
    assert (last["total"], last["pages"], last["page"], len(last["units"])) == (27, 3, 3, 7)
    assert last["units"] == whole["units"][20:] and last["totals"] == whole["totals"]
    assert office.get("/api/dashboard", params={"size": 201}).status_code == 422


def test_the_overdue_list_is_sorted_by_days_overdue_and_paginated(app, web_db):
    rows = board.overdue(web_db.session_factory, today=date(2019, 12, 1), viewer=OFFICE, size=3)
    assert rows.total > 3 and len(rows.items) == 3 and rows.pages > 1
    days = [r.days_overdue for r in rows.items]
    assert days == sorted(days, reverse=True) and days[0] > 0


def test_the_link_a_notice_carries_opens_the_deliverable_after_sign_in(app):
    # notifications/messages.py links to {DUBAN_BASE_URL}/deliverables/{quote(ref, safe='@')}
    ref = "work-1.guiping@2019-Q4"
    path = f"/deliverables/{quote(ref, safe='@')}"
    from fastapi.testclient import TestClient

    visitor = TestClient(app, base_url="http://testserver")
    first = visitor.get(path, follow_redirects=False)
    assert first.status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get(first.headers["location"]).text).group(1)
    next_path = re.search(r'name="next" value="([^"]+)"', visitor.get(first.headers["location"]).text).group(1)
    signed = visitor.post("/signin", data={"name": GUIPING, "password": "correct horse battery staple",
                                           "csrf_token": token, "next": next_path}, follow_redirects=False)
    assert signed.headers["location"] == path
    assert ref in visitor.get(path).text


def test_reports_download_as_html_and_xlsx_attachments(app):
    office = sign_in(app, OFFICE)
    html = office.get("/reports/2019/summary-2019.html")
    xlsx = office.get("/reports/2019/summary-2019.xlsx")
    assert html.headers["content-disposition"] == 'attachment; filename="summary-2019.html"' and b"2019" in html.content
    assert xlsx.content[:2] == b"PK"


def test_the_header_names_the_signed_in_units_short_name_not_its_id(app, web_db):
    header = sign_in(app, HRSS).get("/units/hrss").text.split('id="whoami"')[1].split("</span>")[0]
    assert "市人力资源社会保障局" in header and "hrss)" not in header
    office = sign_in(app, OFFICE).get("/dashboard").text.split('id="whoami"')[1].split("</span>")[0]
    assert "领导小组办公室" in office and "·" not in office
