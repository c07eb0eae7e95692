"""A unit's workspace: what it must do now (overdue, returned, due within ten working days), what waits for the
office's review, the rest by month, folded, and what it only cooperates on apart; its full list, every state, a
page at a time; for a region that owes monthly reports, also its progress against its targets and its monthly
report form."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from responsibilities.errors import NotAllowed
from responsibilities.reading import queries, workspace
from responsibilities.storage.model import STATES
from responsibilities.tracking.accounts import SignedIn
from workflows.web.access import hide_other_units
from workflows.web.context import signed_in, web
from workflows.web.forms import Form, page_number
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/unit")
def my_workspace(user: SignedIn = Depends(signed_in)) -> Response:
    if user.role != "unit":
        return RedirectResponse("/dashboard", status_code=303)
    return RedirectResponse(f"/units/{user.unit_id}", status_code=303)


@router.get("/units/{unit_id}")
def workspace_page(unit_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    listed = {key: request.query_params[key] for key in ("state", "page") if key in request.query_params}
    if listed:  # the full list's filter and pages, once on this page: a link kept from before opens the list
        return RedirectResponse(f"{request.url.path}/deliverables?{urlencode(listed)}", status_code=303)
    return workspace_response(request, user, unit_id)


def workspace_response(request: Request, user: SignedIn, unit_id: str, status: int = 200,
                       forms: dict[str, Form] | None = None, problems: list[str] | None = None) -> Response:
    """The workspace; a figures form that failed comes back in it with its messages (``forms``, ``problems``)."""
    from workflows.web.figures_forms import region_section

    ctx = web(request)
    try:
        found = workspace.unit_workspace(ctx.sessions, today=ctx.today(), viewer=user.user_name, unit=unit_id)
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    own = user.unit_id == found.unit  # the header names the signed-in unit: the workspace has read its name
    return render(request, "workspace.html", status=status, unit_id=unit_id, unit_name=found.unit_name, ws=found,
                  now_working_days=workspace.NOW_WORKING_DAYS, user_unit=found.unit_name if own else None,
                  figures=region_section(ctx, user, unit_id) if found.reports_figures else None,
                  forms=forms or {}, problems=problems or [])


@router.get("/units/{unit_id}/deliverables")
def deliverables_page(unit_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """Every deliverable of the unit's, in every state, by due date, a page at a time (and in one state)."""
    ctx = web(request)
    state = request.query_params.get("state") or None
    if state is not None and state not in STATES:
        state = None
    try:
        rows = workspace.workspace(ctx.sessions, today=ctx.today(), viewer=user.user_name, unit=unit_id, state=state,
                                   page=page_number(request, "page"))
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    return render(request, "unit_deliverables.html", unit_id=unit_id,
                  unit_name=queries.unit_short_name(ctx.sessions, unit_id), rows=rows, state=state,
                  query=dict(request.query_params))
