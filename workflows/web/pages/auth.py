"""Signing in and out (pages). The API's equivalents are POST and DELETE /api/session."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.limits import MAX_PASSWORD_CHARS, MAX_USER_NAME
from responsibilities.tracking.accounts import SignedIn, SignInFailed, SignInThrottled, end_session, sign_in
from workflows.web.context import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    client_address,
    current_user,
    is_https,
    signed_in,
    web,
)
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)
MAX_NAME, MAX_PASSWORD = MAX_USER_NAME, MAX_PASSWORD_CHARS  # the services' bounds (responsibilities/limits.py)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never //elsewhere or a full URL (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 2000:
        return "/"
    return target


def set_session_cookie(response: Response, request: Request, session: SignedIn) -> None:
    response.set_cookie(SESSION_COOKIE, session.session_id, httponly=True, samesite="lax", secure=is_https(request),
                        path="/")


def _sign_in_page(request: Request, status: int = 200, **context) -> Response:
    token = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", status=status, pre_token=token, **context)
    response.set_cookie(PRE_SESSION_COOKIE, token, httponly=True, samesite="lax", secure=is_https(request), path="/")
    return response


@router.get("/")
def home(user: SignedIn = Depends(signed_in)) -> Response:
    if user.role == "unit":
        return RedirectResponse(f"/units/{user.unit_id}", status_code=303)
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    if current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, next=safe_next(next), values={})


@router.post("/signin")
async def sign_in_submit(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    # Checking a password takes ~0.1 s of Argon2 on purpose: in a worker thread, never on the event loop.
    return await run_in_threadpool(_sign_in, request, form)


def _sign_in(request: Request, form) -> Response:  # form: Starlette's FormData
    check_csrf(request, None, form.get("csrf_token"))
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    errors = {}
    if not name:
        errors["name"] = "请输入用户名"
    elif len(name) > MAX_NAME:
        errors["name"] = f"用户名不超过 {MAX_NAME} 个字符"
    if not password:
        errors["password"] = "请输入密码"
    elif len(password) > MAX_PASSWORD:
        errors["password"] = f"密码不超过 {MAX_PASSWORD} 个字符"
    if errors:
        return _sign_in_page(request, 422, next=target, values={"name": name[:MAX_NAME]}, errors=errors)
    ctx = web(request)
    try:
        session = sign_in(ctx.sessions, name=name, password=password, address=client_address(request), now=ctx.now(),
                          replaces=request.cookies.get(SESSION_COOKIE))
    except SignInThrottled:
        return _sign_in_page(request, 429, next=target, values={"name": name},
                             errors={"form": "登录失败次数过多,请一分钟后再试。"})
    except SignInFailed:
        return _sign_in_page(request, 401, next=target, values={"name": name},
                             errors={"form": "用户名或密码不正确。"})
    response = RedirectResponse(target if target != "/" else "/", status_code=303)
    set_session_cookie(response, request, session)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/signout")
async def sign_out(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    return await run_in_threadpool(_sign_out, request, user, form)


def _sign_out(request: Request, user: SignedIn, form) -> Response:  # form: Starlette's FormData
    check_csrf(request, user, form.get("csrf_token"))
    end_session(web(request).sessions, session_id=user.session_id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
