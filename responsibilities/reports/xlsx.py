"""The year-end summary and the bulletin as spreadsheets: one sheet per section, Chinese headers, real numbers and
dates.

Numbers are stored as numbers (rates as fractions shown with a percentage format, dates as dates), so the
office can sort, filter and sum them; an empty cell means "nothing to compute" (no rate, no late days).
"""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any, Callable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from responsibilities.reports.bulletin import Bulletin, Tally
from responsibilities.reports.html import bulletin_rules
from responsibilities.reports.summary import Counts, YearSummary
from responsibilities.vocabulary import BULLETIN_OUTCOME_NAMES, PROGRESS_NAMES, STATE_NAMES

PERCENT, DAYS, DATE, INTEGER = "0.0%", "0.0", "yyyy-mm-dd", "0"
HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")
WRAPPED_MAX_WIDTH = 60  # columns of long text (tasks) wrap at this width


def _counts_row(c: Counts) -> list[Any]:
    return [c.due, c.on_time, c.late, c.average_days_late, c.max_days_late, c.overdue, c.awaiting_review,
            c.waived, c.not_yet_due, c.extensions_granted, c.on_time_rate]


COUNT_HEADERS = ["应办", "按时办结", "逾期办结", "平均逾期天数", "最长逾期天数", "逾期未办结", "其中待审核",
                 "免报", "未到期", "批准延期", "按时办结率"]
COUNT_FORMATS = [INTEGER] * 3 + [DAYS] + [INTEGER] * 6 + [PERCENT]


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (date, datetime)):
        return 10
    if isinstance(value, float):
        return 7
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK characters take two columns


def _table(sheet: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Sequence[str | None], wrap: Sequence[int] = ()) -> None:
    """Headers (bold, frozen) over rows; ``formats`` per column; ``wrap`` the 1-based columns of long text."""
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(list(row))
    for column, fmt in enumerate(formats, 1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            if fmt is not None:
                cell.number_format = fmt
            if column in wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column in range(1, len(headers) + 1):
        values = [headers[column - 1], *(row[column - 1] for row in rows)]
        width = max(_display_width(v) for v in values) + 2
        limit = WRAPPED_MAX_WIDTH if column in wrap else 40
        sheet.column_dimensions[get_column_letter(column)].width = max(8, min(width, limit))
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions


def _units_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    ranks = {entry.unit_id: entry.rank for entry in summary.ranking}
    rows = [[ranks.get(u.unit_id), u.unit_id, u.unit_name, *_counts_row(u)] for u in summary.units]
    _table(sheet, ["排名", "单位编号", "牵头单位", *COUNT_HEADERS], rows, [INTEGER, None, None, *COUNT_FORMATS])


def _totals_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    t = summary.totals
    rows: list[list[Any]] = [["年度", summary.year], ["统计截至", summary.as_of],
                             ["牵头单位数", len(summary.units)],
                             *([h, v] for h, v in zip(COUNT_HEADERS, _counts_row(t), strict=True))]
    formats = {"统计截至": DATE, **dict(zip(COUNT_HEADERS, COUNT_FORMATS, strict=True))}
    _table(sheet, ["项目", "数值"], rows, [None, None])
    for row in sheet.iter_rows(min_row=2):
        row[1].number_format = formats.get(row[0].value, INTEGER)
        row[1].alignment = Alignment(horizontal="right")


def _ranking_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    rows = [[e.rank, e.unit_name, e.on_time_rate, e.overdue] for e in summary.ranking]
    _table(sheet, ["名次", "牵头单位", "按时办结率", "逾期未办结"], rows, [INTEGER, None, PERCENT, INTEGER])


def _red_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    rows = [[i, r.ref, r.unit_name, r.task, r.original_due, r.due, r.days_overdue, STATE_NAMES.get(r.state, r.state)]
            for i, r in enumerate(summary.red_items, 1)]
    _table(sheet, ["序号", "事项编号", "牵头单位", "工作任务", "原定时限", "现时限", "逾期天数", "状态"], rows,
           [INTEGER, None, None, None, DATE, DATE, INTEGER, None], wrap=(4,))


def _share_text(met: bool | None) -> str | None:
    return None if met is None else ("达标" if met else "未达标")




def _regions_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    n = summary.numbers
    ranks = {e.region: e.rank for e in n.ranking}
    field_names = [f.name for f in n.fields]
    rows = [[ranks.get(r.region), r.region, r.region_name, r.year.target, round(r.year.expected), r.year.actual,
             r.year.done, *(r.categories[f.id] for f in n.fields), r.cumulative.actual, r.cumulative.target,
             r.cumulative.done, r.enterprise_share, _share_text(r.share_met), r.year.months_on_time,
             r.year.months_elapsed, "、".join(r.year.months_missing) or None, PROGRESS_NAMES.get(r.light, r.light)]
            for r in n.regions]
    headers = ["名次", "地区编号", "地区", "年度目标", "序时进度", "年度完成", "年度完成率", *field_names, "三年累计",
               "三年目标", "三年完成率", "企业职工占比", "企业职工占比≥50%", "按时报送月数", "应报月数", "缺报月份",
               "状态"]
    formats = [INTEGER, None, None, INTEGER, INTEGER, INTEGER, PERCENT, *([INTEGER] * len(field_names)), INTEGER,
               INTEGER, PERCENT, PERCENT, None, INTEGER, INTEGER, None, None]
    _table(sheet, headers, rows, formats)


def _numbers_totals_sheet(sheet: Worksheet, summary: YearSummary) -> None:
    n = summary.numbers
    yt, ct = n.year_total, n.cumulative_total
    rows: list[list[Any]] = [[f"{summary.year}年培训(总计)", yt.target, round(yt.expected), yt.actual, yt.done],
                             ["三年培训(总计)", ct.target, round(ct.expected), ct.actual, ct.done]]
    rows += [[f"{c.name}(三年,{c.unit_of_measure})", c.target, None, c.actual, c.done] for c in n.categories]
    rows += [[f"{summary.year}年 {f.name}", None, None, n.year_categories[f.id], None] for f in n.fields]
    _table(sheet, ["目标", "目标值", "序时进度", "完成", "完成率"], rows, [None, INTEGER, INTEGER, INTEGER, PERCENT])


def render_xlsx(summary: YearSummary) -> bytes:
    sections = (("单位情况", _units_sheet), ("全市合计", _totals_sheet), ("排名", _ranking_sheet),
                ("红色事项", _red_sheet))
    if summary.numbers is not None:
        sections += (("各地区培训目标", _regions_sheet), ("全市培训目标", _numbers_totals_sheet))
    return _workbook(summary.title, f"{summary.plan_title}({summary.document_number})", sections, summary)


def _workbook(title: str, subject: str, sections: Sequence[tuple[str, Callable[[Any, Any], None]]],
              report: Any) -> bytes:
    """A workbook of one sheet per section, each filled from ``report``, as the bytes of an .xlsx file."""
    workbook = Workbook()
    workbook.properties.title, workbook.properties.subject = title, subject
    workbook.remove(workbook.active)
    for sheet_title, fill in sections:
        fill(workbook.create_sheet(sheet_title), report)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


# ── the bulletin ─────────────────────────────────────────────────────────────────────────────────


def _tally_row(t: Tally) -> list[Any]:
    return [t.items, t.on_time, t.late, t.overdue, t.days_overdue, t.most_days_overdue if t.overdue else None,
            t.returned, t.waived, t.not_yet_due, t.on_time_rate]


def _tally_headers() -> list[str]:
    n = BULLETIN_OUTCOME_NAMES
    return ["应报送", n["on_time"], n["late"], n["overdue"], "逾期天数合计", "最长逾期天数", n["returned"], n["waived"],
            n["not_yet_due"], f"{n['on_time']}率"]


TALLY_FORMATS = [INTEGER] * 9 + [PERCENT]


def _bulletin_units_sheet(sheet: Worksheet, b: Bulletin) -> None:
    rows = [[u.rank, u.unit_id, u.unit_name, *_tally_row(u)] for u in b.units]
    _table(sheet, ["排名", "单位编号", "牵头单位", *_tally_headers()], rows, [INTEGER, None, None, *TALLY_FORMATS])


def _bulletin_totals_sheet(sheet: Worksheet, b: Bulletin) -> None:
    rows: list[list[Any]] = [["统计期", b.period.label], ["起始日", b.period.start], ["截止日", b.period.end],
                             ["统计截至", b.as_of], ["牵头单位数", len(b.units)],
                             *([h, v] for h, v in zip(_tally_headers(), _tally_row(b.totals), strict=True))]
    formats = {"起始日": DATE, "截止日": DATE, "统计截至": DATE, "统计期": None,
               **dict(zip(_tally_headers(), TALLY_FORMATS, strict=True))}
    _table(sheet, ["项目", "数值"], rows, [None, None])
    for row in sheet.iter_rows(min_row=2):
        fmt = formats.get(row[0].value, INTEGER)
        if fmt is not None:
            row[1].number_format = fmt
        row[1].alignment = Alignment(horizontal="right")


def _bulletin_worst_sheet(sheet: Worksheet, b: Bulletin) -> None:
    rows = [[g.rank, g.unit_name, i.ref, i.plan_name, i.task, i.original_due, i.due, i.days_overdue]
            for g in b.worst for i in g.items]
    _table(sheet, ["排名", "牵头单位", "事项编号", "工作方案", "工作任务", "原定时限", "现时限", "逾期天数"], rows,
           [INTEGER, None, None, None, None, DATE, DATE, INTEGER], wrap=(5,))
    if b.overdue_not_listed:
        sheet.append([])
        sheet.append([f"另有 {b.overdue_not_listed} 项{BULLETIN_OUTCOME_NAMES['overdue']}事项未列出"
                      "(只列逾期天数最多的),各单位项数见“各单位情况”"])


def _bulletin_rules_sheet(sheet: Worksheet, b: Bulletin) -> None:
    _table(sheet, ["序号", "统计口径"], [[i, rule] for i, rule in enumerate(bulletin_rules(b), 1)], [INTEGER, None],
           wrap=(2,))


def _bulletin_empty_sheet(sheet: Worksheet, b: Bulletin) -> None:
    rows: list[list[Any]] = [["统计期", b.period.label], ["统计截至", b.as_of],
                             ["说明", f"{b.period.label}没有应报送的事项,也没有此前到期、在此期间仍未报送的事项,"
                                      "本期无需通报。"]]
    _table(sheet, ["项目", "内容"], rows, [None, None], wrap=(2,))
    sheet["B3"].number_format = DATE


def render_bulletin_xlsx(bulletin: Bulletin) -> bytes:
    """Four sheets (the units ranked, the totals, the worst overdue items by unit, the counting rules); a period
    with nothing to report is one sheet that says so."""
    sections = ((("督查通报", _bulletin_empty_sheet),) if bulletin.empty else
                (("各单位情况", _bulletin_units_sheet), ("合计", _bulletin_totals_sheet),
                 (BULLETIN_OUTCOME_NAMES["overdue"] + "事项", _bulletin_worst_sheet),
                 ("统计口径", _bulletin_rules_sheet)))
    return _workbook(bulletin.title, f"{bulletin.title}(统计截至 {bulletin.as_of.isoformat()})", sections, bulletin)
