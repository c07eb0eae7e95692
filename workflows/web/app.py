"""The application factory: ``create_app(settings, now=None)`` builds the pages, the API and their safeguards.

``now`` is the clock (a function returning an aware datetime; default: the real time), so that tests and
demos can run the plan's 2019–2021 timeline; or ``runtime`` gives the whole runtime (`duban serve` passes its own).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from responsibilities.errors import DomainError
from workflows.runtime import Runtime
from workflows.settings import Settings
from workflows.web.api import figures as figures_api
from workflows.web.api import items as items_api
from workflows.web.api import tracking
from workflows.web.context import SESSION_COOKIE, SignInRequired, WebContext
from workflows.web.pages import auth, calendars, deliverable, docs, health, imports, items, office, unit
from workflows.web.pages import figures as figures_pages
from workflows.web.security import CsrfRejected, SecurityHeaders, headline_of, status_of
from workflows.web.templating import error_response, is_api, render

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None, now: Callable[[], datetime] | None = None, *,
               runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime(settings, clock=now)
    _ = runtime.sessions  # the database is opened and its schema checked now, not at the first request
    app = FastAPI(title="duban", version="0.1.0", summary="督办 supervision tracker: the JSON API",
                  description="The same reads and actions as the pages, with the same rules. Sign in with "
                              "POST /api/session; send the returned csrf_token as X-CSRF-Token on every change.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.web = WebContext(runtime)
    app.state.engine = runtime.engine
    app.add_middleware(SecurityHeaders, allowed_hosts=runtime.settings.hosts,
                       hsts_seconds=runtime.settings.hsts_seconds)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _add_error_handlers(app)

    for router in routers():
        app.include_router(router)
    app.openapi = lambda: _described(app)
    return app


def _described(app: FastAPI) -> dict:
    """The API's OpenAPI description, with how it is signed into: the session cookie on every operation but the
    sign-in, and the CSRF token's header on every change."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                             description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                        "description": "set by POST /api/session; ends after an hour idle, twelve hours at most"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                     "description": "the csrf_token POST /api/session returned (GET /api/session gives it again)"}}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                signing_in = (method, path) == ("post", "/api/session")
                operation["security"] = ([] if signing_in else [{"session": []}] if method == "get"
                                         else [{"session": [], "csrf": []}])
        app.openapi_schema = schema
    return app.openapi_schema


def routers() -> list:
    """Every page's and the API's router."""
    return [m.router for m in (auth, office, items, imports, unit, figures_pages, deliverable, calendars, tracking,
                               items_api, figures_api, docs, health)]


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
        response = error_response(request, exc.status_code, headline,
                                  "" if exc.status_code in (404, 405) else str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
