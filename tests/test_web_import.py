"""The office imports a plan from its document in the browser's pages (issue 16, item 4): the table as read with its
flags, a deadline corrected and read again, an unknown unit mapped or created, publishing refused while anything is
left to check and then done, the plan on the dashboard; the draft kept across sessions; only the office; bad input
refused with nothing stored.

The document is the office's 2020 重点任务分解表 (tests/fixtures/import/guigang-2020-key-tasks.txt): four items, one
led by 市大数据发展局 (not in the seed plan's directory), one due 尽快完成 (no date a parser can read).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from responsibilities.importing.tables import MAX_DOCUMENT_BYTES

from conftest import HRSS, OFFICE, at, database_unchanged
from web_support import make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

FIXTURES = Path(__file__).parent / "fixtures" / "import"
DOCUMENT = FIXTURES / "guigang-2020-key-tasks.txt"
NOW = at(2020, 3, 5)
BIG_DATA = "市大数据发展局"


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def upload(client, data: bytes | None = None, name: str = DOCUMENT.name, **fields):
    files = {"file": (name, DOCUMENT.read_bytes() if data is None else data, "text/plain")}
    return client.post("/imports", data={"csrf_token": page_csrf(client, "/imports"), **fields}, files=files,
                       follow_redirects=False)


def uploaded(client) -> str:
    """The new draft's page path."""
    answer = upload(client)
    assert answer.status_code == 303, answer.text
    assert re.fullmatch(r"/imports/\d+", answer.headers["location"])
    return answer.headers["location"]


def version(client, path: str) -> str:
    return re.search(r'name="version" value="(\d+)"', client.get(path).text).group(1)


def post(client, path: str, page: str, **data):
    """A form of the draft's page ``page``, sent with its CSRF token and the version it shows."""
    return client.post(path, data={"csrf_token": page_csrf(client, page), "version": version(client, page), **data},
                       follow_redirects=False)


def row(html: str, index: int) -> str:
    return html.split(f'id="row-{index}"')[1].split("</tr>")[0]


def name_block(html: str, name: str) -> str:
    return html.split(f'data-name="{name}"')[1].split("</li>")[0]


def test_the_office_sees_the_table_as_read_each_cell_beside_what_duban_made_of_it_and_the_flags(app, web_db):
    office = sign_in(app, OFFICE)
    assert 'id="nav-import"' in office.get("/dashboard").text
    with database_unchanged(web_db):
        assert office.get("/imports").status_code == 200  # the page writes nothing
    draft = uploaded(office)
    assert web_db.count("plan_imports") == 1 and web_db.count("plans") == 1  # a draft, no plan yet

    page = office.get(draft).text
    assert 'id="obligation-count">4<' in page and 'id="flag-count" class="late">2<' in page
    first = row(page, 0)
    assert 'class="flagged"' not in first.split(">")[0]
    assert "开展企业职工岗位技能提升培训" in first and "市人力资源社会保障局" in first.split('class="unit-cell"')[1]
    assert "牵头:市人力资源社会保障局(hrss)" in first and "12月底前完成" in first
    assert "固定日期" in first.split('class="deadline-reading"')[1] and "首个截止 2020-12-31" in first
    bad_deadline = row(page, 2)
    assert 'class="flagged"' in bad_deadline
    flags = re.findall(r'<li class="flag" data-code="([a-z-]+)">([^<]+)</li>', bad_deadline)
    assert [code for code, _ in flags] == ["unknown-unit", "deadline-not-understood"]
    assert "单位目录中没有“市大数据发展局”" in flags[0][1] and "无法读懂完成时限“尽快完成”" in flags[1][1]
    assert 'class="flag">未对应(“市大数据发展局”)' in bad_deadline and 'class="flag">未读懂' in bad_deadline
    assert "单位目录中没有" in name_block(page, BIG_DATA)
    listed = office.get("/imports").text.split('id="imports"')[1]
    assert f'href="{draft}"' in listed and DOCUMENT.name in listed


def test_a_corrected_deadline_is_read_again_at_once_and_one_the_parser_cannot_read_is_refused_with_its_reason(
        app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    with database_unchanged(web_db):
        refused = post(office, f"{draft}/rows/2", draft, lead="", deadline="尽快")
    assert refused.status_code == 422
    error = refused.text.split('id="row-2-error"')[1].split("</div>")[0]
    assert "无法读懂完成时限“尽快”" in error and "(" in error  # the parser's reason in brackets
    assert 'id="deadline-2" name="deadline" maxlength="100" size="14" value="尽快"' in refused.text  # what was typed

    corrected = post(office, f"{draft}/rows/2", draft, lead="", deadline="2020年9月30日前")
    assert corrected.status_code == 303 and corrected.headers["location"] == f"{draft}#row-2"
    page = office.get(draft).text
    cells = row(page, 2)
    assert "<s>尽快完成</s><br>2020年9月30日前" in cells and "首个截止 2020-09-30" in cells
    assert "deadline-not-understood" not in cells and 'id="flag-count" class="late">1<' in page


def test_publishing_is_refused_while_flags_remain_then_the_mapped_unit_and_the_named_plan_are_published(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    with database_unchanged(web_db):
        refused = post(office, f"{draft}/publish", draft)
    assert refused.status_code == 422
    problems = re.findall(r"<li>([^<]+)</li>", refused.text.split('id="publish-problems"')[1].split("</div>")[0])
    assert len(problems) == 2 and "市大数据发展局" in problems[0] and "尽快完成" in problems[1]
    assert 'id="obligations"' in refused.text  # the page is kept

    assert post(office, f"{draft}/units", draft, name=BIG_DATA, action="map", unit="miit").status_code == 303
    settled = name_block(office.get(draft).text, BIG_DATA)
    assert "已对应到 市工业和信息化局(miit)" in settled
    assert post(office, f"{draft}/rows/2", draft, lead="", deadline="2020年9月30日前").status_code == 303
    named = post(office, f"{draft}/plan", draft, plan_id="skills-2020-tasks",
                 title="贵港市2020年职业技能提升行动重点任务", short_name="2020年重点任务")
    assert named.status_code == 303
    assert 'id="flag-count" class="done">0<' in office.get(draft).text

    shown = {"csrf_token": page_csrf(office, draft), "version": version(office, draft)}
    published = office.post(f"{draft}/publish", data=shown, follow_redirects=False)
    assert published.status_code == 303 and published.headers["location"] == "/dashboard?plan=skills-2020-tasks"
    dashboard = office.get(published.headers["location"]).text
    assert '<option value="skills-2020-tasks" selected>2020年重点任务</option>' in dashboard
    assert 'id="progress-title"' not in dashboard  # the seed plan's regional figures: not this plan's
    assert 'id="progress-title"' in office.get("/dashboard?plan=guigang-skills-2019").text
    plans = {p["id"]: p for p in office.get("/api/plans").json()}
    assert plans["skills-2020-tasks"]["short_name"] == "2020年重点任务"
    assert plans["skills-2020-tasks"]["obligations"] == 4
    rows = office.get("/api/dashboard?plan=skills-2020-tasks").json()
    assert "miit" in {r["unit"] for r in rows["units"]}  # 市大数据发展局's item went to the unit mapped

    assert f'href="{draft}"' not in office.get("/imports").text  # no longer in progress
    status = office.get(draft).text.split('id="import-status"')[1].split("</p>")[0]
    assert "该草稿已发布" in status and 'href="/dashboard?plan=skills-2020-tasks"' in status
    with database_unchanged(web_db):  # published: nothing more to change, nor to publish twice
        again = office.post(f"{draft}/publish", data=shown, follow_redirects=False)
    assert again.status_code == 409 and "已发布" in again.text


def test_an_unknown_unit_is_created_as_a_new_unit_and_an_id_already_taken_is_refused(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    with database_unchanged(web_db):
        taken = post(office, f"{draft}/units", draft, name=BIG_DATA, action="create", new_id="hrss",
                     new_name="贵港市大数据发展局")
    assert taken.status_code == 422
    assert "编号“hrss”已有单位使用" in name_block(taken.text, BIG_DATA)
    assert 'value="hrss"' in name_block(taken.text, BIG_DATA)

    created = post(office, f"{draft}/units", draft, name=BIG_DATA, action="create", new_id="big-data",
                   new_name="贵港市大数据发展局")
    assert created.status_code == 303
    page = office.get(draft).text
    assert "将新建单位 贵港市大数据发展局(big-data)" in name_block(page, BIG_DATA)
    assert "牵头:贵港市大数据发展局(big-data)" in row(page, 2)
    post(office, f"{draft}/rows/2", draft, lead="", deadline="2020年9月30日前")
    post(office, f"{draft}/plan", draft, plan_id="", title="贵港市2020年数字技能培训工作方案", short_name="")
    assert 'placeholder="贵港市2020年数字技能培训"' in office.get(draft).text  # the short name made from the title
    assert post(office, f"{draft}/publish", draft).status_code == 303
    plan = next(p for p in office.get("/api/plans").json() if p["id"] == "imported-2020")
    assert (plan["title"], plan["short_name"]) == ("贵港市2020年数字技能培训工作方案", "贵港市2020年数字技能培训")
    assert "big-data" in {r["unit"] for r in office.get("/api/dashboard?plan=imported-2020").json()["units"]}


def test_a_row_lead_chosen_from_the_directory_replaces_the_one_read(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    assert post(office, f"{draft}/rows/2", draft, lead="miit", deadline="尽快完成").status_code == 303
    cells = row(office.get(draft).text, 2)
    assert "牵头:市工业和信息化局(miit)" in cells and "unknown-unit" not in cells and "已更正" in cells
    with database_unchanged(web_db):
        unknown = post(office, f"{draft}/rows/2", draft, lead="no-such-unit", deadline="尽快完成")
    assert unknown.status_code == 422 and "单位目录中没有编号为“no-such-unit”的单位" in unknown.text


def test_the_draft_is_still_there_after_signing_out_and_in_again(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    post(office, f"{draft}/units", draft, name=BIG_DATA, action="map", unit="miit")
    signed_out = office.post("/signout", data={"csrf_token": page_csrf(office, "/imports")}, follow_redirects=False)
    assert signed_out.status_code == 303 and office.get(draft, follow_redirects=False).status_code == 303

    again = sign_in(app, OFFICE)
    assert f'href="{draft}"' in again.get("/imports").text
    assert "已对应到 市工业和信息化局(miit)" in name_block(again.get(draft).text, BIG_DATA)


def test_a_unit_can_neither_see_the_link_nor_open_nor_upload_nor_change_a_draft(app, web_db):
    draft = uploaded(sign_in(app, OFFICE))
    unit = sign_in(app, HRSS)
    assert 'id="nav-import"' not in unit.get("/units/hrss").text
    with database_unchanged(web_db):
        assert unit.get("/imports").status_code == 403
        assert unit.get(draft).status_code == 403
        assert upload(unit).status_code == 403
        token = page_csrf(unit, "/units/hrss")
        for action in ("publish", "discard", "plan", "units", "rows/0"):
            answer = unit.post(f"{draft}/{action}", data={"csrf_token": token, "version": "1"}, follow_redirects=False)
            assert answer.status_code == 403, action


@pytest.mark.parametrize("data, name, status, says", [
    (b"x" * (MAX_DOCUMENT_BYTES + 1), "大文件.txt", 413, "超过 20 MB 的上限"),
    ("关于做好2020年春季就业工作的通知\n各县(市、区)人民政府:\n请认真做好春季就业工作。\n".encode(), "通知.txt", 422,
     "中没有找到分工表"),
    (b"PK\x03\x04not really a zip", "方案.docx", 422, "文件已损坏"),
    (b"", "空.txt", 422, "请选择含分工表的文件"),
])
def test_a_document_that_cannot_be_imported_is_refused_in_words_and_nothing_is_stored(app, web_db, data, name, status,
                                                                                      says):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        refused = upload(office, data, name)
    assert refused.status_code == status
    assert says in refused.text.split('id="upload-problems"')[1].split("</div>")[0]


def test_a_bad_year_a_missing_token_and_a_bad_new_unit_id_are_refused_with_nothing_stored(app, web_db):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        assert "年份应在 1990 至 2100 之间" in upload(office, year="1066").text
        no_token = office.post("/imports", files={"file": (DOCUMENT.name, DOCUMENT.read_bytes(), "text/plain")},
                               follow_redirects=False)
        assert no_token.status_code == 403
    draft = uploaded(office)
    with database_unchanged(web_db):
        bad = post(office, f"{draft}/units", draft, name=BIG_DATA, action="create", new_id="Big Data",
                   new_name="大数据局")
        assert bad.status_code == 422 and "不合规" in name_block(bad.text, BIG_DATA)
        bad_id = post(office, f"{draft}/plan", draft, plan_id="Skills 2020", title="", short_name="")
        assert bad_id.status_code == 422 and "方案编号“Skills 2020”不合规" in bad_id.text
        long_name = post(office, f"{draft}/plan", draft, plan_id="", title="", short_name="长" * 40)
        assert long_name.status_code == 422 and "方案简称不能超过 32 个字符" in long_name.text
        assert post(office, f"{draft}/units", draft, name="市宇宙局", action="map", unit="hrss").status_code == 404
        assert post(office, f"{draft}/rows/99", draft, lead="", deadline="6月底前").status_code == 404


def test_a_change_from_a_page_showing_an_older_version_is_refused_and_nothing_is_overwritten(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    old = version(office, draft)
    post(office, f"{draft}/units", draft, name=BIG_DATA, action="map", unit="miit")
    token = page_csrf(office, draft)
    with database_unchanged(web_db):
        stale = office.post(f"{draft}/rows/2", data={"csrf_token": token, "version": old, "lead": "",
                                                     "deadline": "6月底前"}, follow_redirects=False)
    assert stale.status_code == 409 and "请刷新页面" in stale.text


def test_a_discarded_draft_leaves_the_list_and_can_no_longer_change(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    discarded = post(office, f"{draft}/discard", draft)
    assert discarded.status_code == 303 and discarded.headers["location"].startswith("/imports?discarded=")
    assert f'href="{draft}"' not in office.get("/imports").text
    assert "该草稿已丢弃" in office.get(draft).text.split('id="import-status"')[1]
    token = page_csrf(office, draft)
    with database_unchanged(web_db):
        answer = office.post(f"{draft}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 409 and "已丢弃" in answer.text


def test_the_open_drafts_are_bounded(app, web_db, monkeypatch):
    monkeypatch.setattr("responsibilities.tracking.import_drafts.MAX_OPEN_DRAFTS", 2)
    office = sign_in(app, OFFICE)
    uploaded(office)
    uploaded(office)
    with database_unchanged(web_db):
        refused = upload(office)
    assert refused.status_code == 422 and "达到 2 份的上限" in refused.text


def test_a_plan_id_already_taken_is_refused_at_publishing_with_nothing_written(app, web_db):
    office = sign_in(app, OFFICE)
    draft = uploaded(office)
    post(office, f"{draft}/units", draft, name=BIG_DATA, action="map", unit="miit")
    post(office, f"{draft}/rows/2", draft, lead="", deadline="2020年9月30日前")
    named = post(office, f"{draft}/plan", draft, plan_id="guigang-skills-2019", title="", short_name="")
    assert named.status_code == 303
    with database_unchanged(web_db):
        refused = post(office, f"{draft}/publish", draft)
    assert refused.status_code == 422
    problems = refused.text.split('id="publish-problems"')[1].split("</div>")[0]
    assert "方案编号“guigang-skills-2019”已被" in problems
    assert f'href="{draft}"' in office.get("/imports").text  # still a draft, still to publish


def test_corrections_that_no_longer_apply_are_said_and_can_be_undone(app, web_db):
    """Two drafts define the same new unit: once one is published, the other's definition would take an id a unit
    has; its page says so, shows the document as written (where the name now resolves to the unit published, whose
    aliases keep the document's name), refuses to publish, and undoes its corrections."""
    office = sign_in(app, OFFICE)
    first, second = uploaded(office), uploaded(office)
    for draft in (first, second):
        post(office, f"{draft}/units", draft, name=BIG_DATA, action="create", new_id="big-data", new_name="大数据局")
        post(office, f"{draft}/rows/2", draft, lead="", deadline="2020年9月30日前")
    assert post(office, f"{second}/plan", second, plan_id="tasks-b", title="", short_name="").status_code == 303
    assert post(office, f"{second}/publish", second).status_code == 303

    page = office.get(first).text
    assert "编号“big-data”已有单位使用" in page.split('id="correction-problem"')[1].split("</div>")[0]
    assert 'id="flag-count" class="late">1<' in page and "尽快完成" in row(page, 2)  # as the document writes it
    assert "牵头:市大数据发展局(big-data)" in row(page, 2)  # the directory knows the name now
    with database_unchanged(web_db):
        refused = post(office, f"{first}/publish", first)
    assert refused.status_code == 422 and "编号“big-data”已有单位使用" in refused.text.split('id="publish-problems"')[1]

    assert post(office, f"{first}/reset", first).status_code == 303
    page = office.get(first).text
    assert 'id="correction-problem"' not in page and 'id="flag-count" class="late">1<' in page
    post(office, f"{first}/rows/2", first, lead="", deadline="2020年9月30日前")
    assert post(office, f"{first}/publish", first).status_code == 303


def test_a_document_without_a_year_asks_for_one_in_the_form_and_reads_with_the_year_given(app, web_db):
    undated = ("职业技能提升行动重点任务分解表\n一、扩大培训规模\n"
               "1.开展企业职工岗位技能提升培训。(牵头单位:市人力资源社会保障局;责任单位:市总工会,12月底前完成)\n"
               "2.落实专账资金拨付。(牵头单位:市财政局;责任单位:市人力资源社会保障局,6月30日前完成)\n").encode()
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        asked = upload(office, undated, "重点任务.txt")
    assert asked.status_code == 422
    assert "无法从文件中看出年份" in asked.text and "请在“年份”中填写" in asked.text and "--year" not in asked.text
    read = upload(office, undated, "重点任务.txt", year="2021")
    assert read.status_code == 303
    page = office.get(read.headers["location"]).text
    assert "首个截止 2021-12-31" in row(page, 0) and "首个截止 2021-06-30" in row(page, 1)


def test_a_stored_document_that_can_no_longer_be_read_is_said_and_its_draft_can_be_discarded(app, web_db):
    """Read once when it was uploaded, a document may not be readable later (an old .doc, LibreOffice since
    removed): its page says why, publishing is refused, and the draft can still be discarded."""
    from responsibilities.tracking.import_drafts import start_import

    stored = start_import(web_db.session_factory, actor=OFFICE, now=NOW, file_name="方案.doc",
                          data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    office = sign_in(app, OFFICE)
    draft = f"/imports/{stored.id}"
    page = office.get(draft)
    assert page.status_code == 200 and "文件现在读不出:" in page.text.split('id="unreadable"')[1]
    with database_unchanged(web_db):
        assert post(office, f"{draft}/publish", draft).status_code == 422
    assert post(office, f"{draft}/discard", draft).status_code == 303
