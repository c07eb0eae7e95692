"""GET /healthz: how the running system is doing, for an operator's monitor or a load balancer. No sign-in, no
private data (no names, addresses or error texts: the office's dashboard shows those). 200 while duban can work
(``ok`` or ``degraded``); 503 when it cannot (the database unreachable, its schema not at head, a job failing
again and again)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from responsibilities.reading.operations import Operations, operations
from workflows.web.context import web

router = APIRouter(include_in_schema=False)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def health_json(status: Operations) -> dict:
    return {
        "status": status.status,
        "database": {"reachable": status.database_reachable, "error": status.database_error,
                     "schema": status.schema, "schema_current": status.schema_current},
        "scheduler": {"holder": status.scheduler_holder, "lease_expires_at": _iso(status.scheduler_lease_expires_at)},
        "jobs": {j.name: {"last_started_at": _iso(j.started_at), "last_finished_at": _iso(j.finished_at),
                          "succeeded": j.succeeded, "consecutive_failures": j.consecutive_failures,
                          "last_success_at": _iso(j.last_success_at), "runs": j.runs} for j in status.jobs},
        "notices": {state: status.notices.get(state, 0) for state in ("pending", "sending", "failed")},
        "servers_unreachable": {o.channel: {"since": _iso(o.unreachable_since), "retry_at": _iso(o.retry_at),
                                            "failures": o.failures} for o in status.outages},
    }


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    ctx = web(request)
    # The real clock, also under --as-of: the scheduler's lease is held in real time.
    status = operations(request.app.state.engine, ctx.sessions, now=datetime.now(timezone.utc))
    return JSONResponse(health_json(status), status_code=503 if status.status == "failing" else 200)
