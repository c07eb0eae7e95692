"""A saved web page (the notice as the government's site publishes it): every ``<table>`` of at least two rows and
two columns, with rowspan and colspan expanded, and the page's visible text outside the tables (its title, number
and date).

The standard library's parser is used: it neither builds a tree nor fetches anything. HTML parsers do not expand
spans (pandas copies the values silently), so the grid is filled here, the way a browser lays it out: each cell takes
the first free position of its row, and covers ``rowspan`` × ``colspan`` positions (bounded, so that
rowspan="100000" costs nothing). Tables nested in a cell (old sites lay pages out in tables) are tables of their own;
their text is not their outer cell's. ``<br>`` and block elements inside a cell become line breaks; scripts and
styles are not text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

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
MAX_RAW_ROWS = 4 * MAX_ROWS  # rows of every table, layout tables too, before the small ones are dropped
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header",
          "footer", "blockquote", "pre", "dl", "dt", "dd", "address", "center", "hr", "title", "caption"}
SKIPPED = {"script", "style", "noscript", "template"}
SPACES = re.compile(r"\s+")


def read_html(data: bytes, file_name: str) -> Document:
    page = _decoded(data, file_name)
    parser = _Parser(file_name)
    parser.feed(page)
    parser.close()
    tables, layout = [], []
    for grid in parser.finished:
        table = grid.table(f"表格 {len(tables) + 1}")
        if len(table.rows) >= 2 and table.width >= 2:
            tables.append(table)
        else:  # a table that lays the page out (one row, one column): its text is the page's (a date, a number)
            layout += [cell for row in table.rows for cell in dict.fromkeys(row) if cell]
    if len(tables) > MAX_TABLES:
        raise DocumentUnreadable(f"{file_name} 有超过 {MAX_TABLES} 个表格,不像一份工作方案:请只保留分工表")
    if sum(len(t.rows) for t in tables) > MAX_ROWS:
        raise DocumentUnreadable(f"{file_name} 的表格共超过 {MAX_ROWS} 行:请分批导入")
    lines = [clean_line(x) for x in "".join(parser.text).split("\n")] + layout
    text = "\n".join(line for line in lines if line)
    return Document(file_name, "html", tuple(tables), text[:MAX_TEXT_CHARS])


def clean_line(line: str) -> str:
    return SPACES.sub(" ", line.replace("\xa0", " ").replace("\u3000", " ")).strip()


def _decoded(data: bytes, file_name: str) -> str:
    """The page as text: by its BOM, else the charset its meta tag declares, else UTF-8, else GB18030 (which reads
    what pages call gb2312 and gbk)."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    else:
        candidates = []
        declared = CHARSET.search(data[:4096])
        if declared:
            try:
                name = codecs.lookup(declared.group(1).decode("ascii")).name
            except LookupError:
                name = ""
            if name in ("gb2312", "gbk", "gb18030", "hz"):
                name = "gb18030"
            if name:
                candidates.append(name)
        candidates += ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentUnreadable(f"{file_name} 是网页文件,但编码无法识别(不是 UTF-8 或 GB18030):"
                             "请在浏览器中打开后另存为网页(UTF-8)再导入")


@dataclass
class _Grid:
    """One <table> as written: rows of (text, rowspan, colspan)."""

    rows: list[list[tuple[str, int, int]]] = field(default_factory=list)
    row: list[tuple[str, int, int]] | None = None
    cell: list[str] | None = None
    spans: tuple[int, int] = (1, 1)

    def close_cell(self) -> None:
        if self.cell is not None:
            if self.row is None:
                self.row = []
            self.row.append(("".join(self.cell), *self.spans))
            self.cell = None

    def close_row(self) -> None:
        self.close_cell()
        if self.row is not None:
            self.rows.append(self.row)
            self.row = None

    def table(self, name: str) -> Table:
        taken: dict[tuple[int, int], str] = {}
        merged: set[tuple[int, int]] = set()
        count = len(self.rows)
        for r, row in enumerate(self.rows):
            c = 0
            for text, rowspan, colspan in row:
                while (r, c) in taken:
                    c += 1
                value = clean_cell(text)
                down = count - r if rowspan == 0 else min(rowspan, count - r)  # rowspan="0": to the table's end
                for dr in range(down):
                    for dc in range(colspan):
                        if c + dc >= MAX_COLUMNS:
                            raise DocumentUnreadable(f"{name} 超过 {MAX_COLUMNS} 列,不像分工表:请检查文件")
                        taken.setdefault((r + dr, c + dc), value)
                        if dr:
                            merged.add((r + dr, c + dc))
                c += colspan
        width = max((c for _, c in taken), default=-1) + 1
        rows = rectangular([[taken.get((r, c), "") for c in range(width)] for r in range(count)])
        return Table(name, tuple(tuple(r) for r in rows), tuple(f"{name} 第 {r + 1} 行" for r in range(count)),
                     frozenset(merged))


class _Parser(HTMLParser):
    def __init__(self, file_name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.file_name = file_name
        self.open: list[_Grid] = []  # the tables being read, innermost last
        self.finished: list[_Grid] = []
        self.text: list[str] = []  # the page's text outside tables
        self.text_chars = 0
        self.skipping = 0
        self.raw_rows = 0

    def _write(self, text: str) -> None:
        grid = self.open[-1] if self.open else None
        if grid is not None and grid.cell is not None:
            grid.cell.append(text)
        elif grid is None and self.text_chars < MAX_TEXT_CHARS:
            self.text.append(text)
            self.text_chars += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
            return
        grid = self.open[-1] if self.open else None
        if tag == "table":
            self._write("\n")
            self.finished.append(_Grid())  # in the order the tables start: an outer one before those inside it
            self.open.append(self.finished[-1])
        elif grid is not None and tag in ("thead", "tbody", "tfoot"):
            grid.close_row()
        elif grid is not None and tag == "tr":
            grid.close_row()
            grid.row = []
            self.raw_rows += 1
            if self.raw_rows > MAX_RAW_ROWS:
                raise DocumentUnreadable(f"{self.file_name} 的表格共超过 {MAX_ROWS} 行:请分批导入")
        elif grid is not None and tag in ("td", "th"):
            grid.close_cell()
            values = dict(attrs)
            grid.cell = []
            grid.spans = (_span(values.get("rowspan"), MAX_ROWS, zero=True), _span(values.get("colspan"), MAX_COLUMNS))
        elif tag == "br" or tag in BLOCKS:
            self._write("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in BLOCKS:
            self._write("\n")
        elif tag not in SKIPPED:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        grid = self.open[-1] if self.open else None
        if tag == "table" and grid is not None:
            grid.close_row()
            self.open.pop()
            self._write("\n")
        elif grid is not None and tag == "tr":
            grid.close_row()
        elif grid is not None and tag in ("td", "th"):
            grid.close_cell()
        elif tag in BLOCKS:
            self._write("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._write(SPACES.sub(" ", data))

    def close(self) -> None:
        super().close()
        while self.open:
            self.open.pop().close_row()


def _span(value: str | None, bound: int, zero: bool = False) -> int:
    try:
        number = int((value or "1").strip())
    except ValueError:
        return 1
    if number == 0 and zero:
        return 0
    return max(1, min(number, bound))
