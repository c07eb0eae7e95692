"""The format readers of `duban plan import` (issue 16): real Word, Excel, web-page and PDF documents, built here as
their authors make them (tests/import_documents.py), read back to the tables a person sees; and every file that
cannot be read refused with one Chinese line that says what to do.

The PDFs of the seed's table are printed by Chromium (the ``browser`` mark: DUBAN_SKIP_BROWSER=1 skips them); the
refused PDFs and OLE files are written byte by byte.
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import docx
import pdfplumber
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from import_documents import (
    HEADER,
    TITLE,
    minimal_pdf,
    ole_file,
    print_pdf,
    seed_division_rows,
    seed_docx,
    seed_html,
    seed_pdf,
    seed_xlsx,
)
from openpyxl import Workbook

from responsibilities.importing.formats import read_document
from responsibilities.importing.tables import DocumentUnreadable, Table


def read(path: Path, name: str | None = None):
    return read_document(path.read_bytes(), name or path.name)


def refusal(data: bytes, name: str) -> str:
    with pytest.raises(DocumentUnreadable) as refused:
        read_document(data, name)
    message = str(refused.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def body_after_header(table: Table) -> list[tuple[str, ...]]:
    index = table.rows.index(HEADER)
    return list(table.rows[index + 1:])


@pytest.fixture(scope="module")
def seed_rows() -> list[tuple[str, str, str, str]]:
    return seed_division_rows()


@pytest.fixture(scope="module")
def seed_pdf_file(tmp_path_factory) -> Path:
    return seed_pdf(tmp_path_factory.mktemp("pdf") / "分工.pdf")


# ── the seed's table in each format ───────────────────────────────────────────────────────────────────────


def test_the_seed_table_has_46_task_rows_each_with_its_unit_and_deadline(seed_rows):
    assert len(seed_rows) == 46
    assert all(unit and task and deadline and note == "" for unit, task, deadline, note in seed_rows)
    assert seed_rows[0][0] == "各(县、市)区人民政府" and seed_rows[-1][0] == "市妇联"
    assert sum(1 for row in seed_rows if row[0] == "市人力资源社会保障局") == 9


def test_a_docx_with_unit_cells_merged_down_reads_as_one_row_per_task_with_the_unit_in_each(tmp_path, seed_rows):
    document = read(seed_docx(tmp_path / "分工.docx"))
    assert document.kind == "docx" and len(document.tables) == 1
    table = document.tables[0]
    assert table.rows[0] == HEADER  # marked to repeat on every page, and in the file once
    assert body_after_header(table) == seed_rows
    assert table.places[1] == "表格 1 第 2 行"
    assert (2, 0) in table.merged_down and (1, 0) not in table.merged_down and (2, 1) not in table.merged_down
    assert TITLE in document.text


def test_an_xlsx_with_a_merged_title_row_and_merged_unit_cells_reads_every_task_with_its_unit(tmp_path, seed_rows):
    document = read(seed_xlsx(tmp_path / "分工.xlsx"))
    assert document.kind == "xlsx"
    assert [t.name for t in document.tables] == ["工作表“工作分工”", "工作表“说明”"]
    table = document.tables[0]
    assert table.rows[0] == (TITLE,) * 4  # the title merged across the columns, above the header on row 2
    assert table.rows[1] == HEADER and table.places[1] == "工作表“工作分工”第 2 行"
    assert body_after_header(table) == seed_rows
    assert (3, 0) in table.merged_down and (2, 0) not in table.merged_down
    assert TITLE in document.text


def test_a_saved_web_page_with_rowspan_units_reads_every_task_with_its_unit_and_the_page_text(tmp_path, seed_rows):
    path = tmp_path / "分工.html"
    path.write_text(seed_html(), encoding="utf-8")
    document = read(path)
    assert document.kind == "html" and len(document.tables) == 1
    assert body_after_header(document.tables[0]) == seed_rows
    assert "贵政办发〔2019〕24号" in document.text and "成文日期:2019年9月30日" in document.text
    assert "dataLayer" not in document.text  # the page's script is not its text


@pytest.mark.browser
def test_a_printed_pdf_reads_as_one_table_across_its_pages_with_the_header_once(seed_pdf_file, seed_rows):
    document = read(seed_pdf_file)
    assert document.kind == "pdf" and len(document.tables) == 1
    table = document.tables[0]
    with pdfplumber.open(seed_pdf_file) as pdf:
        pages = len(pdf.pages)
    assert pages >= 3
    assert table.rows.count(HEADER) == 1 and table.rows[0] == HEADER  # repeated on every page, kept once
    assert body_after_header(table) == seed_rows
    assert table.joined is None  # joined by the repeated header: not a guess
    assert table.name.startswith("第 1–") and {p.split(" 页")[0] for p in table.places} >= {"第 1", "第 2", "第 3"}
    assert "贵政办发〔2019〕24号" in document.text


@pytest.mark.browser
def test_a_unit_merged_over_a_page_break_in_a_pdf_applies_to_its_rows_on_both_pages(tmp_path):
    rows = [("市人力资源社会保障局", f"{n}.组织开展第{n}批职业技能培训,按月报送培训人数。", "持续推进", "")
            for n in range(1, 41)] + [("市财政局", "1.及时足额拨付职业技能提升行动专项资金。", "2019年9月30日前", "")]
    table = read(seed_pdf(tmp_path / "长表.pdf", rows)).tables[0]
    assert body_after_header(table) == rows
    pages = [p.split(" 页")[0] for p in table.places]
    next_page = next(i for i, page in enumerate(pages) if page != pages[0])
    assert next_page > 1 and table.rows[next_page][0] == "市人力资源社会保障局"
    assert (next_page, 0) in table.merged_down  # continued from the page before, not a cell of its own


@pytest.mark.browser
def test_a_pdf_whose_next_page_repeats_no_header_is_joined_by_its_column_count_and_says_it_guessed(tmp_path):
    cell = "border: 1px solid #000; padding: 4px"
    first = "".join(f"<tr><td style='{cell}'>{a}</td><td style='{cell}'>{b}</td></tr>"
                    for a, b in [("责任单位", "工作任务"), ("市财政局", "拨付资金。")])
    second = f"<tr><td style='{cell}'>市教育局</td><td style='{cell}'>组织培训。</td></tr>"
    table = "<table style='border-collapse: collapse; width: 100%'>{}</table>"
    page = (f"<html><head><meta charset='utf-8'></head><body>{table.format(first)}"
            f"<div style='break-before: page'></div>{table.format(second)}</body></html>")
    document = read(print_pdf(page, tmp_path / "续表.pdf"))
    assert len(document.tables) == 1
    joined = document.tables[0]
    assert joined.rows == (("责任单位", "工作任务"), ("市财政局", "拨付资金。"), ("市教育局", "组织培训。"))
    assert joined.joined == "第 2 页的表格与上一页列数相同,已按同一表格续接"
    assert joined.places == ("第 1 页表格第 1 行", "第 1 页表格第 2 行", "第 2 页表格第 1 行")
    assert any("已按同一表格续接" in note for note in document.notes)


# ── Word: merges as real documents have them, several tables ─────────────────────────────────────────────────


def _grid_table_xml(rows: str) -> str:
    return (f"<w:tbl {nsdecls('w')}><w:tblPr><w:tblStyle w:val='TableGrid'/></w:tblPr>"
            "<w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>" + rows + "</w:tbl>")


def _tc(text: str, *properties: str) -> str:
    return f"<w:tc><w:tcPr>{''.join(properties)}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def test_a_docx_with_gridspan_and_an_irregular_vmerge_reads_without_raising(tmp_path):
    # Row 2 spans the first two grid columns; row 3 continues a vertical merge in grid column 2, which the row
    # above covers with its span (an irregular merge Word files have after cells were merged and split again);
    # row 4 has a cell fewer than the grid (a ragged row).
    rows = ("<w:tr>" + _tc("责任单位") + _tc("工作任务") + _tc("完成时限") + "</w:tr>"
            "<w:tr>" + _tc("市财政局", "<w:gridSpan w:val='2'/>")
            + _tc("2019年9月30日前", "<w:vMerge w:val='restart'/>") + "</w:tr>"
            "<w:tr>" + _tc("市教育局") + _tc("", "<w:vMerge/>") + _tc("持续推进") + "</w:tr>"
            "<w:tr>" + _tc("市商务局") + _tc("协调组织家政培训。") + "</w:tr>")
    document = docx.Document()
    document.add_paragraph("附件")
    document.element.body.insert(1, parse_xml(_grid_table_xml(rows)))
    path = tmp_path / "不规则.docx"
    document.save(path)
    with pytest.raises(ValueError):  # python-docx's own grid lookup fails on this table
        [cell.text for row in docx.Document(path).tables[0].rows for cell in row.cells]
    table = read(path).tables[0]
    assert table.rows == (("责任单位", "工作任务", "完成时限"),
                          ("市财政局", "市财政局", "2019年9月30日前"),
                          ("市教育局", "市财政局", "持续推进"),
                          ("市商务局", "协调组织家政培训。", ""))
    assert (2, 1) in table.merged_down and (1, 1) not in table.merged_down


def test_several_tables_in_one_docx_are_read_as_several_tables_in_order(tmp_path):
    document = docx.Document()
    document.add_paragraph("贵港市职业技能提升行动工作方案(2019—2021年)")
    targets = document.add_table(rows=2, cols=3)
    for cell, text in zip(targets.rows[0].cells + targets.rows[1].cells,
                          ("区域", "三年计划", "2019年"), strict=False):
        cell.text = text
    for cell, text in zip(targets.rows[1].cells, ("全市", "130000", "40000"), strict=True):
        cell.text = text
    document.add_paragraph(TITLE)
    division = document.add_table(rows=3, cols=4)
    for row, values in zip(division.rows, [HEADER, ("市财政局", "1.拨付资金。", "持续推进", ""),
                                           ("市教育局", "1.组织培训。", "2019年10月31日前", "")], strict=True):
        for cell, text in zip(row.cells, values, strict=True):
            cell.text = text
    nested = division.rows[2].cells[3].add_table(rows=1, cols=2)  # a small table inside a cell: flattened
    nested.rows[0].cells[0].text, nested.rows[0].cells[1].text = "联系人", "张三"
    path = tmp_path / "方案.docx"
    document.save(path)
    read_back = read(path)
    assert [t.name for t in read_back.tables] == ["表格 1", "表格 2"]
    assert read_back.tables[0].rows == (("区域", "三年计划", "2019年"), ("全市", "130000", "40000"))
    second = read_back.tables[1]
    assert second.rows[:2] == (HEADER, ("市财政局", "1.拨付资金。", "持续推进", ""))
    assert second.rows[2][:3] == ("市教育局", "1.组织培训。", "2019年10月31日前")
    assert second.rows[2][3].split("\n") == ["联系人", "张三"]
    assert second.places == ("表格 2 第 1 行", "表格 2 第 2 行", "表格 2 第 3 行")
    assert TITLE in read_back.text


# ── Excel ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_an_xlsx_with_the_header_on_row_3_and_two_sheets_keeps_every_row_and_writes_dates_as_people_do(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "重点任务"
    sheet.append(["2020年重点工作任务分解表"])
    sheet.merge_cells("A1:E1")
    sheet.append(["填报单位:市人民政府办公室"])
    sheet.append(["序号", "工作任务", "牵头单位", "配合单位", "完成时限"])
    sheet.append([1, "建设公共实训基地", "市人力资源社会保障局", "市财政局", datetime(2020, 6, 30)])
    sheet.append([2, "开展企业职工培训", None, "市工业和信息化局", "12月底前"])
    sheet.append([3, "培训补贴发放率", "市财政局", None, 0.95])
    sheet.cell(6, 5).number_format = "0%"
    sheet.merge_cells("C4:C5")
    other = book.create_sheet("考核指标")
    other.append(["指标", "目标值", "截止日期"])
    other.append(["培训人数", 30000, date(2021, 12, 31)])
    path = tmp_path / "任务.xlsx"
    book.save(path)
    document = read(path)
    first, second = document.tables
    assert first.rows[0] == ("2020年重点工作任务分解表",) * 5
    assert first.rows[1] == ("填报单位:市人民政府办公室", "", "", "", "")
    assert first.rows[2] == ("序号", "工作任务", "牵头单位", "配合单位", "完成时限")
    assert first.places[2] == "工作表“重点任务”第 3 行"
    assert first.rows[3] == ("1", "建设公共实训基地", "市人力资源社会保障局", "市财政局", "2020年6月30日")
    assert first.rows[4] == ("2", "开展企业职工培训", "市人力资源社会保障局", "市工业和信息化局", "12月底前")
    assert first.rows[5] == ("3", "培训补贴发放率", "市财政局", "", "95%")
    assert (4, 2) in first.merged_down
    assert second.name == "工作表“考核指标”"
    assert second.rows == (("指标", "目标值", "截止日期"), ("培训人数", "30000", "2021年12月31日"))
    assert "2020年重点工作任务分解表" in document.text


# ── web pages ─────────────────────────────────────────────────────────────────────────────────────────────


def test_html_rowspan_and_colspan_are_expanded_and_a_gb2312_page_is_decoded_by_its_meta_tag():
    page = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>关于印发重点工作分工的通知</title><script>var t = "<table><tr><td>x</td></tr></table>";</script></head>
<body><table width="100%"><tr><td>
  <p>发布日期:2020-03-02</p>
  <table border="1">
    <tr><th rowspan="2">序号</th><th rowspan="2">工作任务</th><th colspan="2">责任单位</th>
        <th rowspan="2">完成时限</th></tr>
    <tr><th>牵头单位</th><th>配合单位</th></tr>
    <tr><td>1</td><td>建设实训基地</td><td rowspan="2">市人力资源社会保障局</td><td>市财政局<br>市教育局</td>
        <td>6月底前</td></tr>
    <tr><td>2</td><td>开展培训</td><td>市总工会</td><td>持续推进</td></tr>
    <tr><td>3<td>拨付资金<td>市财政局<td><td rowspan="99999">年内</tr>
  </table>
</td><td>右栏</td></tr></table></body></html>"""
    document = read_document(page.encode("gb18030"), "通知.htm")
    assert document.kind == "html"
    (table,) = document.tables  # the page's layout table, of one row, is not a table to read
    assert table.rows == (
        ("序号", "工作任务", "责任单位", "责任单位", "完成时限"),
        ("序号", "工作任务", "牵头单位", "配合单位", "完成时限"),
        ("1", "建设实训基地", "市人力资源社会保障局", "市财政局\n市教育局", "6月底前"),
        ("2", "开展培训", "市人力资源社会保障局", "市总工会", "持续推进"),
        ("3", "拨付资金", "市财政局", "", "年内"),
    )
    assert {(1, 0), (1, 1), (1, 4), (3, 2)} <= table.merged_down and (0, 3) not in table.merged_down
    assert "关于印发重点工作分工的通知" in document.text and "var t" not in document.text
    assert "发布日期:2020-03-02" in document.text  # the layout table's text is the page's text


# ── refusals ──────────────────────────────────────────────────────────────────────────────────────────────


def test_a_pdf_without_a_text_layer_is_refused_as_a_scan():
    drawn = minimal_pdf(b"0.5 w 50 50 m 500 50 l 500 700 l 50 700 l h S 50 400 m 500 400 l S 100 100 200 200 re f")
    assert "没有文字层" in refusal(drawn, "扫描件.pdf") and "文字识别" in refusal(drawn, "扫描件.pdf")


def test_a_pdf_that_needs_a_password_is_refused_saying_so():
    locked = minimal_pdf(b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET", user_password="secret")
    with pdfplumber.open(io.BytesIO(locked), password="secret") as pdf:  # the fixture is a real encrypted PDF
        assert pdf.pages[0].extract_text() == "Hello"
    message = refusal(locked, "加密.pdf")
    assert "设有打开密码" in message and "另存为不加密的 PDF" in message


def test_a_pdf_whose_chinese_font_has_no_unicode_map_is_refused():
    unmapped = minimal_pdf(b"BT /F1 24 Tf 72 700 Td <4E2D6587> Tj ET", font="cid")
    assert "字体无法提取文字" in refusal(unmapped, "分工.pdf")


def test_a_corrupt_pdf_is_refused_as_damaged():
    assert "文件已损坏或不是 PDF 文件" in refusal(b"%PDF-1.7\n1 0 obj << /Type /Catalog", "分工.pdf")


def test_an_encrypted_docx_which_is_an_ole_file_holding_an_encrypted_package_is_refused():
    message = refusal(ole_file("EncryptionInfo", "EncryptedPackage"), "分工.docx")
    assert "设有打开密码" in message and "请先在 Word/WPS 中取消密码后另存" in message


def test_an_old_doc_without_libreoffice_is_refused_saying_how_to_convert_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on this PATH
    message = refusal(ole_file("WordDocument", "1Table"), "分工.doc")
    assert "旧版 Word/WPS" in message and "在 WPS 或 Word 中另存为 .docx 后再导入" in message
    assert "LibreOffice" in message
    assert "另存为 .xlsx" in refusal(ole_file("Workbook"), "分工.et")


def test_a_corrupt_zip_named_docx_is_refused_as_damaged():
    data = seed_docx_bytes()[:3000]  # the start of a real .docx: its central directory is gone
    assert "文件已损坏或不是 Word 文件" in refusal(data, "分工.docx")


def test_a_zip_bomb_named_docx_is_refused_before_anything_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/image1.png", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(1024):  # 1 GB of zeros, a few MB packed
                member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 10 * 1024 * 1024
    message = refusal(data, "分工.docx")
    assert "压缩炸弹" in message and "64 MB" in message


def test_a_file_over_the_size_bound_is_refused_before_it_is_parsed():
    data = b"%PDF-1.7\n" + bytes(25 * 1024 * 1024)  # would be a corrupt PDF, if it were parsed
    message = refusal(data, "大文件.pdf")
    assert "25.0 MB" in message and "20 MB 的上限" in message


def test_a_zip_that_is_neither_word_nor_excel_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("照片/现场.jpg", b"\xff\xd8\xff")
    assert "不是 Word(.docx)或 Excel(.xlsx)文件" in refusal(buffer.getvalue(), "分工.docx")


def test_binary_bytes_that_are_no_known_format_are_refused_not_read_as_text():
    assert "不是可读的文本" in refusal(bytes(range(256)) * 4, "分工.dat")


# ── text, sniffed by content ──────────────────────────────────────────────────────────────────────────────


def test_gb18030_text_is_sniffed_as_text_whatever_its_name():
    text = Path(__file__).parent / "fixtures" / "import" / "guigang-skills-2019.txt"
    document = read_document(text.read_text(encoding="utf-8").encode("gb18030"), "分工.docx")
    assert document.kind == "text" and any(len(t.rows) > 40 for t in document.tables)
    assert "贵政办发〔2019〕24号" in document.text


def test_a_web_page_named_doc_is_read_as_a_web_page(seed_rows):
    document = read_document(seed_html().encode("utf-8"), "分工.doc")
    assert document.kind == "html" and body_after_header(document.tables[0]) == seed_rows


# ── helpers ───────────────────────────────────────────────────────────────────────────────────────────────


def seed_docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(TITLE)
    document.save(buffer)
    return buffer.getvalue()


def test_an_old_doc_is_converted_through_libreoffice_when_it_is_installed_and_read_as_word(monkeypatch, tmp_path):
    """LibreOffice is an outside program (not installed on these machines: it weighs hundreds of MB). A stand-in
    `soffice` on PATH answers as it does: it writes <outdir>/<name>.docx for `--convert-to docx --outdir DIR FILE`
    (here, a real Word file of the seed's table, as LibreOffice would make of a .doc), and checks it was asked for
    that conversion, headless, with a profile of its own."""
    converted = seed_docx(tmp_path / "converted.docx")
    fake = tmp_path / "bin" / "soffice"
    fake.parent.mkdir()
    fake.write_text(f"""#!{sys.executable}
import shutil, sys
from pathlib import Path
args = sys.argv[1:]
assert "--headless" in args and any(a.startswith("-env:UserInstallation=file://") for a in args), args
target = args[args.index("--convert-to") + 1]
outdir, source = Path(args[args.index("--outdir") + 1]), Path(args[-1])
assert target == "docx" and source.suffix == ".doc" and source.is_file(), args
shutil.copy({str(converted)!r}, outdir / (source.stem + ".docx"))
""", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    document = read_document(ole_file("WordDocument", "1Table"), "分工.doc")
    assert document.kind == "docx" and len(body_after_header(document.tables[0])) == 46
