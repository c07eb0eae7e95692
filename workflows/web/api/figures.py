"""The monthly figures (月报) in the JSON API: progress against the targets, a month's figures, the XLSX upload.

The same checks and services as the pages (``figures_forms``, ``figures_service``, ``figures_xlsx``): figures
that break a rule come back as 422 with every problem, by field (``fields``) or by cell (``problems``), and
nothing is recorded. A unit sees and reports only its own region (another's: 404); leaders only read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from responsibilities.errors import NotFound
from responsibilities.figures.progress import numbers_to_json
from responsibilities.figures.rules import MAX_COUNT, MAX_COUNT_CHARS
from responsibilities.figures.service import FiguresInvalid, FiguresRecorded, submit_figures
from responsibilities.figures.view import region_months
from responsibilities.figures.xlsx import import_form
from responsibilities.limits import MAX_TEXT
from responsibilities.tracking.accounts import SignedIn
from workflows.web import forms
from workflows.web.access import require_overview
from workflows.web.api.common import ERRORS, csrf
from workflows.web.context import signed_in, web
from workflows.web.figures_forms import (
    check_region,
    may_upload,
    numbers_of,
    one_upload_at_a_time,
    read_month,
    read_upload,
    setup_of,
)

router = APIRouter(prefix="/api", tags=["figures"], responses=ERRORS)
# A JSON number, or the text a person typed ("1,200"): taken as it comes, so that the figures' own rules say what is
# wrong with 12.5, -1, true or "十二" (pydantic would quietly turn true into 1).
Count = bool | int | float | Annotated[str, Field(max_length=2 * MAX_COUNT_CHARS)] | None
FieldId = Annotated[str, Field(max_length=64)]


class FiguresBody(BaseModel):
    month: Annotated[str, Field(max_length=16, description="the month reported on, YYYY-MM")]
    values: dict[FieldId, Count] = Field(
        max_length=64, description=f"person-times by field id (see GET /api/progress: fields), each 0…{MAX_COUNT:,}")
    note: Annotated[str | None, Field(default=None, max_length=MAX_TEXT)] = None
    reason: Annotated[str | None, Field(default=None, max_length=MAX_TEXT,
                                        description="why an accepted report is corrected (required then)")] = None


def _invalid(message: str, *, fields: dict[str, str] | None = None, problems: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"code": "invalid", "message": message, "detail": ""}
    if fields is not None:
        body["fields"] = [{"field": k, "message": v} for k, v in fields.items()]
    if problems is not None:
        body["problems"] = problems
    return JSONResponse({"error": body}, status_code=422)


def _recorded(r: FiguresRecorded) -> dict[str, Any]:
    return {"ref": r.ref, "region": r.region, "month": r.month, "version": r.version, "kind": r.kind,
            "state": r.state, "values": dict(r.values)}


@router.get("/progress", summary="Every region against its targets as of today (office and leaders)")
def api_progress(request: Request, user: SignedIn = Depends(signed_in), year: int | None = None) -> dict[str, Any]:
    require_overview(user)
    setup = setup_of(request)
    if year is not None and year not in setup.years:
        raise NotFound(f"{year} 年不在工作方案的年度之内")
    return numbers_to_json(numbers_of(web(request), setup, year))


@router.get("/units/{unit_id}/progress", summary="One region against its targets, and its months (the region's own)")
def api_region_progress(unit_id: str, request: Request, user: SignedIn = Depends(signed_in),
                        year: int | None = None) -> dict[str, Any]:
    ctx = web(request)
    setup = setup_of(request)
    check_region(user, unit_id, setup)
    if year is not None and year not in setup.years:
        raise NotFound(f"{year} 年不在工作方案的年度之内")
    numbers = numbers_to_json(numbers_of(ctx, setup, year))
    region = next(r for r in numbers["regions"] if r["region"] == unit_id)
    months = [{"ref": m.ref, "month": m.key, "due": m.due.isoformat() if m.due else None, "state": m.state,
               "missing": m.missing(ctx.today()), "version": m.version, "values": m.values}
              for m in region_months(ctx.sessions, setup=setup, region=unit_id)]
    return {"year": numbers["year"], "as_of": numbers["as_of"], "unit_of_measure": numbers["unit_of_measure"],
            "fields": numbers["fields"], "region": region, "months": months}


@router.post("/units/{unit_id}/figures", summary="Hand in (or correct) a region's figures for one month")
def api_submit_figures(unit_id: str, body: FiguresBody, request: Request, user: SignedIn = Depends(csrf)) -> Response:
    ctx = web(request)
    setup = setup_of(request)
    check_region(user, unit_id, setup)
    known = {f.id for f in setup.fields}
    typed = {k: "" if v is None else str(v) for k, v in body.values.items()}
    form = forms.Form("figures", {"month": body.month, "note": body.note or "", "reason": body.reason or "",
                                  **{k: v for k, v in typed.items() if k in known}})
    for key in typed:
        if key not in known:
            form.fail(f"values.{key}", f"没有名为“{key}”的填报项;填报项为:" + "、".join(f.id for f in setup.fields))
    entry = read_month(form, setup, region_months(ctx.sessions, setup=setup, region=unit_id), ctx.today())
    if entry is None or not form.ok:
        named = {("values." + k if k in known else k): v for k, v in form.errors.items()}
        return _invalid("月报数据有误,未记录任何数据", fields=named)
    try:
        recorded = submit_figures(ctx.sessions, actor=user.user_name, region=unit_id, month=entry.month,
                                  values=entry.values, now=ctx.now(), note=entry.note, reason=entry.reason,
                                  source="web")
    except FiguresInvalid as invalid:
        return _invalid("月报数据有误,未记录任何数据", problems=list(invalid.problems))
    return JSONResponse(_recorded(recorded))


@router.post("/figures/import", summary="Upload a filled XLSX form (duban figures template); any error imports nothing")
def api_import(request: Request, user: SignedIn = Depends(csrf),
               file: Annotated[UploadFile | None, File()] = None,
               reason: Annotated[str | None, Form(max_length=MAX_TEXT)] = None) -> Response:
    # A plain def: FastAPI runs it in a worker thread, so reading the workbook never holds the event loop.
    ctx = web(request)
    may_upload(user, setup_of(request))
    form = forms.Form("upload")
    data = read_upload(form, {"file": file})
    if data is None:
        return _invalid("上传的文件不是可导入的月报表", fields=form.errors)
    try:
        with one_upload_at_a_time(user):
            recorded, skipped = import_form(ctx.sessions, actor=user.user_name, data=data, now=ctx.now(),
                                            reason=(reason or "").strip() or None)
    except FiguresInvalid as invalid:
        return _invalid(f"上传的月报表有 {len(invalid.problems)} 处错误,未导入任何数据",
                        problems=list(invalid.problems))
    return JSONResponse({"recorded": [_recorded(r) for r in recorded], "skipped": skipped})
