"""What every document reader gives the importer: the document's tables as rectangular grids of text, and its text.

A reader (DOCX, XLSX, HTML, PDF, plain text) turns its format into ``Document``: each table a ``Table`` whose
merged cells are expanded (a cell merged over three rows appears in each of the three, as a person reading the
printed table sees it apply to each), with where each row came from, so that every flag can say where to look.
Nothing here knows what the columns mean; ``importing.reading`` finds the header and reads the rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from responsibilities.errors import InvalidInput

# Bounds on what a document may hold before reading stops (checked by every reader as it goes).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a plan's Word file is tens of KB; a PDF with scans a few MB
MAX_TABLES = 200
MAX_ROWS = 5000  # all tables together
MAX_COLUMNS = 40
MAX_CELL_CHARS = 5000


class DocumentUnreadable(InvalidInput):
    """A document that cannot be read as a plan: its message says why and what to do, in Chinese, in one line."""


def too_large(file_name: str, size: int) -> DocumentUnreadable | None:
    """The refusal of a document over the bound, read before anything is parsed; None when it is within."""
    if size <= MAX_DOCUMENT_BYTES:
        return None
    return DocumentUnreadable(f"{file_name} 有 {size / 1048576:.1f} MB,超过 {MAX_DOCUMENT_BYTES // 1048576} MB 的上限:"
                              "分工表文件通常只有几十 KB 到几 MB,请检查是否选错了文件")


@dataclass(frozen=True)
class Table:
    """One table of a document: ``rows`` rectangular, merged cells repeated in every position they cover."""

    name: str  # where it is in the document, for people: "表格 1", "工作表“分工”", "第 3 页的表格", "第 122–309 行"
    rows: tuple[tuple[str, ...], ...]
    places: tuple[str, ...]  # one per row: where a person finds it ("第 5 行", "第 129 行"), same length as rows
    merged_down: frozenset[tuple[int, int]] = frozenset()  # (row, column) cells copied from the cell above
    joined: str | None = None  # how parts of the table were joined (across pages), when the join is a guess

    def __post_init__(self) -> None:
        width = {len(r) for r in self.rows}
        if len(width) > 1:
            raise ValueError(f"table {self.name}: rows of widths {sorted(width)}")
        if len(self.places) != len(self.rows):
            raise ValueError(f"table {self.name}: {len(self.places)} places for {len(self.rows)} rows")

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0


@dataclass(frozen=True)
class Document:
    """A document as read: its tables in order, and its text outside them (for its title, number and date)."""

    file_name: str
    kind: str  # docx | xlsx | html | pdf | text
    tables: tuple[Table, ...]
    text: str  # the document's own text (paragraphs, the page around the table), at most a few hundred KB
    notes: tuple[str, ...] = field(default=())  # what the reader had to say (a join across pages that is a guess…)


def clean_cell(text: str | None) -> str:
    """A cell's text as a person reads it: runs of blanks (full-width and no-break spaces too) as one space, no
    blank lines, no control characters. Line breaks survive as "\\n", so that several units in one cell stay
    apart."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ").replace("\xa0", " ")
    lines = [re.sub(r"[ \t\u200b]+", " ", line).strip() for line in text.split("\n")]
    cleaned = "\n".join(line for line in lines if line)
    if len(cleaned) > MAX_CELL_CHARS:
        raise DocumentUnreadable(f"表格中有一个单元格超过 {MAX_CELL_CHARS} 个字,不像分工表:请检查文件")
    return "".join(c for c in cleaned if unicodedata.category(c) != "Cc" or c == "\n")


def rectangular(rows: list[list[str]]) -> list[list[str]]:
    """Rows padded with empty cells to the widest, for readers whose rows come out ragged (text, PDF)."""
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]
