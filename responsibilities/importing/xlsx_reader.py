"""Excel (.xlsx) workbooks: each visible sheet with content is one table, its used range trimmed of empty rows and
columns at the edges; every row kept (a title row above the header too: importing.reading finds the header).

openpyxl gives None for the cells a merge covers; ``ws.merged_cells.ranges`` says which, and the merge's value is
written into each of them, as a person reads the printed sheet. That needs the full (not read-only) workbook, so the
archive's size is checked before opening (importing.formats). Cached formula values are read, not formulas. A number
is written as a person reads it, a date as "2019年10月31日" (the way a deadline is written in a plan, so that the
deadline parser reads it).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time

from openpyxl import load_workbook

from responsibilities.importing.tables import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_TABLES,
    Document,
    DocumentUnreadable,
    Table,
    clean_cell,
)

TITLE_ROWS = 5  # rows at a sheet's top searched for its title, for the document's text


def read_xlsx(data: bytes, file_name: str) -> Document:
    try:
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise DocumentUnreadable(f"{file_name}:文件已损坏或不是 Excel 文件(.xlsx):请在 Excel 或 WPS 中打开后"
                                 "重新另存为 .xlsx 再导入") from None
    try:
        tables, text, notes, total = [], [], [], 0
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                notes.append(f"隐藏的工作表“{sheet.title}”未读取")
                continue
            table = _sheet_table(sheet, file_name)
            if table is None:
                continue
            total += len(table.rows)
            if total > MAX_ROWS or len(tables) >= MAX_TABLES:
                raise DocumentUnreadable(f"{file_name} 的表格共超过 {MAX_ROWS} 行:请分批导入")
            tables.append(table)
            text.append(sheet.title)
            text.extend(_title_lines(table))
    finally:
        book.close()
    return Document(file_name, "xlsx", tuple(tables), "\n".join(text), tuple(notes))


def _sheet_table(sheet, file_name: str) -> Table | None:
    # The cells that hold something: openpyxl's max_row/max_column count styled empty cells too (a whole column
    # formatted reaches row 1,048,576), so the used range is taken from the cells with values.
    values: dict[tuple[int, int], str] = {}
    for (row, column), cell in sheet._cells.items():  # private, but the only way not to walk empty styled cells
        text = _cell_text(cell.value, cell.number_format)
        if text:
            values[(row, column)] = text
    merged_down: set[tuple[int, int]] = set()
    covered: dict[tuple[int, int], tuple[str, bool]] = {}
    for merge in sheet.merged_cells.ranges:
        value = values.get((merge.min_row, merge.min_col), "")
        if not value:
            continue
        if (merge.max_row - merge.min_row + 1) * (merge.max_col - merge.min_col + 1) > MAX_ROWS * MAX_COLUMNS:
            raise DocumentUnreadable(f"{file_name} 的工作表“{sheet.title}”有过大的合并单元格:请检查文件")
        for row in range(merge.min_row, merge.max_row + 1):
            for column in range(merge.min_col, merge.max_col + 1):
                covered[(row, column)] = (value, row > merge.min_row)
    for position, (value, down) in covered.items():
        values[position] = value
        if down:
            merged_down.add(position)
    if not values:
        return None
    rows = [r for r, _ in values]
    columns = [c for _, c in values]
    top, bottom, left, right = min(rows), max(rows), min(columns), max(columns)
    name = f"工作表“{sheet.title}”"
    if right - left + 1 > MAX_COLUMNS:
        raise DocumentUnreadable(f"{file_name} 的{name}有 {right - left + 1} 列,超过 {MAX_COLUMNS} 列,"
                                 "不像分工表:请删去表格以外的内容后再导入")
    if bottom - top + 1 > MAX_ROWS:
        raise DocumentUnreadable(f"{file_name} 的{name}超过 {MAX_ROWS} 行:请分批导入")
    grid = tuple(tuple(values.get((r, c), "") for c in range(left, right + 1)) for r in range(top, bottom + 1))
    return Table(name, grid, tuple(f"{name}第 {r} 行" for r in range(top, bottom + 1)),
                 frozenset((r - top, c - left) for r, c in merged_down))


def _title_lines(table: Table) -> list[str]:
    """The rows above the table proper at a sheet's top: those with one cell (a title merged across is one)."""
    lines = []
    for row in table.rows[:TITLE_ROWS]:
        distinct = {cell for cell in row if cell}
        if len(distinct) != 1:
            break
        lines.append(distinct.pop())
    return lines


def _cell_text(value, number_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return f"{value.year}年{value.month}月{value.day}日"
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            return f"{value * 100:g}%"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return clean_cell(str(value))
