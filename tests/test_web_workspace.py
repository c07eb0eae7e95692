"""A unit's workspace on a real database, as its clerk opens it on 15 June 2020: what to do now first, what waits
for the office, the rest by month and folded, what it cooperates on apart; the full list; the API's sections."""

from __future__ import annotations

import re

import pytest

from responsibilities.reading import workspace
from responsibilities.tracking import services
from responsibilities.tracking.items import ItemRequest, assign_item

from conftest import GUIPING, HRSS, OFFICE, at
from web_support import make_app, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2020, 6, 15, 10)  # a Monday; the ten working days reach 30 June (the Dragon Boat holiday is 25–27 June)


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def section(html: str, id_: str) -> str:
    return html.split(f'id="{id_}"', 1)[1].split("</section>", 1)[0]


def rows_of(html: str) -> list[tuple[str, str]]:
    """(ref, why) of every item row, in page order."""
    return re.findall(r'<tr data-ref="([^"]+)" data-why="([^"]+)"', html)


def counts_of(html: str) -> dict[str, int]:
    found = html.split('id="workspace-counts"')[1].split("</ul>")[0]
    return {key: int(n) for key, n in re.findall(r'data-count="(\w+)".*?<strong>(\d+)</strong>', found, re.S)}


def test_a_county_workspace_opens_on_what_is_overdue_or_due_within_ten_working_days(app, web_db):
    page = sign_in(app, GUIPING).get("/units/guiping").text
    main = page.split("<main", 1)[1]
    assert main.index('id="now"') < main.index('id="later"') < main.index('id="figures"')  # now first
    now = rows_of(section(page, "now"))
    assert now[0] == ("monthly-report.guiping@2019-11", "overdue")  # 193 days overdue: the most
    assert [why for _, why in now] == ["overdue"] * 14 and now[-1][0] == "monthly-report.guiping@2020-05"
    first, second = section(page, "now").split("<tr data-ref=")[1:3]
    assert ">各县(市、区)月报表由当地人力资源社会保障局于次月5日前报送市人力资源社会保障局。</a>" in first  # whole
    assert "逾期 193 天" in first and '<time datetime="2019-12-05">2019年12月5日</time>' in first
    assert ">成立职业技能提升三年行动领导小组,制定贯彻落实国务院、自治区和贵港市相关文件精神的具体措施…</a>" in second
    assert 'title="成立职业技能提升三年行动领导小组,制定贯彻落实国务院、自治区和贵港市相关文件精神的具体措施,' in second
    assert "至 <time datetime=\"2020-06-30\">6月30日</time>" in section(page, "now")
    assert counts_of(page) == {"overdue": 14, "soon": 0, "reviewing": 0, "later": 40}

    later = section(page, "later")
    months = re.findall(r'<details class="month" id="month-([\d-]+)" data-month="[\d-]+">', later)
    assert months[0] == "2020-07" and months[-1] == "2021-05" and len(months) == 11  # folded: no `open`
    july = later.split('data-month="2020-07">')[1].split("</details>")[0]
    assert "2020年7月" in july and "4 项" in july
    assert [ref for ref, _ in rows_of(july)] == ["monthly-report.guiping@2020-06", "work-1.guiping@2020-Q2",
                                                  "work-2.guiping@2020-Q2", "work-3.guiping@2020-Q2"]
    assert re.search(r"另有 <strong>17</strong> 项在 2021年6月及以后到期", later)
    assert 'id="cooperating"' not in page  # 桂平市 cooperates on nothing


def test_a_returned_item_is_among_what_to_do_now_and_a_handed_in_one_waits_for_review(app, web_db):
    sessions = web_db.session_factory
    services.submit(sessions, actor=GUIPING, ref="work-1.guiping@2020-Q2", now=NOW, note="二季度培训情况")
    services.return_for_rework(sessions, actor=OFFICE, ref="work-1.guiping@2020-Q2", reason="缺少培训名册", now=NOW)
    services.submit(sessions, actor=GUIPING, ref="work-2.guiping@2020-Q2", now=NOW, note="二季度培训情况")
    page = sign_in(app, GUIPING).get("/units/guiping").text
    now = section(page, "now")
    assert rows_of(now)[-1] == ("work-1.guiping@2020-Q2", "returned")  # after the overdue ones
    assert "退回理由:缺少培训名册" in now.split('data-ref="work-1.guiping@2020-Q2"')[1]
    assert rows_of(section(page, "reviewing")) == [("work-2.guiping@2020-Q2", "reviewing")]
    assert counts_of(page) == {"overdue": 14, "soon": 0, "returned": 1, "reviewing": 1, "later": 38}
    assert page.index('id="now"') < page.index('id="reviewing"') < page.index('id="later"')
    # Handed in early, due after the twelve months shown: waiting for review all the same.
    services.submit(sessions, actor=GUIPING, ref="work-3.guiping@2021-Q3", now=NOW, note="提前报送")
    page = sign_in(app, GUIPING).get("/units/guiping").text
    assert [ref for ref, _ in rows_of(section(page, "reviewing"))] == ["work-2.guiping@2020-Q2",
                                                                       "work-3.guiping@2021-Q3"]
    assert re.search(r"另有 <strong>16</strong> 项在 2021年6月及以后到期", section(page, "later"))


def test_what_a_department_cooperates_on_has_its_own_section_apart_from_what_it_leads(app, web_db):
    services.submit(web_db.session_factory, actor=GUIPING, ref="work-1.guiping@2020-Q2", now=NOW, note="二季度")
    page = sign_in(app, HRSS).get("/units/hrss").text
    assert 'data-ref="work-1.guiping@2020-Q2"' not in page  # handed in by its lead: waits for the office
    own = page.split('id="deliverables"')[1].split('id="cooperating"')[0]
    theirs = section(page, "cooperating") + page.split('id="cooperating"')[1]
    assert "work-1.guiping@2019-Q4" not in own and all(".guiping" not in ref for ref, _ in rows_of(own))
    cooperating_now = rows_of(theirs.split('id="cooperating-now"')[1].split("</section>")[0])
    assert ("work-1.guiping@2019-Q4", "overdue") in cooperating_now
    assert "牵头:桂平市" in theirs and 'id="cooperating-month-2020-07"' in theirs
    assert counts_of(page)["overdue"] == len([w for _, w in rows_of(section(page, "now")) if w == "overdue"])


def test_a_row_names_its_plan_when_the_unit_has_work_in_several_plans(app, web_db):
    sessions = web_db.session_factory
    plain = sign_in(app, HRSS).get("/units/hrss").text
    assert 'class="tag plan"' not in plain  # one plan: no label on every row
    assign_item(sessions, ItemRequest(lead="hrss", task="报送就业见习进展", deadline="2020年6月30日前"), actor=OFFICE,
                now=NOW)
    now = section(sign_in(app, HRSS).get("/units/hrss").text, "now")
    item = now.split('data-ref="item-1"')[1].split("</tr>")[0]
    assert '<span class="tag plan">2020年交办事项</span>' in item and "还剩 10 个工作日" in item
    assert '<span class="tag plan">职业技能提升行动</span>' in now


def test_the_api_keeps_its_list_fields_and_gains_the_workspace_sections(app, web_db):
    services.submit(web_db.session_factory, actor=GUIPING, ref="work-2.guiping@2020-Q2", now=NOW, note="二季度")
    unit = sign_in(app, GUIPING)
    body = unit.get("/api/units/guiping/deliverables?size=20&page=2").json()
    assert {"items", "total", "page", "size", "pages"} <= set(body) and (body["page"], body["size"]) == (2, 20)
    assert body["total"] == 54 and len(body["items"]) == 20
    assert {"ref", "obligation", "unit", "task", "due", "state", "light", "days_overdue", "cooperating", "plan",
            "plan_name", "version"} <= set(body["items"][0])
    sections = body["sections"]
    assert (sections["today"], sections["now_until"], sections["now_working_days"]) == ("2020-06-15", "2020-06-30", 10)
    assert sections["counts"] == {"overdue": 14, "returned": 0, "soon": 0, "reviewing": 1, "later": 39}
    lead = sections["lead"]
    assert [i["ref"] for i in lead["now"]][:2] == ["monthly-report.guiping@2019-11", "counties-1.guiping"]
    assert lead["now"][0]["why"] == "overdue" and lead["now"][0]["days_overdue"] == 193
    assert lead["now"][1]["task_short"].endswith("…") and lead["now"][1]["plan_label"] is None
    assert [i["ref"] for i in lead["reviewing"]] == ["work-2.guiping@2020-Q2"]
    assert [(m["month"], m["count"]) for m in lead["later"]][:2] == [("2020-07", 3), ("2020-08", 1)]
    assert lead["beyond"] == {"from": "2021-06-01", "count": 17} and lead["undated"] == []
    assert sections["cooperating"]["now"] == [] and sections["cooperating"]["counts"]["later"] == 0
    returned = unit.get("/api/units/guiping/deliverables?state=submitted").json()  # the filter narrows the list only
    assert [r["ref"] for r in returned["items"]] == ["work-2.guiping@2020-Q2"] and returned["sections"] == sections


def test_the_full_list_pages_through_every_deliverable_in_every_state_and_filters_by_state(app, web_db):
    services.submit(web_db.session_factory, actor=GUIPING, ref="work-2.guiping@2020-Q2", now=NOW, note="二季度")
    services.accept(web_db.session_factory, actor=OFFICE, ref="work-2.guiping@2020-Q2", now=NOW)
    unit = sign_in(app, GUIPING)
    first = unit.get("/units/guiping/deliverables").text
    assert len(re.findall(r'<tr data-ref="', first)) == 50 and "第 1 / 2 页(共 54 项)" in first
    assert 'data-ref="work-2.guiping@2020-Q2"' not in unit.get("/units/guiping").text  # done: off the workspace
    accepted = unit.get("/units/guiping/deliverables?state=accepted").text
    assert re.findall(r'<tr data-ref="([^"]+)"', accepted) == ["work-2.guiping@2020-Q2"]
    kept = unit.get("/units/guiping?state=accepted&page=1", follow_redirects=False)  # a link from before
    assert kept.status_code == 303
    assert kept.headers["location"] == "/units/guiping/deliverables?state=accepted&page=1"


def test_a_unit_gets_not_found_for_another_units_workspace_list_and_sections(app, web_db):
    unit = sign_in(app, GUIPING)
    for path in ("/units/hrss", "/units/hrss/deliverables", "/api/units/hrss/deliverables"):
        response = unit.get(path)
        assert response.status_code == 404, path
        assert "hrss-" not in response.text, path
    office = sign_in(app, OFFICE)
    assert 'id="now"' in office.get("/units/guiping").text  # the office sees any unit's


def test_the_workspace_reads_the_units_rows_by_its_indexes_never_walking_every_deliverable(web_db, dialect):
    """At a million deliverables a walk over them, or over every deliverable in a state, costs seconds: each
    statement's plan is read back from SQLite (PostgreSQL plans by its statistics, which a test database lacks)."""
    if dialect != "sqlite":
        pytest.skip("SQLite's query plans only")
    from sqlalchemy import event

    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(web_db.engine, "before_cursor_execute", grab)
    try:
        found = workspace.unit_workspace(web_db.session_factory, today=NOW.date(), viewer=HRSS, unit="hrss",
                                         listing=workspace.ListRequest(state="open"))
    finally:
        event.remove(web_db.engine, "before_cursor_execute", grab)
    assert found.lead.now and found.cooperating.now and found.listing.items
    with web_db.engine.connect() as connection:
        plans = [" | ".join(r[3] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p).all())
                 for s, p in statements if "FROM deliverables" in s]
    assert len(plans) == 6  # the active rows, what lies beyond, the waiting obligations (count, rows), the list's two
    assert [p for p in plans if "SCAN deliverables" in p or "ix_deliverables_state" in p] == []


def test_the_text_people_typed_is_shown_as_text_in_the_rows(app, web_db):
    sessions = web_db.session_factory
    task = '<script>alert("x")</script>报送"就业见习"进展 & 名册,' + "并附各县(市、区)见习人员名单" * 3
    assign_item(sessions, ItemRequest(lead="hrss", task=task, deadline="2020年6月30日前"), actor=OFFICE, now=NOW)
    services.submit(sessions, actor=HRSS, ref="assigned-2020:item-1", now=NOW, note="已报送")
    services.return_for_rework(sessions, actor=OFFICE, ref="assigned-2020:item-1", reason="<b>缺</b>名册", now=NOW)
    now = section(sign_in(app, HRSS).get("/units/hrss").text, "now")
    row = now.split('data-ref="item-1"')[1].split("</tr>")[0]
    assert "<script>" not in row and "<b>" not in row
    assert '>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;报送&#34;就业见习&#34;进展 &amp; 名册…</a>' in row
    assert 'title="&lt;script&gt;alert(&#34;x&#34;)' in row and "退回理由:&lt;b&gt;缺&lt;/b&gt;名册" in row
