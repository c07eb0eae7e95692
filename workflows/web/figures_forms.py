"""The monthly figures on the web: reading the month form and the XLSX upload, and what a region's section shows.

The checks are the figures' own rules (``responsibilities.figures.rules``: non-negative whole numbers, parts not above
their whole, a month of the plan that has begun), run here first so that each problem lands next to its field;
the service (``figures_service``) then checks everything again and records it in one transaction, or nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request

from responsibilities.errors import Busy, NotAllowed, NotFound
from responsibilities.figures.progress import PlanNumbers, RegionNumbers, plan_numbers
from responsibilities.figures.rules import parse_month, validate_figures
from responsibilities.figures.view import FiguresSetup, ReportMonth, figures_setup, month_to_report, region_months
from responsibilities.figures.xlsx import MAX_BYTES
from responsibilities.reports.html import progress_chart
from responsibilities.tracking.accounts import SignedIn
from workflows.web.context import WebContext, web
from workflows.web.forms import Form

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip archive


def setup_of(request: Request) -> FiguresSetup:
    setup = figures_setup(web(request).sessions)
    if setup is None:
        raise NotFound("工作方案中没有月报")
    return setup


def check_region(user: SignedIn, unit_id: str, setup: FiguresSetup) -> None:
    """A unit sees only its own region (another's is not found); a unit that reports no figures has none."""
    if user.role == "unit" and user.unit_id != unit_id:
        raise NotFound("未找到:该事项不存在,或不属于本单位")
    if unit_id not in setup.regions:
        raise NotFound("该单位不报送月报")


def numbers_of(ctx: WebContext, setup: FiguresSetup, year: int | None = None) -> PlanNumbers:
    """Every region against its targets, as of the app's today (sums in SQL: ``progress.counted_sums``)."""
    today = ctx.today()
    return plan_numbers(ctx.sessions, year=year or setup.year_of(today), today=today)


# ── the month form ───────────────────────────────────────────────────────────────────────────────


@dataclass
class MonthForm:
    """What a valid month form asks the service to record."""

    month: date
    values: dict[str, str]
    note: str | None
    reason: str | None


def read_month(form: Form, setup: FiguresSetup, months: list[ReportMonth], today: date) -> MonthForm | None:
    """Every field checked; each problem next to its field. None if anything is wrong."""
    note, reason = form.text("note", "备注"), form.text("reason", "更正理由")
    month = parse_month(form.values.get("month", ""))
    if month is None:
        form.fail("month", "请选择月份,格式为 年-月,例如 2020-03")
    else:
        report = next((m for m in months if m.month == month), None)
        key = f"{month.year}-{month.month:02d}"
        if report is None:
            span = f"月报覆盖 {months[0].key} 至 {months[-1].key}" if months else "方案中没有该地区的月报"
            form.fail("month", f"{key} 不在方案实施期内:{span}")
        elif not report.started(today):
            form.fail("month", f"{key} 尚未开始:不能报送未来月份的数据")
        elif report.state == "waived":
            form.fail("month", f"{key} 的月报已免报,不能再报送数据")
        elif report.state == "accepted" and not reason:
            form.fail("reason", f"{key} 的月报已审核销号:更正数据须说明理由")
    raw = {f.id: form.values.get(f.id, "").strip() for f in setup.fields}
    _, problems = validate_figures(setup.fields, raw)
    for problem in problems:
        form.fail(problem.field or "form", problem.message)
    if not form.ok or month is None:
        return None
    return MonthForm(month, raw, note, reason)


# ── the upload ───────────────────────────────────────────────────────────────────────────────────


def may_upload(user: SignedIn, setup: FiguresSetup, region: str | None = None) -> None:
    """Only the office, or a region for its own figures, hands a workbook in: checked before a byte of it is read
    (the service checks every row's region again when it records)."""
    if user.role == "office" or (user.role == "unit" and user.unit_id in setup.regions
                                 and region in (None, user.unit_id)):
        return
    raise NotAllowed("只有领导小组办公室和报送月报的地区可以上传月报表")


_uploading: set[str] = set()
_uploading_lock = threading.Lock()


@contextmanager
def one_upload_at_a_time(user: SignedIn, busy: str = "上一个月报表还在处理中:请等它处理完(最多十几秒)再上传"
                         ) -> Iterator[None]:
    """An account's second upload while its first is being read is refused (429, ``busy``), not queued behind it:
    one account cannot occupy the server's worker threads with workbooks or documents."""
    with _uploading_lock:
        if user.user_name in _uploading:
            raise Busy(busy)
        _uploading.add(user.user_name)
    try:
        yield
    finally:
        with _uploading_lock:
            _uploading.discard(user.user_name)


def read_upload(form: Form, raw: Any) -> bytes | None:  # Starlette's FormData
    """The uploaded workbook's bytes, if it is one: an .xlsx name, a zip's first bytes, at most 5 MB."""
    upload = raw.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        form.fail("file", "请选择要上传的月报表(.xlsx 文件)")
        return None
    if not upload.filename.lower().endswith(".xlsx"):
        form.fail("file", f"「{upload.filename}」不是 .xlsx 文件:只接受用月报表模板填写的 Excel 工作簿(.xlsx)")
        return None
    upload.file.seek(0)
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        form.fail("file", f"「{upload.filename}」过大:月报表不超过 {MAX_BYTES // 1024 // 1024} MB")
        return None
    if not data.startswith(ZIP_MAGIC):
        form.fail("file", f"「{upload.filename}」的内容不是 Excel 工作簿(.xlsx),请用月报表模板填写后上传")
        return None
    return data


# ── a region's section of its workspace ──────────────────────────────────────────────────────────


@dataclass
class RegionSection:
    setup: FiguresSetup
    region: str
    numbers: RegionNumbers
    year: int
    chart: Any
    months: list[ReportMonth]
    default: ReportMonth | None  # the month the form offers
    selectable: list[ReportMonth]  # months that have begun, newest first
    may_report: bool


def region_section(ctx: WebContext, user: SignedIn, unit_id: str) -> RegionSection | None:
    """The region's own progress and its monthly report form; None for a unit that reports no figures."""
    setup = figures_setup(ctx.sessions)
    if setup is None or unit_id not in setup.regions:
        return None
    today = ctx.today()
    numbers = numbers_of(ctx, setup)
    mine = next(r for r in numbers.regions if r.region == unit_id)
    months = region_months(ctx.sessions, setup=setup, region=unit_id)
    chart = progress_chart(_only(numbers, mine))
    may = user.role == "office" or (user.role == "unit" and user.unit_id == unit_id)
    return RegionSection(setup, unit_id, mine, numbers.year, chart, months, month_to_report(months, today),
                         [m for m in reversed(months) if m.started(today) and m.state != "waived"], may)


def _only(numbers: PlanNumbers, region: RegionNumbers) -> Any:  # a PlanNumbers-like view
    from dataclasses import replace

    return replace(numbers, regions=(region,))
