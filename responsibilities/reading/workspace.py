"""A unit's workspace: its deliverables and those it cooperates on, what was returned to it, and its obligations
that wait for the office. Built on the lists of ``board`` (their statements, parameters and pages)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from responsibilities.reading.board import (
    PAGE_SIZE,
    STATE,
    UNIT,
    Filters,
    Page,
    Row,
    SessionFactory,
    _base,
    _Listing,
    _listing,
    _page,
    _params,
    _rows,
    _waiting_page,
)
from responsibilities.storage.db import read_session
from responsibilities.storage.model import CoUnit, Deliverable
from responsibilities.tracking.access import viewing_user, visible_unit


def workspace(session_factory: SessionFactory, *, today: date, viewer: str | None, unit: str,
              state: str | None = None, page: int = 1, size: int = PAGE_SIZE) -> Page[Row]:
    """A unit's deliverables by due date (and those it cooperates on, marked so)."""
    filters = Filters(state=state).check()
    with read_session(session_factory) as session:
        unit, params = _unit_params(session, today, viewer, unit, filters)
        return _page(session, _workspace_listing(state is not None), params, page, size, cooperating_for=unit)


@dataclass(frozen=True)
class Workspace:
    """A unit's page: its deliverables (one page), those returned to it for rework, and the obligations of its
    that wait for the office."""

    rows: Page[Row]
    returned: list[Row]  # the first RETURNED_SHOWN
    waiting: Page[dict[str, Any]]


RETURNED_SHOWN = 20  # the workspace lists this many returned deliverables above the rest


def unit_workspace(session_factory: SessionFactory, *, today: date, viewer: str | None, unit: str,
                   state: str | None = None, page: int = 1, size: int = PAGE_SIZE) -> Workspace:
    """``workspace``, with the returned deliverables and the waiting obligations, in one read."""
    filters = Filters(state=state).check()
    with read_session(session_factory) as session:
        unit, params = _unit_params(session, today, viewer, unit, filters)
        rows = _page(session, _workspace_listing(state is not None), params, page, size, cooperating_for=unit)
        returned = _rows(session, _workspace_listing(True), {**params, "state": "returned"}, 1, RETURNED_SHOWN,
                         cooperating_for=unit)
        return Workspace(rows, returned, _waiting_page(session, unit, 1, PAGE_SIZE))


def _unit_params(session: Session, today: date, viewer: str | None, unit: str,
                 filters: Filters) -> tuple[str, dict[str, Any]]:
    """The unit the viewer may see (refusing another unit's), and the parameters of its lists."""
    unit = visible_unit(session, viewing_user(session, viewer), unit)
    return unit, {**_params(session, today, filters), "unit": unit}


@functools.cache
def _workspace_listing(by_state: bool) -> _Listing:
    # The unit's own rows and those it cooperates on, each found by its index; the state filter then
    # applies to those few hundred rows (left to itself, SQLite may walk every row in that state instead).
    cooperates = select(CoUnit.obligation_id).where(CoUnit.unit_id == UNIT)
    mine = union_all(select(Deliverable.id).where(Deliverable.unit_id == UNIT),
                     select(Deliverable.id).where(Deliverable.obligation_id.in_(cooperates)))
    query = _base().where(Deliverable.id.in_(mine))
    if by_state:  # `state || ''` is not indexable: SQLite then keeps to the unit's rows
        query = query.where(Deliverable.state.concat("") == STATE)
    return _listing(query, (Deliverable.due.is_(None), Deliverable.due, Deliverable.ref))
