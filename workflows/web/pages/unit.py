"""A unit's workspace: its deliverables by due date with their lights, what was returned and why; for a region
that owes monthly reports, also its progress against its targets and its monthly report form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from responsibilities.errors import NotAllowed
from responsibilities.reading import workspace
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
    return workspace_response(request, user, unit_id)


def workspace_response(request: Request, user: SignedIn, unit_id: str, status: int = 200,
                       forms: dict[str, Form] | None = None, problems: list[str] | None = None) -> Response:
    """The workspace; a figures form that failed comes back in it with its messages (``forms``, ``problems``)."""
    from workflows.web.figures_forms import region_section

    ctx = web(request)
    state = request.query_params.get("state") or None
    if state is not None and state not in STATES:
        state = None
    try:
        found = workspace.unit_workspace(ctx.sessions, today=ctx.today(), viewer=user.user_name, unit=unit_id,
                                         state=state, page=page_number(request, "page"))
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    rows = found.rows
    unit_name = next((r.unit_name for r in rows.items if not r.cooperating), unit_id)
    return render(request, "workspace.html", status=status, unit_id=unit_id, unit_name=unit_name, rows=rows,
                  returned=found.returned, waiting=found.waiting, state=state, query=dict(request.query_params),
                  figures=region_section(ctx, user, unit_id), forms=forms or {}, problems=problems or [])
