"""Handing in the monthly figures (月报): submitting a report is submitting its monthly-report deliverable.

A region's report for a month is the deliverable ``<monthly obligation>.<region>@<YYYY-MM>``; its figures are
stored as a new version each time (``FigureReport`` + ``FigureValue``, append-only), never overwritten:

- an open or returned report: the figures are handed in and the deliverable becomes submitted, exactly like
  ``services.submit`` (the office then accepts or returns it like any other deliverable);
- a report waiting for review: the figures are replaced by a new version (the submission date that scores the
  report does not move);
- an accepted report: a correction, which needs a reason; a new version, audited with the figures before and
  after; the deliverable stays accepted and its scoring does not change;
- a waived report: refused.

Who may: the region's own staff, or the office on its behalf. Everything is checked before anything is written;
a spreadsheet import records all its rows in one transaction or none (``record_many``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from responsibilities.figures.rules import Field, Problem, fields_of, month_key, validate_figures
from responsibilities.limits import checked_text, is_clean_key
from responsibilities.plan.deliverables import deliverable_ref
from responsibilities.storage.audit import snapshot, write_audit
from responsibilities.storage.model import (
    Deliverable,
    FigureReport,
    FigureValue,
    ObligationRecord,
    UnitRecord,
    User,
)
from responsibilities.storage.plans import FiguresSettings, require_plan
from responsibilities.tracking.access import acting_user
from responsibilities.tracking.services import _require_aware, local_today

SessionFactory = sessionmaker[Session]
SOURCES = ("cli", "xlsx", "web", "simulate")


class FiguresInvalid(InvalidInput):
    """Figures that cannot be recorded: every problem, each with where it is (a field, a cell, a row)."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("月报数据有误,未记录任何数据:\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class FiguresEntry:
    """One report to record: a region, a month, the raw values by field id, and where it came from (for messages)."""

    region: str
    month: date
    values: Mapping[str, object]
    note: str | None = None
    where: str = ""  # e.g. 工作表「月报表」第3行; empty for a single report
    cells: Mapping[str, str] = field(default_factory=dict)  # field id → cell reference (E3), for messages


@dataclass(frozen=True)
class FiguresRecorded:
    ref: str
    region: str
    month: str
    version: int  # of the figures
    kind: str  # submission | correction
    state: str  # the deliverable's state after
    values: Mapping[str, int]


def figures_settings(session: Session) -> FiguresSettings:
    """The loaded plan's monthly-figures settings; refused when the plan has no monthly report."""
    settings = require_plan(session).figures
    if settings is None:
        raise NotFound("工作方案中没有月报:请检查方案文件的 reporting.monthly_report,并重新 `duban load`")
    return settings


def reporting_regions(session: Session, obligation: str) -> dict[str, str]:
    """Region id → name, for every region that owes monthly reports, in the plan's order."""
    rows = dict(session.execute(select(ObligationRecord.lead_unit_id, UnitRecord.short_name)
                                .join(UnitRecord, UnitRecord.id == ObligationRecord.lead_unit_id)
                                .where(ObligationRecord.declared_id == obligation,
                                       ObligationRecord.plan_id == figures_settings(session).plan,
                                       ObligationRecord.retired_at.is_(None))).all())
    order = {region: i for i, region in enumerate(figures_settings(session).regions)}
    return dict(sorted(rows.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _report_deliverable(session: Session, obligation: str, entry: FiguresEntry) -> Deliverable:
    regions = reporting_regions(session, obligation)
    if entry.region not in regions:
        unit = session.get(UnitRecord, entry.region) if is_clean_key(entry.region) else None
        who = f"“{entry.region}”不是任何单位" if unit is None else f"{unit.short_name}({entry.region})不报送月报"
        raise InvalidInput(f"{who}:报送月报的地区为 " + "、".join(f"{n}({r})" for r, n in regions.items()))
    plan = figures_settings(session).plan
    ref = deliverable_ref(f"{obligation}.{entry.region}", month_key(entry.month))
    # Locked (PostgreSQL; on SQLite the write lock is held from the start): a second hand-in of the same month
    # at the same moment waits for this one and becomes the next version, rather than failing on the first's.
    deliverable = session.scalars(select(Deliverable).where(Deliverable.plan_id == plan, Deliverable.ref == ref,
                                                            Deliverable.retired.is_(False))
                                  .with_for_update()).first()
    if deliverable is None:
        months = session.execute(select(func.min(Deliverable.period), func.max(Deliverable.period))
                                 .join(ObligationRecord, ObligationRecord.id == Deliverable.obligation_id).where(
            ObligationRecord.plan_id == plan, ObligationRecord.ref == f"{obligation}.{entry.region}",
            Deliverable.retired.is_(False))).one()
        raise InvalidInput(f"{month_key(entry.month)} 不在方案实施期内:月报覆盖 {months[0]} 至 {months[1]}")
    return deliverable


def _check_actor(user: User, region: str) -> None:
    if user.role == "office" or (user.role == "unit" and user.unit_id == region):
        return
    who = f"{user.name}(unit:{user.unit_id})" if user.role == "unit" else f"{user.name}({user.role})"
    raise NotAllowed(f"{who} 不能报送 {region} 的月报:只有该地区的填报人员或领导小组办公室可以")


def _current_version(session: Session, deliverable_id: int) -> FigureReport | None:
    return session.scalars(select(FigureReport).where(FigureReport.deliverable_id == deliverable_id)
                           .order_by(FigureReport.version.desc()).limit(1)).first()


def _values_of(session: Session, report: FigureReport | None) -> dict[str, int]:
    if report is None:
        return {}
    return dict(session.execute(select(FigureValue.field_id, FigureValue.value)
                                .where(FigureValue.report_id == report.id)).all())


def _record(session: Session, user: User, fields: Sequence[Field], obligation: str, entry: FiguresEntry, *,
            now: datetime, today: date, source: str, reason: str | None) -> FiguresRecorded:
    """Check and record one report in the caller's transaction; raises InvalidInput & co. with Chinese messages."""
    deliverable = _report_deliverable(session, obligation, entry)
    _check_actor(user, entry.region)
    entry_note, reason = checked_text(entry.note, "备注"), checked_text(reason, "更正理由")  # limits.py
    if entry.month > today:
        raise InvalidInput(f"{month_key(entry.month)} 尚未开始:不能报送未来月份的数据")
    values, problems = validate_figures(fields, entry.values)
    if problems:
        raise FiguresInvalid([_located(entry, p) for p in problems])
    state = deliverable.state
    if state == "waived":
        raise IllegalTransition(f"{deliverable.ref} 已免报,不能再报送数据")
    previous = _current_version(session, deliverable.id)
    before = snapshot(deliverable)
    kind, action = "submission", "submit"
    if state in ("submitted", "accepted"):
        kind, action = "correction", "figures.correct"
        if state == "accepted" and not reason:
            raise InvalidInput(f"{deliverable.ref} 已审核销号:更正数据须说明理由(--reason)")
    else:
        deliverable.state, deliverable.submitted_at = "submitted", now
    version = (previous.version if previous else 0) + 1
    report = FigureReport(deliverable_id=deliverable.id, region_unit_id=entry.region, month=entry.month,
                          version=version, kind=kind, submitted_at=now, submitted_by=user.name, source=source,
                          note=entry_note)
    session.add(report)
    session.flush()
    session.add_all(FigureValue(report_id=report.id, field_id=f.id, value=values[f.id]) for f in fields)
    deliverable.updated_at, deliverable.updated_by = now, user.name
    note = reason if kind == "correction" and reason else entry_note
    write_audit(session, now=now, actor=user.name, action=action, deliverable=deliverable,
                before={**before, "figures_version": previous.version if previous else None,
                        "figures": _values_of(session, previous) or None},
                after={**snapshot(deliverable), "figures_version": version, "figures": values}, note=note)
    return FiguresRecorded(deliverable.ref, entry.region, month_key(entry.month), version, kind,
                           deliverable.state, values)


def _located(entry: FiguresEntry, problem: Problem | str) -> str:
    message = problem if isinstance(problem, str) else problem.message
    cell = entry.cells.get(problem.field) if isinstance(problem, Problem) and problem.field else None
    where = entry.where + (f" {cell}" if cell else "")
    return f"{where}:{message}" if where else message


def submit_figures(session_factory: SessionFactory, *, actor: str, region: str, month: date,
                   values: Mapping[str, object], now: datetime, note: str | None = None, reason: str | None = None,
                   source: str = "cli") -> FiguresRecorded:
    """Hand in (or correct) one region's figures for one month; one transaction."""
    return record_many(session_factory, actor=actor, entries=[FiguresEntry(region, month, values, note)], now=now,
                       source=source, reason=reason)[0]


def record_many(session_factory: SessionFactory, *, actor: str, entries: Sequence[FiguresEntry], now: datetime,
                source: str, reason: str | None = None) -> list[FiguresRecorded]:
    """Record every entry in one transaction, or none: all problems of all entries are collected first."""
    _require_aware(now)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not entries:
        raise InvalidInput("没有可导入的月报数据(每一行都是空的)")
    with session_factory.begin() as session:
        user = acting_user(session, actor)
        if user.role not in ("office", "unit"):
            raise NotAllowed(f"{user.name}({user.role})只能查看,不能报送月报")
        settings = figures_settings(session)
        fields, obligation = fields_of(settings.fields), settings.obligation
        today = local_today(session, now)
        seen: dict[tuple[str, date], str] = {}
        recorded, problems = [], []
        for entry in entries:
            key = (entry.region, entry.month)
            if key in seen:
                problems.append(_located(entry, f"{entry.region} {month_key(entry.month)} 的数据重复(另见{seen[key]})"))
                continue
            seen[key] = entry.where or "上文"
            try:
                with session.begin_nested():
                    recorded.append(_record(session, user, fields, obligation, entry, now=now, today=today,
                                            source=source, reason=reason))
            except FiguresInvalid as invalid:
                problems += invalid.problems
            except (InvalidInput, NotAllowed, IllegalTransition, NotFound) as refused:
                problems.append(_located(entry, str(refused)))
        if problems:
            raise FiguresInvalid(problems)  # leaving the block rolls everything back
        return recorded


def figure_history(session_factory: SessionFactory, *, ref: str) -> list[tuple[FigureReport, dict[str, int]]]:
    """Every version of a report's figures, oldest first."""
    from responsibilities.storage.db import read_session

    with read_session(session_factory) as session:
        deliverable = session.scalars(select(Deliverable).where(Deliverable.ref == ref)).first()
        if deliverable is None:
            raise NotFound(f'no deliverable "{ref}"')
        reports = list(session.scalars(select(FigureReport).where(FigureReport.deliverable_id == deliverable.id)
                                       .order_by(FigureReport.version)))
        return [(r, _values_of(session, r)) for r in reports]
