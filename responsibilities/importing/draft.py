"""What was read from a document, as a draft plan file (the format `duban plan add` takes) and as a report.

Every flag stands in the draft as a comment beside the lines it concerns, starting ``# 待核对:``; the plan loader
refuses a file that still has one (``plan.yaml_reader.REVIEW_MARK``), so `duban plan check` on an unreviewed draft
fails naming each. The office reviews a line, corrects it, and deletes the comment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import PurePath
from typing import Any

from responsibilities.importing.reading import Flag, ImportedObligation, Reading
from responsibilities.importing.units import Directory, Resolution
from responsibilities.plan.model import SHORT_NAME_LENGTH, plan_name
from responsibilities.plan.yaml_reader import REVIEW_MARK

# What a division-of-labour table does not say: the draft supervises as offices commonly do, escalating to each
# unit's leader in charge (unit-member, without a leading group) and then the office; the office may edit it, or add
# a leading_group (and targets with reporting) as deadlines.yaml has them.
SUPERVISION = """\
# 督办设置:分工表中没有,以下为常用做法,可按需修改。本方案未列领导小组:督办先报各单位分管领导,再报督查室。
supervision:
  ongoing_cadence: 季度结束后10日内
  reminder_working_days_before: [5, 1, 0]
  chase: {first_after_working_days: 1, repeat_every_working_days: 3}
  escalation:
    - {level: 1, after_working_days: 3, to: [unit-member]}
    - {level: 2, after_working_days: 5, to: [office]}
  awaiting_grace_working_days: 20
"""


def q(text: str) -> str:
    """A YAML scalar that reads back as ``text`` (JSON strings are YAML double-quoted scalars)."""
    return json.dumps(text, ensure_ascii=False)


def document_title(reading: Reading) -> str:
    """The plan's title: the document's line naming a 方案 (or 分工), else the file's name."""
    for line in reading.document.text.splitlines()[:60]:
        line = re.sub(r"^(标\s*题|题\s*目)\s*[:：]", "", line.split("|")[0]).strip()
        notice = re.search(r"关于印发(.+?)的通知", line)  # the covering notice names the plan it sends
        if notice:
            return notice.group(1).strip("《》")
        if 4 <= len(line) <= 80 and re.search(r"(方案|计划|分工|分解|要点|清单)", line) and not line.startswith("《"):
            return line
    return PurePath(reading.document.file_name).stem[:80] or "导入的工作方案"


def short_name(title: str) -> str:
    """What lists and tags show: the plan's name, cut to a short name's length."""
    return plan_name(title)[:SHORT_NAME_LENGTH]


def document_number(reading: Reading) -> str:
    found = re.search(r"[\u4e00-\u9fff]{1,8}[〔\[(]\d{4}[〕\])]\s*\d{1,4}\s*号", reading.document.text[:5000])
    return re.sub(r"\s+", "", found.group(0)) if found else ""


def obligation_ids(reading: Reading, new_ids: dict[str, str]) -> list[str]:
    """hrss-1, hrss-2, counties-1…: the lead's id and the obligation's number among the lead's."""
    counts: Counter[str] = Counter()
    ids = []
    for o in reading.obligations:
        lead = _unit_id(o.lead, new_ids) if o.lead else "task"
        counts[lead] += 1
        ids.append(f"{lead}-{counts[lead]}")
    return ids


def new_unit_ids(reading: Reading) -> dict[str, str]:
    """The names that matched no unit, each with the id the draft proposes for it (new-unit-1, …)."""
    unknown = [r.name for r in reading.names() if r.id is None]
    return {name: f"new-unit-{i}" for i, name in enumerate(unknown, 1)}


def _unit_id(resolution: Resolution, new_ids: dict[str, str]) -> str:
    return resolution.id or new_ids[resolution.name]


def render_draft(reading: Reading, directory: Directory, *, plan_id: str) -> str:
    """The draft plan file's text."""
    new_ids = new_unit_ids(reading)
    flags_by_row: dict[tuple[str, str], list[Flag]] = {}
    for flag in reading.flags:
        flags_by_row.setdefault((flag.table, flag.row), []).append(flag)
    title, number = document_title(reading), document_number(reading)
    span = re.search(r"(\d{4})\s*[-—–~至]\s*(\d{4})\s*年", title)  # 工作方案(2019—2021年) runs to 2021
    last_year = int(span.group(2)) if span and int(span.group(2)) >= reading.year else reading.year
    end = max([reading.start.replace(year=last_year, month=12, day=31)]
              + [o.first_due for o in reading.obligations if o.first_due])
    out = [f"# 由 duban plan import 从《{reading.document.file_name}》读出的方案草稿。",
           "# 标有“待核对”注释的行须人工核对:核对、改正后删去该注释。还有这样的注释时,`duban plan check` 不通过。",
           "plan:",
           f"  id: {plan_id}",
           f"  title: {q(title)}",
           f"  short_name: {q(short_name(title))}",
           f"  notice_title: {q(title)}",
           f"  document_number: {q(number)}" if number else "  # 文件中没有找到文号(document_number)",
           f"  written_on: {reading.start.isoformat()}",
           f"  published_on: {reading.start.isoformat()}",
           "  basis: []",
           "  time_zone: Asia/Shanghai",
           f"  start: {reading.start.isoformat()}",
           f"  end: {end.isoformat()}",
           "  phases:",
           f"    - {{id: whole, name: 实施期, text: 实施期, spans: [{{start: {reading.start}, end: {end}}}]}}",
           "", "units:"]
    out += _units(reading, directory, new_ids)
    groups = [directory.entry(group_id) for group_id in dict.fromkeys(r.id for r in reading.names() if r.group)]
    if groups:
        out += ["", "groups:"]
        for g in groups:
            out.append(f"  - {{id: {g.id}, name: {q(g.name)}, aliases: {_list(g.aliases)}, "
                       f"members: [{', '.join(g.members)}]}}")
    out += ["", SUPERVISION, "obligations:"]
    for obligation_id, o in zip(obligation_ids(reading, new_ids), reading.obligations, strict=True):
        out += _obligation(obligation_id, o, new_ids, flags_by_row.get((o.source.table, o.source.row), []))
    return "\n".join(out) + "\n"


def _list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(q(i) for i in items) + "]"


def _units(reading: Reading, directory: Directory, new_ids: dict[str, str]) -> list[str]:
    out = []
    members = {m for r in reading.names() if r.group for m in directory.entry(r.id).members}
    defined = {unit_id: full_name for unit_id, full_name in reading.new_units.values()}
    # The names as the document writes them become aliases, so that the plan's sources cite the cells verbatim.
    written: dict[str, list[str]] = {}
    for r in reading.names():
        if r.id:
            written.setdefault(r.id, []).append(r.name)
    used = [r.id for r in reading.names() if r.id and not r.group and r.id not in defined] + sorted(members)
    for unit_id, full_name in defined.items():
        aliases = [n for n in written.get(unit_id, []) if n != full_name]
        out.append(f"  - {{id: {unit_id}, name: {q(full_name)}, aliases: {_list(aliases)}, kind: department, "
                   "contacts: []}")
    for unit_id in dict.fromkeys(used):
        e = directory.entry(unit_id)
        aliases = list(dict.fromkeys([*e.aliases, *(n for n in written.get(unit_id, []) if n != e.name)]))
        contacts = ", ".join(f"{{role: 联络员, email: {q(m)}}}" for m in e.emails)
        out.append(f"  - {{id: {e.id}, name: {q(e.name)}, aliases: {_list(aliases)}, kind: {e.kind}, "
                   f"contacts: [{contacts}]}}")
    for name, new_id in new_ids.items():
        out.append(f"  {REVIEW_MARK} 新单位“{name}”:单位目录中没有。"
                   "请改用已有单位的编号,或补全其编号、全称、类别和联系人")
        out.append(f"  - {{id: {new_id}, name: {q(name)}, aliases: [], kind: department, contacts: []}}")
    return out


def _obligation(obligation_id: str, o: ImportedObligation, new_ids: dict[str, str], flags: list[Flag]) -> list[str]:
    concerning = [f for f in flags if f.cell in (o.task[:80], o.deadline_text) or f.cell in _names(o)]
    out = [f"  {REVIEW_MARK} {f.message}(来源:{f.where})" for f in concerning]
    out.append(f"  - id: {obligation_id}")
    out.append(f"    lead: {_unit_id(o.lead, new_ids) if o.lead else q('')}")
    if o.co_units:
        out.append(f"    co_units: [{', '.join(_unit_id(r, new_ids) for r in o.co_units)}]")
    out.append(f"    task: {q(o.task)}")
    out.append(f"    deadline: {{text: {q(o.deadline_text)}}}")
    source = [f"section: {q(o.section or '分工表')}"]
    if o.lead:
        source.append(f"unit: {q(o.lead.name)}")
    if o.item is not None:
        source.append(f"item: {o.item}")
    out.append(f"    sources:\n      - {{{', '.join(source)}}}  # {o.source.file} {o.source.table} {o.source.row}")
    return out


def _names(o: ImportedObligation) -> set[str]:
    return {r.name for r in ([o.lead] if o.lead else []) + list(o.co_units)}


def report_json(reading: Reading) -> dict[str, Any]:
    """The report for tools (`--json`): obligations, unit names, flags, totals."""
    names = reading.names()
    kinds = Counter(o.rule.kind if o.rule else "unread" for o in reading.obligations)
    return {
        "file": reading.document.file_name, "format": reading.document.kind, "year": reading.year,
        "tables": reading.tables_used,
        # What the reader had to say: a table joined across pages by a guess, a nested table left out…
        "notes": [*reading.document.notes, *(t.joined for t in reading.document.tables if t.joined)],
        "obligations": [o.as_json() for o in reading.obligations],
        "units": [{"name": r.name, "unit": r.id, "status": r.status, "candidates": list(r.candidates)} for r in names],
        "flags": [f.as_json() for f in reading.flags],
        "totals": {"obligations": len(reading.obligations), "flags": len(reading.flags),
                   "units_known": sum(r.status in ("known", "group") for r in names),
                   "units_unknown": sum(r.status == "unknown" for r in names),
                   "units_ambiguous": sum(r.status == "ambiguous" for r in names), "kinds": dict(kinds)},
    }


def with_plan_names(draft: str, *, title: str | None = None, short_name: str | None = None) -> str:
    """``draft`` with the plan's title and short name the office chose (None: as read from the document)."""
    chosen = {"title": title, "short_name": short_name}
    lines = draft.split("\n")
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "plan:")):
            break  # past the plan's header
        key = line[2:].partition(":")[0] if line.startswith("  ") and not line.startswith("   ") else ""
        if chosen.get(key) is not None:
            lines[i] = f"  {key}: {q(chosen.pop(key) or '')}"
    return "\n".join(lines)
