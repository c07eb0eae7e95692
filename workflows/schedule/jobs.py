"""The scheduled work, as plain functions: what the Prefect flows, the embedded scheduler and the replay call.

Each job resolves settings from the environment, works out ``now`` (the clock, or ``as_of``), calls one or two
services, and returns the counts they report. No Prefect here: the business logic is tested without it, and
the flows in workflows/schedule/flows.py only wrap these. Jobs are referenced by name
("workflows.schedule.jobs:sweep") so that APScheduler can store them.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cached_property
from typing import Any, Callable

from workflows.settings import Settings, resolve_now


@dataclass
class Runtime:
    """Settings, the database, and the moment a job runs as of."""

    settings: Settings
    now: datetime

    @classmethod
    def create(cls, as_of: str | None = None, settings: Settings | None = None) -> "Runtime":
        settings = settings or Settings.from_environment()
        return cls(settings, resolve_now(as_of, settings.time_zone))

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.time_zone).date()

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

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def sweep(as_of: str | None = None, runtime: Runtime | None = None) -> dict[str, Any]:
    """Write the reminders, chases, escalations and office notices owed today."""
    from responsibilities.notices.sweep import sweep as run

    rt = runtime or Runtime.create(as_of)
    report = run(rt.sessions, now=rt.now, today=rt.today)
    return {"day": rt.today.isoformat(), "working_day": report.working_day, **report.written}


def deliver(as_of: str | None = None, runtime: Runtime | None = None, transport=None,
            stop: threading.Event | None = None) -> dict[str, Any]:
    """Send due notices: SMTP when configured, else the mail folder. ``stop`` cancels the run promptly."""
    from notifications.delivery import DeliverySettings
    from notifications.delivery import deliver as run
    from notifications.transports import SmtpSettings, transport_from_environment

    rt = runtime or Runtime.create(as_of)
    url = rt.settings.smtp_url_with_sender()
    transport = transport or transport_from_environment(url, rt.settings.mail_dir)
    sender = SmtpSettings.from_url(url).sender if url else rt.settings.mail_from
    report = run(rt.sessions, transport, DeliverySettings(base_url=rt.settings.base_url, sender=sender), now=rt.now,
                 stop=stop)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
            "refused_recipients": report.refused_recipients, "deferred_recipients": report.deferred_recipients,
            "released": report.released, "server_unreachable": report.server_unreachable,
            "server_error": report.server_error,
            "retry_server_at": report.retry_server_at.isoformat() if report.retry_server_at else None,
            "stopped": report.stopped}


def digests(as_of: str | None = None, runtime: Runtime | None = None) -> dict[str, Any]:
    """Write the digests owed today (the office's daily one; the weekly ones on the week's first working day)."""
    from responsibilities.notices.digests import write_digests

    rt = runtime or Runtime.create(as_of)
    return {"day": rt.today.isoformat(), **write_digests(rt.sessions, now=rt.now, today=rt.today)}


def year_end(as_of: str | None = None, runtime: Runtime | None = None, year: int | None = None) -> dict[str, Any]:
    """Write the year-end compliance summary of ``year`` (default: the current year) under var/reports, and owe
    the leaders and the office a mail about it (a ``summary`` notice, once per year however often this runs)."""
    from responsibilities.reports.files import write_year_report
    from responsibilities.reports.summary import queue_summary_notice

    rt = runtime or Runtime.create(as_of)
    year = year or rt.today.year
    paths = write_year_report(rt.sessions, year=year, today=rt.today, out_dir=rt.settings.reports_dir)
    queued = queue_summary_notice(rt.sessions, year=year, now=rt.now, today=rt.today)
    return {"year": year, "reports": {fmt: str(path) for fmt, path in paths.items()}, "summary": queued}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {"sweep": sweep, "deliver": deliver, "digests": digests,
                                                  "year_end": year_end}
STOPPABLE = {"deliver"}  # jobs that give up promptly when asked to stop; the others are short transactions


class JobFailed(Exception):
    """A job that did not complete; its message is one line, fit for a log and the office's dashboard."""


def run_job(name: str, as_of: str | None = None, *, stop: threading.Event | None = None,
            settings: Settings | None = None, **params: Any) -> dict[str, Any]:
    """Run a job by name in its own runtime, and record the run (job_runs) for /healthz and the dashboard.

    What the embedded scheduler fires, `duban flow run` calls, and each Prefect flow wraps. A failure is recorded
    and raised as JobFailed with a one-line reason."""
    if name not in JOBS:
        raise KeyError(f'unknown flow "{name}" (known: {", ".join(JOBS)})')
    from responsibilities.storage.job_runs import job_finished, job_started

    runtime = Runtime.create(as_of, settings)
    try:
        job_started(runtime.sessions, name=name, holder=PROCESS, now=wall_clock())
        if name in STOPPABLE:
            params["stop"] = stop
        counts = JOBS[name](runtime=runtime, **{k: v for k, v in params.items() if v is not None})
    except Exception as error:  # whatever went wrong is recorded and reported in one line
        reason = one_line(error)
        _record_failure(runtime, name, reason)
        raise JobFailed(f"{name}: {reason}") from error
    else:
        job_finished(runtime.sessions, name=name, now=wall_clock())
        return counts
    finally:
        runtime.close()


def _record_failure(runtime: Runtime, name: str, reason: str) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from responsibilities.storage.job_runs import job_finished
    from responsibilities.storage.migrate import SchemaOutOfDate

    try:
        job_finished(runtime.sessions, name=name, now=wall_clock(), error=reason)
    except (SQLAlchemyError, SchemaOutOfDate):
        pass  # the database itself is the trouble (or the run was never recorded): /healthz says so


def one_line(error: BaseException) -> str:
    """An error as one line a person can act on: its known meaning, else its type and first line."""
    from workflows.failures import known_failure

    known = known_failure(error)
    if known is not None:
        return known
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__


def wall_clock() -> datetime:
    """When a job really ran, whatever day it runs as of: job runs are an operator's record."""
    return datetime.now(timezone.utc)


PROCESS = f"{socket.gethostname()[:60]}:{os.getpid()}"
