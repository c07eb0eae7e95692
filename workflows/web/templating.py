"""The pages' templates and how a page is rendered: the Jinja2 environment with the one vocabulary's words and the
filters the templates use, ``render`` (a page with who is signed in), and ``error_response`` (an error as a page or
as the API's JSON). Every page module renders through here; the application (``app``) only assembles them.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup

from responsibilities.reading.queries import unit_short_name
from responsibilities.tracking.evidence import ACCEPTED, EXPECTED, MAX_EVIDENCE_BYTES
from responsibilities.vocabulary import (
    ACTION_NAMES,
    BULLETIN_OUTCOME_NAMES,
    DAY_FORMATS,
    DEADLINE_KIND_NAMES,
    IMPORT_STATUS_NAMES,
    JOB_NAMES,
    LIGHT_NAMES,
    NOTICE_KIND_NAMES,
    NOTICE_STATE_NAMES,
    PROGRESS_NAMES,
    RECENT_PERIOD_NAMES,
    ROLE_NAMES,
    STATE_NAMES,
    WORKSPACE_NAMES,
)
from workflows.web.context import current_user
from workflows.web.evidence import MAX_FILES
from workflows.web.security import CODES

HERE = Path(__file__).parent

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(LIGHT_NAMES=LIGHT_NAMES, STATE_NAMES=STATE_NAMES, ACTION_NAMES=ACTION_NAMES,
                             KIND_NAMES=DEADLINE_KIND_NAMES, NOTICE_NAMES=NOTICE_KIND_NAMES,
                             NOTICE_STATES=NOTICE_STATE_NAMES,
                             ROLE_NAMES=ROLE_NAMES, PROGRESS_NAMES=PROGRESS_NAMES, JOB_NAMES=JOB_NAMES,
                             OUTCOME_NAMES=BULLETIN_OUTCOME_NAMES, RECENT_PERIOD_NAMES=RECENT_PERIOD_NAMES,
                             WORKSPACE_NAMES=WORKSPACE_NAMES, IMPORT_STATUS_NAMES=IMPORT_STATUS_NAMES)
# The upload field states the store's bounds, and offers only the names it accepts (a hint: the store decides).
templates.env.globals.update(EVIDENCE_ACCEPTED=ACCEPTED, EVIDENCE_EXTENSIONS=",".join(EXPECTED),
                             EVIDENCE_MB=MAX_EVIDENCE_BYTES >> 20, EVIDENCE_FILES=MAX_FILES)


@functools.lru_cache(maxsize=16384)  # the same refs on every page: a unit's workspace quotes hundreds of them
def _quoted(value: str) -> str:
    # ":" kept as it is: links read /deliverables/assigned-2020:item-1, as the ones in the mails do.
    return quote(value, safe="@:")


templates.env.filters["url"] = lambda value: _quoted(str(value))


@functools.lru_cache(maxsize=4096)  # a few hundred distinct days a year, on pages of hundreds of rows
def _day(day: date, this_year: int) -> Markup:
    text = DAY_FORMATS["this_year" if day.year == this_year else "other_year"].format(
        year=day.year, month=day.month, day=day.day)
    return Markup(f'<time datetime="{day.isoformat()}">{text}</time>')


templates.env.filters["day"] = lambda day, today: _day(day, today.year)  # 6月30日, or 2021年1月10日
templates.env.filters["thousands"] = lambda n: "—" if n is None else f"{round(n):,}"
templates.env.filters["percent"] = lambda rate: "—" if rate is None else f"{rate * 100:.1f}%"


@pass_context
def local_time(context, moment: datetime | None) -> str:  # Jinja's context
    """An operational moment (a job's run, a server's outage) in the office's zone, to the minute."""
    if moment is None:
        return "—"
    return moment.astimezone(context["request"].app.state.web.zone).strftime("%Y-%m-%d %H:%M")


def query_with(query: dict[str, str], key: str, value: object) -> str:
    """The current query string with one parameter changed (a pager's links keep the filters)."""
    return urlencode({**query, key: value})


templates.env.filters["local"] = local_time
templates.env.globals["query_with"] = query_with


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def render(request: Request, name: str, status: int = 200, **context) -> Response:
    user = current_user(request)
    ctx = request.app.state.web
    # The signed-in unit's short name for the page header (a clerk knows 市人社局, not hrss), unless the page has it.
    unit = context.pop("user_unit", None)
    if unit is None and user is not None and user.unit_id:
        unit = unit_short_name(ctx.sessions, user.unit_id)
    return templates.TemplateResponse(request, name, {"user": user, "csrf": user.csrf_token if user else None,
                                                      "user_unit": unit, "today": ctx.today(), **context},
                                      status_code=status)


def error_response(request: Request, status: int, headline: str, detail: str = "") -> Response:
    if is_api(request):
        return JSONResponse({"error": {"code": CODES.get(status, "error"), "message": headline, "detail": detail}},
                            status_code=status)
    return render(request, "error.html", status=status, headline=headline, detail=detail)
