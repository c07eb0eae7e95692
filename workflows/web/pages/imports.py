"""The office imports a plan from its document (导入方案): upload it, see the table as read with every flag, correct a
row's lead unit or deadline, settle each unknown unit name (an existing unit, or a new one), name the plan, publish.

The draft is kept in the database (tracking.import_drafts) until published or discarded. Reading a document is
heavy: every route that reads one runs in a worker thread, and an account's second upload waits for its first.
Every change carries the draft's version: a page that shows an older one is refused (409), nothing overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import DomainError, IllegalTransition, InvalidInput, NotAllowed, NotFound
from responsibilities.importing.corrections import Corrections
from responsibilities.importing.service import import_document
from responsibilities.importing.tables import MAX_DOCUMENT_BYTES, too_large
from responsibilities.plan.model import SHORT_NAME_LENGTH
from responsibilities.reading import board
from responsibilities.reading.directory import office_directory
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.import_drafts import (
    MAX_OPEN_DRAFTS,
    ImportDraft,
    PlanChoices,
    StaleDraft,
    discard_import,
    display_name,
    find_import,
    open_imports,
    publish_import,
    save_corrections,
    start_import,
)
from responsibilities.vocabulary import IMPORT_STATUS_NAMES
from workflows.web.context import signed_in, web
from workflows.web.figures_forms import one_upload_at_a_time
from workflows.web.forms import Form, read_form
from workflows.web.import_view import DraftView, draft_view, place_of, read_with
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)
BUSY = "上一个方案文件还在读取中:请等它读完(最多十几秒)再继续"
MAX_TITLE = 200
MAX_DEADLINE = 100  # importing.corrections keeps a deadline's first 100 characters
MAX_UNIT_NAME = 100


def _office_only(user: SignedIn) -> None:
    if user.role != "office":
        raise NotAllowed("只有领导小组办公室可以导入工作方案")


# ── the list and the upload ──────────────────────────────────────────────────────────────────────


@router.get("/imports")
def imports_page(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    _office_only(user)
    return _list_page(request, user, Form("upload", {"year": ""}))


def _list_page(request: Request, user: SignedIn, form: Form) -> Response:
    ctx = web(request)
    return render(request, "imports.html", status=form.status, form=form, max_mb=MAX_DOCUMENT_BYTES >> 20,
                  max_drafts=MAX_OPEN_DRAFTS, drafts=open_imports(ctx.sessions, viewer=user.user_name))


@router.post("/imports")
async def upload(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, raw = await read_form(request, "upload", files=1)
    return await run_in_threadpool(_upload, request, user, form, raw)


def _upload(request: Request, user: SignedIn, form: Form, raw) -> Response:  # raw: Starlette's FormData
    check_csrf(request, user, form.values.get("csrf_token"))
    _office_only(user)
    ctx = web(request)
    year = form.integer("year", "年份")
    if year is not None and not 1990 <= year <= 2100:
        form.fail("year", "年份应在 1990 至 2100 之间")
    document = raw.get("file")
    if document is None or isinstance(document, str) or not document.filename:
        form.fail("file", "请选择含分工表的文件(Word、Excel、PDF、网页或文本)")
    if not form.ok:
        return _list_page(request, user, form)
    name = display_name(document.filename)
    document.file.seek(0)
    data = document.file.read(MAX_DOCUMENT_BYTES + 1)
    refused = too_large(name, document.size if document.size is not None else len(data))
    if refused:
        form.fail("file", str(refused), status=413)
        return _list_page(request, user, form)
    with one_upload_at_a_time(user, BUSY):
        try:
            import_document(data, name, office_directory(ctx.sessions), year=year)  # an unreadable one is not kept
            draft = start_import(ctx.sessions, actor=user.user_name, now=ctx.now(), file_name=name, data=data,
                                 year=year)
        except NotAllowed:
            raise
        except InvalidInput as refused_input:  # DocumentUnreadable too
            message = str(refused_input)
            if "--year" in message:  # the importer speaks to the command line; here the year is a field
                form.fail("year", message.split(":")[0] + ":请在“年份”中填写,例如 2020")
            else:
                form.fail("file", message)
            return _list_page(request, user, form)
    return RedirectResponse(f"/imports/{draft.id}", status_code=303)


# ── one draft ────────────────────────────────────────────────────────────────────────────────────


@router.get("/imports/{import_id:int}")
def import_page(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    _office_only(user)
    return _draft_page(request, user, import_id)


def _draft_page(request: Request, user: SignedIn, import_id: int, *, form: Form | None = None,
                problems: list[str] | None = None, view: DraftView | None = None) -> Response:
    ctx = web(request)
    if view is None:
        view = draft_view(ctx, find_import(ctx.sessions, import_id, viewer=user.user_name))
    status = form.status if form is not None else 422 if problems else 200
    units = board.unit_choices(ctx.sessions)
    view.short_names = dict(units)
    return render(request, "import.html", status=status, view=view, d=view.draft, form=form or Form("none"),
                  problems=problems or [], units=units, max_short=SHORT_NAME_LENGTH)


Change = Callable[[DraftView, Form, Corrections, PlanChoices], tuple[Corrections, PlanChoices] | None]


def _current(request: Request, user: SignedIn, import_id: int, form: Form) -> DraftView:
    """The draft as the page the form came from showed it: refused (409) when it has changed since."""
    check_csrf(request, user, form.values.get("csrf_token"))
    _office_only(user)
    ctx = web(request)
    draft = find_import(ctx.sessions, import_id, viewer=user.user_name)
    version = form.integer("version", "版本")
    if draft.status != "draft":
        raise IllegalTransition(f"方案草稿《{draft.file_name}》{IMPORT_STATUS_NAMES[draft.status]},不能再更改")
    if version is not None and version != draft.version:
        raise StaleDraft(f"方案草稿《{draft.file_name}》在此页面打开后已有改动(现为第 {draft.version} 版,页面显示的是"
                         f"第 {version} 版),未作任何更改:请刷新页面,核对后再改")
    return draft_view(web(request), draft)


def _correct(request: Request, user: SignedIn, import_id: int, form: Form, change: Change, anchor: str) -> Response:
    """Apply ``change`` to the draft's corrections, have the importer read the document with them (a refused one
    comes back next to its field, nothing kept), and save them."""
    ctx = web(request)
    view = _current(request, user, import_id, form)
    draft = view.draft
    corrections = replace(draft.corrections, units=dict(draft.corrections.units),
                          new_units=dict(draft.corrections.new_units), leads=dict(draft.corrections.leads),
                          deadlines=dict(draft.corrections.deadlines))
    changed = change(view, form, corrections, draft.plan) if form.ok else None
    if changed is not None:
        try:
            read_with(ctx, draft, *changed, view.directory)
            save_corrections(ctx.sessions, import_id, actor=user.user_name, now=ctx.now(), corrections=changed[0],
                             plan=changed[1], expected_version=draft.version)
        except (NotAllowed, NotFound, StaleDraft, IllegalTransition):
            raise
        except DomainError as refused:  # CorrectionRefused, DocumentUnreadable (a plan id that cannot be one)
            form.fail("form", str(refused))
        else:
            return RedirectResponse(f"/imports/{import_id}#{anchor}", status_code=303)
    return _draft_page(request, user, import_id, form=form, view=view)


@router.post("/imports/{import_id:int}/plan")
async def save_plan(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "plan")
    return await run_in_threadpool(_correct, request, user, import_id, form, _plan_change, "plan-form")


def _plan_change(view: DraftView, form: Form, corrections: Corrections, plan: PlanChoices):
    plan_id = form.text("plan_id", "方案编号", limit=64, multiline=False) or ""
    title = form.text("title", "方案标题", limit=MAX_TITLE, multiline=False) or ""
    short = form.text("short_name", "方案简称", limit=SHORT_NAME_LENGTH, multiline=False) or ""
    return (corrections, PlanChoices(plan_id, title, short)) if form.ok else None


@router.post("/imports/{import_id:int}/rows/{index:int}")
async def correct_row(import_id: int, index: int, request: Request,
                      user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, f"row-{index}")

    def change(view: DraftView, form: Form, corrections: Corrections, plan: PlanChoices):
        if not 0 <= index < len(view.rows):
            raise NotFound(f"草稿中没有第 {index + 1} 项任务")
        row = view.rows[index]
        lead = form.values.get("lead", "").strip()
        if lead and (view.directory.entry(lead) is None or view.directory.entry(lead).group):
            form.fail("form", f"单位目录中没有编号为“{lead[:64]}”的单位:请从列表中选择")
        deadline = form.text("deadline", "完成时限", limit=MAX_DEADLINE, multiline=False) or ""
        if not form.ok:
            return None
        if lead:
            corrections.leads[index] = lead
        else:
            corrections.leads.pop(index, None)
        if deadline != row.o.deadline_text:
            corrections.deadlines[index] = deadline
        return corrections, plan

    return await run_in_threadpool(_correct, request, user, import_id, form, change, f"row-{index}")


@router.post("/imports/{import_id:int}/units")
async def settle_unit(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "unit")
    return await run_in_threadpool(_correct, request, user, import_id, form, _unit_change, "units")


def _unit_change(view: DraftView, form: Form, corrections: Corrections, plan: PlanChoices):
    """Map a name of the document to an existing unit (``map``), define it as a new unit (``create``), or undo
    either (``clear``)."""
    name = form.values.get("name", "")
    found = next((n for n in view.names if n.resolution.name == name), None)
    if found is None:
        raise NotFound("草稿中没有这个待核对的单位名称")
    form.name = f"unit-{found.number}"
    action = form.values.get("action")
    corrections.units.pop(name, None)
    corrections.new_units.pop(name, None)
    if action == "map":
        unit = form.values.get("unit", "").strip()
        entry = view.directory.entry(unit) if unit else None
        if entry is None or entry.group:
            form.fail("unit", f"请从单位目录中选择“{name}”对应的单位")
            return None
        corrections.units[name] = unit
    elif action == "create":
        unit_id = form.text("new_id", "新单位编号", limit=64, multiline=False)
        full_name = form.text("new_name", "新单位全称", limit=MAX_UNIT_NAME, multiline=False, required=True)
        if not unit_id:
            form.fail("new_id", "请填写新单位的编号(小写英文字母、数字和连字符,如 big-data)")
        if not form.ok:
            return None
        corrections.new_units[name] = (unit_id, full_name)
    elif action != "clear":
        form.fail("form", "未知的操作")
        return None
    return corrections, plan


@router.post("/imports/{import_id:int}/reset")
async def reset_corrections(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """Every correction undone (the plan's header kept): the way out when saved ones no longer apply."""
    form, _ = await read_form(request, "reset")
    return await run_in_threadpool(_correct, request, user, import_id, form,
                                   lambda view, form, corrections, plan: (Corrections(), plan), "obligations")


# ── publish, discard ─────────────────────────────────────────────────────────────────────────────


@router.post("/imports/{import_id:int}/publish")
async def publish(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "publish")
    return await run_in_threadpool(_publish, request, user, import_id, form)


def _publish(request: Request, user: SignedIn, import_id: int, form: Form) -> Response:
    ctx = web(request)
    with one_upload_at_a_time(user, BUSY):
        view = _current(request, user, import_id, form)
        problems = [f"{place_of(f.table, f.row)}:{f.message}" for f in view.flags]
        if view.problem or view.unreadable:
            problems.insert(0, view.problem or view.unreadable)
        if not problems:
            try:
                plan_id = publish_import(ctx.sessions, import_id, view.draft_text, actor=user.user_name, now=ctx.now(),
                                         expected_version=view.draft.version)
            except (NotAllowed, NotFound, StaleDraft, IllegalTransition):
                raise
            except InvalidInput as refused:  # the plan file does not load, or its id is already a plan's
                lines = str(refused).splitlines()
                problems = lines[1:] if len(lines) > 1 else lines
            else:
                return RedirectResponse(f"/dashboard?plan={plan_id}", status_code=303)
    return _draft_page(request, user, import_id, problems=problems, view=view)


@router.post("/imports/{import_id:int}/discard")
async def discard(import_id: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "discard")
    return await run_in_threadpool(_discard, request, user, import_id, form)


def _discard(request: Request, user: SignedIn, import_id: int, form: Form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    _office_only(user)
    ctx = web(request)
    draft: ImportDraft = discard_import(ctx.sessions, import_id, actor=user.user_name, now=ctx.now(),
                                        expected_version=form.integer("version", "版本"))
    return RedirectResponse(f"/imports?discarded={draft.id}", status_code=303)
