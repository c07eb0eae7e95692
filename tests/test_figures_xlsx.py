"""The monthly report as a spreadsheet: the blank form, and reading filled ones back, all or nothing."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from responsibilities.figures.progress import plan_numbers
from responsibilities.figures.service import FiguresInvalid, figure_history
from responsibilities.figures.xlsx import FORM_SHEET, HELP_SHEET, form_for, import_form

from conftest import GUIPING, OFFICE, at, database_unchanged, run_duban

pytestmark = pytest.mark.both_databases

MARCH = date(2020, 3, 1)
REGIONS = ["city-level", "guiping", "pingnan", "gangbei", "gangnan", "qintang"]
HEADERS = ["地区编号", "地区", "月份", "培训总人次", "企业职工", "就业重点群体", "高校毕业生", "农村转移就业劳动者",
           "城乡未继续升学初高中毕业生(两后生)", "下岗失业人员", "退役军人", "就业困难人员(含残疾人)",
           "贫困劳动力和贫困家庭子女", "新型学徒", "备注"]
# total, enterprise, key groups (its six sub-groups), poor labour, apprentices
GOOD_ROW = [900, 500, 300, 50, 100, 30, 40, 20, 10, 80, 9]
FIELD_IDS = ["total", "enterprise-workers", "key-groups", "graduates", "migrant-workers", "school-leavers", "laid-off",
             "veterans", "hard-to-employ", "poor-labour", "new-apprentices"]


def filled(session_factory, rows: dict[str, list], month: date = MARCH, edit=None) -> bytes:
    """The office's form for ``month`` with the given regions' rows filled in; ``edit(sheet)`` spoils it."""
    book = load_workbook(BytesIO(form_for(session_factory, month=month)))
    sheet = book[FORM_SHEET]
    for row in sheet.iter_rows(min_row=2):
        for column, value in enumerate(rows.get(row[0].value, []), start=4):
            sheet.cell(row=row[0].row, column=column, value=value)
    if edit:
        edit(sheet)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_form_has_the_plans_fields_as_headers_and_a_row_per_region(loaded, session_factory):
    book = load_workbook(BytesIO(form_for(session_factory, month=MARCH)))
    assert book.sheetnames == [FORM_SHEET, HELP_SHEET]
    sheet = book[FORM_SHEET]
    assert [c.value for c in sheet[1]] == HEADERS
    assert [(r[0].value, r[2].value) for r in sheet.iter_rows(min_row=2)] == [(r, "2020-03") for r in REGIONS]
    assert "2020年4月" in " ".join(str(c.value) for c in book[HELP_SHEET]["A"])  # due date on the help sheet


def test_a_regions_own_form_has_its_row_only_and_a_region_that_owes_none_is_refused(loaded, session_factory):
    sheet = load_workbook(BytesIO(form_for(session_factory, month=MARCH, regions=["guiping"])))[FORM_SHEET]
    assert [r[1].value for r in sheet.iter_rows(min_row=2)] == ["桂平市"]
    with pytest.raises(Exception, match="hrss 不报送月报"):
        form_for(session_factory, month=MARCH, regions=["hrss"])
    with pytest.raises(Exception, match="不在方案实施期内"):
        form_for(session_factory, month=date(2019, 9, 1))


def test_a_good_sheet_imports_exactly_and_blank_rows_are_skipped(loaded, session_factory):
    data = filled(session_factory, {"guiping": GOOD_ROW + ["含线上培训"], "pingnan": [1200, 700, 400, 0, 0, 0, 0, 0, 0,
                                                                                 100, 0]})
    recorded, skipped = import_form(session_factory, actor=OFFICE, data=data, now=at(2020, 4, 2))
    assert [(r.ref, r.version, r.state) for r in recorded] == [
        ("monthly-report.guiping@2020-03", 1, "submitted"), ("monthly-report.pingnan@2020-03", 1, "submitted")]
    assert len(skipped) == 4 and "city-level" in skipped[0]
    (report, values), = figure_history(session_factory, ref="monthly-report.guiping@2020-03")
    assert [values[f] for f in FIELD_IDS] == GOOD_ROW and report.source == "xlsx" and report.note == "含线上培训"
    numbers = plan_numbers(session_factory, year=2020, today=date(2020, 4, 2))
    assert numbers.year_total.actual == 2100 and numbers.year_categories["new-apprentices"] == 9


def spoil(cell: str, value):
    def edit(sheet):
        sheet[cell] = value
    return edit


@pytest.mark.parametrize("edit, says", [
    (spoil("D1", "总数"), "工作表「月报表」D1:表头应为「培训总人次」,实为「总数」"),
    (spoil("P1", "合计"), "工作表「月报表」P1:多出的表头「合计」"),
    (lambda sheet: sheet.merge_cells("D3:E3"), "工作表「月报表」D3:E3:有合并单元格"),
    (spoil("E3", -20), "工作表「月报表」第3行 E3:「企业职工」-20 是负数"),
    (spoil("F3", "三百"), "工作表「月报表」第3行 F3:「就业重点群体」“三百”不是数字"),
    (spoil("D3", 400), "工作表「月报表」第3行 E3:「企业职工」500 大于「培训总人次」400"),
    (spoil("G3", 12.5), "工作表「月报表」第3行 G3:「高校毕业生」12.5 不是整数"),
    (spoil("C3", "2019-10"), "工作表「月报表」第3行:2019-10 不在方案实施期内"),
    (spoil("C3", "三月"), "工作表「月报表」第3行 C3:「月份」应写作 YYYY-MM"),
    (spoil("A3", "hrss"), "工作表「月报表」第3行:市人力资源社会保障局(hrss)不报送月报"),
    (spoil("N3", None), "工作表「月报表」第3行 N3:「新型学徒」未填写"),
])
@pytest.mark.slow
def test_a_malformed_sheet_is_rejected_naming_the_cell_and_nothing_is_imported(loaded, session_factory, edit, says):
    data = filled(session_factory, {"guiping": GOOD_ROW, "pingnan": GOOD_ROW}, edit=edit)
    with pytest.raises(FiguresInvalid) as refused, database_unchanged(loaded):
        import_form(session_factory, actor=OFFICE, data=data, now=at(2020, 4, 2))
    assert any(says in p for p in refused.value.problems), refused.value.problems


def test_every_problem_of_every_row_is_listed_at_once(loaded, session_factory):
    def edit(sheet):
        sheet["D3"], sheet["E4"] = "x", -1
    data = filled(session_factory, {"guiping": GOOD_ROW, "pingnan": GOOD_ROW}, edit=edit)
    with pytest.raises(FiguresInvalid) as refused:
        import_form(session_factory, actor=OFFICE, data=data, now=at(2020, 4, 2))
    assert [p.split(":")[0] for p in refused.value.problems] == ["工作表「月报表」第3行 D3", "工作表「月报表」第4行 E4"]


def test_a_unit_may_import_only_its_own_row_and_a_file_that_is_not_a_workbook_is_refused(loaded, session_factory):
    data = filled(session_factory, {"guiping": GOOD_ROW, "pingnan": GOOD_ROW})
    with pytest.raises(FiguresInvalid, match="第4行:guiping-clerk"), database_unchanged(loaded):
        import_form(session_factory, actor=GUIPING, data=data, now=at(2020, 4, 2))
    with pytest.raises(FiguresInvalid, match="不是 Excel 工作簿"):
        import_form(session_factory, actor=OFFICE, data=b"name,total\nguiping,5\n", now=at(2020, 4, 2))


def test_a_date_typed_into_the_month_cell_is_read_as_its_month(loaded, session_factory):
    data = filled(session_factory, {"guiping": GOOD_ROW}, edit=spoil("C3", datetime(2020, 3, 1)))
    recorded, _ = import_form(session_factory, actor=OFFICE, data=data, now=at(2020, 4, 2))
    assert recorded[0].month == "2020-03"


# ── the command line ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def workdir(tmp_path, loaded):
    """A working folder; `duban` runs there on the loaded test database."""
    return tmp_path


@pytest.fixture
def duban(workdir, loaded):
    return lambda *args: run_duban(workdir, *args, database=loaded)


@pytest.mark.slow
def test_figures_template_then_import_from_the_command_line(workdir, duban):
    made = duban("figures", "template", "--month", "2020-03", "--region", "guiping", "--out", "form.xlsx",
                 "--as-of", "2020-03-25")
    assert made.returncode == 0 and "form.xlsx" in made.stdout
    book = load_workbook(workdir / "form.xlsx")
    for column, value in enumerate(GOOD_ROW, start=4):
        book[FORM_SHEET].cell(row=2, column=column, value=value)
    book.save(workdir / "form.xlsx")
    imported = duban("figures", "import", "form.xlsx", "--as", GUIPING, "--as-of", "2020-04-01")
    assert imported.returncode == 0, imported.stderr
    assert "monthly-report.guiping@2020-03:报送第 1 版,培训总人次 900" in imported.stdout
    progress = duban("figures", "progress", "--year", "2020", "--as-of", "2020-04-07")
    assert progress.returncode == 0 and "桂平市" in progress.stdout and "900" in progress.stdout


@pytest.mark.slow
def test_a_bad_import_from_the_command_line_lists_the_cells_and_exits_1(workdir, duban):
    duban("figures", "template", "--month", "2020-03", "--out", "form.xlsx", "--as-of", "2020-03-25")
    book = load_workbook(workdir / "form.xlsx")
    book[FORM_SHEET]["D2"] = -1
    book.save(workdir / "form.xlsx")
    result = duban("figures", "import", "form.xlsx", "--as", OFFICE, "--as-of", "2020-04-01")
    assert result.returncode == 1 and "未导入任何数据" in result.stderr
    assert "工作表「月报表」第2行 D2:「培训总人次」-1 是负数" in result.stderr


@pytest.mark.slow
def test_figures_submit_from_the_command_line_and_a_refusal_is_one_message(workdir, duban):
    values = ["total=900", "企业职工=500", "key-groups=300", "graduates=50", "migrant-workers=100",
              "school-leavers=30", "laid-off=40", "veterans=20", "hard-to-employ=10", "poor-labour=80",
              "new-apprentices=9"]
    ok = duban("figures", "submit", "guiping", "2020-03", *values, "--as", GUIPING, "--as-of", "2020-04-01")
    assert ok.returncode == 0 and "已报送第 1 版数据" in ok.stdout
    refused = duban("figures", "submit", "hrss", "2020-03", *values, "--as", OFFICE, "--as-of", "2020-04-01")
    assert refused.returncode == 1 and refused.stderr.startswith("duban: ") and "不报送月报" in refused.stderr
