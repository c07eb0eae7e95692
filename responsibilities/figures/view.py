"""The monthly figures (月报) as the pages show them: which regions report and with which fields, a region's months
with the figures that stand for each, and the year whose progress a day belongs to. The read side, like
``queries``: nothing here writes.

Every query is by a region's own obligation (``monthly-report.<region>``, indexed) or by one deliverable, so
the cost does not grow with the rest of the plan's deliverables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from responsibilities.figures.rules import Field, fields_of, month_key
from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, FigureReport, FigureValue, ObligationRecord, UnitRecord
from responsibilities.storage.plans import loaded_plan

SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class FiguresSetup:
    """What the plan says about monthly reports: the obligation, the fields, the regions (id → name), the years."""

    obligation: str
    fields: tuple[Field, ...]
    regions: dict[str, str]
    unit_of_measure: str
    first_year: int
    last_year: int
    plan: str = ""  # the plan whose monthly report it is

    def year_of(self, today: date) -> int:
        """The plan year whose progress ``today`` shows: this year, or the nearest year of the plan."""
        return min(max(today.year, self.first_year), self.last_year)

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def parts_of(self, whole: str) -> list[Field]:
        return [f for f in self.fields if f.part_of == whole]

    def depth(self, f: Field) -> int:
        """How deep a field sits under the total (the form indents parts under their whole)."""
        by_id = {x.id: x for x in self.fields}
        depth, current = 0, f
        while current.part_of in by_id and depth < 10:
            depth, current = depth + 1, by_id[current.part_of]
        return depth


@dataclass(frozen=True)
class ReportMonth:
    """One month of a region's reporting: its deliverable, and the newest figures handed in for it (if any)."""

    ref: str
    region: str
    month: date
    original_due: date | None
    due: date | None
    state: str
    version: int | None = None  # of the figures
    values: dict[str, int] = field(default_factory=dict)
    note: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None

    @property
    def key(self) -> str:
        return month_key(self.month)

    def started(self, today: date) -> bool:
        return self.month <= today

    def missing(self, today: date) -> bool:
        return self.due is not None and self.due < today and self.state in ("open", "returned")


def figures_setup(session_factory: SessionFactory) -> FiguresSetup | None:
    """None when no plan is loaded or the plan has no monthly report."""
    with read_session(session_factory) as session:
        return setup_in(session)


def setup_in(session: Session) -> FiguresSetup | None:
    plan = loaded_plan(session)
    settings = plan.figures if plan is not None else None
    if settings is None:
        return None
    ids = list(settings.regions)
    names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name).where(UnitRecord.id.in_(ids))).all())
    return FiguresSetup(settings.obligation, fields_of(settings.fields), {r: names.get(r, r) for r in ids},
                        settings.unit_of_measure, plan.start.year, plan.end.year, plan.id)


def region_months(session_factory: SessionFactory, *, setup: FiguresSetup, region: str) -> list[ReportMonth]:
    """Every month a region reports on, oldest first, each with its newest figures (two queries)."""
    with read_session(session_factory) as session:
        deliverables = list(session.scalars(
            select(Deliverable).join(ObligationRecord, ObligationRecord.id == Deliverable.obligation_id)
            .where(ObligationRecord.plan_id == setup.plan, ObligationRecord.ref == f"{setup.obligation}.{region}",
                   Deliverable.retired.is_(False), Deliverable.period_start.is_not(None))
            .order_by(Deliverable.period_start)))
        figures = _newest_figures(session, [d.id for d in deliverables])
        return [_month(d, region, figures.get(d.id)) for d in deliverables]


def report_month(session_factory: SessionFactory, *, setup: FiguresSetup,
                 deliverable: Deliverable) -> ReportMonth | None:
    """The monthly report a deliverable is, with its newest figures; None for any other deliverable."""
    prefix = f"{setup.obligation}."
    obligation_ref = deliverable.ref.partition("@")[0]
    region = obligation_ref[len(prefix):]
    if (deliverable.plan_id != setup.plan or not obligation_ref.startswith(prefix) or region not in setup.regions
            or deliverable.period_start is None):
        return None
    with read_session(session_factory) as session:
        return _month(deliverable, region, _newest_figures(session, [deliverable.id]).get(deliverable.id))


def _newest_figures(session: Session, deliverable_ids: list[int]) -> dict[int, tuple[FigureReport, dict[str, int]]]:
    if not deliverable_ids:
        return {}
    newer = aliased(FigureReport)
    is_newest = ~select(newer.id).where(newer.deliverable_id == FigureReport.deliverable_id,
                                        newer.version > FigureReport.version).exists()
    rows = session.execute(select(FigureReport, FigureValue.field_id, FigureValue.value)
                           .join(FigureValue, FigureValue.report_id == FigureReport.id)
                           .where(FigureReport.deliverable_id.in_(deliverable_ids), is_newest)).all()
    out: dict[int, tuple[FigureReport, dict[str, int]]] = {}
    for report, field_id, value in rows:
        out.setdefault(report.deliverable_id, (report, {}))[1][field_id] = value
    return out


def _month(d: Deliverable, region: str, figures: tuple[FigureReport, dict[str, int]] | None) -> ReportMonth:
    report, values = figures if figures else (None, {})
    return ReportMonth(d.ref, region, d.period_start, d.original_due, d.due or d.original_due, d.state,
                       report.version if report else None, values, report.note if report else None,
                       report.submitted_by if report else None, report.submitted_at if report else None)


def month_to_report(months: list[ReportMonth], today: date) -> ReportMonth | None:
    """The month a region's form offers first: the oldest not handed in (or returned) whose month has begun,
    else the newest that has begun (to correct it)."""
    started = [m for m in months if m.started(today)]
    owed = [m for m in started if m.state in ("open", "returned")]
    return owed[0] if owed else (started[-1] if started else None)
