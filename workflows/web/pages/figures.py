"""The monthly figures (月报) on the pages: a region hands in a month's figures or uploads the XLSX form from its
workspace; the office (and the leaders, read-only) sees every region against its targets on /figures.

Handing in figures is handing in the region's monthly-report deliverable: the office accepts or returns it on
the deliverable's page, as any other. Who may is the service's rule (the region's own staff or the office);
the pages add that a unit asking for another region's figures gets 404.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import DomainError, NotAllowed, NotFound
from responsibilities.figures.rules import month_key, parse_month
from responsibilities.figures.service import FiguresInvalid, submit_figures
from responsibilities.figures.view import region_months
from responsibilities.figures.xlsx import form_for, import_form
from responsibilities.reports.html import progress_chart
from responsibilities.tracking.accounts import SignedIn
from workflows.web.access import require_overview
from workflows.web.context import signed_in, web
from workflows.web.figures_forms import (
    XLSX_TYPE,
    check_region,
    may_upload,
    numbers_of,
    one_upload_at_a_time,
    read_month,
    read_upload,
    setup_of,
)
from workflows.web.forms import Form, read_form
from workflows.web.pages.unit import workspace_response
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)


# ── a region's own: the month form, the upload, the blank form ───────────────────────────────────


@router.post("/units/{unit_id}/figures")
async def submit_month(unit_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "figures")
    return await run_in_threadpool(_submit_month, request, user, unit_id, form)


def _submit_month(request: Request, user: SignedIn, unit_id: str, form: Form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    ctx = web(request)
    setup = setup_of(request)
    check_region(user, unit_id, setup)
    months = region_months(ctx.sessions, setup=setup, region=unit_id)
    entry = read_month(form, setup, months, ctx.today())
    problems: list[str] = []
    if entry is not None:
        try:
            recorded = submit_figures(ctx.sessions, actor=user.user_name, region=unit_id, month=entry.month,
                                      values=entry.values, now=ctx.now(), note=entry.note, reason=entry.reason,
                                      source="web")
        except (NotAllowed, NotFound):
            raise
        except FiguresInvalid as invalid:
            form.fail("form", "月报数据有误,未记录任何数据")
            problems = list(invalid.problems)
        except DomainError as error:
            form.refused(error, "form")
        else:
            return RedirectResponse(f"/deliverables/{quote(recorded.ref, safe='@')}?done=figures", status_code=303)
    return workspace_response(request, user, unit_id, status=form.status, forms={"figures": form}, problems=problems)


@router.post("/units/{unit_id}/figures/upload")
async def upload_for_region(unit_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, raw = await read_form(request, "upload", files=1)
    return await run_in_threadpool(_upload_for_region, request, user, unit_id, form, raw)


def _upload_for_region(request: Request, user: SignedIn, unit_id: str, form: Form, raw) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    setup = setup_of(request)
    check_region(user, unit_id, setup)
    may_upload(user, setup, unit_id)
    done, problems = _import(request, user, form, raw)
    if done is not None:
        return RedirectResponse(f"/units/{quote(unit_id)}?{done}#figures", status_code=303)
    return workspace_response(request, user, unit_id, status=form.status, forms={"upload": form}, problems=problems)


@router.get("/units/{unit_id}/figures/template.xlsx")
def region_template(unit_id: str, request: Request, user: SignedIn = Depends(signed_in), month: str = "") -> Response:
    setup = setup_of(request)
    check_region(user, unit_id, setup)
    return _template(request, month, [unit_id], unit_id)


def _template(request: Request, month_text: str, regions: list[str] | None, suffix: str) -> Response:
    month = parse_month(month_text)
    if month is None:
        raise NotFound("请指定月份(month=YYYY-MM)")
    data = form_for(web(request).sessions, month=month, regions=regions)
    name = f"figures-{month_key(month)}-{suffix}.xlsx"
    return Response(data, media_type=XLSX_TYPE, headers={"content-disposition": f'attachment; filename="{name}"'})


def _import(request: Request, user: SignedIn, form: Form, raw) -> tuple[str | None, list[str]]:
    """Import an uploaded workbook: (the query string to show what was done, []) or (None, every problem).
    In a worker thread, as every route's work: reading a workbook must not hold the event loop."""
    ctx = web(request)
    reason = form.text("reason", "更正理由")
    data = read_upload(form, raw)
    if data is None or not form.ok:
        return None, []
    try:
        with one_upload_at_a_time(user):
            recorded, skipped = import_form(ctx.sessions, actor=user.user_name, data=data, now=ctx.now(),
                                            reason=reason)
    except (NotAllowed, NotFound):
        raise
    except FiguresInvalid as invalid:
        form.fail("file", f"上传的月报表有 {len(invalid.problems)} 处错误,未导入任何数据:")
        return None, list(invalid.problems)
    except DomainError as error:
        form.refused(error, "file")
        return None, []
    return f"imported={len(recorded)}&skipped={len(skipped)}", []


# ── every region: the office's and the leaders' view ─────────────────────────────────────────────


def figures_page(request: Request, user: SignedIn, year: int | None = None, status: int = 200,
                 form: Form | None = None, problems: list[str] | None = None) -> Response:
    require_overview(user)
    ctx = web(request)
    setup = setup_of(request)
    if year is not None and year not in setup.years:
        raise NotFound(f"{year} 年不在工作方案的年度之内")
    numbers = numbers_of(ctx, setup, year)
    return render(request, "figures.html", status=status, setup=setup, n=numbers,
                  year_chart=progress_chart(numbers), cumulative_chart=progress_chart(numbers, cumulative=True),
                  form=form, problems=problems or [], template_month=_month_to_fill(request, setup))


def _month_to_fill(request: Request, setup) -> str:
    """The month whose form the office most likely wants: last month, within the months reported on."""
    today = web(request).today()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    months = [m.month for m in region_months(web(request).sessions, setup=setup, region=next(iter(setup.regions)))] \
        if setup.regions else []
    if not months:
        return month_key(last_month)
    return month_key(min(max(last_month, months[0]), months[-1]))


@router.get("/figures")
def figures_overview(request: Request, user: SignedIn = Depends(signed_in), year: int | None = None) -> Response:
    return figures_page(request, user, year)


@router.get("/figures/template.xlsx")
def office_template(request: Request, user: SignedIn = Depends(signed_in), month: str = "") -> Response:
    require_overview(user)
    return _template(request, month, None, "all")


@router.post("/figures/upload")
async def office_upload(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, raw = await read_form(request, "upload", files=1)
    return await run_in_threadpool(_office_upload, request, user, form, raw)


def _office_upload(request: Request, user: SignedIn, form: Form, raw) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    require_overview(user)
    may_upload(user, setup_of(request))
    done, problems = _import(request, user, form, raw)
    if done is not None:
        return RedirectResponse(f"/figures?{done}", status_code=303)
    return figures_page(request, user, status=form.status, form=form, problems=problems)
