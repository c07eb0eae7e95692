"""The office's pages: the dashboard (also the leaders' read-only view), outside events, reports (the year-end
summaries and the bulletins of any period)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from responsibilities.errors import DomainError, InvalidInput, NotAllowed, NotFound
from responsibilities.reading import board
from responsibilities.reading.operations import operations
from responsibilities.reading.plans import plan_choices
from responsibilities.reading.queries import plan_years
from responsibilities.reports.bulletin import Bulletin, bulletin
from responsibilities.reports.files import (
    MEDIA_TYPES,
    bulletin_file_name,
    render_bulletin,
    render_year_report,
    summary_file_name,
)
from responsibilities.reports.html import progress_chart
from responsibilities.reports.periods import parse_day, recent_periods
from responsibilities.reports.summary import YearSummary, year_end_summary
from responsibilities.storage.plans import read_plan
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.services import record_event, retry_notices
from workflows.web.access import require_overview
from workflows.web.context import signed_in, web
from workflows.web.forms import dashboard_filters, page_number, read_form
from workflows.web.security import check_csrf
from workflows.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_KEYS = {"board": "mp", "overdue": "op", "reviews": "rp", "extensions": "xp", "failed": "fp", "waiting": "wp"}


@router.get("/dashboard")
def dashboard(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    require_overview(user)
    ctx = web(request)
    filters, form = dashboard_filters(request)
    today = ctx.today()
    plans = plan_choices(ctx.sessions)
    if filters.plan is not None and filters.plan not in {p.id for p in plans}:
        form.fail("plan", "没有这个方案,已显示全部方案")
    filters = replace(filters, unit=_unit_typed(ctx, form), plan=filters.plan if "plan" not in form.errors else None)
    pages = {name: page_number(request, key) for name, key in PAGE_KEYS.items()}
    found = board.dashboard(ctx.sessions, today=today, viewer=user.user_name, filters=filters, pages=pages)
    # The regions' figures are a plan's (the first plan's, in the seed): not shown for a plan that has none.
    numbers = _progress(ctx) if filters.plan is None or read_plan(ctx.sessions, filters.plan).figures else None
    ops = operations(request.app.state.engine, ctx.sessions, now=datetime.now(timezone.utc))
    return render(request, "dashboard.html", status=422 if form.errors else 200, form=form, plans=plans,
                  units=board.unit_choices(ctx.sessions), query=dict(request.query_params), numbers=numbers,
                  progress_chart=progress_chart(numbers) if numbers else None, ops=ops, **vars(found))


@router.post("/notices/retry")
async def retry_notices_submit(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """The office sends one failed notice (``notice``), or all of them (``all``), again."""
    form, _ = await read_form(request, "retry")
    return await run_in_threadpool(_retry_notices, request, user, form)


def _retry_notices(request: Request, user: SignedIn, form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    every = form.values.get("all") == "1"
    notice = None if every else form.integer("notice", "通知编号")
    if not every and notice is None:
        raise InvalidInput(form.errors.get("notice") or "请选择要重新发送的通知")
    ctx = web(request)
    keys = retry_notices(ctx.sessions, actor=user.user_name, now=ctx.now(), ids=[notice] if notice else (),
                         every_failed=every)
    return RedirectResponse(f"/dashboard?retried={len(keys)}#failed-title", status_code=303)


def _unit_typed(ctx, form) -> str | None:
    """The unit the office typed (its name, short name or id), or None; a name that fits no unit, or several,
    is said next to the field and the dashboard shows every unit."""
    typed = form.values["unit"].strip()
    if not typed:
        return None
    found = board.units_named(ctx.sessions, typed)
    if len(found) == 1:
        return found[0][0]
    if not found:
        form.fail("unit", f"没有名称或代码为「{typed}」的单位")
    else:
        names = "、".join(name for _, name in found[:5])
        form.fail("unit", f"有多个单位符合「{typed}」:{names}{'等' if len(found) > 5 else ''},请输入完整名称")
    return None


def _progress(ctx):  # a PlanNumbers, or None when the plan has no monthly reports
    """Every region against this year's targets, as of today: a handful of aggregate statements
    (``progress.counted_sums``), independent of how many deliverables the plan has."""
    from responsibilities.figures.progress import plan_numbers
    from responsibilities.figures.view import figures_setup

    setup = figures_setup(ctx.sessions)
    if setup is None or not setup.regions:
        return None
    today = ctx.today()
    return plan_numbers(ctx.sessions, year=setup.year_of(today), today=today)


@router.get("/events")
def events_page(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    require_overview(user)
    ctx = web(request)
    return render(request, "events.html", events=board.unrecorded_events(ctx.sessions, viewer=user.user_name),
                  forms={})


@router.post("/events/{event_id}")
async def record_event_submit(event_id: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    form, _ = await read_form(request, "event")
    return await run_in_threadpool(_record_event, request, user, event_id, form)


def _record_event(request: Request, user: SignedIn, event_id: str, form) -> Response:
    check_csrf(request, user, form.values.get("csrf_token"))
    ctx = web(request)
    occurred_on = form.day("occurred_on", "事件发生日期")
    if form.ok:
        try:
            refs = record_event(ctx.sessions, actor=user.user_name, event_id=event_id, occurred_on=occurred_on,
                                now=ctx.now())
        except NotAllowed:
            raise
        except NotFound:
            raise
        except DomainError as error:
            form.refused(error, "occurred_on")
        else:
            return RedirectResponse(f"/events?recorded={event_id}&dated={len(refs)}", status_code=303)
    return render(request, "events.html", status=form.status,
                  events=board.unrecorded_events(ctx.sessions, viewer=user.user_name), forms={event_id: form})


@router.get("/reports")
def reports_page(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    require_overview(user)
    return _reports(request, summary=None)


def _reports(request: Request, *, summary=None, bulletin: Bulletin | None = None) -> Response:
    """The reports page: the year-end summaries by year, the bulletins of the last month, the last quarter and the
    year so far, and the report asked for, if any."""
    ctx = web(request)
    return render(request, "reports.html", plans=plan_choices(ctx.sessions), summary=summary, bulletin=bulletin,
                  periods=recent_periods(ctx.today()))


# The bulletin's routes come before /reports/{year}, which would otherwise take "bulletin" for a year.


@router.get("/reports/bulletin")
def bulletin_page(request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """The bulletin of ?from=YYYY-MM-DD&to=YYYY-MM-DD on the reports page, with its two downloads."""
    require_overview(user)
    return _reports(request, bulletin=_requested_bulletin(request))


@router.get("/reports/bulletin.{fmt}")
def bulletin_download(fmt: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """The bulletin of ?from=…&to=… as a file: the printable page (html) or the spreadsheet (xlsx)."""
    require_overview(user)
    if fmt not in ("html", "xlsx"):
        raise NotFound("没有这个报告文件")
    found = _requested_bulletin(request)
    return Response(render_bulletin(found, fmt), media_type=MEDIA_TYPES[fmt],
                    headers={"content-disposition": f'attachment; filename="{bulletin_file_name(found, fmt)}"'})


def _requested_bulletin(request: Request) -> Bulletin:
    """The bulletin of the query's period as of today; a missing or bad date is refused (422) in words."""
    ctx = web(request)
    query = request.query_params
    start = parse_day(query.get("from", ""), "统计期起始日")
    end = parse_day(query.get("to", ""), "统计期截止日")
    return bulletin(ctx.sessions, start=start, end=end, today=ctx.today())


@router.get("/reports/{year}")
def report_year_page(year: int, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    """The year-end summary of ``year`` of ?plan= (the office's first plan without it) on the reports page."""
    require_overview(user)
    return _reports(request, summary=_requested_summary(request, year))


@router.get("/reports/{year}/summary-{year2}.{fmt}")
def report_download(year: int, year2: int, fmt: str, request: Request, user: SignedIn = Depends(signed_in)) -> Response:
    require_overview(user)
    if year != year2 or fmt not in ("html", "xlsx"):
        raise NotFound("没有这个报告文件")
    summary = _requested_summary(request, year)
    return Response(render_year_report(summary, fmt), media_type=MEDIA_TYPES[fmt],
                    headers={"content-disposition": f'attachment; filename="{summary_file_name(summary, fmt)}"'})


def _requested_summary(request: Request, year: int) -> YearSummary:
    """The summary of ``year`` of the query's plan as of today; a plan or a year that is not there is a 404."""
    ctx = web(request)
    plan_id = request.query_params.get("plan") or None
    if year not in plan_years(ctx.sessions, plan_id):
        raise NotFound(f"{year} 年不在工作方案的年度之内")
    return year_end_summary(ctx.sessions, year=year, today=ctx.today(), plan_id=plan_id)
