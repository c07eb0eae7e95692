"""The office assigns an item by hand from the web (and the API): the reading before saving, the form kept on a
refusal, a unit seeing the item beside its plan items (issue 15)."""

from __future__ import annotations

import pytest

from conftest import HRSS, OFFICE, at, database_unchanged
from web_support import api_csrf, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2020, 1, 6)
ITEM = {"source": "市长办公会议纪要〔2020〕3号", "task": "牵头制定就业见习实施细则", "lead": "市人社局",
        "co_units": "市财政局、市教育局", "deadline": "2020年3月底前", "repeat": ""}


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def post(client, path: str, **data):
    return client.post(path, data={**data, "csrf_token": page_csrf(client, "/api/docs")}, follow_redirects=False)


def test_the_office_checks_the_reading_then_saves_and_the_lead_unit_sees_the_item_with_its_plan_items(app, web_db):
    office = sign_in(app, OFFICE)
    checked = post(office, "/items", action="preview", **ITEM)
    assert checked.status_code == 200
    reading = checked.text.split('id="item-reading"')[1]
    assert "2020年3月底前 → 2020-03-31" in reading and "市人力资源社会保障局" in reading
    assert "市财政局、市教育局" in reading and 'id="item-save"' in checked.text
    assert web_db.count("obligations") == 73  # a check saves nothing

    saved = post(office, "/items", action="save", **ITEM)
    assert saved.status_code == 303 and saved.headers["location"] == "/items/new?assigned=assigned-2020:item-1"
    assert "assigned-2020:item-1" in office.get(saved.headers["location"]).text.split('id="done"')[1]

    unit = sign_in(app, HRSS)
    rows = unit.get("/api/units/hrss/deliverables?size=200").json()
    plans = {r["plan"] for r in rows["items"]}
    assert plans == {"guigang-skills-2019", "assigned-2020"}
    assert unit.get("/deliverables/assigned-2020:item-1").status_code == 200


def test_a_refused_item_comes_back_with_every_problem_and_what_was_typed(app, web_db):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        refused = post(office, "/items", action="save", **{**ITEM, "lead": "市宇宙局", "deadline": "尽快"})
    assert refused.status_code == 422
    problems = refused.text.split('id="item-problems"')[1].split("</div>")[0]
    assert "单位目录中没有“市宇宙局”" in problems and "无法识别完成时限“尽快”" in problems
    assert 'value="市宇宙局"' in refused.text and "牵头制定就业见习实施细则</textarea>" in refused.text


def test_a_unit_can_neither_open_the_form_nor_assign(app, web_db):
    unit = sign_in(app, HRSS)
    assert unit.get("/items/new").status_code == 403
    with database_unchanged(web_db):
        assert post(unit, "/items", action="save", **ITEM).status_code == 403


def test_the_api_checks_and_assigns_an_item(app, web_db):
    office = sign_in(app, OFFICE)
    headers = {"X-CSRF-Token": api_csrf(office)}
    body = {"lead": "hrss", "task": "每月报送就业见习进展", "deadline": "每月10日前", "co_units": ["finance"]}
    checked = office.post("/api/items/check", json=body, headers=headers)
    assert checked.status_code == 200 and checked.json()["deadline"]["dues"][0] == {"period": "2020-01",
                                                                                   "due": "2020-01-10"}
    created = office.post("/api/items", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["qualified_ref"] == "assigned-2020:item-1"
    refused = office.post("/api/items", json={**body, "deadline": "明天"}, headers=headers)
    assert refused.status_code == 422 and "无法识别完成时限“明天”" in refused.json()["error"]["detail"]


def test_the_reports_page_offers_each_plans_year_end_summary_the_standing_plans_included(app, web_db):
    office = sign_in(app, OFFICE)
    assert post(office, "/items", action="save", **ITEM).status_code == 303  # creates 2020年交办事项
    page = office.get("/reports").text
    seed_block = page.split('id="summaries-guigang-skills-2019"')[1].split("</section>")[0]
    items_block = page.split('id="summaries-assigned-2020"')[1].split("</section>")[0]
    assert page.index('id="summaries-guigang-skills-2019"') < page.index('id="summaries-assigned-2020"')
    assert all(f'href="/reports/{y}?plan=guigang-skills-2019"' in seed_block for y in (2019, 2020, 2021))
    assert "2020年交办事项" in items_block and 'href="/reports/2020?plan=assigned-2020"' in items_block
    assert "/reports/2019" not in items_block  # the standing plan of 2020 has only its own year

    summary = office.get("/reports/2020?plan=assigned-2020").text.split('id="summary-title"')[1]
    assert "2020年交办事项 2020年度督办情况总结" in summary and "应交 1 项" in summary
    download = office.get("/reports/2020/summary-2020.xlsx?plan=assigned-2020")
    assert download.headers["content-disposition"] == 'attachment; filename="summary-assigned-2020-2020.xlsx"'
    assert download.content[:2] == b"PK"
    data = office.get("/api/reports/2020?plan=assigned-2020").json()
    assert data["plan"]["id"] == "assigned-2020" and data["totals"]["due"] == 1
    # Without a plan: the office's first plan, as the links in mails sent before there were several plans say.
    assert office.get("/api/reports/2020").json()["plan"]["id"] == "guigang-skills-2019"
    assert "职业技能提升行动 2020年度督办情况总结" in office.get("/reports/2020").text


@pytest.mark.parametrize("path", ["/reports/2020?plan=no-such-plan", "/reports/2019?plan=assigned-2020",
                                  "/reports/2020/summary-2020.html?plan=no-such-plan",
                                  "/api/reports/2019?plan=assigned-2020", "/reports/2020?plan=%00bad"])
def test_a_summary_of_a_plan_or_year_that_is_not_there_is_not_found(app, web_db, path):
    office = sign_in(app, OFFICE)
    assert post(office, "/items", action="save", **ITEM).status_code == 303
    answer = office.get(path)
    assert answer.status_code == 404, answer.text
