"""What the notices about reports say: the year-end summary's (kind ``summary``), computed from the data when the
notice is rendered, as of the day it was owed (``owed_on``). ``messages.render_notice`` renders them with the kind's
templates; the plan they are signed with is passed in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from responsibilities.reports import summary as reports
from responsibilities.storage.model import Notice
from responsibilities.storage.plans import LoadedPlan


def rate(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def _signed(plan: LoadedPlan) -> dict[str, Any]:
    """What every report notice says of the plan it is sent for (the footer) and of the office."""
    return {"plan_title": plan.title, "plan_number": plan.document_number, "plan_name": plan.short_name,
            "office_name": plan.office.name}


def summary_context(session: Session, notice: Notice, base_url: str, plan: LoadedPlan) -> dict[str, Any]:
    """The year-end summary's facts (kind ``summary``), as of the day the summary was written (``owed_on``)."""
    year = int(notice.dedupe_key.rpartition(":")[2])
    summary = reports.summarize_year(session, year=year, today=notice.owed_on)
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
        "link": f"{base_url.rstrip('/')}/reports/{year}",
    }
