"""The scheduled work, as plain functions: what the Prefect flows, the embedded scheduler and the replay call.

Each job takes the runtime it runs in (workflows.runtime: settings, the clock, the database), reads ``now`` once,
calls one or two services, and returns the counts they report. ``run_job`` builds the runtime from the environment
(and ``as_of``), records the run, and closes the runtime after. No Prefect here: the business logic is tested
without it, and the flows in workflows/schedule/flows.py only wrap ``run_job``.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timezone
from typing import Any, Callable

from workflows.runtime import Runtime
from workflows.settings import Settings


def sweep(runtime: Runtime) -> dict[str, Any]:
    """Write the reminders, chases, escalations and office notices owed today; then move the lights the
    database keeps to today (every day, working or not), so that the dashboard reads them all day."""
    from responsibilities.notices.sweep import sweep as run
    from responsibilities.reading.lights import keep_up

    now = runtime.now()
    today = runtime.today(now)
    report = run(runtime.sessions, now=now, today=today)
    keep_up(runtime.sessions, today)
    return {"day": today.isoformat(), "working_day": report.working_day, **report.written}


def deliver(runtime: Runtime, transport=None, stop: threading.Event | None = None) -> dict[str, Any]:
    """Send due notices: SMTP when configured, else the mail folder. ``stop`` cancels the run promptly."""
    from notifications.delivery import DeliverySettings
    from notifications.delivery import deliver as run
    from notifications.transports import SmtpSettings, transport_from_environment

    url = runtime.settings.smtp_url_with_sender()
    transport = transport or transport_from_environment(url, runtime.settings.mail_dir)
    sender = SmtpSettings.from_url(url).sender if url else runtime.settings.mail_from
    settings = DeliverySettings(base_url=runtime.settings.base_url, sender=sender)
    report = run(runtime.sessions, transport, settings, now=runtime.now(), stop=stop)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
            "refused_recipients": report.refused_recipients, "deferred_recipients": report.deferred_recipients,
            "released": report.released, "server_unreachable": report.server_unreachable,
            "server_error": report.server_error,
            "retry_server_at": report.retry_server_at.isoformat() if report.retry_server_at else None,
            "stopped": report.stopped}


def digests(runtime: Runtime) -> dict[str, Any]:
    """Write the digests owed today (the office's daily one; the weekly ones on the week's first working day), and
    on the month's first working day the last month's bulletin (督查通报) for the office and the leaders."""
    from responsibilities.notices.digests import write_digests
    from responsibilities.reports.bulletin import queue_monthly_bulletin

    now = runtime.now()
    today = runtime.today(now)
    written = write_digests(runtime.sessions, now=now, today=today)
    return {"day": today.isoformat(), **written, "bulletin": queue_monthly_bulletin(runtime.sessions, now=now,
                                                                                    today=today)}


def year_end(runtime: Runtime, year: int | None = None) -> dict[str, Any]:
    """Write the year-end compliance summary of ``year`` (default: the current year) under var/reports, and owe
    the leaders and the office a mail about it (a ``summary`` notice, once per year however often this runs)."""
    from responsibilities.reports.files import write_year_report
    from responsibilities.reports.summary import queue_summary_notice, summary_plans

    now = runtime.now()
    today = runtime.today(now)
    year = year or today.year
    files: dict[str, dict[str, str]] = {}
    queued = 0
    for plan_id in summary_plans(runtime.sessions, year=year):
        # The office's first plan keeps the files' old names (summary-<year>.*); each other plan's name its plan.
        paths = write_year_report(runtime.sessions, year=year, today=today, out_dir=runtime.settings.reports_dir,
                                  plan_id=plan_id)
        files[plan_id] = {fmt: str(path) for fmt, path in paths.items()}
        queued += queue_summary_notice(runtime.sessions, year=year, now=now, today=today, plan_id=plan_id)
    first = next(iter(files.values()), {})
    return {"year": year, "reports": first, "plans": files, "summary": queued}


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

    runtime = Runtime(settings, as_of=as_of)
    try:
        job_started(runtime.sessions, name=name, holder=PROCESS, now=wall_clock())
        if name in STOPPABLE:
            params["stop"] = stop
        counts = JOBS[name](runtime=runtime, **{k: v for k, v in params.items() if v is not None})
    except Exception as error:  # whatever went wrong is recorded, and re-raised as one line
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
