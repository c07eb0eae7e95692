"""Calendar subscriptions: the .ics feed at its secret address (no sign-in: calendar programs cannot), and the forms
that make a unit's address, or the office's (shown once; a new one revokes the old)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import NotAllowed, NotFound
from responsibilities.reports.calendar import calendar_feed
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.calendars import OFFICE_FEED, feed_owner, make_feed
from workflows.web.access import hide_other_units
from workflows.web.context import signed_in, web
from workflows.web.forms import Form, read_form
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)
NOT_A_FEED = "没有这个日历订阅地址:地址有误,或已重新生成(旧地址随即失效)"


@router.get("/calendar/{token}.ics")
def calendar_feed_file(token: str, request: Request) -> Response:
    """The feed behind a secret address; an unknown or revoked one is a 404 in the same words."""
    ctx = web(request)
    owner = feed_owner(ctx.sessions, token)
    if owner is None:
        raise NotFound(NOT_A_FEED)
    data = calendar_feed(ctx.sessions, owner=owner, base_url=ctx.settings.base_url, now=ctx.now())
    return Response(data, media_type="text/calendar; charset=utf-8",
                    headers={"cache-control": "private, max-age=900", "x-robots-tag": "noindex",
                             "content-disposition": 'inline; filename="duban.ics"'})


@router.post("/units/{unit_id}/calendar")
async def make_unit_feed(unit_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "calendar")
    return await run_in_threadpool(_made, request, user, unit_id, form)


@router.post("/calendar/office")
async def make_office_feed(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "calendar")
    return await run_in_threadpool(_made, request, user, OFFICE_FEED, form)


def _made(request: Request, user: SignedIn, owner: str, form: Form) -> Response:
    """The new address, on a page of its own: it is shown this once (only its hash is kept)."""
    check_csrf(request, user, form.values.get("csrf_token"))
    ctx = web(request)
    try:
        secret = make_feed(ctx.sessions, actor=user.user_name, owner=owner, now=ctx.now())
    except NotAllowed as refused:
        if user.role == "unit" and owner != OFFICE_FEED:  # another unit's: as if it were not there
            raise hide_other_units(refused) from None
        raise
    address = f"{ctx.settings.base_url.rstrip('/')}/calendar/{secret}.ics"
    back = "/dashboard" if owner == OFFICE_FEED else f"/units/{owner}"
    # Shown once (only its hash is kept); signed-in pages are never cached (web/security.py), so neither is this.
    return render(request, "calendar.html", address=address, back=back, office=owner == OFFICE_FEED)
