"""A deliverable's page (where the links in notices lead), its actions, its evidence; an obligation's page."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import DomainError, InvalidInput, NotAllowed, NotFound
from responsibilities.plan.deliverables import qualified_ref
from responsibilities.reading import board
from responsibilities.reading.queries import unit_short_names
from responsibilities.tracking import services
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.evidence import EvidenceRejected
from workflows.web.access import hide_other_units, load_view
from workflows.web.context import signed_in, web
from workflows.web.evidence import MAX_FILES, evidence_response, save_upload
from workflows.web.forms import MAX_LINKS, Form, read_form
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)


def deliverable_page(request: Request, user: SignedIn, ref: str, status: int = 200,
                     forms: dict[str, Form] | None = None) -> Response:
    ctx = web(request)
    view = load_view(request, user, ref)
    d = view.deliverable
    obligation = qualified_ref(d.plan_id, d.ref.partition("@")[0])
    rows = board.obligation(ctx.sessions, obligation_id=obligation, viewer=user.user_name, today=ctx.today())[1]
    row = next((r for r in rows if r.ref == d.ref), None)
    co_units = unit_short_names(ctx.sessions, view.obligation.co_unit_ids)
    may = _permissions(user, d, view.obligation.co_unit_ids)
    report, setup = _monthly_report(ctx, d)
    if report is not None:  # a monthly report is handed in with its figures, on the region's form
        may["submit"] = False
    return render(request, "deliverable.html", status=status, view=view, d=d, o=view.obligation, row=row,
                  co_units=co_units, may=may, forms=forms or {}, report=report, figures_setup=setup,
                  pending=next((x for x in view.extensions if x.status == "pending"), None),
                  notices=board.notices_about(ctx.sessions, deliverable_id=d.id), zone=ctx.zone)


def _monthly_report(ctx, d):  # (ReportMonth, FiguresSetup), or (None, None)
    """The figures that stand for a monthly-report deliverable, so that the office reviews the numbers."""
    from responsibilities.figures.view import figures_setup, report_month

    if d.period_start is None:
        return None, None
    setup = figures_setup(ctx.sessions)
    report = report_month(ctx.sessions, setup=setup, deliverable=d) if setup else None
    return (report, setup) if report else (None, None)


def _permissions(user: SignedIn, d, co_unit_ids: list[str]) -> dict[str, bool]:
    """Which forms to show; the services decide again when one is sent (a hidden form is not a rule)."""
    office, lead = user.role == "office", user.role == "unit" and user.unit_id == d.unit_id
    co = user.role == "unit" and user.unit_id in co_unit_ids
    return {"submit": (office or lead) and d.state in ("open", "returned"),
            "note": office or lead or co,
            "extend": (office or lead) and d.state in ("open", "returned"),
            "review": office and d.state == "submitted",
            "waive": office and d.state in ("open", "returned", "submitted"),
            "decide": office}


@router.get("/deliverables/{ref}")
def show_deliverable(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    return deliverable_page(request, user, ref)


async def _action(request: Request, user: SignedIn, ref: str, name: str, work: Callable[[Form, Any], Response],
                  files: int = 0) -> Response:
    """Read an action's form; then, in a worker thread (transactions, hashing and evidence files never hold the
    event loop), check CSRF and that the deliverable is visible (404 otherwise), and do ``work(form, raw)``."""
    form, raw = await read_form(request, name, files=files)

    def checked_work() -> Response:
        check_csrf(request, user, form.values.get("csrf_token"))
        load_view(request, user, ref)
        return work(form, raw)

    return await run_in_threadpool(checked_work)


def _version(form: Form) -> int | None:
    return form.integer("version", "版本")


def _done(ref: str, what: str) -> Response:
    return RedirectResponse(f"/deliverables/{quote(ref, safe='@')}?done={what}", status_code=303)


def _run(request: Request, user: SignedIn, ref: str, form: Form, field: str, call) -> Response:
    """Call the service if the form is valid; a refusal comes back on the page next to its field."""
    if form.ok:
        try:
            call()
        except (NotAllowed, NotFound):
            raise
        except DomainError as error:
            form.refused(error, field)
        else:
            return _done(ref, form.name)
    return deliverable_page(request, user, ref, status=form.status, forms={form.name: form})


@router.post("/deliverables/{ref}/submit")
async def submit(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, raw) -> Response:
        ctx = web(request)
        note = form.text("note", "办结说明")
        version = _version(form)
        links = [line.strip() for line in form.values.get("links", "").splitlines() if line.strip()]
        if len(links) > MAX_LINKS:
            form.fail("links", f"链接最多 {MAX_LINKS} 个")
        uploads = [f for f in raw.getlist("evidence") if not isinstance(f, str) and f.filename]
        if len(uploads) > MAX_FILES:
            form.fail("evidence", f"附件最多 {MAX_FILES} 个")
        if not note and not links and not uploads:
            form.fail("note", "请填写办结说明,或提供佐证材料")
        with tempfile.TemporaryDirectory(prefix="duban-upload-") as folder:
            paths = []
            if form.ok:
                try:
                    paths = [save_upload(upload, Path(folder)) for upload in uploads]
                except EvidenceRejected as rejected:
                    form.fail("evidence", str(rejected))
            return _run(request, user, ref, form, "evidence", lambda: services.submit(
                ctx.sessions, actor=user.user_name, ref=ref, now=ctx.now(), note=note, files=paths, links=links,
                evidence_store=ctx.evidence, expected_version=version))

    return await _action(request, user, ref, "submit", work, files=MAX_FILES + 1)


@router.post("/deliverables/{ref}/notes")
async def add_note(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        note = form.text("note", "进展情况", required=True)
        return _run(request, user, ref, form, "note", lambda: services.add_note(
            ctx.sessions, actor=user.user_name, ref=ref, note=note, now=ctx.now()))

    return await _action(request, user, ref, "note", work)


@router.post("/deliverables/{ref}/extension")
async def request_extension(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        new_due = form.day("new_due", "申请延期至")
        reason = form.text("reason", "延期理由", required=True)
        return _run(request, user, ref, form, "new_due", lambda: services.request_extension(
            ctx.sessions, actor=user.user_name, ref=ref, new_due=new_due, reason=reason, now=ctx.now()))

    return await _action(request, user, ref, "extend", work)


@router.post("/deliverables/{ref}/accept")
async def accept(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        note, version = form.text("note", "审核意见"), _version(form)
        return _run(request, user, ref, form, "note", lambda: services.accept(
            ctx.sessions, actor=user.user_name, ref=ref, now=ctx.now(), note=note, expected_version=version))

    return await _action(request, user, ref, "review", work)


@router.post("/deliverables/{ref}/return")
async def return_for_rework(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        reason, version = form.text("reason", "退回理由", required=True), _version(form)
        return _run(request, user, ref, form, "reason", lambda: services.return_for_rework(
            ctx.sessions, actor=user.user_name, ref=ref, reason=reason, now=ctx.now(), expected_version=version))

    return await _action(request, user, ref, "review", work)


@router.post("/deliverables/{ref}/waive")
async def waive(ref: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        reason, version = form.text("reason", "免报理由", required=True), _version(form)
        return _run(request, user, ref, form, "reason", lambda: services.waive(
            ctx.sessions, actor=user.user_name, ref=ref, reason=reason, now=ctx.now(), expected_version=version))

    return await _action(request, user, ref, "waive", work)


@router.post("/deliverables/{ref}/extension/{decision}")
async def decide_extension(ref: str, decision: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    if decision not in ("grant", "refuse"):
        raise NotFound("没有这个操作")

    def work(form: Form, _raw) -> Response:
        ctx = web(request)
        reason = form.text("reason", "驳回理由" if decision == "refuse" else "批准意见",
                           required=decision == "refuse")
        return _run(request, user, ref, form, "reason", lambda: services.decide_extension(
            ctx.sessions, actor=user.user_name, ref=ref, grant=decision == "grant", reason=reason, now=ctx.now()))

    return await _action(request, user, ref, "decide", work)


@router.get("/deliverables/{ref}/evidence/{evidence_id}")
def download_evidence(ref: str, evidence_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    return evidence_response(request, load_view(request, user, ref), evidence_id)


# ── obligations: the page undated notices link to, and where the office sets outside dates ─────────


def obligation_page(request: Request, user: SignedIn, obligation_id: str, status: int = 200,
                    form: Form | None = None) -> Response:
    ctx = web(request)
    try:
        record, rows, event = board.obligation(ctx.sessions, obligation_id=obligation_id, viewer=user.user_name,
                                               today=ctx.today())
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    return render(request, "obligation.html", status=status, o=record, rows=rows, event=event,
                  co_units=unit_short_names(ctx.sessions, record.co_unit_ids), form=form,
                  may_set_date=user.role == "office" and record.kind in ("external", "staged"))


@router.get("/obligations/{obligation_id}")
def show_obligation(obligation_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    return obligation_page(request, user, obligation_id)


@router.post("/obligations/{obligation_id}/dates")
async def set_date(obligation_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "date")
    return await run_in_threadpool(_set_date, request, user, obligation_id, form)


def _set_date(request: Request, user: SignedIn, obligation_id: str, form: Form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    ctx = web(request)
    try:
        board.obligation(ctx.sessions, obligation_id=obligation_id, viewer=user.user_name, today=ctx.today())
    except NotAllowed as refused:
        raise hide_other_units(refused) from None
    due = form.day("due", "截止日期")
    note = form.text("note", "说明")
    if form.ok:
        try:
            ref = services.set_external_date(ctx.sessions, actor=user.user_name, obligation_id=obligation_id, due=due,
                                             now=ctx.now(), note=note)
        except (NotAllowed, NotFound):
            raise
        except DomainError as error:
            form.refused(error, "due")
        else:
            return _done(ref, "date")
    return obligation_page(request, user, obligation_id, status=form.status, form=form)


__all__ = ["router", "load_view", "evidence_response", "InvalidInput"]
