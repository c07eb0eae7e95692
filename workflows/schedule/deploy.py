"""Scale-out: the same flows as Prefect deployments on a Prefect server, run by a process worker.

For installs that outgrow one machine. Prefect owns the schedules there (the plan's cron expressions, in
the plan's zone), so the embedded scheduler (`duban serve`) must not run as well. The deployments point at
this checkout (local source), so workers run on machines that have it and duban's environment
(DUBAN_DATABASE_URL on a shared PostgreSQL, DUBAN_SMTP_URL, …).
"""

from __future__ import annotations

from pathlib import Path

from workflows.schedule.flows import FLOWS  # imports Prefect, configured offline and quiet

PROJECT = Path(__file__).resolve().parents[2]  # the checkout: deployments run its files
ENTRYPOINTS = {"sweep": "sweep_flow", "deliver": "deliver_flow", "digests": "digests_flow", "year_end": "year_end_flow"}


def ensure_work_pool(name: str) -> None:
    """Create the process work pool if the server does not have it yet."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async def create() -> None:
        async with get_client() as client:
            try:
                await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:
                pass

    asyncio.run(create())


def deploy_flows(schedules: dict[str, str], time_zone: str, *, work_pool: str = "duban") -> dict[str, str]:
    """Deploy every flow with its schedule; returns {flow: deployment id}."""
    from prefect import flow
    from prefect.client.schemas.schedules import CronSchedule

    ensure_work_pool(work_pool)
    deployed = {}
    for name in FLOWS:
        source = flow.from_source(source=str(PROJECT), entrypoint=f"workflows/schedule/flows.py:{ENTRYPOINTS[name]}")
        deployed[name] = str(source.deploy(
            name=name, work_pool_name=work_pool, schedules=[CronSchedule(cron=schedules[name], timezone=time_zone)],
            build=False, push=False, print_next_steps=False, ignore_warnings=True))
    return deployed
