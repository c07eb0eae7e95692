"""The year-end summary and the bulletin as files: HTML (print-friendly), XLSX (one sheet per section) and JSON.

Depends on the reports' data (``summary``, ``bulletin``) and their two renderers; they never depend on this module.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Iterable

from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import InvalidInput
from responsibilities.reports.bulletin import Bulletin, bulletin_to_json
from responsibilities.reports.html import render_bulletin_html, render_html
from responsibilities.reports.summary import YearSummary, year_end_summary, year_summary_to_json
from responsibilities.reports.xlsx import render_bulletin_xlsx, render_xlsx
from responsibilities.storage.files import write_atomically

SessionFactory = sessionmaker[Session]
FORMATS = ("html", "xlsx", "json")
MEDIA_TYPES = {"html": "text/html; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "json": "application/json"}


def render_year_report(summary: YearSummary, fmt: str) -> bytes:
    """The summary as the bytes of one file format (html, xlsx or json)."""
    if fmt == "html":
        return render_html(summary).encode("utf-8")
    if fmt == "xlsx":
        return render_xlsx(summary)
    if fmt == "json":
        return (json.dumps(year_summary_to_json(summary), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    raise InvalidInput(f"不支持的报告格式“{fmt}”:可选 {'、'.join(FORMATS)}")


def write_year_report(session_factory: SessionFactory, *, year: int, today: date, out_dir: Path,
                      formats: Iterable[str] = FORMATS, plan_id: str | None = None) -> dict[str, Path]:
    """Write ``out_dir/<summary_file_name>`` for each format; returns format → path."""
    formats = tuple(formats)
    for fmt in formats:
        if fmt not in FORMATS:
            raise InvalidInput(f"不支持的报告格式“{fmt}”:可选 {'、'.join(FORMATS)}")
    summary = year_end_summary(session_factory, year=year, today=today, plan_id=plan_id)
    rendered = {fmt: render_year_report(summary, fmt) for fmt in formats}  # all rendered before any is written
    return {fmt: write_atomically(Path(out_dir) / summary_file_name(summary, fmt), data)
            for fmt, data in rendered.items()}


def summary_file_name(summary: YearSummary, fmt: str) -> str:
    """summary-2020.xlsx for the office's first plan (the name it had with one plan), else summary-<plan>-2020.xlsx."""
    return f"summary-{summary.year}.{fmt}" if summary.primary else f"summary-{summary.plan_id}-{summary.year}.{fmt}"


def render_bulletin(bulletin: Bulletin, fmt: str) -> bytes:
    """The bulletin as the bytes of one file format (html, xlsx or json)."""
    if fmt == "html":
        return render_bulletin_html(bulletin).encode("utf-8")
    if fmt == "xlsx":
        return render_bulletin_xlsx(bulletin)
    if fmt == "json":
        return (json.dumps(bulletin_to_json(bulletin), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    raise InvalidInput(f"不支持的报告格式“{fmt}”:可选 {'、'.join(FORMATS)}")


def bulletin_file_name(bulletin: Bulletin, fmt: str) -> str:
    """bulletin-2020-03.xlsx, bulletin-2020-Q1.html, bulletin-2020-01-01_2020-04-15.json."""
    return f"bulletin-{bulletin.period.key}.{fmt}"
