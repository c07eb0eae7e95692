"""The office's directory of units and groups, as a document being imported is read against it."""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.importing.units import Directory, DirectoryEntry
from responsibilities.storage.db import read_session
from responsibilities.storage.model import PlanRecord, UnitRecord

SessionFactory = sessionmaker[Session]


def office_directory(session_factory: SessionFactory) -> Directory:
    """Every current unit, and every group of every plan (the first plan's definition of a group id wins); an
    empty directory when the database holds no plan yet (every name in the document is then new)."""
    with read_session(session_factory) as session:
        if not inspect(session.connection()).has_table("units"):
            return Directory()
        units = [DirectoryEntry(u.id, u.name, tuple(dict.fromkeys([u.short_name, *(u.aliases or [])])), kind=u.kind,
                                emails=tuple(u.emails or ()))
                 for u in session.scalars(select(UnitRecord).where(UnitRecord.retired.is_(False))
                                          .order_by(UnitRecord.id))]
        groups: dict[str, DirectoryEntry] = {}
        for settings in session.scalars(select(PlanRecord.settings).order_by(PlanRecord.published_on)):
            for g in (settings or {}).get("groups", []):
                groups.setdefault(g["id"], DirectoryEntry(g["id"], g["name"], tuple(g["aliases"]), group=True,
                                                          members=tuple(g["members"])))
    return Directory(tuple(units) + tuple(groups.values()))
