"""What every route needs: the session factory, the clock, the evidence store, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.tracking.accounts import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, SignedIn, session_user
from responsibilities.tracking.evidence import EvidenceStore
from workflows.runtime import Runtime
from workflows.settings import Settings

SESSION_COOKIE = "duban_session"
PRE_SESSION_COOKIE = "duban_pre"  # the sign-in form's CSRF token before there is a session


@dataclass
class WebContext:
    """The application's runtime (workflows.runtime: settings, the clock, the database) and its session limits."""

    runtime: Runtime
    idle_timeout: timedelta = IDLE_TIMEOUT
    absolute_timeout: timedelta = ABSOLUTE_TIMEOUT

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.sessions

    @property
    def evidence(self) -> EvidenceStore:
        return self.runtime.evidence

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.zone

    def now(self) -> datetime:
        return self.runtime.now()

    def today(self) -> date:
        return self.runtime.today()


class SignInRequired(Exception):
    """No valid session: pages send the person to the sign-in page, the API answers 401."""


def web(request: Request) -> WebContext:
    return request.app.state.web


def current_user(request: Request) -> SignedIn | None:
    """The signed-in user of this request, looked up once per request."""
    if "duban_user" not in request.scope:
        ctx = web(request)
        request.scope["duban_user"] = session_user(
            ctx.sessions, session_id=request.cookies.get(SESSION_COOKIE), now=ctx.now(),
            idle=ctx.idle_timeout, absolute=ctx.absolute_timeout)
    return request.scope["duban_user"]


def signed_in(request: Request) -> SignedIn:
    """A dependency: the signed-in user, or SignInRequired."""
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or web(request).settings.base_url.startswith("https://")
