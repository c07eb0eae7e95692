"""A document's division-of-labour table read as a person reads it: the header found whatever its words, each row
an obligation with its lead unit, co-units, deadline and the place it came from, and every doubt a flag.

Pure: it takes a ``tables.Document``, the office's ``units.Directory`` and the document's year, and says what it
read. Nothing is guessed: a unit that matches nothing is proposed as new, a deadline the parser cannot read stays
as text, an empty deadline cell is a flag, not a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadlines.rules import DeadlineRule, first_due
from responsibilities.importing.tables import Document, DocumentUnreadable, Table
from responsibilities.importing.units import Directory, Resolution, split_units, unit_prefix

# The words a header cell may use for each column (compared without blanks; a cell may add words after them).
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号"),
    "task": ("工作任务", "重点工作", "目标任务", "主要任务", "任务内容", "工作内容", "具体任务", "重点任务",
             "工作措施", "工作事项", "任务分工", "主要工作", "任务"),
    "lead": ("牵头单位", "主要责任单位", "牵头责任单位", "牵头部门", "责任主体"),
    "units": ("责任单位", "责任部门", "承办单位", "落实单位"),
    "co": ("配合单位", "协同配合单位", "参与单位", "协办单位", "配合部门"),
    "deadline": ("完成时限", "时间节点", "完成时间", "时限要求", "完成期限", "时间安排", "进度安排", "时限"),
    "leader": ("责任领导", "分管领导", "牵头领导", "牵头市领导", "责任市领导"),
    "note": ("备注",),
}
SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[((][一二三四五六七八九十]+[))])")
# An item's number (1. 2、 3．), not a decimal (1.5倍) — unless what follows is a year (1.2020年6月底前).
NOT_DECIMAL = r"(?!\d(?!\d{3}\s*年))"
NUMBERED = re.compile(rf"^\s*(\d{{1,3}})\s*[.、．]\s*{NOT_DECIMAL}")
# 各县(市、区)人民政府 leads "where the document says so or the columns do": a single 责任单位 column lists the lead
# first (列第一位者为牵头单位 / 排第一为牵头单位).
HEADER_SEARCH_ROWS = 15
# Characters only traditional Chinese writes (務 單 時 關 …): a document in them gets told so, not "no table".
TRADITIONAL = re.compile("[務單時關於區縣辦導績產業閱發據報會這對與過爲門動務員進應當總機構責類級]")


@dataclass(frozen=True)
class Flag:
    """Something a person must look at before the plan is published."""

    code: str  # unknown-unit | ambiguous-unit | deadline-not-understood | no-deadline | no-unit | no-header
    message: str  # in Chinese, what is wrong and what to do
    table: str = ""
    row: str = ""  # the row's place ("表格 1 第 5 行")
    cell: str = ""  # the cell's text as the document writes it

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "table": self.table, "row": self.row, "cell": self.cell}

    @property
    def where(self) -> str:
        """Where a person finds the row: its place, with the table's name when the place does not say it (the Word,
        Excel and PDF readers' places name their table; a text's give only the line)."""
        return self.row if "表" in self.row or not self.table else f"{self.table} {self.row}"


@dataclass(frozen=True)
class Source:
    file: str
    table: str
    row: str
    index: int  # the row's index in its table (0-based), for the page that shows the table as read

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "table": self.table, "row": self.row}


@dataclass(frozen=True)
class ImportedObligation:
    """One obligation as read: names as the document writes them, each with what it resolved to."""

    task: str
    item: int | None  # the number the document gives it (1. 2. …) within its unit or section
    section: str
    lead: Resolution | None
    co_units: tuple[Resolution, ...]
    deadline_text: str
    rule: DeadlineRule | None
    first_due: date | None
    source: Source
    leader: str = ""
    note: str = ""
    unit_cell: str = ""  # the lead cell as printed (the plan's sources cite it)
    deadline_problem: str = ""  # why the parser could not read ``deadline_text``

    def flags(self) -> list[Flag]:
        """What a person must look at in this obligation: derived from its state, so that a correction (a unit
        chosen, a deadline rewritten) settles its flag by itself."""
        place = self.source

        def flag(code: str, message: str, cell: str) -> Flag:
            return Flag(code, message, place.table, place.row, cell)

        found = []
        if self.lead is None:
            found.append(flag("no-unit", "这一行像是一项任务,但没有写责任单位:请补上牵头单位", self.task[:80]))
        for r in ([self.lead] if self.lead else []) + list(self.co_units):
            if r.status == "unknown":
                found.append(flag("unknown-unit", f"单位目录中没有“{r.name}”:请对应到已有单位,或作为新单位补全其信息",
                                  r.name))
            elif r.status == "ambiguous":
                found.append(flag("ambiguous-unit", f"“{r.name}”可能是 {'、'.join(r.candidates)}:请选定一个", r.name))
        text = self.deadline_text
        if not text:
            found.append(flag("no-deadline", "没有写完成时限:请补上(如“2020年6月底前”“持续推进”)", self.task[:80]))
        elif self.rule is None:
            found.append(flag("deadline-not-understood",
                              f"无法读懂完成时限“{text}”({self.deadline_problem}):请改写成具体日期或周期", text))
        elif self.rule.kind == "after_event":
            found.append(flag("event-needed",
                              f"完成时限“{text}”从一件外部事件算起:请在 events 中登记该事件,并在此写 awaits", text))
        return found

    def as_json(self) -> dict[str, Any]:
        def name(r: Resolution) -> dict[str, Any]:
            return {"name": r.name, "unit": r.id, "status": r.status, "candidates": list(r.candidates)}

        return {"task": self.task, "item": self.item, "section": self.section,
                "lead": name(self.lead) if self.lead else None, "co_units": [name(r) for r in self.co_units],
                "deadline_text": self.deadline_text,
                "rule": {"kind": self.rule.kind if self.rule else None,
                         "first_due": self.first_due.isoformat() if self.first_due else None},
                "source": self.source.as_json()}


@dataclass
class Reading:
    """What was read from one document."""

    document: Document
    year: int
    start: date  # the day deadlines are counted from (the document's date, or 1 January of its year)
    obligations: list[ImportedObligation] = field(default_factory=list)
    tables_used: list[str] = field(default_factory=list)
    new_units: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (id, full name) the office gave

    @property
    def flags(self) -> list[Flag]:
        return [f for o in self.obligations for f in o.flags()]

    def names(self) -> list[Resolution]:
        """Every distinct unit name the obligations use, in first-use order."""
        seen: dict[str, Resolution] = {}
        for o in self.obligations:
            for r in ([o.lead] if o.lead else []) + list(o.co_units):
                seen.setdefault(r.name, r)
        return list(seen.values())


@dataclass(frozen=True)
class Columns:
    header_row: int
    roles: dict[str, int]

    @property
    def unit_first(self) -> bool:
        unit = self.roles.get("lead", self.roles.get("units", 10**6))
        return unit < self.roles["task"]


# ── the header ───────────────────────────────────────────────────────────────────────────────────


def role_of(cell: str) -> str | None:
    text = re.sub(r"\s+", "", cell)
    if not text or len(text) > 12:
        return None
    for role, words in HEADER_WORDS.items():
        if any(text.startswith(w) for w in words):
            return role
    return None


def find_columns(table: Table) -> Columns | None:
    """The first row, among the first few, that names a task column and a unit column; None when none does.
    Raises DocumentUnreadable when two columns of such a header mean the same thing."""
    for index, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        roles: dict[str, list[int]] = {}
        for column, cell in enumerate(row):
            if column and row[column - 1] == cell:
                continue  # a header cell merged across columns, expanded: one column for its meaning
            role = role_of(cell)
            if role is not None:
                roles.setdefault(role, []).append(column)
        if "task" not in roles or not ({"lead", "units"} & roles.keys()):
            continue
        units = roles.pop("units", [])
        if "lead" in roles and units:
            roles.setdefault("co", []).extend(units)  # 牵头单位 | 责任单位: the second names the others
        elif len(units) >= 2:
            roles["lead"], roles["co"] = [units[0]], units[1:2]  # 责任单位 | 责任单位: the lead, then the others
        elif units:
            roles["units"] = units
        doubled = {role: cols for role, cols in roles.items() if len(set(cols)) > 1 and role != "note"}
        if doubled:
            role, cols = next(iter(doubled.items()))
            raise DocumentUnreadable(
                f"{table.name}的表头有 {len(cols)} 列都像“{table.rows[index][cols[0]]}”,分不清各列的含义:"
                "请把表头改成每列一个名称(如 工作任务、牵头单位、配合单位、完成时限)后再导入")
        return Columns(index, {role: cols[0] for role, cols in roles.items()})
    return None


# ── the rows ────────────────────────────────────────────────────────────────────────────────────


def document_date(text: str) -> date | None:
    """The document's date: the first full date in its opening (成文日期, the date under the signature)."""
    for match in re.finditer(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", text[:3000]):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def document_year(text: str) -> int | None:
    """The year the document speaks of: its date's, else the first year of its title's span (2019—2021年)."""
    found = document_date(text)
    if found:
        return found.year
    match = re.search(r"((?:19|20)\d{2})\s*(?:年|[-—–~至])", text[:3000])
    return int(match[1]) if match else None


def read_document_tables(document: Document, directory: Directory, *, year: int | None = None) -> Reading:
    """Every division-of-labour table of ``document`` read into obligations and flags."""
    found_year = year or document_year(document.text)
    if found_year is None:
        raise DocumentUnreadable("无法从文件中看出年份(没有成文日期,标题中也没有年份):请用 --year 指定,"
                                 "例如 --year 2020")
    day = document_date(document.text)
    start = day if day and day.year == found_year else date(found_year, 1, 1)
    reading = Reading(document, found_year, start)
    for table in document.tables:
        columns = find_columns(table)
        if columns is not None:
            reading.tables_used.append(table.name)
            _read_rows(reading, table, columns, directory)
    if not reading.tables_used:
        if len(TRADITIONAL.findall(document.text)) >= 3:
            raise DocumentUnreadable(f"{document.file_name} 是繁体字,表头读不出:请先转为简体(如 WPS 的“繁转简”)"
                                     "后再导入")
        names = "、".join(t.name for t in document.tables[:5]) or "没有表格"
        raise DocumentUnreadable(f"{document.file_name} 中没有找到分工表({names}):分工表的表头应有“工作任务”一类的"
                                 "任务列和“牵头单位”或“责任单位”一类的单位列")
    return reading


def _read_rows(reading: Reading, table: Table, columns: Columns, directory: Directory) -> None:
    roles = columns.roles
    header = table.rows[columns.header_row]
    section, unit_cell = "", ""
    for index in range(columns.header_row + 1, len(table.rows)):
        row = table.rows[index]
        cell = {role: row[col].strip() for role, col in roles.items()}
        filled = {c for c in row if c.strip()}
        if not filled or tuple(row) == tuple(header):  # blank, or the header repeated on a new page
            continue
        heading = _section(row, roles.get("seq"))
        if heading is not None:
            section = heading
            continue
        if len(filled) == 1 and not cell.get("task") and not columns.unit_first:
            section = next(iter(filled))
            continue
        unit_text = cell.get("lead") or cell.get("units") or ""
        if unit_text:
            unit_cell = unit_text
        elif columns.unit_first:
            unit_text = unit_cell  # a unit cell that spans rows, copied as text lost the span
        task = cell.get("task", "")
        if not task:
            continue
        place = Source(reading.document.file_name, table.name, table.places[index], index)
        for part in _split_items(task, cell.get("deadline", "")):
            reading.obligations.append(_obligation(reading, directory, part, unit_text, cell, section, place))


CHINESE_NUMBER = re.compile(r"^[一二三四五六七八九十]+[、.．]?$")


def _section(row: tuple[str, ...], seq: int | None) -> str | None:
    """A section row's heading (一、培训扩容): one text across the row (a cell merged across it), or a Chinese
    number in the 序号 column and one text across the rest; None for a row that is not one."""
    number = row[seq].strip() if seq is not None else ""
    rest = {c.strip() for i, c in enumerate(row) if c.strip() and i != seq}
    if len(rest) != 1:
        return None
    (text,) = rest
    if number and CHINESE_NUMBER.match(number):
        return text if text.startswith(number.rstrip("、.．")) else f"{number.rstrip('、.．')}、{text}"
    if number and number != text:
        return None
    return text if SECTION.match(text) else None


@dataclass(frozen=True)
class _Part:
    task: str
    item: int | None
    deadline: str


def _split_items(task: str, deadline: str) -> list[_Part]:
    """Numbered sub-items in one cell are obligations of their own when the deadline cell numbers its dates the
    same way (one date per item); otherwise the cell is one obligation."""
    items = _numbered(task)
    dates = _numbered(deadline)
    if len(items) > 1 and len(dates) == len(items):
        return [_Part(text, n, d) for (n, text), (_, d) in zip(items, dates, strict=True)]
    if len(items) > 1:  # several items under one deadline: one obligation, its items kept as written
        return [_Part(task, None, deadline)]
    match = NUMBERED.match(task)
    number = int(match[1]) if match else None
    return [_Part(task[match.end():].strip() if match else task, number, deadline)]


def _numbered(text: str) -> list[tuple[int, str]]:
    parts = re.split(rf"(?:^|\n)\s*(\d{{1,3}})\s*[.、．]\s*{NOT_DECIMAL}", text)
    if len(parts) < 3 or parts[0].strip():
        return []
    return [(int(parts[i]), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def _obligation(reading: Reading, directory: Directory, part: _Part, unit_text: str, cell: dict[str, str],
                section: str, place: Source) -> ImportedObligation:
    names = split_units(unit_text)
    co_names = split_units(cell.get("co", ""))
    prefix = unit_prefix(names[0]) if names else ""
    resolved = [directory.resolve(n, prefix=prefix if i else "") for i, n in enumerate(names)]
    co = [directory.resolve(n, prefix=prefix or (unit_prefix(co_names[0]) if co_names else "")) for n in co_names]
    obligation = ImportedObligation(part.task, part.item, section, resolved[0] if resolved else None,
                                    tuple(resolved[1:] + co), "", None, None, place, leader=cell.get("leader", ""),
                                    note=cell.get("note", ""), unit_cell=unit_text)
    return with_deadline(obligation, part.deadline, year=reading.year, start=reading.start)


def with_deadline(obligation: ImportedObligation, text: str, *, year: int, start: date) -> ImportedObligation:
    """The obligation with its deadline read from ``text`` (the parser's reason kept when it cannot)."""
    text = text.strip()
    rule, due, problem = None, None, ""
    if text:
        try:
            rule = parse_deadline(text, year=year)
            due = first_due(rule, on_or_after=start)
        except DeadlinePhraseError as error:
            problem = error.reason
    return replace(obligation, deadline_text=text, rule=rule, first_due=due, deadline_problem=problem)
