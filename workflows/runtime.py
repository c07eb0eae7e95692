"""The one composition root: what every entrypoint builds once (a command, a scheduled job, the web application,
the replay) and closes when it ends.

A ``Runtime`` holds the settings, the clock, the database (engine and sessions, made on first use) and the
evidence store. "Today" has one meaning everywhere: the day ``now`` falls on in the loaded plan's time zone
(deadlines are local dates where the plan is carried out); DUBAN_TIME_ZONE is only the fallback before any plan
is loaded. ``close()`` disposes the engine: a job that runs every minute must not leave a pool behind each time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from workflows.settings import Settings, resolve_now

Clock = Callable[[], datetime]


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says ``moment`` (a job runs as of one moment; the replay moves it)."""
    if moment.tzinfo is None:
        raise ValueError("a clock needs an aware datetime: a naive one would be read in the machine's zone")
    return lambda: moment


class Runtime:
    """Settings, the clock and the database of one entrypoint. ``clock`` defaults to the real time, or to
    ``as_of`` (a date: that day at the current time of day; or an ISO datetime), read in the plan's zone."""

    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None, as_of: str | None = None):
        self.settings = settings or Settings.from_environment()
        self.clock: Clock = clock or (lambda: resolve_now(as_of, self.zone))

    def now(self) -> datetime:
        return self.clock()

    def today(self, now: datetime | None = None) -> date:
        """The calendar day ``now`` (default: the clock's) falls on where the plan is carried out."""
        return (now or self.now()).astimezone(self.zone).date()

    @cached_property
    def zone(self) -> ZoneInfo:
        """The loaded plan's time zone; DUBAN_TIME_ZONE before a plan is loaded (or while the database cannot
        answer: the command that needs it says why)."""
        from sqlalchemy.exc import SQLAlchemyError

        from responsibilities.storage.db import DatabaseUnusable, read_session
        from responsibilities.storage.migrate import SchemaOutOfDate
        from responsibilities.storage.plans import loaded_plan

        try:
            with read_session(self.sessions) as session:
                plan = loaded_plan(session)
        except (SchemaOutOfDate, DatabaseUnusable, SQLAlchemyError):
            return self.settings.time_zone
        return plan.time_zone if plan is not None else self.settings.time_zone

    @cached_property
    def engine(self):
        from responsibilities.storage.db import make_engine

        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self):
        from responsibilities.storage.db import make_session_factory
        from responsibilities.storage.migrate import require_current

        require_current(self.engine)
        return make_session_factory(self.engine)

    @cached_property
    def evidence(self):
        from responsibilities.tracking.evidence import EvidenceStore

        return EvidenceStore(self.settings.evidence_dir)

    def schema_changed(self) -> None:
        """After a migration: the next use checks the schema again, and the zone is read from the plan again."""
        for name in ("sessions", "zone"):
            self.__dict__.pop(name, None)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
            del self.__dict__["engine"]
        self.schema_changed()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
