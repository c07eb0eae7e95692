"""Publishing a plan read from a document: the reviewed draft's text loaded and added as a new plan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import InvalidInput
from responsibilities.plan.loader import load_plan_text
from responsibilities.plan.model import Plan
from responsibilities.plan.yaml_reader import PlanInvalid
from responsibilities.tracking.plans import add_plan

SessionFactory = sessionmaker[Session]
MAX_PROBLEMS_SHOWN = 20


def publish_draft(session_factory: SessionFactory, draft_text: str, *, actor: str, now: datetime,
                  name: str = "方案草稿") -> str:
    """Add the plan ``draft_text`` describes; returns its id. A draft that does not load (a flag not yet settled,
    a section missing) is refused with its problems, one per line, and nothing is written."""
    plan = draft_plan(draft_text, name)
    add_plan(session_factory, plan, now=now, actor=actor)
    return plan.id


def draft_plan(draft_text: str, name: str = "方案草稿") -> Plan:
    """The plan ``draft_text`` describes; InvalidInput listing its problems, one per line, when it does not load."""
    try:
        return load_plan_text(draft_text, name)
    except PlanInvalid as invalid:
        shown = [str(p).removeprefix(f"{name}:") for p in invalid.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(invalid.problems) - len(shown)
        raise InvalidInput("方案草稿还不能发布:\n" + "\n".join(shown)
                           + (f"\n另有 {more} 处问题" if more > 0 else "")) from None
