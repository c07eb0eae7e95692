"""The JSON API under /api: the same reads and actions as the pages, by the same services and rules.

Authentication is the same server-side session (POST /api/session sets the cookie and returns the CSRF
token); every change needs the X-CSRF-Token header. Errors are JSON: {"error": {"code", "message", "detail"}}.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from responsibilities.errors import InvalidInput, NotAllowed, NotFound
from responsibilities.limits import MAX_PASSWORD_CHARS, MAX_TEXT, MAX_USER_NAME
from responsibilities.reading import board, queries, workspace
from responsibilities.reading.plans import plan_list
from responsibilities.reading.queries import plan_years
from responsibilities.reports.bulletin import bulletin, bulletin_to_json
from responsibilities.reports.files import (
    MEDIA_TYPES,
    bulletin_file_name,
    render_bulletin,
    render_year_report,
    summary_file_name,
)
from responsibilities.reports.summary import year_end_summary, year_summary_to_json
from responsibilities.tracking import services
from responsibilities.tracking.accounts import SignedIn, SignInFailed, SignInThrottled, end_session, sign_in
from responsibilities.tracking.evidence import EvidenceRejected
from workflows.web.access import hide_other_units, load_view, require_overview
from workflows.web.api.common import ERRORS, DeadlineKind, State, csrf
from workflows.web.context import SESSION_COOKIE, client_address, signed_in, web
from workflows.web.evidence import MAX_FILES, evidence_response, save_upload
from workflows.web.forms import MAX_LINKS
from workflows.web.pages.auth import set_session_cookie

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
OptionalText = Annotated[str | None, Field(default=None, max_length=MAX_TEXT)]


def visible(request: Request, user: SignedIn, ref: str) -> queries.DeliverableView:
    return load_view(request, user, ref)


class SignInBody(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=MAX_USER_NAME)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_CHARS)]


class Me(BaseModel):
    name: str
    role: str
    unit: str | None
    csrf_token: str


class Change(BaseModel):
    ref: str
    state: str
    version: int
    due: date | None


class NoteBody(BaseModel):
    note: Text


class ReviewBody(BaseModel):
    note: OptionalText = None
    expected_version: int | None = None


class ReasonBody(BaseModel):
    reason: Text
    expected_version: int | None = None


class ExtensionBody(BaseModel):
    new_due: date
    reason: Text


class DecisionBody(BaseModel):
    reason: OptionalText = None


class EventBody(BaseModel):
    occurred_on: date


class DateBody(BaseModel):
    due: date
    note: OptionalText = None


def _me(user: SignedIn) -> Me:
    return Me(name=user.user_name, role=user.role, unit=user.unit_id, csrf_token=user.csrf_token)


def _change(change: services.Change) -> Change:
    return Change(ref=change.ref, state=change.state, version=change.version, due=change.due)


# ── the session ──────────────────────────────────────────────────────────────────────────────────


@router.post("/session", response_model=Me, summary="Sign in: sets the session cookie, returns the CSRF token")
def api_sign_in(body: SignInBody, request: Request) -> Response:
    from workflows.web.security import check_origin

    check_origin(request)
    ctx = web(request)
    try:
        session = sign_in(ctx.sessions, name=body.name, password=body.password, address=client_address(request),
                          now=ctx.now(), replaces=request.cookies.get(SESSION_COOKIE))
    except SignInThrottled:
        return JSONResponse({"error": {"code": "throttled", "message": "登录失败次数过多,请一分钟后再试",
                                       "detail": ""}}, status_code=429, headers={"retry-after": "60"})
    except SignInFailed:
        return JSONResponse({"error": {"code": "unauthenticated", "message": "用户名或密码不正确", "detail": ""}},
                            status_code=401)
    response = JSONResponse(_me(session).model_dump())
    set_session_cookie(response, request, session)
    return response


@router.get("/session", response_model=Me, summary="Who is signed in, and the CSRF token for changes")
def api_me(user: SignedIn = Depends(signed_in)) -> Me:
    return _me(user)


@router.delete("/session", status_code=204, summary="Sign out: the session ends on the server")
def api_sign_out(request: Request, user: SignedIn = Depends(csrf)) -> Response:
    end_session(web(request).sessions, session_id=user.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ── reading ──────────────────────────────────────────────────────────────────────────────────────

Page = Annotated[int, Query(ge=1, le=1_000_000)]
Size = Annotated[int, Query(ge=1, le=board.MAX_PAGE_SIZE)]


PlanId = Annotated[str | None, Query(max_length=64, description="one plan's items (see GET /api/plans)")]


def _filters(unit: str | None, kind: str | None, state: str | None, due_within_days: int | None,
             plan: str | None = None) -> board.Filters:
    return board.Filters(unit=unit, kind=kind, state=state, due_within_days=due_within_days, plan=plan).check()


@router.get("/plans", summary="Every plan (the standing ones of items assigned by hand included), with counts and "
                               "lights")
def api_plans(request: Request, user: SignedIn = Depends(signed_in)) -> list[dict[str, Any]]:
    require_overview(user)
    ctx = web(request)
    return [r.as_json() for r in plan_list(ctx.sessions, today=ctx.today())]


@router.get("/dashboard", summary="Units × traffic lights, with counts (office and leaders): one page of units, "
                                   "most red first, and the totals over every unit")
def api_dashboard(request: Request, user: SignedIn = Depends(signed_in), unit: str | None = None,
                  kind: DeadlineKind | None = None, state: State | None = None,
                  due_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None, plan: PlanId = None,
                  page: Page = 1, size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    ctx = web(request)
    result = board.board(ctx.sessions, today=ctx.today(), viewer=user.user_name,
                         filters=_filters(unit, kind, state, due_within_days, plan), page=page, size=size)
    matrix = result.matrix.as_json(lambda r: {"unit": r.unit, "unit_name": r.unit_name, **r.counts, "total": r.total})
    return {"today": result.today.isoformat(), "totals": result.totals, "units": matrix.pop("items"), **matrix}


@router.get("/overdue", summary="Overdue deliverables, most days overdue first")
def api_overdue(request: Request, user: SignedIn = Depends(signed_in), unit: str | None = None,
                kind: DeadlineKind | None = None, plan: PlanId = None, page: Page = 1,
                size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    ctx = web(request)
    return board.overdue(ctx.sessions, today=ctx.today(), viewer=user.user_name,
                         filters=_filters(unit, kind, None, None, plan),
                         page=page, size=size).as_json(board.Row.as_json)


@router.get("/reviews", summary="Submissions waiting for the office's review")
def api_reviews(request: Request, user: SignedIn = Depends(signed_in), plan: PlanId = None, page: Page = 1,
                size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    ctx = web(request)
    return board.review_queue(ctx.sessions, today=ctx.today(), viewer=user.user_name,
                              filters=_filters(None, None, None, None, plan), page=page,
                              size=size).as_json(board.Row.as_json)


@router.get("/extension-requests", summary="Extension requests waiting for a decision")
def api_extension_requests(request: Request, user: SignedIn = Depends(signed_in), page: Page = 1,
                           size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    ctx = web(request)
    return board.extension_requests(ctx.sessions, today=ctx.today(), viewer=user.user_name, page=page,
                                    size=size).as_json(board.Row.as_json)


@router.get("/notices/failed", summary="Notices that could not be delivered")
def api_failed_notices(request: Request, user: SignedIn = Depends(signed_in), page: Page = 1,
                       size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    return board.failed_notices(web(request).sessions, viewer=user.user_name, page=page, size=size).as_json()


class RetryBody(BaseModel):
    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]], Field(default=[], max_length=services.MAX_RETRY_IDS)]
    failed: bool = False  # every failed notice


@router.post("/notices/retry", summary="Send failed notices again (the office)")
def api_retry_notices(body: RetryBody, request: Request, user: SignedIn = Depends(csrf)) -> dict[str, Any]:
    ctx = web(request)
    keys = services.retry_notices(ctx.sessions, actor=user.user_name, now=ctx.now(), ids=body.ids,
                                  every_failed=body.failed)
    return {"retried": keys}


@router.get("/events", summary="Outside events not yet recorded")
def api_events(request: Request, user: SignedIn = Depends(signed_in)) -> list[dict[str, Any]]:
    return board.unrecorded_events(web(request).sessions, viewer=user.user_name)


@router.get("/units/{unit_id}/deliverables",
            summary="A unit's deliverables by due date (one page, in every state), and its workspace's sections")
def api_workspace(unit_id: str, request: Request, user: SignedIn = Depends(signed_in), state: State | None = None,
                  page: Page = 1, size: Size = board.PAGE_SIZE) -> dict[str, Any]:
    """``items``, ``total``, ``page``, ``size``, ``pages``: one page of the full list (``state`` narrows it).
    ``sections``: the workspace as the page shows it, whatever the page and the state: what the unit leads and
    what it cooperates on, each as ``now`` (overdue, returned, due within ten working days), ``reviewing``,
    ``later`` by month for twelve months, ``undated`` and ``beyond`` (a count); ``counts`` of the unit's own."""
    ctx = web(request)
    try:
        found = workspace.unit_workspace(ctx.sessions, today=ctx.today(), viewer=user.user_name, unit=unit_id,
                                         listing=workspace.ListRequest(state, page, size))
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    return {**found.listing.as_json(board.Row.as_json), "sections": found.sections_json()}


@router.get("/deliverables/{ref}", summary="One deliverable: task, dates, evidence, extensions, timeline, notices")
def api_deliverable(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> dict[str, Any]:
    view = visible(request, user, ref)
    d, o = view.deliverable, view.obligation
    return {
        "ref": d.ref, "obligation": o.id, "unit": d.unit_id, "unit_name": view.unit_name, "task": o.task,
        "deadline_text": o.deadline_text, "kind": o.kind, "sources": o.sources, "co_units": o.co_unit_ids,
        "period": d.period, "due": _iso(d.due), "original_due": _iso(d.original_due), "state": d.state,
        "version": d.version,
        "evidence": [{"id": e.id, "kind": e.kind, "filename": e.filename, "content_type": e.content_type,
                      "size": e.size, "url": e.url, "added_by": e.added_by, "added_at": e.added_at.isoformat()}
                     for e in view.evidence],
        "extensions": [{"requested_due": x.requested_due.isoformat(), "reason": x.reason, "status": x.status,
                        "requested_by": x.requested_by, "decided_by": x.decided_by,
                        "decision_reason": x.decision_reason} for x in view.extensions],
        "timeline": [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "note": a.note,
                      "before": a.before, "after": a.after} for a in view.history],
        "notices": board.notices_about(web(request).sessions, deliverable_id=d.id),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@router.get("/deliverables/{ref}/evidence/{evidence_id}", summary="Download an evidence file (as an attachment)",
            response_class=Response)
def api_evidence(ref: str, evidence_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    return evidence_response(request, visible(request, user, ref), evidence_id)


@router.get("/obligations/{obligation_id}", summary="An obligation and its deliverables")
def api_obligation(obligation_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> dict[str, Any]:
    ctx = web(request)
    try:
        record, rows, event = board.obligation(ctx.sessions, obligation_id=obligation_id, viewer=user.user_name,
                                               today=ctx.today())
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    return {"obligation": record.id, "unit": record.lead_unit_id, "task": record.task, "kind": record.kind,
            "deadline_text": record.deadline_text, "co_units": record.co_unit_ids,
            "event": {"id": event.id, "name": event.name, "occurred_on": _iso(event.occurred_on)} if event else None,
            "deliverables": [r.as_json() for r in rows]}


# Before /reports/{year}, which would otherwise take "bulletin" for a year.
@router.get("/reports/bulletin", summary="The bulletin (督查通报) of the days from … to (both included), units ranked "
            "worst first: JSON, or a file (format=html|xlsx); as of the period's close, or of today while it runs",
            response_class=Response)
def api_bulletin(request: Request, start: Annotated[date, Query(alias="from")], end: Annotated[date, Query(alias="to")],
                 user: SignedIn = Depends(signed_in),
                 format: Literal["json", "html", "xlsx"] = "json") -> Response:  # noqa: A002 - the parameter's name
    require_overview(user)
    ctx = web(request)
    found = bulletin(ctx.sessions, start=start, end=end, today=ctx.today())
    if format == "json":
        return JSONResponse(bulletin_to_json(found))
    return Response(render_bulletin(found, format), media_type=MEDIA_TYPES[format],
                    headers={"content-disposition": f'attachment; filename="{bulletin_file_name(found, format)}"'})


@router.get("/reports/{year}", summary="The year-end summary of a plan (the office's first without plan=): JSON, "
            "or a file (format=html|xlsx)", response_class=Response)
def api_report(year: int, request: Request, user: SignedIn = Depends(signed_in),
               format: Literal["json", "html", "xlsx"] = "json",  # noqa: A002 - the parameter's name
               plan: PlanId = None) -> Response:
    require_overview(user)
    ctx = web(request)
    if year not in plan_years(ctx.sessions, plan):
        raise NotFound(f"{year} 年不在工作方案期限内")
    summary = year_end_summary(ctx.sessions, year=year, today=ctx.today(), plan_id=plan)
    if format == "json":
        return JSONResponse(year_summary_to_json(summary))
    if format not in MEDIA_TYPES:
        raise InvalidInput('format 只能是 json、html 或 xlsx')
    return Response(render_year_report(summary, format), media_type=MEDIA_TYPES[format],
                    headers={"content-disposition": f'attachment; filename="{summary_file_name(summary, format)}"'})


# ── acting ───────────────────────────────────────────────────────────────────────────────────────


@router.post("/deliverables/{ref}/submit", response_model=Change, summary="Report a deliverable done (办结)")
def api_submit(ref: str, request: Request, user: SignedIn = Depends(csrf),
               note: Annotated[str | None, Form(max_length=MAX_TEXT)] = None,
               links: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's idiom for a repeated field
               evidence: Annotated[list[UploadFile], File()] = [],  # noqa: B006
               expected_version: Annotated[int | None, Form()] = None) -> Change:
    # A plain def: FastAPI runs it in a worker thread (evidence files are read and hashed there).
    visible(request, user, ref)
    ctx = web(request)
    if len(links) > MAX_LINKS or len(evidence) > MAX_FILES:
        raise InvalidInput(f"链接最多 {MAX_LINKS} 个,附件最多 {MAX_FILES} 个")
    with tempfile.TemporaryDirectory(prefix="duban-upload-") as folder:
        try:
            paths = [save_upload(f, Path(folder)) for f in evidence]
        except EvidenceRejected as rejected:
            raise InvalidInput(str(rejected)) from None
        return _change(services.submit(ctx.sessions, actor=user.user_name, ref=ref, now=ctx.now(), note=note,
                                       files=paths, links=links, evidence_store=ctx.evidence,
                                       expected_version=expected_version))


@router.post("/deliverables/{ref}/notes", response_model=Change, summary="Add a progress note (lead or co-unit)")
def api_note(ref: str, body: NoteBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.add_note(ctx.sessions, actor=user.user_name, ref=ref, note=body.note, now=ctx.now()))


@router.post("/deliverables/{ref}/extension", response_model=Change, summary="Ask for a later due date")
def api_request_extension(ref: str, body: ExtensionBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.request_extension(ctx.sessions, actor=user.user_name, ref=ref, new_due=body.new_due,
                                              reason=body.reason, now=ctx.now()))


@router.post("/deliverables/{ref}/extension/grant", response_model=Change, summary="Grant the pending extension")
def api_grant(ref: str, body: DecisionBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.decide_extension(ctx.sessions, actor=user.user_name, ref=ref, grant=True,
                                             reason=body.reason, now=ctx.now()))


@router.post("/deliverables/{ref}/extension/refuse", response_model=Change, summary="Refuse the pending extension")
def api_refuse(ref: str, body: ReasonBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.decide_extension(ctx.sessions, actor=user.user_name, ref=ref, grant=False,
                                             reason=body.reason, now=ctx.now()))


@router.post("/deliverables/{ref}/accept", response_model=Change, summary="Accept a submission (销号)")
def api_accept(ref: str, body: ReviewBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.accept(ctx.sessions, actor=user.user_name, ref=ref, now=ctx.now(), note=body.note,
                                   expected_version=body.expected_version))


@router.post("/deliverables/{ref}/return", response_model=Change, summary="Return a submission (退回) with a reason")
def api_return(ref: str, body: ReasonBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.return_for_rework(ctx.sessions, actor=user.user_name, ref=ref, reason=body.reason,
                                              now=ctx.now(), expected_version=body.expected_version))


@router.post("/deliverables/{ref}/waive", response_model=Change, summary="Waive a deliverable, with a reason")
def api_waive(ref: str, body: ReasonBody, request: Request, user: SignedIn = Depends(csrf)) -> Change:
    visible(request, user, ref)
    ctx = web(request)
    return _change(services.waive(ctx.sessions, actor=user.user_name, ref=ref, reason=body.reason, now=ctx.now(),
                                  expected_version=body.expected_version))


@router.post("/events/{event_id}", summary="Record the date an outside event happened")
def api_record_event(event_id: str, body: EventBody, request: Request,
                     user: SignedIn = Depends(csrf)) -> dict[str, Any]:
    ctx = web(request)
    refs = services.record_event(ctx.sessions, actor=user.user_name, event_id=event_id, occurred_on=body.occurred_on,
                                 now=ctx.now())
    return {"event": event_id, "occurred_on": body.occurred_on.isoformat(), "dated": refs}


@router.post("/obligations/{obligation_id}/dates", summary="Set a date an outside body gave (external, staged)")
def api_set_date(obligation_id: str, body: DateBody, request: Request,
                 user: SignedIn = Depends(csrf)) -> dict[str, Any]:
    ctx = web(request)
    try:
        board.obligation(ctx.sessions, obligation_id=obligation_id, viewer=user.user_name, today=ctx.today())
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    ref = services.set_external_date(ctx.sessions, actor=user.user_name, obligation_id=obligation_id, due=body.due,
                                     now=ctx.now(), note=body.note)
    return {"ref": ref, "due": body.due.isoformat()}
