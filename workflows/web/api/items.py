"""The API's items the office assigns by hand (交办事项): check one (the deadline's reading), or assign it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from responsibilities.limits import MAX_TEXT
from responsibilities.plan.items import MAX_PHRASE
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.items import MAX_CO_UNITS, MAX_SOURCE, ItemRequest, assign_item, preview_item
from workflows.web.api.common import ERRORS, csrf
from workflows.web.context import web

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Unit = Annotated[str, Field(min_length=1, max_length=200)]


class ItemBody(BaseModel):
    lead: Unit
    task: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    deadline: Annotated[str, Field(min_length=1, max_length=MAX_PHRASE)]
    co_units: Annotated[list[Unit], Field(default_factory=list, max_length=MAX_CO_UNITS)]
    source: Annotated[str | None, Field(default=None, max_length=MAX_SOURCE)]
    repeat: Literal["monthly", "quarterly"] | None = None

    def request(self) -> ItemRequest:
        return ItemRequest(self.lead, self.task, self.deadline, tuple(self.co_units), self.source, self.repeat)


def _reading(reading) -> dict[str, Any]:
    return {"phrase": reading.phrase, "reads": reading.describe(), "kind": reading.rule.kind,
            "dues": [{"period": s.period, "due": s.due.isoformat()} for s in reading.slots]}


@router.post("/items/check", summary="Check an item the office would assign: its units and its deadline's reading")
def api_check_item(body: ItemBody, request: Request, user: SignedIn = Depends(csrf)) -> dict[str, Any]:
    ctx = web(request)
    checked = preview_item(ctx.sessions, body.request(), actor=user.user_name, now=ctx.now())
    return {"lead": checked.lead, "co_units": list(checked.co_units), "deadline": _reading(checked.reading)}


@router.post("/items", status_code=201, summary="Assign an item by hand (交办事项): it joins the year's standing plan")
def api_assign_item(body: ItemBody, request: Request, user: SignedIn = Depends(csrf)) -> dict[str, Any]:
    ctx = web(request)
    assigned = assign_item(ctx.sessions, body.request(), actor=user.user_name, now=ctx.now())
    return {"plan": assigned.plan, "ref": assigned.ref, "qualified_ref": assigned.qualified,
            "deadline": _reading(assigned.reading)}
