"""What the office corrects in what was read, before the plan is published: a name mapped to a unit of the
directory, a new unit defined, a row's lead chosen, a row's deadline rewritten. Applied to a reading, they replace
what they concern; the flags, derived from each obligation's state, go with them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from responsibilities.importing.reading import ImportedObligation, Reading, with_deadline
from responsibilities.importing.tables import DocumentUnreadable
from responsibilities.importing.units import Directory, Resolution
from responsibilities.plan.model import ID_LENGTH

UNIT_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_CORRECTIONS = 2000  # more than any table has rows and names


class CorrectionRefused(DocumentUnreadable):
    """A correction that cannot be applied (a unit that is not there, a deadline the parser cannot read)."""


@dataclass
class Corrections:
    units: dict[str, str] = field(default_factory=dict)  # a name as the document writes it → an existing unit id
    new_units: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (new unit id, full name)
    leads: dict[int, str] = field(default_factory=dict)  # obligation index → unit id
    deadlines: dict[int, str] = field(default_factory=dict)  # obligation index → deadline text

    def size(self) -> int:
        return len(self.units) + len(self.new_units) + len(self.leads) + len(self.deadlines)


def apply_corrections(reading: Reading, directory: Directory, corrections: Corrections) -> Reading:
    """``reading`` with ``corrections`` applied (a new Reading; the one given is unchanged)."""
    if corrections.size() > MAX_CORRECTIONS:
        raise CorrectionRefused(f"更正超过 {MAX_CORRECTIONS} 处:请分批保存")
    known = {e.id: e for e in directory.entries}
    for name, unit_id in corrections.units.items():
        if unit_id not in known:
            raise CorrectionRefused(f"单位目录中没有编号为“{unit_id[:64]}”的单位(用于“{name[:40]}”)")
    taken = set(known)
    for name, (unit_id, full_name) in corrections.new_units.items():
        if not UNIT_ID.fullmatch(unit_id) or len(unit_id) > ID_LENGTH:
            raise CorrectionRefused(f"新单位“{name[:40]}”的编号“{unit_id[:64]}”不合规:只能用小写英文字母、数字和连字符")
        if unit_id in taken:
            raise CorrectionRefused(f"编号“{unit_id}”已有单位使用:新单位“{name[:40]}”请换一个编号")
        if not full_name.strip() or len(full_name) > 100:
            raise CorrectionRefused(f"请填写新单位“{name[:40]}”的全称(100 字以内)")
        taken.add(unit_id)

    def resolved(r: Resolution) -> Resolution:
        if r.name in corrections.units:
            chosen = known[corrections.units[r.name]]
            return Resolution(r.name, chosen.id, group=chosen.group)
        if r.name in corrections.new_units:
            return Resolution(r.name, corrections.new_units[r.name][0])
        return r

    obligations: list[ImportedObligation] = []
    for index, o in enumerate(reading.obligations):
        lead = resolved(o.lead) if o.lead else None
        if index in corrections.leads:
            unit_id = corrections.leads[index]
            if unit_id not in known:
                raise CorrectionRefused(f"单位目录中没有编号为“{unit_id[:64]}”的单位")
            lead = Resolution(lead.name if lead else known[unit_id].name, unit_id, group=known[unit_id].group)
        o = replace(o, lead=lead, co_units=tuple(resolved(r) for r in o.co_units))
        if index in corrections.deadlines:
            o = with_deadline(o, corrections.deadlines[index][:100], year=reading.year, start=reading.start)
            if o.rule is None and o.deadline_text:
                raise CorrectionRefused(f"无法读懂完成时限“{o.deadline_text}”({o.deadline_problem})")
        obligations.append(o)
    new_units = {name: value for name, value in corrections.new_units.items()}
    return replace(reading, obligations=obligations, new_units={**reading.new_units, **new_units})
