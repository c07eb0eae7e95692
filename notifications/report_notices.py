"""What the notices about reports say: the year-end summary's (kind ``summary``) and the monthly bulletin's (kind
``bulletin``), computed from the data when the notice is rendered, as of the day it was owed (``owed_on``; a
bulletin's month has ended by then, so it reads as of the month's close whenever it is sent).
``messages.render_notice`` renders them with the kind's templates; the plan they are signed with is passed in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from responsibilities.reports import summary as reports
from responsibilities.reports.bulletin import compile_bulletin, period_of_key
from responsibilities.storage.model import Notice
from responsibilities.storage.plans import LoadedPlan

BULLETIN_MAIL_UNITS = 5  # the bulletin's mail names this many units at the top of its ranking, when they have faults
BULLETIN_MAIL_ITEMS = 10  # and this many of the most overdue items; the rest are on the bulletin's page


def rate(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def _signed(plan: LoadedPlan) -> dict[str, Any]:
    """What every report notice says of the plan it is sent for (the footer) and of the office."""
    return {"plan_title": plan.title, "plan_number": plan.document_number, "plan_name": plan.short_name,
            "office_name": plan.office.name}


def summary_context(session: Session, notice: Notice, base_url: str, plan: LoadedPlan) -> dict[str, Any]:
    """The year-end summary's facts (kind ``summary``), as of the day the summary was written (``owed_on``)."""
    year = int(notice.dedupe_key.rpartition(":")[2])
    summary = reports.summarize_year(session, year=year, today=notice.owed_on, plan_id=plan.id)
    best, worst = reports.best_and_worst(summary)
    totals = summary.totals

    def entries(ranked: tuple[reports.RankEntry, ...]) -> list[dict[str, Any]]:
        return [{"rank": e.rank, "unit": e.unit_name, "rate": rate(e.on_time_rate), "overdue": e.overdue}
                for e in ranked]

    return {
        "kind": notice.kind, "year": year, "title": summary.title, "as_of": summary.as_of.isoformat(), **_signed(plan),
        "totals": {"due": totals.due, "on_time": totals.on_time, "late": totals.late, "overdue": totals.overdue,
                   "awaiting_review": totals.awaiting_review, "waived": totals.waived,
                   "not_yet_due": totals.not_yet_due, "extensions": totals.extensions_granted,
                   "rate": rate(totals.on_time_rate)},
        "ranked": len(summary.ranking), "best": entries(best), "worst": entries(worst),
        "red_count": len(summary.red_items),
        "link": f"{base_url.rstrip('/')}/reports/{year}?{urlencode({'plan': plan.id})}",
    }


def bulletin_context(session: Session, notice: Notice, base_url: str, plan: LoadedPlan) -> dict[str, Any]:
    """The monthly bulletin's facts (kind ``bulletin``, key bulletin:<YYYY-MM>), as of the month's close."""
    period = period_of_key(notice.dedupe_key)
    b = compile_bulletin(session, period=period, today=notice.owed_on, worst=BULLETIN_MAIL_ITEMS)
    t = b.totals
    query = urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()})
    faulted = [u for u in b.units if u.overdue or u.returned or u.late][:BULLETIN_MAIL_UNITS]
    return {
        "kind": notice.kind, "title": b.title, "period": period.label, "as_of": b.as_of.isoformat(), **_signed(plan),
        "totals": {"items": t.items, "on_time": t.on_time, "late": t.late, "overdue": t.overdue,
                   "returned": t.returned, "waived": t.waived, "days_overdue": t.days_overdue,
                   "rate": rate(t.on_time_rate)},
        "units": len(b.units),
        "worst_units": [{"rank": u.rank, "unit": u.unit_name, "overdue": u.overdue, "days_overdue": u.days_overdue,
                         "returned": u.returned, "late": u.late} for u in faulted],
        "worst": [{"unit": g.unit_name, "rank": g.rank,
                   "items": [{"ref": i.ref, "task": i.task, "original_due": i.original_due.isoformat(),
                              "days_overdue": i.days_overdue} for i in g.items]} for g in b.worst],
        "more": b.overdue_not_listed,
        "link": f"{base_url.rstrip('/')}/reports/bulletin?{query}",
        "xlsx": f"{base_url.rstrip('/')}/reports/bulletin.xlsx?{query}",
    }
