"""Word (.docx) documents: every table of the body, in order, with merged cells expanded; the paragraphs as text.

python-docx's ``Row.cells`` repeats a cell merged across columns but says nothing of merges down rows, and its grid
lookups raise ("no tc element at grid_offset") on the irregular merges real documents have. So each row's ``w:tc``
elements are walked here: ``w:gridSpan`` says how many grid columns a cell covers, ``w:vMerge`` whether it starts a
merge down (restart) or continues the one above (continue), which takes the text of the cell above it in the same
grid column. A row's ``w:gridBefore``/``w:gridAfter`` (cells missing at its start or end) are blank cells.

Nested tables (a table inside a cell) are flattened into their cell's text, line by line: a division-of-labour
table is never nested, and a cell holding a small table keeps its words where a person sees them.

A table split over pages is one table in the file; the rows marked ``w:tblHeader`` are the ones Word repeats on
each page, and they are in the file once. Several tables are several ``Table``s.
"""

from __future__ import annotations

import io

from docx import Document as open_docx
from docx.oxml.ns import qn

from responsibilities.importing.tables import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_TABLES,
    Document,
    DocumentUnreadable,
    Table,
    clean_cell,
    rectangular,
)

MAX_TEXT_CHARS = 200_000
W_P, W_TBL, W_TR, W_TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
W_T, W_TAB, W_BR, W_CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
W_VAL, W_SDT = qn("w:val"), qn("w:sdt")


def read_docx(data: bytes, file_name: str) -> Document:
    try:
        body = open_docx(io.BytesIO(data)).element.body
    except Exception:  # noqa: BLE001 - python-docx raises KeyError, XMLSyntaxError, ValueError… on a damaged file
        raise DocumentUnreadable(f"{file_name}:文件已损坏或不是 Word 文件(.docx),请在 Word 或 WPS 中打开后"
                                 "重新另存为 .docx 再导入") from None
    tables, text, text_chars, total_rows = [], [], 0, 0
    for element in _blocks(body):
        if element.tag == W_P:
            if text_chars < MAX_TEXT_CHARS:
                text.append(_paragraph_text(element))
                text_chars += len(text[-1]) + 1
        elif element.tag == W_TBL:
            if len(tables) >= MAX_TABLES:
                raise DocumentUnreadable(f"{file_name} 有超过 {MAX_TABLES} 个表格,不像一份工作方案:请只保留分工表")
            table = _table(element, f"表格 {len(tables) + 1}")
            total_rows += len(table.rows)
            if total_rows > MAX_ROWS:
                raise DocumentUnreadable(f"{file_name} 的表格共超过 {MAX_ROWS} 行:请分批导入")
            if table.rows:
                tables.append(table)
    return Document(file_name, "docx", tuple(tables), "\n".join(t for t in text if t.strip())[:MAX_TEXT_CHARS])


def _blocks(parent):
    """The body's paragraphs and tables in order, looking inside content controls (w:sdt), which wrap them."""
    for element in parent.iterchildren():
        if element.tag in (W_P, W_TBL):
            yield element
        elif element.tag == W_SDT:
            content = element.find(qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content)


def _table(tbl, name: str) -> Table:
    rows: list[list[str]] = []
    merged: set[tuple[int, int]] = set()
    for tr in tbl.iterchildren(W_TR):
        r = len(rows)
        row = [""] * _grid_count(tr, "w:gridBefore")
        for tc in tr.iterchildren(W_TC):
            span = max(1, min(_int_property(tc, "w:tcPr/w:gridSpan", 1), MAX_COLUMNS))
            column = len(row)
            if _vmerge(tc) == "continue":
                above = rows[r - 1][column] if r and column < len(rows[r - 1]) else ""
                row.extend([above] * span)
                merged.update((r, c) for c in range(column, column + span))
            else:
                row.extend([clean_cell(_cell_text(tc))] * span)
            if len(row) > MAX_COLUMNS:
                raise DocumentUnreadable(f"{name} 超过 {MAX_COLUMNS} 列,不像分工表:请检查文件")
        row.extend([""] * _grid_count(tr, "w:gridAfter"))
        rows.append(row)
    rows = rectangular(rows)
    # A row Word repeats on every page is in the file once; nothing to drop. Empty rows carry nothing to read.
    kept = [i for i, row in enumerate(rows) if any(row)]
    renumber = {old: new for new, old in enumerate(kept)}
    return Table(name, tuple(tuple(rows[i]) for i in kept), tuple(f"{name} 第 {i + 1} 行" for i in kept),
                 frozenset((renumber[r], c) for r, c in merged if r in renumber))


def _vmerge(tc) -> str | None:
    """"restart", "continue" or None. A ``w:vMerge`` without a value continues the merge (the schema's default)."""
    found = tc.find(qn("w:tcPr") + "/" + qn("w:vMerge"))
    if found is None:
        return None
    return found.get(W_VAL) or "continue"


def _int_property(element, path: str, default: int) -> int:
    found = element.find("/".join(qn(p) for p in path.split("/")))
    if found is None:
        return default
    try:
        return int(found.get(W_VAL, default))
    except ValueError:
        return default


def _grid_count(tr, tag: str) -> int:
    return max(0, min(_int_property(tr, f"w:trPr/{tag}", 0), MAX_COLUMNS))


def _cell_text(tc) -> str:
    """The cell's paragraphs, one a line; a nested table's cells, one a line, in reading order."""
    return "\n".join(_paragraph_text(p) for p in tc.iter(W_P))


def _paragraph_text(p) -> str:
    parts = []
    for node in p.iter(W_T, W_TAB, W_BR, W_CR):
        if node.tag == W_T:
            parts.append(node.text or "")
        elif node.tag == W_TAB:
            parts.append(" ")
        else:
            parts.append("\n")
    return "".join(parts)
