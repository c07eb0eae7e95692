"""`duban plan import` as one call: a document's bytes in, what was read and the draft plan file out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from responsibilities.importing.corrections import Corrections, apply_corrections
from responsibilities.importing.draft import render_draft, report_json
from responsibilities.importing.formats import read_document
from responsibilities.importing.reading import Reading, read_document_tables
from responsibilities.importing.tables import DocumentUnreadable
from responsibilities.importing.units import Directory
from responsibilities.plan.model import PLAN_ID_PATTERN


@dataclass(frozen=True)
class Imported:
    reading: Reading
    plan_id: str
    draft: str  # the draft plan file's text

    def report(self) -> dict:
        return report_json(self.reading)


def import_document(data: bytes, file_name: str, directory: Directory, *, year: int | None = None,
                    plan_id: str | None = None, corrections: Corrections | None = None) -> Imported:
    """Read ``data`` (a document named ``file_name``) against the office's ``directory``, with the office's
    ``corrections`` applied. Raises DocumentUnreadable (one line, in Chinese) for a document that cannot be read as a
    plan, CorrectionRefused for a correction that cannot be applied."""
    if plan_id is not None and not re.fullmatch(PLAN_ID_PATTERN, plan_id) or plan_id and len(plan_id) > 64:
        raise DocumentUnreadable(f"方案编号“{plan_id[:64]}”不合规:只能用小写英文字母、数字和连字符,如 jobs-2020")
    if year is not None and not 1990 <= year <= 2100:
        raise DocumentUnreadable(f"年份 {year} 不在 1990 至 2100 之间")
    reading = read_document_tables(read_document(data, file_name), directory, year=year)
    if corrections is not None:
        reading = apply_corrections(reading, directory, corrections)
    plan_id = plan_id or f"imported-{reading.year}"
    return Imported(reading, plan_id, render_draft(reading, directory, plan_id=plan_id))
