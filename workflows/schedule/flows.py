"""The Prefect flows: sweep, deliver, digests, year-end summary. Each only wraps ``jobs.run_job``.

Used where Prefect keeps and shows the runs: with a Prefect API configured (``PREFECT_API_URL``, the scale-out
with `duban deploy`), `duban serve` and `duban flow run` run the jobs as these flows; without one they call the
jobs directly, and nothing of Prefect is started.

Importing this module imports Prefect (about a second and 80 MB), so nothing on the CLI's start-up path does:
`duban flow run`, `duban serve` and `duban deploy` import it when they need it. ``configure_prefect`` must run
before Prefect is imported, so that it runs offline and quietly with its home under ./var/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workflows.paths import writable_folder
from workflows.settings import Settings


def configure_prefect(settings: Settings | None = None) -> None:
    """Prefect's home (made when missing) under ./var/, no analytics or telemetry, warnings only."""
    settings = settings or Settings.from_environment()
    os.environ.setdefault("PREFECT_HOME", str(Path(settings.prefect_home).resolve()))
    writable_folder(Path(os.environ["PREFECT_HOME"]), "Prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the server's heartbeat to Prefect's hosts
    os.environ.setdefault("DO_NOT_TRACK", "1")  # the client's usage events
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # The temporary server takes ~10 s to start on a 2-core machine, and 40 s or more when the machine is busy;
    # Prefect's default wait of 20 s then fails the flow run before it starts.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


configure_prefect()

from prefect import flow, get_run_logger  # noqa: E402 - Prefect reads the environment set above
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402

from workflows.schedule import jobs  # noqa: E402


def _logged(name: str, counts: dict[str, Any]) -> dict[str, Any]:
    get_run_logger().info("%s: %s", name, counts)
    return counts


@flow(name="duban-sweep")
def sweep_flow(as_of: str | None = None) -> dict[str, Any]:
    """Reminders, chases, escalations and office notices owed today."""
    return _logged("sweep", jobs.run_job("sweep", as_of))


# Delivery already retries each notice, and backs off a server that is away; the flow's retries cover what fails
# around it (the database briefly locked).
@flow(name="duban-deliver", retries=2, retry_delay_seconds=30)
def deliver_flow(as_of: str | None = None) -> dict[str, Any]:
    """Send pending notices."""
    return _logged("deliver", jobs.run_job("deliver", as_of))


@flow(name="duban-digests")
def digests_flow(as_of: str | None = None) -> dict[str, Any]:
    """The office's daily digest; the units' and the leaders' weekly ones on the week's first working day."""
    return _logged("digests", jobs.run_job("digests", as_of))


@flow(name="duban-year-end")
def year_end_flow(as_of: str | None = None, year: int | None = None) -> dict[str, Any]:
    """The year-end compliance summary, written under var/reports."""
    return _logged("year_end", jobs.run_job("year_end", as_of, year=year))


FLOWS = {"sweep": sweep_flow, "deliver": deliver_flow, "digests": digests_flow, "year_end": year_end_flow}


def run_flow(name: str, as_of: str | None = None) -> dict[str, Any]:
    """Run one flow through Prefect's engine, without the flow heartbeat (which adds a second to each sync run)."""
    if name not in FLOWS:
        raise KeyError(f'unknown flow "{name}" (known: {", ".join(FLOWS)})')
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return FLOWS[name](as_of=as_of)
