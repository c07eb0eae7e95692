"""The application factory: ``create_app(settings, now=None)`` builds the pages, the API and their safeguards.

``now`` is the clock (a function returning an aware datetime; default: the real time), so that tests and
demos can run the plan's 2019–2021 timeline.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.exceptions import HTTPException

from responsibilities.db import make_engine, make_session_factory, read_session
from responsibilities.errors import DomainError
from responsibilities.evidence import EvidenceStore
from responsibilities.migrate import require_current
from responsibilities.model import UnitRecord
from responsibilities.vocabulary import DEADLINE_KIND_NAMES, JOB_NAMES, NOTICE_KIND_NAMES, NOTICE_STATE_NAMES
from workflows.render import ACTION_NAMES, LIGHT_NAMES, STATE_NAMES
from workflows.settings import Settings
from workflows.web.context import SignInRequired, WebContext, current_user
from workflows.web.security import CODES, CsrfRejected, SecurityHeaders, headline_of, status_of

HERE = Path(__file__).parent
ROLE_NAMES = {"office": "领导小组办公室", "unit": "责任单位", "leader": "领导(只读)"}
PROGRESS_NAMES = {"green": "达到序时进度", "yellow": "落后序时进度", "red": "有月报缺报"}

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(LIGHT_NAMES=LIGHT_NAMES, STATE_NAMES=STATE_NAMES, ACTION_NAMES=ACTION_NAMES,
                             KIND_NAMES=DEADLINE_KIND_NAMES, NOTICE_NAMES=NOTICE_KIND_NAMES,
                             NOTICE_STATES=NOTICE_STATE_NAMES,
                             ROLE_NAMES=ROLE_NAMES, PROGRESS_NAMES=PROGRESS_NAMES, JOB_NAMES=JOB_NAMES)
templates.env.filters["url"] = lambda value: quote(str(value), safe="@")
templates.env.filters["thousands"] = lambda n: "—" if n is None else f"{round(n):,}"
templates.env.filters["percent"] = lambda rate: "—" if rate is None else f"{rate * 100:.1f}%"


@pass_context
def local_time(context, moment: datetime | None) -> str:  # noqa: ANN001 - Jinja's context
    """An operational moment (a job's run, a server's outage) in the office's zone, to the minute."""
    if moment is None:
        return "—"
    return moment.astimezone(context["request"].app.state.web.settings.time_zone).strftime("%Y-%m-%d %H:%M")


templates.env.filters["local"] = local_time


def query_with(query: dict[str, str], key: str, value: object) -> str:
    """The current query string with one parameter changed (a pager's links keep the filters)."""
    from urllib.parse import urlencode

    return urlencode({**query, key: value})


templates.env.globals["query_with"] = query_with


def real_clock() -> datetime:
    return datetime.now().astimezone()


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def render(request: Request, name: str, status: int = 200, **context) -> Response:  # noqa: ANN003
    user = current_user(request)
    ctx = request.app.state.web
    return templates.TemplateResponse(request, name, {"user": user, "csrf": user.csrf_token if user else None,
                                                      "user_unit": _unit_name(ctx, user), "today": ctx.today(),
                                                      **context}, status_code=status)


def _unit_name(ctx: WebContext, user) -> str | None:  # noqa: ANN001 - a SignedIn or None
    """The signed-in unit's short name for the page header (a clerk knows 市人社局, not hrss)."""
    if user is None or not user.unit_id:
        return None
    with read_session(ctx.sessions) as session:
        unit = session.get(UnitRecord, user.unit_id)
        return unit.short_name if unit is not None else user.unit_id


def error_response(request: Request, status: int, headline: str, detail: str = "") -> Response:
    if is_api(request):
        return JSONResponse({"error": {"code": CODES.get(status, "error"), "message": headline, "detail": detail}},
                            status_code=status)
    return render(request, "error.html", status=status, headline=headline, detail=detail)


def create_app(settings: Settings | None = None, now: Callable[[], datetime] | None = None) -> FastAPI:
    settings = settings or Settings.from_environment()
    engine = make_engine(settings.database_url)
    require_current(engine)
    app = FastAPI(title="duban", version="0.1.0", summary="督办 supervision tracker: the JSON API",
                  description="The same reads and actions as the pages, with the same rules. Sign in with "
                              "POST /api/session; send the returned csrf_token as X-CSRF-Token on every change.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.web = WebContext(settings=settings, sessions=make_session_factory(engine), clock=now or real_clock,
                               evidence=EvidenceStore(settings.evidence_dir))
    app.state.engine = engine
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _add_error_handlers(app)

    for router in routers():
        app.include_router(router)
    return app


def routers() -> list:
    """Every page's and the API's router. Imported here: each page module takes ``render`` from this module."""
    from workflows.web import (
        api,
        api_figures,
        auth,
        docs,
        health,
        pages_deliverable,
        pages_figures,
        pages_office,
        pages_unit,
    )

    return [m.router for m in (auth, pages_office, pages_unit, pages_figures, pages_deliverable, api, api_figures,
                               docs, health)]


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _exc: SignInRequired) -> Response:
        if is_api(request):
            return JSONResponse({"error": {"code": "unauthenticated", "message": "请先登录", "detail": ""}},
                                status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        return error_response(request, 403, "请求被拒绝", str(exc))

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return error_response(request, status_of(exc), headline_of(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or None, "message": e.get("msg", "")}
                    for e in exc.errors()]
        if is_api(request):
            return JSONResponse({"error": {"code": "invalid", "message": "请求格式有误", "detail": "",
                                           "fields": problems}}, status_code=422)
        detail = ";".join(f"{p['field']}: {p['message']}" for p in problems)
        return render(request, "error.html", status=422, headline="请求格式有误", detail=detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headline = {404: "页面不存在", 405: "不支持此请求方式"}.get(exc.status_code, "请求无法完成")
        response = error_response(request, exc.status_code, headline, "" if exc.status_code in (404, 405) else str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
