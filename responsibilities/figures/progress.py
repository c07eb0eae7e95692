"""Where every region stands against its targets (目标分解表), from the monthly figures: the read side.

Sums are taken in SQL (GROUP BY region and field) over the figures that count: the newest version of each
monthly report that is handed in (submitted or accepted; a returned report counts again once resubmitted).
The arithmetic on top (expected-to-date progress, lights, the minimum share, the ranking) is the pure rules of
``responsibilities.figures.rules``.

Periods: a plan year runs over the months of the implementation phase in that year (2019: November and
December); the three-year period over all of them. A month is elapsed once its report's original due date has
passed (the 5th of the next month), so on 31 December the year's expected-to-date progress is 11/12 of the
annual target, and the full target once December's report is due.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, String, bindparam, case, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from responsibilities.errors import InvalidInput, NotFound
from responsibilities.figures.rules import (
    ENTERPRISE,
    MAX_COUNT,
    TOTAL,
    Field,
    MonthStatus,
    Progress,
    fields_of,
    month_key,
    period_progress,
    share,
    share_met,
)
from responsibilities.storage.db import read_session
from responsibilities.storage.model import (
    Deliverable,
    FigureReport,
    FigureValue,
    ObligationRecord,
    PlanTargetRecord,
    RegionTargetRecord,
    UnitRecord,
)
from responsibilities.storage.plans import require_plan

SessionFactory = sessionmaker[Session]
COUNTED_STATES = ("submitted", "accepted")


@dataclass(frozen=True)
class RegionNumbers:
    region: str
    region_name: str
    year: Progress  # against the annual target (None-year summaries: the three-year one)
    cumulative: Progress  # since the plan began, against the three-year target
    categories: dict[str, int]  # the period's actuals by field
    cumulative_categories: dict[str, int]
    minimum_share: float | None  # required share of enterprise workers, percent (50)
    enterprise_share: float | None  # cumulative enterprise workers / cumulative total
    share_met: bool | None

    @property
    def light(self) -> str:
        return self.year.light


@dataclass(frozen=True)
class CategoryNumbers:
    id: str
    name: str
    target: int
    unit_of_measure: str
    actual: int

    @property
    def done(self) -> float | None:
        return share(self.actual, self.target)


@dataclass(frozen=True)
class RankedRegion:
    rank: int
    region: str
    region_name: str
    done: float


@dataclass(frozen=True)
class ExcludedFigure:
    """A stored figure outside what a month can hold (``rules.MAX_COUNT``; stored before the bound existed, or
    by a hand in the database): left out of every sum, and named so that the office can have it corrected."""

    region: str
    region_name: str
    month: date
    field_id: str
    field_name: str
    value: int
    version: int


@dataclass(frozen=True)
class PlanNumbers:
    year: int
    as_of: date
    fields: tuple[Field, ...]
    regions: tuple[RegionNumbers, ...]  # in the target table's order
    year_total: Progress  # all regions against the year's target (30,000 / 45,000 / 45,000)
    cumulative_total: Progress  # against the three-year goal (120,000)
    year_categories: dict[str, int]
    categories: tuple[CategoryNumbers, ...]  # cumulative, against the plan-wide category targets
    ranking: tuple[RankedRegion, ...]  # by completion of the annual target, best first; ties share a rank
    unit_of_measure: str
    excluded: tuple[ExcludedFigure, ...] = ()  # figures that count but are out of range: in no sum above

    @property
    def behind(self) -> tuple[RegionNumbers, ...]:
        """Regions red (a report missing) or yellow (behind the expected-to-date progress), worst first."""
        order = {"red": 0, "yellow": 1}
        return tuple(sorted((r for r in self.regions if r.light in order),
                            key=lambda r: (order[r.light], r.year.done or 0, r.region)))


def plan_numbers(session_factory: SessionFactory, *, year: int, today: date) -> PlanNumbers:
    with read_session(session_factory) as session:
        return numbers_for(session, year=year, today=today)


def counted_sums(session: Session, obligation: str, start: date, end: date) -> dict[str, dict[str, int]]:
    """region → field → the sum over months in [start, end] of the figures that count (see the module doc), each
    within 0…MAX_COUNT: one bad value cannot overflow a sum or take a view down (``excluded_figures`` names it)."""
    sums: dict[str, dict[str, int]] = defaultdict(dict)
    for region, field_id, total in session.execute(_counted_sums_query(),
                                                   {"obligation": obligation, "start": start, "end": end}):
        sums[region][field_id] = int(total or 0)
    return sums


@functools.cache
def _counted_sums_query() -> Select:
    """Built once, with the obligation and the months as parameters (the dashboard asks on every view).

    The statement starts from the figures (a few hundred reports: regions × months × versions) and looks each
    report's deliverable up by its key; starting from the deliverables in a counted state would walk most of
    the plan's deliverables (seconds at a million of them).
    """
    within = case((FigureValue.value.between(0, MAX_COUNT), FigureValue.value), else_=0)
    return (select(FigureReport.region_unit_id, FigureValue.field_id, func.sum(within))
            .join(FigureValue, FigureValue.report_id == FigureReport.id)
            .where(FigureReport.month >= bindparam("start", type_=Date),
                   FigureReport.month <= bindparam("end", type_=Date), _newest(), _counts())
            .group_by(FigureReport.region_unit_id, FigureValue.field_id))


def excluded_figures(session: Session, obligation: str, fields: Sequence[Field]) -> tuple[ExcludedFigure, ...]:
    """The figures that count but lie outside 0…MAX_COUNT, by region and month (normally none)."""
    query = (select(FigureReport.region_unit_id, UnitRecord.short_name, FigureReport.month, FigureValue.field_id,
                    FigureValue.value, FigureReport.version)
             .join(FigureValue, FigureValue.report_id == FigureReport.id)
             .join(UnitRecord, UnitRecord.id == FigureReport.region_unit_id)
             .where(~FigureValue.value.between(0, MAX_COUNT), _newest(), _counts())
             .order_by(FigureReport.region_unit_id, FigureReport.month, FigureValue.field_id))
    names = {f.id: f.name for f in fields}
    return tuple(ExcludedFigure(region, region_name, month, field_id, names.get(field_id, field_id), value, version)
                 for region, region_name, month, field_id, value, version
                 in session.execute(query, {"obligation": obligation}))


def _newest():
    """The report is the newest version of its month's."""
    newer = aliased(FigureReport)
    return ~select(newer.id).where(newer.deliverable_id == FigureReport.deliverable_id,
                                   newer.version > FigureReport.version).exists()


def _counts():
    """The report's deliverable is of the figures' obligation (the ``obligation`` parameter) and counts."""
    return (select(Deliverable.id)
            .join(ObligationRecord, ObligationRecord.id == Deliverable.obligation_id)
            .where(Deliverable.id == FigureReport.deliverable_id,
                   ObligationRecord.declared_id == bindparam("obligation", type_=String),
                   Deliverable.retired.is_(False), Deliverable.state.in_(COUNTED_STATES))
            .exists())


def month_statuses(session: Session, obligation: str, zone: ZoneInfo, regions: Sequence[str] | None = None, *,
                   plan: str) -> dict[str, list[MonthStatus]]:
    """region → its monthly reports' standing, by month. ``regions`` (the plan's reporting regions) lets the
    statement read only those units' deliverables, by index, instead of walking every deliverable."""
    query = (select(Deliverable.unit_id, Deliverable.period_start, Deliverable.original_due, Deliverable.due,
                    Deliverable.state, Deliverable.submitted_at)
             .join(ObligationRecord, ObligationRecord.id == Deliverable.obligation_id)
             .where(ObligationRecord.plan_id == plan, ObligationRecord.declared_id == obligation,
                    ObligationRecord.retired_at.is_(None),
                    Deliverable.retired.is_(False), Deliverable.period_start.is_not(None))
             .order_by(Deliverable.unit_id, Deliverable.period_start))
    if regions:
        query = query.where(Deliverable.unit_id.in_(list(regions)), ObligationRecord.lead_unit_id.in_(list(regions)))
    out: dict[str, list[MonthStatus]] = defaultdict(list)
    for unit_id, month, original_due, due, state, submitted_at in session.execute(query).all():
        submitted_on = submitted_at.astimezone(zone).date() if submitted_at and state in COUNTED_STATES else None
        out[unit_id].append(MonthStatus(month, original_due, due or original_due, state, submitted_on))
    return out


def numbers_for(session: Session, *, year: int, today: date) -> PlanNumbers:
    """The numbers of ``year`` as of ``today``, inside a session the caller holds."""
    plan = require_plan(session)
    if not plan.start.year <= year <= plan.end.year:
        raise InvalidInput(f"{year} 不在方案期内({plan.start.year}–{plan.end.year})")
    settings = plan.figures
    if settings is None:
        raise NotFound("工作方案中没有月报:请检查方案文件的 reporting.monthly_report,并重新 `duban load`")
    fields = fields_of(settings.fields)
    regions = _regions_numbers(session, plan, settings, fields, year, today)
    plan_targets = list(session.scalars(select(PlanTargetRecord)))
    year_target = next((t.value for t in plan_targets if t.year == year and t.part_of == TOTAL), None)
    three_year_target = next((t.value for t in plan_targets if t.id == TOTAL), 0)
    field_ids = {f.id for f in fields}
    categories = tuple(CategoryNumbers(t.id, t.name, t.value, t.unit_of_measure,
                                       sum(r.cumulative_categories.get(t.id, 0) for r in regions))
                       for t in plan_targets if t.year is None and t.id in field_ids and t.id != TOTAL)
    year_categories = {f.id: sum(r.categories[f.id] for r in regions) for f in fields}
    return PlanNumbers(year, today, fields, regions, _sum_progress([r.year for r in regions], year_target),
                       _sum_progress([r.cumulative for r in regions], three_year_target), year_categories,
                       categories, rank_regions(regions), settings.unit_of_measure,
                       excluded_figures(session, settings.obligation, fields))


def _regions_numbers(session: Session, plan, settings, fields: tuple[Field, ...], year: int,
                     today: date) -> tuple[RegionNumbers, ...]:
    """Each region's numbers, the declared regions first, then any other that has targets or reports."""
    statuses = month_statuses(session, settings.obligation, plan.time_zone, settings.regions, plan=settings.plan)
    year_sums = counted_sums(session, settings.obligation, date(year, 1, 1), date(year, 12, 31))
    # Cumulative: from the plan's start to the end of the year reported on (the final summary's three years).
    cumulative_sums = counted_sums(session, settings.obligation, plan.start, date(year, 12, 31))
    targets: dict[str, dict[int, int]] = defaultdict(dict)
    for region, target_year, value in session.execute(select(RegionTargetRecord.region_unit_id,
                                                             RegionTargetRecord.year, RegionTargetRecord.value)):
        targets[region][target_year] = value
    declared = list(settings.regions) or list(targets)
    order = list(dict.fromkeys(declared + list(targets) + list(statuses)))
    names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name).where(UnitRecord.id.in_(order))).all())
    minimum = next((s.at_least_percent for s in settings.minimum_shares if s.category == ENTERPRISE), None)
    return tuple(_region_numbers(region, names.get(region, region), statuses.get(region, []),
                                 year_sums.get(region, {}), cumulative_sums.get(region, {}),
                                 targets.get(region, {}), fields, minimum, year, today)
                 for region in order)


def _region_numbers(region: str, name: str, months: list[MonthStatus], year_values: dict[str, int],
                    all_values: dict[str, int], targets: dict[int, int], fields: tuple[Field, ...],
                    minimum: float | None, year: int, today: date) -> RegionNumbers:
    """One region: the year against its annual target, the plan to date against its three-year target."""
    in_year = [m for m in months if m.month.year == year]
    to_date = [m for m in months if m.month <= date(year, 12, 31)]
    total_cumulative, enterprise = all_values.get(TOTAL, 0), all_values.get(ENTERPRISE, 0)
    # The cumulative period is the whole plan: expected-to-date is the three-year target × months elapsed / 26.
    cumulative = period_progress(sum(targets.values()), total_cumulative, months, today)
    cumulative = Progress(cumulative.target, cumulative.actual, cumulative.months, cumulative.months_elapsed,
                          tuple(m for m in cumulative.months_missing if m <= f"{year}-12"),
                          sum(m.on_time for m in to_date))
    return RegionNumbers(
        region, name, period_progress(targets.get(year, 0), year_values.get(TOTAL, 0), in_year, today),
        cumulative, {f.id: year_values.get(f.id, 0) for f in fields}, {f.id: all_values.get(f.id, 0) for f in fields},
        minimum, share(enterprise, total_cumulative),
        share_met(enterprise, total_cumulative, minimum) if minimum is not None else None)


def _sum_progress(parts: Sequence[Progress], target: int | None) -> Progress:
    months = max((p.months for p in parts), default=0)
    elapsed = max((p.months_elapsed for p in parts), default=0)
    return Progress(target if target is not None else sum(p.target for p in parts), sum(p.actual for p in parts),
                    months, elapsed, tuple(sorted({m for p in parts for m in p.months_missing})),
                    sum(p.months_on_time for p in parts))


def rank_regions(regions: Sequence[RegionNumbers]) -> tuple[RankedRegion, ...]:
    """By completion of the annual target, best first; equal completion shares a rank (1, 1, 3)."""
    rated = sorted((r for r in regions if r.year.done is not None), key=lambda r: (-r.year.done, r.region))
    ranked: list[RankedRegion] = []
    for position, r in enumerate(rated, 1):
        tied = ranked and ranked[-1].done == r.year.done
        ranked.append(RankedRegion(ranked[-1].rank if tied else position, r.region, r.region_name, r.year.done))
    return tuple(ranked)


# ── JSON ─────────────────────────────────────────────────────────────────────────────────────────


def _progress_json(p: Progress) -> dict[str, Any]:
    return {"target": p.target, "actual": p.actual, "expected": round(p.expected, 1), "done": p.done,
            "months": p.months, "months_elapsed": p.months_elapsed, "months_missing": list(p.months_missing),
            "months_on_time": p.months_on_time, "behind": p.behind, "light": p.light}


def numbers_to_json(n: PlanNumbers) -> dict[str, Any]:
    return {
        "year": n.year, "as_of": n.as_of.isoformat(), "unit_of_measure": n.unit_of_measure,
        "fields": [{"id": f.id, "name": f.name, "part_of": f.part_of} for f in n.fields],
        "regions": [{"region": r.region, "region_name": r.region_name, "light": r.light,
                     "year": _progress_json(r.year), "cumulative": _progress_json(r.cumulative),
                     "categories": r.categories, "cumulative_categories": r.cumulative_categories,
                     "minimum_share_percent": r.minimum_share, "enterprise_share": r.enterprise_share,
                     "share_met": r.share_met} for r in n.regions],
        "year_total": _progress_json(n.year_total), "cumulative_total": _progress_json(n.cumulative_total),
        "year_categories": n.year_categories,
        "categories": [{"id": c.id, "name": c.name, "target": c.target, "actual": c.actual, "done": c.done,
                        "unit_of_measure": c.unit_of_measure} for c in n.categories],
        "ranking": [r.__dict__ for r in n.ranking],
        "behind": [r.region for r in n.behind],
        "excluded": [{"region": e.region, "month": month_key(e.month), "field": e.field_id, "value": e.value,
                      "version": e.version} for e in n.excluded],
    }
