"""Plans as records: add a new plan, close a finished one.

``duban load`` (storage.plan_sync) loads or re-loads a plan from its file; ``add_plan`` is the same load for a plan the
database must not hold yet, so that a second file with an id already taken is refused instead of overwriting the
plan that has it. A closed plan owes no more notices (the sweep skips it) and stays in the history and the reports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import IllegalTransition, InvalidInput
from responsibilities.limits import is_clean_key
from responsibilities.plan.model import Plan
from responsibilities.storage.audit import write_audit
from responsibilities.storage.db import serialise
from responsibilities.storage.model import PlanRecord
from responsibilities.storage.plan_sync import LoadReport, sync_in_session
from responsibilities.storage.plans import no_such_plan
from responsibilities.tracking.access import acting_user, require_office

SessionFactory = sessionmaker[Session]


def add_plan(session_factory: SessionFactory, plan: Plan, *, now: datetime, actor: str | None = None) -> LoadReport:
    """Load ``plan`` as a new plan; refused, with nothing changed, when its id is already a plan's."""
    with session_factory.begin() as session:
        return add_plan_in(session, plan, now=now, actor=actor)


def add_plan_in(session: Session, plan: Plan, *, now: datetime, actor: str | None = None) -> LoadReport:
    """``add_plan`` inside the caller's write transaction (publishing an import marks its draft in the same one)."""
    serialise(session, "plan")
    if actor is not None:
        require_office(acting_user(session, actor), "plan.add")
    existing = session.get(PlanRecord, plan.id)
    if existing is not None:
        raise InvalidInput(f"方案编号“{plan.id}”已被“{existing.title}”使用,未作任何更改:新方案请换一个编号;"
                           f"要更新该方案,请用 `duban load 文件`")
    return sync_in_session(session, plan, now=now, actor=actor or "system")


def close_plan(session_factory: SessionFactory, *, plan_id: str, now: datetime, actor: str | None = None) -> PlanRecord:
    """End a finished plan: no more notices about it; its items stay in the history and the reports."""
    with session_factory.begin() as session:
        user = acting_user(session, actor) if actor is not None else None
        if user is not None:
            require_office(user, "plan.close")
        record = session.get(PlanRecord, plan_id, with_for_update=True) if is_clean_key(plan_id) else None
        if record is None:
            raise no_such_plan(plan_id)
        if record.closed_at is not None:
            raise IllegalTransition(f"方案“{record.short_name or record.title}”已于 {record.closed_at:%Y-%m-%d} 由 "
                                    f"{record.closed_by} 结束,无需再次结束")
        record.closed_at, record.closed_by = now, user.name if user is not None else "system"
        write_audit(session, now=now, actor=record.closed_by, action="plan.closed", before={"plan": plan_id},
                    after={"plan": plan_id, "closed_at": now.isoformat()})
        return record
