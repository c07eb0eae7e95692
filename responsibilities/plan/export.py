"""The plan as JSON-ready data: a one-screen summary and the full normalised export.

Other tools read ``duban plan export --json``; its shape is part of duban's interface: obligations carry
id, lead, co_units, task, deadline_text, rule (kinds as in deadline_rules) and sources.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any, Mapping

from responsibilities.deadlines.rules import KINDS, rule_to_json
from responsibilities.plan.model import Obligation, Plan
from responsibilities.vocabulary import DEADLINE_KIND_NAMES, UNIT_KIND_NAMES


def to_json(value: Any) -> Any:
    """Dataclasses, tuples, mappings and dates as plain JSON values (dataclass field order kept)."""
    if is_dataclass(value):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def obligation_to_json(obligation: Obligation) -> dict[str, Any]:
    return {
        "id": obligation.id,
        "lead": obligation.lead,
        "co_units": list(obligation.co_units),
        "task": obligation.task,
        "detail": obligation.detail,
        "deadline_text": obligation.deadline.text,
        "rule": rule_to_json(obligation.deadline),
        "awaits": obligation.awaits,
        "start": obligation.start.isoformat() if obligation.start else None,
        "until": obligation.until.isoformat() if obligation.until else None,
        "targets": list(obligation.targets),
        "report_to": list(obligation.report_to),
        "group": obligation.group,
        "sources": [to_json(s) | {"cite": s.cite()} for s in obligation.sources],
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The whole plan, normalised: group assignments expanded, deadlines parsed."""
    out = {f.name: to_json(getattr(plan, f.name)) for f in fields(plan) if f.name not in ("obligations", "supervision")}
    out["obligations"] = [obligation_to_json(o) for o in plan.obligations]
    supervision = to_json(plan.supervision)
    supervision["ongoing_cadence"] = rule_to_json(plan.supervision.ongoing_cadence)
    out["supervision"] = supervision
    return out


def plan_summary(plan: Plan) -> dict[str, Any]:
    """What `duban plan check` shows: enough to compare with the document at a glance."""
    kinds = Counter(o.kind for o in plan.obligations)
    unit_kinds = Counter(u.kind for u in plan.units)
    leads = {o.lead for o in plan.obligations}
    group = plan.leading_group
    return {
        "plan": {
            "id": plan.id,
            "title": plan.title,
            "document_number": plan.document_number,
            "issuer": plan.unit(plan.issuer).name if plan.issuer else "",
            "written_on": plan.written_on.isoformat(),
            "published_on": plan.published_on.isoformat(),
            "start": plan.start.isoformat(),
            "end": plan.end.isoformat(),
            "time_zone": plan.time_zone,
        },
        "phases": [{"id": p.id, "name": p.name, "spans": [[s.start.isoformat(), s.end.isoformat()] for s in p.spans]}
                   for p in plan.phases],
        "units": {"total": len(plan.units), "by_kind": dict(sorted(unit_kinds.items())),
                  "with_obligations": len(leads)},
        "groups": [{"id": g.id, "name": g.name, "members": len(g.members)} for g in plan.groups],
        "leading_group": {"name": group.name, "leader": group.leader.name, "deputies": len(group.deputies),
                          "members": len(group.members), "office_in": plan.unit(group.office.housed_in).name}
        if group else None,
        "obligations": {"total": len(plan.obligations), "by_kind": {k: kinds.get(k, 0) for k in KINDS},
                        "from_group_assignments": sum(1 for o in plan.obligations if o.group)},
        "events": [{"id": e.id, "name": e.name} for e in plan.events],
        "targets": _targets_summary(plan),
        "calendar": plan.working_calendar().describe_known(),
    }


def _targets_summary(plan: Plan) -> dict[str, Any] | None:
    if plan.targets is None:
        return None
    breakdown = plan.targets.breakdown
    return {
            "unit_of_measure": plan.targets.unit_of_measure,
            "total": breakdown.totals.total,
            "by_year": {str(y): v for y, v in breakdown.totals.by_year.items()},
            "regions": [{"region": plan.unit(r.region).short_name, "total": r.total,
                         "by_year": {str(y): v for y, v in r.by_year.items()}} for r in breakdown.regions],
            "plan_wide": [{"id": t.id, "name": t.name, "value": t.value, "unit_of_measure": t.unit_of_measure}
                          for t in plan.targets.plan_wide if t.year is None],
            "minimum_shares": [s.text for s in breakdown.minimum_shares],
    }




def _pad(text: object, width: int, *, right: bool = False) -> str:
    """Align in a terminal, where each Chinese character takes two columns."""
    text = str(text)
    fill = " " * max(width - sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text), 0)
    return fill + text if right else text + fill


def render_summary(summary: dict[str, Any]) -> str:
    """The summary as one screen of Chinese text."""
    p, u, o, t, lg = (summary["plan"], summary["units"], summary["obligations"], summary["targets"],
                      summary["leading_group"])
    years = list(t["by_year"]) if t else []
    lines = [
        f"方案检查通过:{p['title']}",
        f"  文号 {p['document_number'] or '无'} · {p['issuer'] or '未写发文单位'} · 成文 {p['written_on']} · "
        f"发布 {p['published_on']}",
        f"  期限 {p['start']} 至 {p['end']}({p['time_zone']})",
        "  阶段:" + ";".join(f"{ph['name']} " + "、".join(f"{a}~{b}" for a, b in ph["spans"])
                             for ph in summary["phases"]),
        f"责任单位 {u['total']} 个(承担任务 {u['with_obligations']} 个):"
        + "、".join(f"{UNIT_KIND_NAMES[k]} {n}" for k, n in u["by_kind"].items()),
        "  单位组:" + "、".join(f"{g['name']}({g['members']} 个)" for g in summary["groups"]),
        f"领导小组:组长 {lg['leader']},副组长 {lg['deputies']} 人,成员 {lg['members']} 人;办公室设在{lg['office_in']}"
        if lg else "领导小组:无(督办上报各单位分管领导,再报督查室)",
        f"工作任务 {o['total']} 项(其中按单位组分解 {o['from_group_assignments']} 项):"
        + "、".join(f"{DEADLINE_KIND_NAMES[k]} {n}" for k, n in o["by_kind"].items() if n),
        "  待记录事件:" + ("、".join(e["name"] for e in summary["events"]) or "无"),
    ]
    if t is None:
        lines += ["目标:无(本方案没有目标任务数和月报)", f"工作日历:{summary['calendar']} 年"]
        return "\n".join(lines)
    lines += [
        f"目标({t['unit_of_measure']}):三年 {t['total']:,}," + "、".join(f"{y}年 {t['by_year'][y]:,}" for y in years),
        "  " + _pad("区域", 8) + "".join(_pad(x, 8, right=True) for x in ["三年", *years]),
    ]
    for r in t["regions"]:
        lines.append("  " + _pad(r["region"], 8)
                     + "".join(_pad(n, 8, right=True) for n in [r["total"], *r["by_year"].values()]))
    lines.append("  分类:" + "、".join(
        f"{x['name']} {x['value']:,}{'' if x['unit_of_measure'] == t['unit_of_measure'] else x['unit_of_measure']}"
        for x in t["plan_wide"] if x["id"] != "total"))
    lines += [f"  {s}" for s in t["minimum_shares"]]
    lines.append(f"工作日历:{summary['calendar']} 年")
    return "\n".join(lines)
