"""Reading a plan from a document's text (issue 16): the seed's own 工作分工 table against the hand-written
deadlines.yaml, the other layouts copying a page produces, and the draft plan file with its flags.

The fixtures under tests/fixtures/import/ are written as such documents are: the seed is the government page's
text as copied; the others are a 实施方案 with 责任单位 lines, a 任务分解 with the units in a closing parenthesis,
and a table copied one cell per line. Each test's directory is the units such an office would have on record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from responsibilities.deadlines.phrases import parse_deadline
from responsibilities.deadlines.rules import first_due
from responsibilities.importing.service import import_document
from responsibilities.importing.tables import DocumentUnreadable
from responsibilities.importing.units import Directory, DirectoryEntry, split_units
from responsibilities.plan.loader import PlanInvalid, load_plan

from conftest import SEED_PLAN

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SEED_TEXT = FIXTURES / "guigang-skills-2019.txt"


@pytest.fixture(scope="module")
def seed_plan():
    return load_plan(SEED_PLAN)


@pytest.fixture(scope="module")
def seed_directory(seed_plan) -> Directory:
    """The seed's units and groups, as the office's directory holds them after `duban load`."""
    return Directory(tuple(DirectoryEntry(u.id, u.name, u.aliases, kind=u.kind) for u in seed_plan.units)
                     + tuple(DirectoryEntry(g.id, g.name, g.aliases, group=True, members=g.members)
                             for g in seed_plan.groups))


def imported(path: Path, directory: Directory, **options):
    return import_document(path.read_bytes(), path.name, directory, **options)


def division_differences(reading, plan, *, every_row: bool = False) -> list[str]:
    """Every difference, row by row, between the obligations read from the seed's 工作分工 table (every obligation
    read, with ``every_row``) and the hand-written ones citing the same row (section 工作分工, the unit cell as
    printed, the item number)."""
    written = {}
    for o in plan.obligations:
        for s in o.sources:
            if s.section == "工作分工":
                # Where the hand-written file took its deadline from another section (hrss-3 from 三(一)), the
                # source keeps the table's own words: those are what the table says.
                rule = parse_deadline(s.deadline_text, year=plan.start.year) if s.deadline_text else o.deadline
                written.setdefault((s.unit, s.item), (o, rule))
    rows = [o for o in reading.obligations if every_row or o.source.table.endswith("的表格")]
    differences = [f"{len(rows)} rows read, {len(written)} written"] if len(rows) != len(written) else []
    for o in rows:
        if (o.unit_cell, o.item) not in written:
            differences.append(f"{o.source.row}: no hand-written obligation cites {o.unit_cell} item {o.item}")
            continue
        hand, rule = written[(o.unit_cell, o.item)]
        lead = hand.group or hand.lead
        due = first_due(rule, on_or_after=plan.start)
        read = (o.lead.id if o.lead else None, o.rule.kind if o.rule else None, o.first_due)
        if read != (lead, rule.kind, due):
            differences.append(f"{o.source.row} {hand.declared_id}: read {read}, written {(lead, rule.kind, due)}")
    return differences


def test_the_seeds_text_imports_to_the_hand_written_division_of_labour_obligations(seed_plan, seed_directory):
    reading = imported(SEED_TEXT, seed_directory).reading
    table = [o for o in reading.obligations if o.source.table.endswith("的表格")]
    assert len(table) == 46  # every numbered row of the 工作分工 table
    assert division_differences(reading, seed_plan) == []
    assert (reading.year, reading.start.isoformat()) == (2019, "2019-09-30")  # 成文日期
    # The table flags only what a person must decide: the after-event deadline needs its event named.
    assert [(f.code, f.row) for f in reading.flags if f.table.endswith("的表格")] == [("event-needed", "第 140 行")]


def test_the_seeds_work_tasks_are_read_from_their_units_lines_with_the_lead_listed_first(seed_directory):
    reading = imported(SEED_TEXT, seed_directory).reading
    listed = [o for o in reading.obligations if o.source.table == "按“责任单位:”列出的任务"]
    assert [o.task for o in listed] == ["开展企业职工技能提升和转岗转业培训。",
                                        "对就业重点群体开展职业技能提升培训和创业培训。",
                                        "加大贫困劳动力和贫困家庭子女技能扶贫工作力度。"]
    assert {o.lead.id for o in listed} == {"counties"} and {o.section for o in listed} == {"二、工作任务"}
    assert [r.id for r in listed[0].co_units][:3] == ["hrss", "union", "miit"]  # 总工会 read as 市总工会
    # Section 二 gives them no deadline: flagged, never defaulted.
    assert all(o.rule is None and o.deadline_text == "" for o in listed)
    assert [f.code for f in reading.flags if f.table == "按“责任单位:”列出的任务"] == ["no-deadline"] * 3


def test_a_numbered_list_with_units_lines_reads_each_item_and_flags_the_units_the_directory_lacks():
    directory = Directory((
        DirectoryEntry("gb-hrss", "港北区人力资源和社会保障局", ("区人力资源社会保障局",)),
        DirectoryEntry("gb-finance", "港北区财政局", ("区财政局",)),
        DirectoryEntry("gb-tax", "国家税务总局港北区税务局", ("区税务局",)),
        DirectoryEntry("gb-education", "港北区教育局", ("区教育局",)),
        DirectoryEntry("gb-stats", "港北区统计局", ("区统计局",))))
    reading = imported(FIXTURES / "list-with-units.txt", directory).reading
    rows = [(o.task, o.lead.id, [r.id for r in o.co_units], o.deadline_text, o.first_due and o.first_due.isoformat())
            for o in reading.obligations]
    assert rows == [
        ("支持企业复工复产稳岗。", "gb-hrss", ["gb-finance", "gb-tax"], "4月底前", "2020-04-30"),
        ("拓宽高校毕业生就业渠道。", "gb-hrss", ["gb-education", None], "2020年7月31日前", "2020-07-31"),  # 区人社局
        ("开展大规模职业技能培训。", "gb-hrss", [None], "12月底前", "2020-12-31"),  # the document's year
        ("加强就业形势监测。", "gb-stats", ["gb-hrss"], "每月10日前", "2020-04-10"),
    ]
    assert [o.section for o in reading.obligations] == ["一、主要任务"] * 3 + ["二、保障措施"]
    assert [(f.code, f.row, f.cell) for f in reading.flags] == [
        ("unknown-unit", "第 14 行", "团区委"), ("unknown-unit", "第 18 行", "区大数据发展局")]


def test_items_ending_in_a_parenthesis_give_the_lead_the_others_and_the_deadline():
    directory = Directory((
        DirectoryEntry("pn-market", "平南县市场监督管理局", ("县市场监管局",)),
        DirectoryEntry("pn-tax", "平南县税务局", ("县税务局",)),
        DirectoryEntry("pn-police", "平南县公安局", ("县公安局",)),
        DirectoryEntry("pn-housing", "平南县住房和城乡建设局", ("县住建局",)),
        DirectoryEntry("pn-finance", "平南县财政局", ("县财政局",)),
        DirectoryEntry("pn-finance-office", "平南县金融工作办公室", ("县金融办", "县财政局"))))
    reading = imported(FIXTURES / "parenthesised.txt", directory).reading
    first, second, third, fourth = reading.obligations
    assert first.task == "推行企业开办“一网通办”,企业开办时间压缩至1个工作日以内。"
    assert (first.lead.id, [r.id for r in first.co_units]) == ("pn-market", ["pn-tax", "pn-police"])
    assert (first.deadline_text, first.first_due.isoformat()) == ("6月底前完成", "2021-06-30")
    assert third.rule.kind == "ongoing" and fourth.first_due.isoformat() == "2021-12-31"  # 年内见成效
    assert third.co_units[0].status == "ambiguous"  # two units go by 县财政局: the office chooses
    assert set(third.co_units[0].candidates) == {"pn-finance", "pn-finance-office"}
    assert [o.section for o in reading.obligations] == ["一、提升政务服务效能"] * 2 + ["二、优化要素保障"] * 2
    unknown = [f.cell for f in reading.flags if f.code == "unknown-unit"]
    assert unknown == ["县自然资源局", "县行政审批局", "县发展改革局", "县水利局", "供电公司"]
    assert second.source.row == "第 5 行"


def test_a_table_copied_one_cell_per_line_takes_its_column_count_from_the_header():
    directory = Directory((
        DirectoryEntry("qt-education", "覃塘区教育局", ("区教育局",)),
        DirectoryEntry("qt-finance", "覃塘区财政局", ("区财政局",)),
        DirectoryEntry("qt-housing", "覃塘区住房和城乡建设局", ("区住建局",)),
        DirectoryEntry("qt-civil", "覃塘区民政局", ("区民政局",))))
    reading = imported(FIXTURES / "lines-no-separators.txt", directory).reading
    assert [(o.task, o.lead.id, [r.id for r in o.co_units], o.first_due.isoformat()) for o in reading.obligations] == [
        ("新建改扩建公办幼儿园3所,新增学位900个", "qt-education", ["qt-finance", "qt-housing"], "2020-08-31"),
        ("实施城区老旧小区改造10个", "qt-housing", ["qt-finance"], "2020-11-30"),
        ("建成区级社会福利中心并投入使用", "qt-civil", [None], "2020-09-30"),  # 9月投入使用
    ]
    assert [(f.code, f.cell) for f in reading.flags] == [("unknown-unit", "区发展改革局")]


def test_an_unreviewed_draft_fails_the_plan_check_naming_each_flag(seed_directory, tmp_path):
    result = imported(FIXTURES / "parenthesised.txt", seed_directory, plan_id="pingnan-2021")
    draft = tmp_path / "draft.yaml"
    draft.write_text(result.draft, encoding="utf-8")
    with pytest.raises(PlanInvalid) as refused:
        load_plan(draft)
    unreviewed = [p.message for p in refused.value.problems if p.message.startswith("not reviewed yet")]
    for flag in result.reading.flags:
        assert any(flag.message in message for message in unreviewed), flag.message
    assert "id: pingnan-2021" in result.draft and "new-unit-1" in result.draft


def test_the_report_names_each_obligations_units_as_written_with_what_they_resolved_to(seed_directory):
    report = imported(SEED_TEXT, seed_directory).report()
    assert set(report) >= {"obligations", "units", "flags", "totals"}
    first = report["obligations"][0]
    assert first["lead"] == {"name": "各(县、市)区人民政府", "unit": "counties", "status": "group", "candidates": []}
    assert first["rule"] == {"kind": "fixed", "first_due": "2019-12-31"}
    assert first["deadline_text"] == "2019年 12月31日前"
    assert first["source"] == {"file": SEED_TEXT.name, "table": "第 123–308 行的表格", "row": "第 129 行"}
    assert report["totals"]["obligations"] == 49 and report["totals"]["units_unknown"] == 0


@pytest.mark.parametrize("text, says", [
    ("关于做好2020年春节期间值班工作的通知\n各单位要安排好值班人员。\n", "没有找到分工表"),
    ("工作任务\n牵头单位\n工作任务\n完成时限\n1\n做好值班\n市政府办\n做好值班\n年底前\n", "分不清各列的含义"),
    ("序号\n工作任務\n牽頭單位\n完成時限\n1\n做好值班\n市政府辦\n年底前\n", "繁体"),
])
def test_a_document_that_is_not_a_division_of_labour_table_is_refused_in_one_line(text, says, seed_directory):
    with pytest.raises(DocumentUnreadable, match=says) as refused:
        import_document(text.encode("utf-8"), "文件.txt", seed_directory, year=2020)
    assert "\n" not in str(refused.value)


def test_a_document_without_a_year_asks_for_one():
    with pytest.raises(DocumentUnreadable, match="--year"):
        import_document("序号\n工作任务\n牵头单位\n完成时限\n1\n做好值班\n市政府办\n年底前\n".encode(), "a.txt",
                        Directory())


@pytest.mark.parametrize("cell, names", [
    ("市人力资源社会保障局、总工会、教育局", ["市人力资源社会保障局", "总工会", "教育局"]),
    ("各县(市、区)人民政府,市财政局", ["各县(市、区)人民政府", "市财政局"]),
    ("市发展改革委\n市财政局;市商务局等", ["市发展改革委", "市财政局", "市商务局"]),
])
def test_a_cell_with_several_units_splits_between_them_never_inside_brackets(cell, names):
    assert split_units(cell) == names


def corrected_key_tasks(seed_directory):
    from responsibilities.importing.corrections import Corrections

    return imported(FIXTURES / "guigang-2020-key-tasks.txt", seed_directory, plan_id="key-tasks-2020",
                    corrections=Corrections(new_units={"市大数据发展局": ("big-data", "贵港市大数据发展局")},
                                            deadlines={2: "2020年9月30日前"}))


def test_a_reviewed_draft_loads_as_a_plan_without_a_leading_group_or_numbers(seed_directory, tmp_path):
    draft = tmp_path / "key-tasks.yaml"
    draft.write_text(corrected_key_tasks(seed_directory).draft, encoding="utf-8")
    plan = load_plan(draft)
    assert (plan.leading_group, plan.targets, plan.reporting, plan.document_number) == (None, None, None, "")
    assert [s.to for s in plan.supervision.escalation] == [("unit-member",), ("office",)]
    assert [o.lead for o in plan.obligations] == ["hrss", "finance", "big-data", "hrss"]
    assert plan.obligations[2].sources[0].unit == "市大数据发展局"  # the cell as printed, an alias of the new unit


@pytest.mark.parametrize("edit, says", [
    (("to: [office]", "to: [deputies]"), 'goes to "deputies", but the plan has no leading_group'),
    (("supervision:", "targets: {}\nsupervision:"), "targets and reporting go together"),
])
def test_a_plan_without_a_leading_group_escalates_only_to_units_leaders_and_the_office(seed_directory, tmp_path, edit,
                                                                                         says):
    draft = tmp_path / "key-tasks.yaml"
    draft.write_text(corrected_key_tasks(seed_directory).draft.replace(*edit), encoding="utf-8")
    with pytest.raises(PlanInvalid, match=says):
        load_plan(draft)


def test_numbered_items_in_one_cell_split_when_each_has_its_own_deadline_and_stay_together_otherwise(seed_directory):
    from responsibilities.importing.reading import read_document_tables
    from responsibilities.importing.tables import Document, Table

    rows = (("序号", "重点工作", "牵头单位", "完成时限"),
            ("一", "培训扩容", "培训扩容", "培训扩容"),  # a section row: its number, and one cell merged across
            ("1", "1.制定企业职工培训计划\n2.举办政策培训班", "市人社局", "1.2020年4月底前\n2.2020年6月底前"),
            ("2", "1.督促企业报送计划\n2.组织职工参训", "市总工会", "持续推进"),
            ("3", "开展职业技能竞赛", "", "10月底前"))
    table = Table("表格 1", rows, tuple(f"表格 1 第 {i + 1} 行" for i in range(len(rows))))
    reading = read_document_tables(Document("任务.docx", "docx", (table,), "2020年3月1日"), seed_directory)
    assert [(o.task, o.item, o.deadline_text) for o in reading.obligations] == [
        ("制定企业职工培训计划", 1, "2020年4月底前"), ("举办政策培训班", 2, "2020年6月底前"),
        ("1.督促企业报送计划\n2.组织职工参训", None, "持续推进"),  # one deadline for both: one obligation
        ("开展职业技能竞赛", None, "10月底前")]
    assert {o.section for o in reading.obligations} == {"一、培训扩容"}
    assert [(f.code, f.row) for f in reading.flags] == [("no-unit", "表格 1 第 5 行")]


def _seed_as(fmt: str, folder: Path) -> Path:
    import import_documents as build

    if fmt == "html":
        path = folder / "分工.html"
        path.write_text(build.seed_html(), encoding="utf-8")
        return path
    return {"docx": build.seed_docx, "xlsx": build.seed_xlsx, "pdf": build.seed_pdf}[fmt](folder / f"分工.{fmt}")


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "html", pytest.param("pdf", marks=pytest.mark.browser)])
def test_the_seeds_table_as_word_excel_web_page_or_pdf_imports_as_its_text_does(fmt, seed_plan, seed_directory,
                                                                               tmp_path):
    """The same table written as a Word author, a spreadsheet, the site and a printer would (tests/import_documents.py:
    unit cells merged down over their tasks): every row to the hand-written obligation it is, as from the text."""
    reading = imported(_seed_as(fmt, tmp_path), seed_directory, year=2019).reading
    from_text = imported(SEED_TEXT, seed_directory).reading

    def rows(r):  # the obligations of the document's first table: its 工作分工
        return [(o.task, o.item, o.lead.id, o.rule.kind, o.first_due) for o in r.obligations
                if o.source.table == r.tables_used[0]]

    assert len(reading.obligations) == 46
    assert rows(reading) == rows(from_text)
    differences = division_differences(reading, seed_plan, every_row=True)
    assert differences == []


def test_a_task_first_word_table_reads_its_section_rows_units_on_several_lines_and_leaders(seed_directory, tmp_path):
    """A 重点工作任务分工 as a Word author makes it: task first, a section row merged across the table, co-units one
    per line in their cell, the leader in charge in a column of its own."""
    import docx

    document = docx.Document()
    document.add_paragraph("贵港市2020年稳就业重点工作任务分工")
    document.add_paragraph("(2020年4月1日)")
    rows = [("序号", "重点工作", "牵头单位", "配合单位", "完成时限", "责任领导"),
            ("一、稳定就业岗位",) * 6,
            ("1", "落实援企稳岗返还政策", "市人社局", "市财政局\n市税务局", "2020年6月底前", "韦彦"),
            ("2", "开发公益性岗位安置就业困难人员", "市人力资源社会保障局", "各县(市、区)人民政府", "持续推进", "韦彦"),
            ("二、扩大培训规模",) * 6,
            ("3", "开展以工代训", "市人社局、市财政局", "", "12月底前", "")]
    table = document.add_table(rows=len(rows), cols=6)
    for r, values in enumerate(rows):
        if len(set(values)) == 1:  # the section row: one cell merged across the table
            merged = table.cell(r, 0).merge(table.cell(r, 5))
            merged.text = values[0]
            continue
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    path = tmp_path / "分工.docx"
    document.save(path)

    reading = imported(path, seed_directory).reading
    assert [(o.section, o.task, o.lead.id, [r.id for r in o.co_units], o.first_due and o.first_due.isoformat(),
             o.leader) for o in reading.obligations] == [
        ("一、稳定就业岗位", "落实援企稳岗返还政策", "hrss", ["finance", None], "2020-06-30", "韦彦"),
        ("一、稳定就业岗位", "开发公益性岗位安置就业困难人员", "hrss", ["counties"], None, "韦彦"),
        ("二、扩大培训规模", "开展以工代训", "hrss", ["finance"], "2020-12-31", ""),  # the first listed leads
    ]
    assert [(f.code, f.cell) for f in reading.flags] == [("unknown-unit", "市税务局")]


def test_a_spreadsheet_with_its_header_on_row_3_reads_the_second_unit_column_as_the_cooperating_units(
        seed_directory, tmp_path):
    """牵头单位 then 责任单位: the second names the others. The sheet has a title and a date above the header, as
    offices' spreadsheets do, and a merged cell for a unit over two tasks."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "任务分解"
    sheet.append(["贵港市2021年技能培训任务分解表"])
    sheet.append(["填报日期:2021年1月15日"])
    sheet.append(["序号", "主要任务", "牵头单位", "责任单位", "时间节点"])
    sheet.append([1, "组织开展技能竞赛", "市总工会", "市人社局、市教育局", "10月底前"])
    sheet.append([2, "举办职业技能大赛", "市人社局", "市总工会", "9月底前"])
    sheet.append([3, "评选技能大师", None, "市总工会", "年底前"])
    sheet.merge_cells("C5:C6")  # 市人社局 leads tasks 2 and 3
    path = tmp_path / "任务分解.xlsx"
    book.save(path)

    reading = imported(path, seed_directory).reading
    assert [(o.task, o.lead.id, [r.id for r in o.co_units], o.first_due.isoformat()) for o in reading.obligations] == [
        ("组织开展技能竞赛", "union", ["hrss", "education"], "2021-10-31"),
        ("举办职业技能大赛", "hrss", ["union"], "2021-09-30"),
        ("评选技能大师", "hrss", ["union"], "2021-12-31"),
    ]
    assert reading.flags == [] and reading.obligations[2].source.row.endswith("第 6 行")


def test_the_closing_parenthesis_reads_the_same_with_the_full_width_colons_chinese_documents_use():
    text = (FIXTURES / "parenthesised.txt").read_text(encoding="utf-8")
    assert "：" not in text
    directory = Directory((DirectoryEntry("pn-market", "平南县市场监督管理局", ("县市场监管局",)),
                           DirectoryEntry("pn-tax", "平南县税务局", ("县税务局",))))

    def rows(body: str):
        reading = import_document(body.encode("utf-8"), "任务分解.txt", directory).reading
        return [(o.task, o.lead.name, [r.name for r in o.co_units], o.deadline_text) for o in reading.obligations]

    assert rows(text.replace(":", "：")) == rows(text)
    assert rows(text)[0][1:] == ("县市场监管局", ["县税务局", "县公安局"], "6月底前完成")
