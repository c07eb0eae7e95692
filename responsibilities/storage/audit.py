"""Writing the audit trail: every change to the tracked plan leaves a record (who, when, what, before → after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from responsibilities.storage.model import AuditRecord, Deliverable


def snapshot(deliverable: Deliverable) -> dict[str, Any]:
    """The parts of a deliverable a change can move, as JSON."""
    return {
        "state": deliverable.state,
        "due": deliverable.due.isoformat() if deliverable.due else None,
        "original_due": deliverable.original_due.isoformat() if deliverable.original_due else None,
        "retired": deliverable.retired,
        "version": deliverable.version,
    }


def write_audit(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    deliverable: Deliverable | None = None,
    unit_id: str | None = None,
    obligation_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditRecord:
    if deliverable is not None:
        session.flush()  # the deliverable's id and new version are known only after the flush
        unit_id = unit_id or deliverable.unit_id
        obligation_id = obligation_id or deliverable.obligation_id
        if after is None:
            after = snapshot(deliverable)
    record = AuditRecord(
        at=now, actor=actor, action=action, unit_id=unit_id, obligation_id=obligation_id,
        deliverable_id=deliverable.id if deliverable is not None else None,
        deliverable_ref=deliverable.ref if deliverable is not None else None,
        before=before, after=after, note=note,
    )
    session.add(record)
    return record
