"""Human output of the command line, in Chinese: status with lights, one deliverable, the audit trail."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from responsibilities.vocabulary import ACTION_NAMES, LIGHT_NAMES, LIGHT_ORDER, STATE_NAMES


def _short(text: str, width: int = 36) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _row(r, *, with_plan: bool = False) -> str:  # a StatusRow
    late = f"逾期 {r.days_overdue} 天" if r.days_overdue else ""
    due = r.due.isoformat() if r.due else "—"
    co = "(配合)" if r.cooperating else ""
    plan = f"〔{r.plan_name}〕" if with_plan else ""  # refs repeat across plans: say whose
    return (f"  [{LIGHT_NAMES[r.light]}] {r.id:<34} {due:<10} {STATE_NAMES.get(r.state, r.state):<5} {late:<9} "
            f"{co}{plan}{_short(r.task)}")


def render_status(rows: list, today: date, *, show_all: bool) -> str:
    """Counts per unit, then the deliverables that need attention (all of them with ``show_all``)."""
    lights = Counter(r.light for r in rows)
    with_plan = len({r.plan for r in rows}) > 1
    lines = [f"截至 {today}:共 {len(rows)} 项 · "
             + " · ".join(f"{LIGHT_NAMES[k]} {lights.get(k, 0)}" for k in LIGHT_ORDER)]
    by_unit: dict[str, list] = defaultdict(list)
    for r in rows:
        by_unit[r.unit].append(r)
    for unit, unit_rows in by_unit.items():
        counts = Counter(r.light for r in unit_rows)
        lines.append(f"{unit_rows[0].unit_name}({unit}) "
                     + " ".join(f"{LIGHT_NAMES[k]} {counts.get(k, 0)}" for k in LIGHT_ORDER))
        shown = [r for r in unit_rows if show_all or r.light != "green"]
        order = sorted(shown, key=lambda r: (LIGHT_ORDER.index(r.light), r.due or date.max, r.id))
        lines += [_row(r, with_plan=with_plan) for r in order]
    if not show_all:
        lines.append("(只列出红、黄、灰项;--all 列出全部,--unit 查看单个单位)")
    return "\n".join(lines)


def _when(moment, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _transition(before: dict | None, after: dict | None) -> str:
    if not before or not after:
        return ""
    moved = [f"{k} {before.get(k)}→{after.get(k)}" for k in after if k != "version" and before.get(k) != after.get(k)]
    return ";".join(moved)


def render_deliverable(view, zone: ZoneInfo) -> str:  # a DeliverableView
    d, o = view.deliverable, view.obligation
    lines = [
        f"{d.ref}  {view.unit_name}({d.unit_id})",
        f"  所属方案:{view.plan_name}({d.plan_id})",
        f"  任务:{o.task}",
        f"  完成时限:{o.deadline_text}" + (f"(期间 {d.period})" if d.period != "once" else ""),
        f"  截止:{d.due or '—'}" + (f"(原定 {d.original_due},已延期)" if d.due != d.original_due else ""),
        f"  状态:{STATE_NAMES.get(d.state, d.state)} · 版本 {d.version} · "
        f"最后由 {d.updated_by} 于 {_when(d.updated_at, zone)} 修改",
        "  出处:" + ";".join(s.get("section", "") + (f" {s['unit']}" if s.get("unit") else "") +
                            (f" 第{s['item']}项" if s.get("item") else "") for s in o.sources),
    ]
    if o.co_unit_ids:
        lines.append("  配合单位:" + "、".join(o.co_unit_ids))
    for e in view.evidence:
        what = e.url if e.kind == "link" else f"{e.filename}({e.content_type},{e.size:,} 字节,sha256 {e.sha256[:12]}…)"
        lines.append(f"  佐证:{what}")
    for x in view.extensions:
        lines.append(f"  延期申请:至 {x.requested_due},{x.reason}({x.status}"
                     + (f",{x.decision_reason}" if x.decision_reason else "") + ")")
    lines.append("  记录:")
    for a in view.history:
        moved = _transition(a.before, a.after)
        lines.append(f"    {_when(a.at, zone)}  {a.actor:<14} {ACTION_NAMES.get(a.action, a.action)}"
                     + (f"  {moved}" if moved else "") + (f"  「{a.note}」" if a.note else ""))
    return "\n".join(lines)


def render_audit(records: list, zone: ZoneInfo) -> str:
    if not records:
        return "(无记录)"
    return "\n".join(
        f"{_when(a.at, zone)}  {a.actor:<14} {ACTION_NAMES.get(a.action, a.action):<6} "
        f"{a.deliverable_ref or a.obligation_id or a.unit_id or ''}"
        + (f"  {_transition(a.before, a.after)}" if _transition(a.before, a.after) else "")
        + (f"  「{a.note}」" if a.note else "")
        for a in records)
