"""PDF with a text layer: the ruled tables of each page (pdfplumber's default "lines" strategy: government PDFs
print their tables with borders), joined across pages, and the text outside them.

A cell's text is read from the characters inside it, not from ``extract_tables``: pdfplumber gives None for the
positions a spanned cell covers, and for a cell a page break leaves open (a merge split over two pages has no
bottom border on the first page, so no cell is found there at all). Here a position no found cell covers belongs
with the open positions above it in its column: one region, whose characters are its text, repeated in each row
it covers (``merged_down``). A cell that spans rows or columns has its text repeated the same way.

Lines inside a cell are joined when the line fills the cell's width (a wrap the layout made), and kept apart
otherwise (a break the author made: several units, one per line).

Pages: a table continues on the next page when that page's first table has the same columns. When it repeats the
header row, the repeat is dropped; otherwise the join is a guess and ``Table.joined`` says so. A merged cell that a
page break split is one cell again, its text in each of its rows.

Chinese fonts: some writers (Chromium's Skia among them) map a glyph shared by a Kangxi radical and an ideograph
to the radical (⼯ for 工, ⺠ for 民); those are mapped back (RADICALS). A font without a Unicode map yields
"(cid:123)": such a PDF cannot be read, and is refused, as is a PDF without text (a scan) and one that needs a
password to open.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from responsibilities.importing.tables import (
    MAX_ROWS,
    MAX_TABLES,
    Document,
    DocumentUnreadable,
    Table,
    clean_cell,
)

MAX_PAGES = 300
MAX_TEXT_CHARS = 200_000
CELL_PADDING = 8  # points between a cell's border and its text (Word's default is 5.4, web pages 3 to 6)
CLOSING = set("。,、;:!?)」』”’》〉】,.;:!?)")  # may not start a line: it pulls a character down with it
OPENING = set("“‘《〈「『【((")  # may not end a line: it goes down with the character after it
# Chromium (Skia) writes, for a glyph its font shares between a radical and an ideograph, the radical's code point
# (the lowest): printing every ideograph U+4E00–U+9FA5 in Noto CJK SC and reading it back gives 272 such, 203 of them
# Kangxi radicals whose compatibility mapping is the ideograph, and these 69, mapped back here (⼾ is 户 in a
# simplified font, though its compatibility mapping is 戶).
RADICALS = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0x2F00, 0x2FD6)}
RADICALS |= str.maketrans("⺦⺃⺂⻲⺅⺎⺉⻧⺐⺏⺒⺓⺕⺔⺖⼾⺘⺙⻫⺛⺞⺠⺡⺣⺨⺭⻯⺯⺰⺫⺱⺹⺺⺾"
                          "⻁⻂⻃⻅⻆⻈⻉⻋⻌⻐⻑⻒⻓⻔⻖⻘⻙⻚⻛⻜⻝⻟⻠⻢⻣⻤⻥⻦⻨⻩⻪⻬⻮⻰⻱",
                          "丬乚乛亀亻兀刂卤尢尣巳幺彐彑忄户扌攵斉旡歺民氵灬犭礻竜糹纟罒罓耂肀艹"
                          "虎衤覀见角讠贝车辶钅長镸长门阝青韦页风飞食飠饣马骨鬼鱼鸟麦黄黾齐齿龙龜")


def read_pdf(data: bytes, file_name: str) -> Document:
    import pdfplumber

    with _quiet_pdfminer():
        try:
            pdf = pdfplumber.open(io.BytesIO(data))
            pages = pdf.pages
        except Exception as error:  # noqa: BLE001 - pdfminer raises many kinds for a damaged or locked file
            raise _unopened(error, data, file_name) from None
        try:
            if len(pages) > MAX_PAGES:
                raise DocumentUnreadable(f"{file_name} 有 {len(pages)} 页,超过 {MAX_PAGES} 页的上限:"
                                         "请只导出含分工表的页面再导入")
            reader = _Reader(file_name)
            for page in pages:
                try:
                    reader.read_page(page)
                finally:
                    page.close()
        except DocumentUnreadable:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged page fails inside pdfminer in many ways
            raise _unopened(error, data, file_name) from None
        finally:
            pdf.close()
    return reader.document()


@contextlib.contextmanager
def _quiet_pdfminer() -> Iterator[None]:
    """pdfminer logs a warning for every glyph of a font without a bounding box (Chromium writes such fonts)."""
    logger = logging.getLogger("pdfminer")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _unopened(error: Exception, data: bytes, file_name: str) -> DocumentUnreadable:
    names, pending = [], [error]
    while pending and len(names) < 10:  # pdfplumber wraps pdfminer's error in its own, as an argument
        cause = pending.pop()
        names.append(type(cause).__name__)
        pending += [a for a in cause.args if isinstance(a, BaseException)]
        pending += [c for c in (cause.__cause__, cause.__context__) if c is not None]
    if any("Password" in name or "Encrypt" in name for name in names) or b"/Encrypt" in data:
        return DocumentUnreadable(f"{file_name} 设有打开密码(已加密),无法读取:请在 PDF 阅读器中输入密码后"
                                  "另存为不加密的 PDF,或导入原始的 Word 文件")
    return DocumentUnreadable(f"{file_name}:文件已损坏或不是 PDF 文件:请重新导出 PDF,或导入原始的 Word 文件")


@dataclass
class _Part:
    """One page's table: its rows of regions (a region is one cell, or one merge split by a page break)."""

    page: int
    width: int
    cells: list[list[int]]  # [row][column] → region id
    open_bottom: list[bool]  # per column: the last region has no bottom border (it goes on on the next page)


@dataclass
class _Joined:
    """A table being assembled across pages."""

    pages: list[int]
    width: int
    cells: list[list[int]] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    header: tuple[str, ...] = ()
    open_bottom: list[bool] = field(default_factory=list)
    guessed: list[int] = field(default_factory=list)  # pages joined by the column count alone


class _Reader:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.texts: dict[int, list[str]] = {}  # region id → the text of its parts, in order
        self.parent: dict[int, int] = {}  # regions joined across a page break
        self.tables: list[_Joined] = []
        self.last_page_tables = 0  # tables on the previous page (only its last one continues)
        self.text: list[str] = []
        self.text_chars = 0
        self.chars = 0
        self.rows = 0

    # ── a page ──────────────────────────────────────────────────────────────────────────────────
    def read_page(self, page) -> None:
        chars = [c for c in page.chars if c.get("upright", True)]
        if any(c["text"].startswith("(cid:") for c in chars):
            raise DocumentUnreadable(f"{self.file_name} 第 {page.page_number} 页的中文字体没有 Unicode 对照表,"
                                     "字体无法提取文字:请用 Word 或 WPS 重新导出 PDF,或导入原始的 Word 文件")
        self.chars += sum(1 for c in chars if c["text"].strip())
        chars.sort(key=lambda c: (c["top"], c["x0"]))
        tops = [c["top"] for c in chars]
        found = page.find_tables()
        boxes = [t.bbox for t in found]
        for index, table in enumerate(found):
            part = self._part(table, chars, tops, page.page_number)
            if part is not None:
                self._add(part, first_on_page=index == 0, page_number=page.page_number)
        self.last_page_tables = len(found)
        outside = [c for c in chars if not any(_inside(c, box) for box in boxes)]
        if self.text_chars < MAX_TEXT_CHARS:
            words = _lines(outside, None)
            self.text.append(words)
            self.text_chars += len(words)

    def _part(self, table, chars: list[dict], tops: list[float], page: int) -> _Part | None:
        rows = table.rows
        width = len(rows[0].cells) if rows else 0
        if len(rows) < 1 or width < 2:
            return None
        left = [min(r.cells[c][0] for r in rows if r.cells[c]) for c in range(width)]
        right = [*left[1:], table.bbox[2]]
        top = [min(b[1] for b in r.cells if b) for r in rows]
        bottom = [*top[1:], table.bbox[3]]
        grid: list[list[int | None]] = [[None] * width for _ in rows]
        boxes: dict[int, tuple[float, float, float, float]] = {}
        # the cells pdfplumber found: each covers the positions inside its box
        for r, row in enumerate(rows):
            for c, box in enumerate(row.cells):
                if box is None:
                    continue
                region = self._region()
                boxes[region] = box
                for rr in range(r, len(rows)):
                    if bottom[rr] > box[3] + 1 and rr > r:
                        break
                    for cc in range(c, width):
                        if cc > c and right[cc] > box[2] + 1:
                            break
                        if grid[rr][cc] is None:
                            grid[rr][cc] = region
        # positions no cell covers: open cells (a merge a page break split), one region per run down a column
        open_bottom = [False] * width
        for c in range(width):
            r = 0
            while r < len(rows):
                if grid[r][c] is not None:
                    r += 1
                    continue
                start = r
                while r < len(rows) and grid[r][c] is None:
                    r += 1
                region = self._region()
                boxes[region] = (left[c], top[start], right[c], bottom[r - 1])
                for rr in range(start, r):
                    grid[rr][c] = region
                if r == len(rows):
                    open_bottom[c] = True
        for region, box in boxes.items():
            self.texts[region] = [_lines(_chars_in(chars, tops, box), box)]
        return _Part(page, width, [[v for v in row if v is not None] for row in grid], open_bottom)

    def _region(self) -> int:
        region = len(self.texts)
        self.texts[region] = []
        return region

    # ── across pages ────────────────────────────────────────────────────────────────────────────
    def _add(self, part: _Part, *, first_on_page: bool, page_number: int) -> None:
        self.rows += len(part.cells)
        if self.rows > MAX_ROWS:
            raise DocumentUnreadable(f"{self.file_name} 的表格共超过 {MAX_ROWS} 行:请分批导入")
        previous = self.tables[-1] if self.tables else None
        continues = (previous is not None and first_on_page and previous.pages[-1] == page_number - 1
                     and self.last_page_tables > 0 and previous.width == part.width)
        if not continues:
            if len(self.tables) >= MAX_TABLES:
                raise DocumentUnreadable(f"{self.file_name} 有超过 {MAX_TABLES} 个表格:请只导出含分工表的页面")
            joined = _Joined([page_number], part.width)
            joined.header = self._row_text(part.cells[0])
            self._append(joined, part, 0)
            self.tables.append(joined)
            return
        assert previous is not None
        skip = 1 if self._row_text(part.cells[0]) == previous.header and previous.header else 0
        if not skip:
            previous.guessed.append(page_number)
        if skip < len(part.cells):
            for c in range(part.width):
                self._continue_merge(previous, part, skip, c)
        previous.pages.append(page_number)
        self._append(previous, part, skip)

    def _continue_merge(self, previous: _Joined, part: _Part, first: int, c: int) -> None:
        """Join the merge a page break split: the last region of the column on the page before was open at the
        bottom (or both regions are merges, the new one empty)."""
        if not previous.cells:
            return
        above, below = previous.cells[-1][c], part.cells[first][c]
        if self._find(above) == self._find(below):
            return
        above_spans = len(previous.cells) > 1 and self._find(previous.cells[-2][c]) == self._find(above)
        below_spans = len(part.cells) > first + 1 and part.cells[first + 1][c] == below
        below_empty = not "".join(self.texts[below]).strip()
        if previous.open_bottom[c] or (above_spans and below_spans and below_empty):
            self.parent[self._find(below)] = self._find(above)

    def _append(self, joined: _Joined, part: _Part, skip: int) -> None:
        for r in range(skip, len(part.cells)):
            joined.cells.append(part.cells[r])
            joined.places.append(f"第 {part.page} 页表格第 {r + 1} 行")
        joined.open_bottom = part.open_bottom

    def _find(self, region: int) -> int:
        while region in self.parent:
            region = self.parent[region]
        return region

    def _row_text(self, row: list[int]) -> tuple[str, ...]:
        return tuple(clean_cell("".join(self.texts[region])) for region in row)

    # ── the document ────────────────────────────────────────────────────────────────────────────
    def document(self) -> Document:
        if self.chars == 0:
            raise DocumentUnreadable(f"{self.file_name}:PDF 中没有文字层(可能是扫描件):请用带文字的 PDF,"
                                     "或先做文字识别(OCR)后再导入")
        merged_text: dict[int, list[str]] = {}
        for region in self.texts:
            merged_text.setdefault(self._find(region), []).extend(self.texts[region])
        texts = {root: _cell(parts) for root, parts in merged_text.items()}
        tables, notes = [], []
        for joined in self.tables:
            name = (f"第 {joined.pages[0]} 页的表格" if len(joined.pages) == 1
                    else f"第 {joined.pages[0]}–{joined.pages[-1]} 页的表格")
            rows, merged = [], set()
            for r, row in enumerate(joined.cells):
                roots = [self._find(region) for region in row]
                rows.append(tuple(texts[root] for root in roots))
                for c, root in enumerate(roots):
                    if r and self._find(joined.cells[r - 1][c]) == root:
                        merged.add((r, c))
            guess = None
            if joined.guessed:
                pages = "、".join(str(p) for p in joined.guessed)
                guess = f"第 {pages} 页的表格与上一页列数相同,已按同一表格续接"
                notes.append(f"{name}:{guess}")
            tables.append(Table(name, tuple(rows), tuple(joined.places), frozenset(merged), guess))
        text = "\n".join(t for t in self.text if t)[:MAX_TEXT_CHARS]
        return Document(self.file_name, "pdf", tuple(tables), text, tuple(notes))


def _cell(parts: list[str]) -> str:
    return clean_cell("".join(p for p in parts if p))


def _inside(char: dict, box: tuple[float, float, float, float]) -> bool:
    x = (char["x0"] + char["x1"]) / 2
    y = (char["top"] + char["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _chars_in(chars: list[dict], tops: list[float], box: tuple[float, float, float, float]) -> list[dict]:
    start = bisect.bisect_left(tops, box[1] - 20)  # chars sorted by top: only those near the box's rows
    end = bisect.bisect_right(tops, box[3])
    return [c for c in chars[start:end] if _inside(c, box)]


def _lines(chars: list[dict], box: tuple[float, float, float, float] | None) -> str:
    """The characters as lines of text; within a cell (``box``), a line that fills the cell's width runs on."""
    lines: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines and abs(char["top"] - lines[-1][0]["top"]) <= max(2.0, char["size"] * 0.4):
            lines[-1].append(char)
        else:
            lines.append([char])
    out: list[str] = []
    for i, line in enumerate(lines):
        line.sort(key=lambda c: c["x0"])
        text = []
        for j, char in enumerate(line):
            if j and char["x0"] - line[j - 1]["x1"] > char["size"] * 0.5 and char["text"] != " " \
                    and line[j - 1]["text"] != " ":
                text.append(" ")
            text.append(char["text"])
        piece = "".join(text).translate(RADICALS)
        if i and out:
            ascii_words = out[-1][-1:].isascii() and out[-1][-1:].isalnum() and piece[:1].isascii() \
                and piece[:1].isalnum()
            out.append((" " if ascii_words else "") if _wrapped(lines[i - 1], line, box) else "\n")
        out.append(piece)
    return "".join(out)


def _wrapped(line: list[dict], following: list[dict], box: tuple[float, float, float, float] | None) -> bool:
    """Whether ``line`` ended because the next word did not fit in the cell (a wrap), not where the author broke
    it: the room left at its end is less than what the following line starts with (a character, with the closing
    punctuation that may not start a line, or after the opening one that may not end it; an ASCII word whole)."""
    if box is None:
        return False
    first = following[0]
    if first["text"].isascii() and first["text"].isalnum():
        run = [c for c in following[:40]]
        end = next((k for k, c in enumerate(run) if not (c["text"].isascii() and c["text"].isalnum())), len(run))
        need = run[end - 1]["x1"] - first["x0"]
    else:
        need = first["x1"] - first["x0"]
        if len(following) > 1 and (following[1]["text"] in CLOSING or first["text"] in OPENING):
            need += following[1]["x1"] - following[1]["x0"]
    return box[2] - line[-1]["x1"] < need + CELL_PADDING
