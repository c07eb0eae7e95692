"""The monthly report as a spreadsheet (月报表), because that is how counties report: a blank form to fill in,
and reading filled ones back.

The form: a sheet 「月报表」 whose first row is the header (地区编号, 地区, 月份, one column per field of the plan,
备注) and one row per region (a region's own form has one row, the office's form one per region), plus a sheet
「填表说明」 that says how to fill it in. Reading checks every cell and reports each problem by sheet, row and
column; a workbook with any problem imports nothing (``figures_service.record_many`` then checks the rows
against the database in one transaction). Every sheet but 「填表说明」 is read, so several forms may be pasted
into one workbook as sheets of their own.
"""

from __future__ import annotations

import re
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Sequence

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from responsibilities.figures.rules import Field, month_key, parse_month, validate_figures
from responsibilities.figures.service import FiguresEntry, FiguresInvalid

FORM_SHEET = "月报表"
HELP_SHEET = "填表说明"
LEADING = ("地区编号", "地区", "月份")
TRAILING = ("备注",)
# A filled form is a few kilobytes (the office's, one row per region, some tens): the bounds are far above that
# and far below what would hold the server. An XLSX is a ZIP of XML: the bytes uploaded say little about the work,
# so the archive's members are bounded first (what they unpack to), then rows and cells while reading, in
# openpyxl's read-only (streaming) mode, and the whole read has a time budget.
MAX_BYTES = 5 * 1024 * 1024  # the upload
MAX_MEMBERS = 64  # files inside the archive
MAX_MEMBER_BYTES = 2 * 1024 * 1024  # one unpacked member (a sheet's XML; ~130,000 cells at the least per cell)
MAX_UNPACKED_BYTES = 8 * 1024 * 1024  # all members unpacked
MAX_SHEETS = 20
MAX_ROWS = 200  # rows of one sheet under its header
READ_SECONDS = 10.0  # the read gives up after this long, whatever the file
HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")


def headers(fields: Sequence[Field]) -> list[str]:
    return [*LEADING, *(f.name for f in fields), *TRAILING]


# ── the blank form ───────────────────────────────────────────────────────────────────────────────


def render_template(fields: Sequence[Field], regions: Sequence[tuple[str, str]], month: date, *,
                    title: str, receiver: str, due: date | None) -> bytes:
    """A form for ``month`` with one row per (region id, region name)."""
    workbook = Workbook()
    workbook.properties.title = f"{title} {month.year}年{month.month}月"
    sheet = workbook.active
    sheet.title = FORM_SHEET
    names = headers(fields)
    sheet.append(names)
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for region_id, region_name in regions:
        sheet.append([region_id, region_name, month_key(month), *([None] * len(fields)), None])
    first, last = len(LEADING) + 1, len(LEADING) + len(fields)
    if regions:
        numbers = f"{get_column_letter(first)}2:{get_column_letter(last)}{len(regions) + 1}"
        check = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                               showErrorMessage=True, errorTitle="人次须为非负整数",
                               error="请填写 0 或正整数(人次)。")
        sheet.add_data_validation(check)
        check.add(numbers)
        for row in sheet.iter_rows(min_row=2, min_col=first, max_col=last + 1):
            for cell in row:
                cell.fill = INPUT_FILL
                cell.number_format = "0" if cell.column <= last else "@"
    for column, name in enumerate(names, 1):
        width = max(8, min(30, sum(2 if ord(ch) > 0x2E7F else 1 for ch in name) + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.row_dimensions[1].height = 45
    sheet.freeze_panes = sheet.cell(row=2, column=len(LEADING) + 1)
    _help_sheet(workbook.create_sheet(HELP_SHEET), fields, month, receiver, due)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _help_sheet(sheet, fields: Sequence[Field], month: date, receiver: str, due: date | None) -> None:
    lines = [f"{month.year}年{month.month}月职业技能提升行动月报表",
             f"报送:{receiver}" + (f",{due.year}年{due.month}月{due.day}日前" if due else ""),
             "每格填写本月培训人次(0 或正整数,没有培训的类别填 0),不要合并单元格,不要改动表头、地区编号和月份。",
             "分类之间的关系(部分之和不得大于其总数):"]
    for whole in fields:
        parts = [f.name for f in fields if f.part_of == whole.id]
        if parts:
            lines.append(f"  「{whole.name}」≥ " + " + ".join(f"「{p}」" for p in parts))
    lines.append("导入:duban figures import 文件.xlsx,或在网页的月报页面上传;有任何错误时不导入任何数据。")
    for line in lines:
        sheet.append([line])
    sheet.column_dimensions["A"].width = 100
    sheet["A1"].font = Font(bold=True)


# ── reading filled forms ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ReadResult:
    entries: list[FiguresEntry]
    skipped: list[str]  # rows left blank (a region that has not filled its row in), as locations


def _where(sheet: str, row: int) -> str:
    return f"工作表「{sheet}」第{row}行"


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return "" if value is None else str(value).strip()


NOT_A_WORKBOOK = "无法读取:文件不是 Excel 工作簿(.xlsx)。请用 duban figures template 生成的表格填报"
_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([^"]{1,32})"')


def check_archive(data: bytes) -> None:
    """Refuse, before anything is unpacked, a file that is not a ZIP or that unpacks to more than a form can."""
    if len(data) > MAX_BYTES:
        raise FiguresInvalid([f"文件过大({len(data) // 1024} KB):月报表不应超过 {MAX_BYTES // 1024 // 1024} MB"])
    try:
        members = zipfile.ZipFile(BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FiguresInvalid([NOT_A_WORKBOOK]) from None
    too_big = [m for m in members if m.file_size > MAX_MEMBER_BYTES]
    if (len(members) > MAX_MEMBERS or too_big
            or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES):
        raise FiguresInvalid([f"文件解压后过大(含 {len(members)} 个部件,共 "
                              f"{sum(m.file_size for m in members) // 1024 // 1024} MB):月报表解压后不超过 "
                              f"{MAX_UNPACKED_BYTES // 1024 // 1024} MB,每个工作表不超过 "
                              f"{MAX_MEMBER_BYTES // 1024 // 1024} MB。请用月报表模板填写,不要粘贴大量数据"])
    if any(m.flag_bits & 0x1 for m in members):
        raise FiguresInvalid(["文件已加密:请取消密码保护后再上传"])


def read_filled(data: bytes, fields: Sequence[Field], *, seconds: float = READ_SECONDS) -> ReadResult:
    """Every row of every form sheet as an entry; raises FiguresInvalid listing every problem found."""
    check_archive(data)
    deadline = time.monotonic() + seconds
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise FiguresInvalid([NOT_A_WORKBOOK]) from None
    try:
        return _read_sheets(workbook, data, fields, deadline)
    except FiguresInvalid:
        raise
    except Exception:  # noqa: BLE001 - a malformed sheet fails inside openpyxl's parser in many ways
        raise FiguresInvalid([NOT_A_WORKBOOK]) from None
    finally:
        workbook.close()


def _read_sheets(workbook, data: bytes, fields: Sequence[Field], deadline: float) -> ReadResult:
    problems: list[str] = []
    entries: list[FiguresEntry] = []
    skipped: list[str] = []
    sheets = [s for s in workbook.worksheets if s.title != HELP_SHEET]
    if not sheets:
        raise FiguresInvalid([f"工作簿中没有月报表(工作表「{FORM_SHEET}」)"])
    if len(sheets) > MAX_SHEETS:
        raise FiguresInvalid([f"工作簿有 {len(sheets)} 个工作表:最多 {MAX_SHEETS} 个"])
    for sheet in sheets:
        entries += _read_sheet(sheet, data, fields, problems, skipped, deadline)
    if problems:
        raise FiguresInvalid(problems)
    return ReadResult(entries, skipped)


def _read_sheet(sheet, data: bytes, fields: Sequence[Field], problems: list[str], skipped: list[str],
                deadline: float) -> list[FiguresEntry]:
    name, expected = sheet.title, headers(fields)
    for merged in _merged_cells(data, sheet):
        problems.append(f"工作表「{name}」{merged}:有合并单元格,请取消合并,每格只填一个数")
    sheet.reset_dimensions()  # read every row there is, not only those the sheet's own <dimension> claims
    rows = sheet.iter_rows(max_col=len(expected) + 5, values_only=True)
    found = [_text(v) for v in next(rows, ())]
    while found and not found[-1]:
        found.pop()
    if found != expected:
        problems += _header_problems(name, found, expected)
        return []  # the columns cannot be trusted: no row of this sheet is read
    entries = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            problems.append(f"工作表「{name}」超过 {MAX_ROWS} 行:月报表最多 {MAX_ROWS} 行")
            break
        if time.monotonic() > deadline:
            raise FiguresInvalid([f"读取超时:工作表「{name}」读到第 {number} 行仍未读完。请用月报表模板填写"])
        entry = _read_row(name, number, values, fields, len(expected), problems, skipped)
        if entry is not None:
            entries.append(entry)
    return entries


def _merged_cells(data: bytes, sheet) -> list[str]:
    """The sheet's merged ranges, from its XML (read-only mode does not keep them); the XML is bounded above."""
    path = getattr(sheet, "_worksheet_path", None)  # openpyxl's read-only sheet knows its member's name
    if not path:
        return []
    with zipfile.ZipFile(BytesIO(data)) as archive:
        xml = archive.read(path.lstrip("/"))
    return sorted(m.decode("ascii", "replace") for m in _MERGED.findall(xml))


def _header_problems(name: str, found: list[str], expected: list[str]) -> list[str]:
    problems = []
    for column in range(1, max(len(found), len(expected)) + 1):
        want = expected[column - 1] if column <= len(expected) else None
        got = found[column - 1] if column <= len(found) else ""
        if want != got:
            cell = f"{get_column_letter(column)}1"
            problems.append(f"工作表「{name}」{cell}:表头应为「{want}」,实为「{got[:40]}」" if want else
                            f"工作表「{name}」{cell}:多出的表头「{got[:40]}」,请删除该列")
    return problems


def _read_row(sheet: str, number: int, row: tuple, fields: Sequence[Field], width: int, problems: list[str],
              skipped: list[str]) -> FiguresEntry | None:
    where = _where(sheet, number)
    values = {column: row[column - 1] if column <= len(row) else None for column in range(1, width + 6)}
    if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
        return None  # an empty row under the form
    for column in range(width + 1, width + 6):
        if values[column] not in (None, ""):
            extra = _text(values[column])[:40]
            problems.append(f"{where} {get_column_letter(column)}{number}:表头之外有数据「{extra}」")
    region = _text(values[1])
    month = parse_month(values[3])
    if not region:
        problems.append(f"{where} A{number}:「地区编号」未填写")
    if month is None:
        problems.append(f"{where} C{number}:「月份」应写作 YYYY-MM(如 2020-03),实为「{_text(values[3])[:40]}」")
    first = len(LEADING) + 1
    raw = {f.id: values[first + i] for i, f in enumerate(fields)}
    if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw.values()):
        skipped.append(f"{where}({region or '?'})")
        return None  # a region that has not filled its row in: not an error, nothing to import
    refs = {f.id: f"{get_column_letter(first + i)}{number}" for i, f in enumerate(fields)}
    _, value_problems = validate_figures(fields, raw)
    for problem in value_problems:
        problems.append(f"{where} {refs[problem.field]}:{problem.message}" if problem.field
                        else f"{where}:{problem.message}")
    note = _text(values[width])
    if not region or month is None:
        return None
    return FiguresEntry(region, month, raw, note or None, where=where, cells=refs)


# ── with the database ────────────────────────────────────────────────────────────────────────────


def form_for(session_factory, *, month: date, regions: Sequence[str] | None = None) -> bytes:
    """The blank form for ``month`` for the given regions (default: every region that owes reports)."""
    from sqlalchemy import select

    from responsibilities.errors import InvalidInput
    from responsibilities.figures.rules import fields_of
    from responsibilities.figures.service import figures_settings, reporting_regions
    from responsibilities.storage.db import read_session
    from responsibilities.storage.model import Deliverable, ObligationRecord, UnitRecord

    with read_session(session_factory) as session:
        settings = figures_settings(session)
        owing = reporting_regions(session, settings.obligation)
        chosen = list(regions or owing)
        unknown = [r for r in chosen if r not in owing]
        if unknown:
            raise InvalidInput(f"{'、'.join(unknown)} 不报送月报:报送月报的地区为 " +
                               "、".join(f"{n}({r})" for r, n in owing.items()))
        dues = session.execute(select(Deliverable.due).join(ObligationRecord).where(
            ObligationRecord.plan_id == settings.plan, ObligationRecord.declared_id == settings.obligation,
            Deliverable.period == month_key(month),
            Deliverable.retired.is_(False))).scalars().all()
        if not dues:
            months = session.execute(select(Deliverable.period).join(ObligationRecord).where(
                ObligationRecord.plan_id == settings.plan, ObligationRecord.declared_id == settings.obligation,
                Deliverable.retired.is_(False))
                .order_by(Deliverable.period)).scalars().all()
            raise InvalidInput(f"{month_key(month)} 不在方案实施期内:月报覆盖 {months[0]} 至 {months[-1]}"
                               if months else "方案中没有月报")
        receiver = session.get(UnitRecord, settings.receiver)
        return render_template(fields_of(settings.fields), [(r, owing[r]) for r in chosen], month,
                               title="职业技能提升行动月报表", receiver=receiver.short_name if receiver else "",
                               due=min(dues))


def import_form(session_factory, *, actor: str, data: bytes, now: datetime, reason: str | None = None,
                source: str = "xlsx"):  # (recorded, skipped)
    """Read a filled workbook and record every row in one transaction, or nothing (FiguresInvalid)."""
    from responsibilities.figures.rules import fields_of
    from responsibilities.figures.service import figures_settings, record_many
    from responsibilities.storage.db import read_session

    with read_session(session_factory) as session:
        fields = fields_of(figures_settings(session).fields)
    result = read_filled(data, fields)
    recorded = record_many(session_factory, actor=actor, entries=result.entries, now=now, source=source,
                           reason=reason)
    return recorded, result.skipped
