"""The seed plan's division-of-labour table (工作分工) as the documents an office has: Word, Excel, a saved web page and
a printed PDF, each written as its author would (unit cells merged down over their tasks, the header repeated on
every page), for the import tests to read back.

``seed_division_rows`` reads the table from the seed's text (tests/fixtures/import/guigang-skills-2019.txt, the
page as copied from the government's site) with a parser written for that one file: it is a fixture builder,
not the product (responsibilities/importing/text.py is).
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path

SEED_TEXT = Path(__file__).resolve().parent / "fixtures" / "import" / "guigang-skills-2019.txt"
TITLE = "贵港市职业技能提升行动(2019-2021年)工作分工"
HEADER = ("责任单位", "工作任务", "完成时限", "备注")
DOCUMENT_NUMBER = "贵政办发〔2019〕24号"
DOCUMENT_TITLE = "贵港市人民政府办公室关于印发贵港市职业技能提升行动工作方案(2019-2021年)的通知"
ISSUED = "2019年9月30日"


def seed_division_rows() -> list[tuple[str, str, str, str]]:
    """(unit, task, deadline, note) for each of the table's 46 task rows, in the document's order.

    The copied table puts each cell on a line ending in " |" and an empty cell as a bare "|"; a unit's cell comes
    once before its tasks (and again where the printed table broke across a page). Every task ends in "。", and
    the line after a task is its deadline, so what follows a deadline is a task when it ends in "。", else a unit.
    No row of this table has a note."""
    lines = SEED_TEXT.read_text(encoding="utf-8").split("\n")
    start = lines.index(TITLE) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("关联文件"))
    cells = [line.removesuffix("|").strip() for line in lines[start:end]]
    cells = [c for c in cells if c]
    assert tuple(cells[:4]) == HEADER, cells[:4]
    rows: list[tuple[str, str, str, str]] = []
    unit = task = ""
    expecting = "unit"
    for cell in cells[4:]:
        if expecting == "deadline":
            rows.append((unit, task, cell, ""))
            expecting = "unit or task"
        elif expecting == "task" or (expecting == "unit or task" and cell.endswith("。")):
            task, expecting = cell, "deadline"
        else:
            unit, expecting = cell, "task"
    assert expecting == "unit or task", "the table ends after a deadline"
    return rows


Row = tuple[str, str, str, str]


def _unit_runs(rows: list[Row]) -> list[list[Row]]:
    """The rows in runs of one unit: the cells a Word author merges down."""
    return [list(run) for _, run in itertools.groupby(rows, key=lambda row: row[0])]


def seed_docx(path: Path, rows: list[Row] | None = None) -> Path:
    """A Word file as its author makes it: a title paragraph, then the table with the header marked to repeat on
    each page (w:tblHeader) and each unit's cell merged down over its tasks (w:vMerge)."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rows = seed_division_rows() if rows is None else rows
    document = docx.Document()
    document.add_paragraph("附件")
    document.add_heading(TITLE, level=1)
    table = document.add_table(rows=1 + len(rows), cols=4)
    table.style = "Table Grid"
    header = table.rows[0]
    for cell, text in zip(header.cells, HEADER, strict=True):
        cell.text = text
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    cells = [row.cells for row in table.rows[1:]]  # once: Table.cell() walks the whole grid on every call
    index = 0
    for run in _unit_runs(rows):
        first = cells[index][0]
        if len(run) > 1:
            first = first.merge(cells[index + len(run) - 1][0])
        first.text = run[0][0]
        for offset, (_, task, deadline, note) in enumerate(run):
            row = cells[index + offset]
            row[1].text, row[2].text, row[3].text = task, deadline, note
        index += len(run)
    document.add_paragraph(f"{DOCUMENT_NUMBER}附件")
    document.save(path)
    return path


def seed_xlsx(path: Path, rows: list[Row] | None = None) -> Path:
    """A workbook as an office keeps the table: the title merged across the four columns on row 1, the header on
    row 2, each unit's cell merged down over its tasks, and a second sheet of notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    rows = seed_division_rows() if rows is None else rows
    book = Workbook()
    sheet = book.active
    sheet.title = "工作分工"
    sheet.append([TITLE])
    sheet.merge_cells("A1:D1")
    sheet.append(list(HEADER))
    line = 3
    for run in _unit_runs(rows):
        for offset, (unit, task, deadline, note) in enumerate(run):
            sheet.append([unit if offset == 0 else None, task, deadline, note or None])
        if len(run) > 1:
            sheet.merge_cells(start_row=line, start_column=1, end_row=line + len(run) - 1, end_column=1)
        sheet.cell(line, 1).alignment = Alignment(vertical="center", wrap_text=True)
        line += len(run)
    notes = book.create_sheet("说明")
    notes.append(["本表根据" + DOCUMENT_NUMBER + "整理。"])
    notes.append(["各单位于每月5日前报送上月进展。"])
    book.save(path)
    return path


def seed_html(rows: list[Row] | None = None) -> str:
    """The page as the government's site publishes it: the notice's heading, number and date, then the table,
    each unit's cell spanning its tasks' rows (rowspan), the header in <thead> so that print repeats it."""
    rows = seed_division_rows() if rows is None else rows
    body = []
    for run in _unit_runs(rows):
        for offset, (unit, task, deadline, note) in enumerate(run):
            unit_cell = f'<td rowspan="{len(run)}">{html.escape(unit)}</td>' if offset == 0 else ""
            body.append(f"<tr>{unit_cell}<td>{html.escape(task)}</td><td>{html.escape(deadline)}</td>"
                        f"<td>{html.escape(note)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in HEADER)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{DOCUMENT_TITLE}</title>
<style>
  body {{ font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 14px; }}
  table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ border: 1px solid #000; padding: 4px 6px; vertical-align: middle; }}
  tr {{ break-inside: avoid; }}
</style>
<script>window.dataLayer = [];</script>
</head>
<body>
<div class="header">
  <p>发文字号:{DOCUMENT_NUMBER}</p>
  <p>成文日期:{ISSUED}</p>
  <h1>{DOCUMENT_TITLE}</h1>
</div>
<p>各县、市、区人民政府,市人民政府各组成部门、各直属机构:</p>
<p>《贵港市职业技能提升行动工作方案(2019—2021年)》已经市人民政府同意,现印发给你们,请认真组织实施。</p>
<h2>{TITLE}</h2>
<table>
<colgroup><col style="width: 16%"><col style="width: 54%"><col style="width: 20%"><col style="width: 10%"></colgroup>
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<p>贵港市人民政府办公室 {ISSUED}</p>
</body>
</html>
"""


def seed_pdf(path: Path, rows: list[Row] | None = None) -> Path:
    """The page of ``seed_html`` printed to PDF by Chromium (the system's, through Playwright): a real Chinese text
    layer (Noto CJK), ruled cells, the table over several pages with the header repeated on each (<thead>).
    Needs Chromium: the tests call it from a fixture that skips when DUBAN_SKIP_BROWSER=1."""
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM_ARGS, chromium_executable

    page_html = seed_html(rows)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(page_html, wait_until="load")
            page.pdf(path=str(path), format="A4", margin={"top": "20mm", "bottom": "20mm", "left": "15mm",
                                                          "right": "15mm"})
        finally:
            browser.close()
    return path
