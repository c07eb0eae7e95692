"""The outbox's one way in: notice rows written by INSERT … SELECT, each dedupe key once however many runs write
at the same time. The sweep, the digests and the year-end summary owe notices through it; notifications.outbox
is the way out (claiming what is due)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert, Select

from responsibilities.storage.model import Notice

NOTICE_COLUMNS = ("dedupe_key", "kind", "level", "audience", "deliverable_id", "obligation_id", "unit_id",
                  "owed_on", "created_at", "status", "attempts", "plan_id")


def insert_notices_ignoring_conflicts(session: Session, query: Select) -> int:
    """INSERT the notice rows ``query`` selects (columns NOTICE_COLUMNS), skipping dedupe keys already written.

    Returns how many rows were new. Shared by the sweep and the digests: concurrent runs write each key once.
    """
    return session.execute(notice_insert(session.get_bind().dialect.name, query)).rowcount


def notice_insert(dialect: str, query: Select) -> Insert:
    """The conflict-ignoring INSERT … SELECT of ``insert_notices_ignoring_conflicts``, not yet executed."""
    module = sqlite if dialect == "sqlite" else postgresql if dialect == "postgresql" else None
    if module is None:
        raise NotImplementedError(f"the sweep needs a conflict-ignoring insert for {dialect}")
    # In key order, the inserts append to the dedupe_key index instead of landing at random pages of it: on
    # SQLite at a million deliverables this takes about a third off the sweep (benchmarks/README.md).
    # Concurrent sweeps also take the keys in the same order.
    query = query.order_by(query.selected_columns.dedupe_key)
    # The rows written are counted by the statement's rowcount, which SQLAlchemy keeps by default only for UPDATE
    # and DELETE: without preserve_rowcount an INSERT's comes back as -1 through psycopg (PostgreSQL).
    return module.insert(Notice).from_select(list(NOTICE_COLUMNS), query).on_conflict_do_nothing(
        index_elements=["dedupe_key"]).execution_options(preserve_rowcount=True)
