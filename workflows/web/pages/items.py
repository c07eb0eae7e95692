"""The office assigns an item by hand (交办事项): a form, the deadline's reading shown before saving, then the item."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import DomainError, NotAllowed
from responsibilities.reading import board
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.items import ItemInvalid, ItemRequest, assign_item, preview_item
from workflows.web.context import signed_in, web
from workflows.web.forms import Form, read_form
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)
FIELDS = ("source", "task", "lead", "co_units", "deadline", "repeat")
# Co-units as the documents list them: 市财政局、市教育局 (or commas, semicolons, spaces, line breaks).
SEPARATORS = re.compile(r"[、,,;;\s]+")


def _office_only(user: SignedIn) -> None:
    if user.role != "office":
        raise NotAllowed("只有领导小组办公室可以交办事项")


@router.get("/items/new")
def new_item(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    _office_only(user)
    return _page(request, Form("item", {k: "" for k in FIELDS}))


@router.post("/items")
async def submit_item(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "item")
    return await run_in_threadpool(_submit_item, request, user, form)


def _submit_item(request: Request, user: SignedIn, form: Form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    _office_only(user)
    ctx = web(request)
    action = form.values.get("action")
    values = {k: form.values.get(k, "") for k in FIELDS}
    item_request = ItemRequest(lead=values["lead"], task=values["task"], deadline=values["deadline"],
                               co_units=tuple(c for c in SEPARATORS.split(values["co_units"]) if c),
                               source=values["source"], repeat=values["repeat"] or None)
    form = Form("item", values)
    try:
        if action == "save":
            assigned = assign_item(ctx.sessions, item_request, actor=user.user_name, now=ctx.now())
            return RedirectResponse(f"/items/new?assigned={assigned.qualified}", status_code=303)
        checked = preview_item(ctx.sessions, item_request, actor=user.user_name, now=ctx.now())
    except ItemInvalid as invalid:
        form.status = 422
        return _page(request, form, problems=invalid.problems)
    except NotAllowed:
        raise
    except DomainError as error:
        form.refused(error)
        return _page(request, form, problems=[form.errors["form"]])
    return _page(request, form, checked=checked)


def _page(request: Request, form: Form, *, checked=None, problems: list[str] | None = None) -> Response:
    ctx = web(request)
    return render(request, "items.html", status=form.status, form=form, checked=checked, problems=problems or [],
                  units=board.unit_choices(ctx.sessions))
