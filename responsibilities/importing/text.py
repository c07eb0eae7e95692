"""Plain text copied from a page, in the layouts copying produces, read into tables.

- **Cells ending in ``|``**, one per line (the seed's own 工作分工): a table copied from a web page. Cells merged over
  rows appear once, rows are not marked, empty cells are a bare ``|``. The header gives the columns; the body is
  read by what each cell is: a unit's name (short, ending 局, 委, 会, 政府…) starts that unit's rows, a task is
  followed by its deadline.
- **One cell per line, no separators**: the header's lines give the column count; rows start at each number of
  the 序号 column (or run that many lines when there is none).
- **A numbered list** whose items are each followed by a line ``责任单位:A、B、C`` (the first listed leads, where
  the document says 列第一位者为牵头单位).
- **Items ending in a parenthesis**: ``……。(牵头单位:X;责任单位:Y、Z,6月底前完成)``.

The last two are not tables; they are read into tables of the columns they state, so that one reader
(``importing.reading``) reads every layout.
"""

from __future__ import annotations

import re

from responsibilities.importing.reading import SECTION, role_of
from responsibilities.importing.tables import (
    MAX_ROWS,
    Document,
    DocumentUnreadable,
    Table,
    clean_cell,
    rectangular,
)

MAX_TEXT_CHARS = 2_000_000
UNIT_SHAPE = re.compile(r"^[\u4e00-\u9fff()()、]{2,30}(局|委|办|会|院|府|厅|中心|公司|室|部|联|队|所|站|行|社|馆|处)$")
ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.、．]|[((][一二三四五六七八九十\d]+[))])\s*(?!\d)")
ASSIGNED = re.compile(r"^(牵头单位|责任单位|责任部门|配合单位)\s*[:：]\s*(.+)$")
TRAILING = re.compile(r"[((]((?:牵头单位|责任单位|配合单位|牵头部门)\s*[:：][^()()]*)[))]\s*[。.;；]?\s*$")
DEADLINE_LABEL = re.compile(r"^(完成时限|完成时间|时间节点|时限要求)\s*[:：]\s*(.+)$")
# The last comma-separated piece of a closing parenthesis is its deadline when it reads like one (尽快完成 too: it
# is a deadline the parser then refuses, rather than a unit named 尽快完成).
DEADLINE_SHAPE = re.compile(r"(\d{1,2}\s*月|年底|年内|季度|持续|长期|每[月年季]|底前|全年|常态|尽快|及时|立即|完成$)")


def read_text(text: str, file_name: str) -> Document:
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentUnreadable(f"文本超过 {MAX_TEXT_CHARS // 10000} 万字,不像一份工作方案:请只复制分工表部分")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    tables = [*_pipe_tables(lines), *_line_tables(lines), *_listed_items(lines), *_parenthesised_items(lines)]
    if sum(len(t.rows) for t in tables) > MAX_ROWS:
        raise DocumentUnreadable(f"表格超过 {MAX_ROWS} 行:请分批导入")
    return Document(file_name, "text", tuple(tables), text[:200_000])


def _table(name: str, rows: list[list[str]], places: list[str]) -> Table:
    return Table(name, tuple(tuple(r) for r in rectangular(rows)), tuple(places))


def _lines_name(first: int, last: int) -> str:
    return f"第 {first + 1}–{last + 1} 行的表格"


# ── cells ending in | ─────────────────────────────────────────────────────────────────────────


def _pipe_runs(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line indexes of each run of ``|``-terminated lines; one line without ``|`` inside a run (the
    header's last cell) does not end it."""
    runs, start, gap = [], None, 0
    for i, line in enumerate(lines):
        if line.rstrip().endswith("|"):
            start = i if start is None else start
            gap = 0
        elif start is not None:
            gap += 1
            if gap > 1 or not line.strip():
                runs.append((start, i - gap))
                start, gap = None, 0
    if start is not None:
        runs.append((start, len(lines) - 1 - gap))
    return [(a, b) for a, b in runs if b - a >= 6]


def _pipe_tables(lines: list[str]) -> list[Table]:
    tables = []
    for first, last in _pipe_runs(lines):
        cells = [(i, clean_cell(lines[i].rstrip().removesuffix("|"))) for i in range(first, last + 1)]
        header = []
        for _, cell in cells:
            if not cell:
                break
            header.append(cell)
        roles = [role_of(h) for h in header]
        if "task" not in roles or not ({"lead", "units"} & set(roles)):
            continue
        body = [(i, c) for i, c in cells[len(header):] if c]
        unit_first = roles.index("lead" if "lead" in roles else "units") < roles.index("task")
        rows, places = ([header], [f"第 {first + 1} 行"])
        reader = _unit_first_rows if unit_first else _task_first_rows
        for row, line in reader(body, roles):
            rows.append(row)
            places.append(f"第 {line + 1} 行")
        tables.append(_table(_lines_name(first, last), rows, places))
    return tables


def _unit_first_rows(body: list[tuple[int, str]], roles: list[str | None]) -> list[tuple[list[str], int]]:
    """Rows of a unit-first table from its non-empty cells: a unit's name starts its rows; a task is followed by
    its deadline (when the table has that column); anything else after a deadline starts the next task."""
    width = len(roles)
    col = {role: i for i, role in reversed(list(enumerate(roles))) if role}
    unit_col = col.get("lead", col.get("units"))
    rows: list[tuple[list[str], int]] = []
    unit, current = "", None
    for line, cell in body:
        if UNIT_SHAPE.match(cell) and not ITEM.match(cell):
            unit = cell
            continue
        if current is not None and "deadline" in col and not current[0][col["deadline"]] \
                and not ITEM.match(cell):
            current[0][col["deadline"]] = cell
            continue
        current = ([""] * width, line)
        current[0][unit_col], current[0][col["task"]] = unit, cell
        rows.append(current)
    return rows


def _task_first_rows(body: list[tuple[int, str]], roles: list[str | None]) -> list[tuple[list[str], int]]:
    """Rows of a task-first table: cells in order, a new row at each number of the 序号 column (or every
    ``len(roles)`` cells when there is none)."""
    return _chunk(body, len(roles), "seq" in roles and roles.index("seq") == 0)


def _chunk(cells: list[tuple[int, str]], width: int, numbered: bool) -> list[tuple[list[str], int]]:
    rows: list[tuple[list[str], int]] = []
    for line, cell in cells:
        starts = (re.fullmatch(r"\d{1,3}", cell) is not None) if numbered else (not rows or len(rows[-1][0]) >= width)
        if starts or not rows:
            rows.append(([cell], line))
        elif len(rows[-1][0]) < width:
            rows[-1][0].append(cell)
        else:  # more lines than columns: the task cell ran over several lines
            task = 1 if numbered else 0
            rows[-1][0][task] += "\n" + cell
    return rows


# ── one cell per line, no separators ─────────────────────────────────────────────────────────────


def _line_tables(lines: list[str]) -> list[Table]:
    tables = []
    i = 0
    while i < len(lines):
        roles, j = [], i
        while j < len(lines) and not lines[j].rstrip().endswith("|") and role_of(lines[j].strip()):
            roles.append(role_of(lines[j].strip()))
            j += 1
        if len(roles) >= 3 and "task" in roles and ({"lead", "units"} & set(roles)):
            end = j
            while end < len(lines) and not (not lines[end].strip() and end + 1 < len(lines)
                                            and not lines[end + 1].strip()):
                end += 1
            body = [(k, clean_cell(lines[k])) for k in range(j, end) if lines[k].strip()]
            header = [clean_cell(lines[k]) for k in range(i, j)]
            rows = _chunk(body, len(roles), roles[0] == "seq")
            tables.append(_table(_lines_name(i, end - 1), [header, *[r for r, _ in rows]],
                                 [f"第 {i + 1} 行", *[f"第 {line + 1} 行" for _, line in rows]]))
            i = end
        else:
            i = max(j, i + 1)
    return tables


# ── a numbered list, each item followed by 责任单位:… ─────────────────────────────────────────────


def _listed_items(lines: list[str]) -> list[Table]:
    """Items whose units follow on a line of their own (责任单位:A、B、C): the item runs from its numbered first
    line (1. or (一)) to that line; its first line is the task, a 完成时限: line in it its deadline. The first unit
    listed leads (列第一位者为牵头单位, as such documents say)."""
    rows: list[list[str]] = [["序号", "工作任务", "牵头单位", "配合单位", "完成时限"]]
    places = ["(按“责任单位:”行读出)"]
    item_start, item_lines = 0, []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.endswith("|"):
            continue
        assigned = ASSIGNED.match(line)
        if assigned:
            if item_lines:
                rows.append(_listed_row(item_lines, assigned))
                places.append(f"第 {item_start + 1} 行")
            item_lines = []
        elif ITEM.match(line):
            item_start, item_lines = i, [line]
        elif SECTION.match(line) and len(line) < 40:
            rows.append([line, "", "", "", ""])
            places.append(f"第 {i + 1} 行")
            item_lines = []
        elif item_lines:
            item_lines.append(line)
    if all(not r[1] for r in rows[1:]):
        return []
    return [_table("按“责任单位:”列出的任务", rows, places)]


def _listed_row(item: list[str], assigned: re.Match) -> list[str]:
    deadline = ""
    for line in item[1:]:
        labelled = DEADLINE_LABEL.match(line)
        if labelled:
            deadline = labelled[2].strip("。")
    task = ITEM.sub("", item[0]).strip()
    units = re.sub(r"[((][^()()]*(牵头|下同)[^()()]*[))]", "", assigned[2]).strip("。 ")
    if assigned[1] == "配合单位":
        return ["", task, "", units, deadline]
    return ["", task, units, "", deadline]


# ── items ending in (牵头单位:X;责任单位:Y、Z,6月底前完成) ───────────────────────────────────────────


def _parenthesised_items(lines: list[str]) -> list[Table]:
    rows: list[list[str]] = [["序号", "工作任务", "牵头单位", "配合单位", "完成时限"]]
    places = ["(按句末括号读出)"]
    section = ""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if SECTION.match(line) and len(line) < 40 and not TRAILING.search(line):
            section = line
            rows.append([section, "", "", "", ""])
            places.append(f"第 {i + 1} 行")
            continue
        found = TRAILING.search(line)
        if not found:
            continue
        lead, co, deadline = _assignment(found[1])
        task = ITEM.sub("", line[:found.start()]).strip()
        rows.append(["", task, lead, co, deadline])
        places.append(f"第 {i + 1} 行")
    if all(not r[1] for r in rows[1:]):
        return []
    return [_table("按句末括号列出的任务", rows, places)]


def _assignment(inner: str) -> tuple[str, str, str]:
    """牵头单位:X;责任单位:Y、Z,6月底前完成 → (X, "Y、Z", "6月底前完成")."""
    lead = co = deadline = ""
    for part in re.split(r"[;；]", inner):
        label, _, value = part.replace("：", ":").partition(":")  # a Chinese text's colon is mostly the full-width
        value = value.strip()
        pieces = re.split(r"[,，]", value)
        if len(pieces) > 1 and DEADLINE_SHAPE.search(pieces[-1]):
            deadline, value = pieces[-1].strip(), "、".join(p.strip() for p in pieces[:-1])
        label = label.strip()
        if label in ("牵头单位", "牵头部门"):
            lead = value
        elif label == "责任单位" and not lead:
            lead = value  # the first listed leads
        else:
            co = "、".join(filter(None, [co, value]))
        if label.startswith("完成"):
            deadline = value
    return lead, co, deadline
