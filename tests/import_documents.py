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
    """The page of ``seed_html`` printed to PDF by Chromium: a real Chinese text layer (Noto CJK), ruled cells, the
    table over several pages with the header repeated on each (<thead>). Generated when a test runs (Chromium is
    needed: the tests that call it are marked ``browser`` and skipped when DUBAN_SKIP_BROWSER=1)."""
    return print_pdf(seed_html(rows), path)


def print_pdf(page_html: str, path: Path) -> Path:
    """``page_html`` printed to an A4 PDF by the system's Chromium, through Playwright."""
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM_ARGS, chromium_executable

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(page_html, wait_until="load")
            page.pdf(path=str(path), format="A4",
                     margin={"top": "20mm", "bottom": "20mm", "left": "15mm", "right": "15mm"})
        finally:
            browser.close()
    return path


# ── small documents written byte by byte, for the refusals ──────────────────────────────────────────────────

PDF_PADDING = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def minimal_pdf(content: bytes, *, font: str = "helvetica", user_password: str | None = None) -> bytes:
    """A one-page PDF drawing ``content`` (a content stream), written as the specification lays it out (objects,
    cross-reference table, trailer). ``font``: "helvetica" (a standard font) or "cid" (a Chinese font as Identity-H
    glyph ids with no ToUnicode map, as some writers embed SimSun). ``user_password``: encrypted with the standard
    security handler (revision 2, 40-bit RC4), so that a reader needs the password to open it."""
    import hashlib

    if font == "cid":
        fonts = [b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [6 0 R] >>",
                 b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) "
                 b"/Ordering (Identity) /Supplement 0 >> /DW 1000 >>"]
    else:
        fonts = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    file_id = hashlib.md5(content).digest()
    key = None
    encrypt = b""
    if user_password is not None:
        permissions = -44
        owner_key = hashlib.md5((b"owner" + PDF_PADDING)[:32]).digest()[:5]
        padded = (user_password.encode("latin-1") + PDF_PADDING)[:32]
        owner = _rc4(owner_key, padded)
        key = hashlib.md5(padded + owner + permissions.to_bytes(4, "little", signed=True) + file_id).digest()[:5]
        user = _rc4(key, PDF_PADDING)
        encrypt = (b"<< /Filter /Standard /V 1 /R 2 /O <" + owner.hex().encode() + b"> /U <" + user.hex().encode()
                   + b"> /P " + str(permissions).encode() + b" >>")
    stream = content
    if key is not None:  # each object's key: the file key with its number and generation (here object 4, gen 0)
        stream = _rc4(hashlib.md5(key + (4).to_bytes(3, "little") + (0).to_bytes(2, "little")).digest()[:10], content)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               *fonts]
    if encrypt:
        objects.append(encrypt)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R /ID [<{file_id.hex()}> <{file_id.hex()}>]".encode()
    if encrypt:
        trailer += f" /Encrypt {len(objects)} 0 R".encode()
    out += b"trailer\n" + trailer + b" >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n"
    return bytes(out)


def ole_file(*streams: str) -> bytes:
    """An OLE compound file (the container of .doc, .xls, .wps and of encrypted .docx/.xlsx) holding ``streams``,
    each of 4096 bytes in regular sectors: header, one FAT sector, one directory sector, then the streams."""
    sector = 512
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    per_stream = 4096 // sector
    fat = [fat_sector, end]
    for index in range(len(streams)):
        first = 2 + index * per_stream
        fat += [*range(first + 1, first + per_stream), end]
    fat += [free] * (sector // 4 - len(fat))
    header = bytearray(sector)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    header[24:34] = (0x3E).to_bytes(2, "little") + (3).to_bytes(2, "little") + b"\xfe\xff" + \
        (9).to_bytes(2, "little") + (6).to_bytes(2, "little")
    header[44:48] = (1).to_bytes(4, "little")  # FAT sectors
    header[48:52] = (1).to_bytes(4, "little")  # first directory sector
    header[56:60] = (4096).to_bytes(4, "little")  # mini stream cutoff
    header[60:64] = end.to_bytes(4, "little")  # no mini FAT
    header[68:72] = end.to_bytes(4, "little")  # no DIFAT sectors
    header[76:80] = (0).to_bytes(4, "little")  # DIFAT[0]: the FAT is sector 0
    header[80:sector] = b"\xff" * (sector - 80)

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        record = bytearray(128)
        record[0:len(encoded)] = encoded
        record[64:66] = len(encoded).to_bytes(2, "little")
        record[66], record[67] = kind, 1  # black
        record[68:80] = no_stream.to_bytes(4, "little") + right.to_bytes(4, "little") + child.to_bytes(4, "little")
        record[116:120] = start.to_bytes(4, "little")
        record[120:124] = size.to_bytes(4, "little")
        return bytes(record)

    entries = [entry("Root Entry", 5, no_stream, 1 if streams else no_stream, end, 0)]
    for index, name in enumerate(streams):
        right = index + 2 if index + 1 < len(streams) else no_stream  # a chain of right siblings
        entries.append(entry(name, 2, right, no_stream, 2 + index * per_stream, 4096))
    directory = b"".join(entries).ljust(sector, b"\x00")
    data = b"".join(bytes([65 + i]) * 4096 for i in range(len(streams)))
    return bytes(header) + b"".join(v.to_bytes(4, "little") for v in fat) + directory + data
