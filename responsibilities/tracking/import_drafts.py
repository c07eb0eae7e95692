"""Plans the office imports in the browser: the uploaded document and the office's corrections, kept as a draft
(``plan_imports``) until the plan is published or the draft discarded, so that a closed browser loses nothing.

The document's bytes are kept, not what was read from them: the reading depends on the office's directory of the
day (a unit added since resolves by itself), and the importer reads them again with the corrections applied
(``importing.service.import_document``). Publishing adds the plan and marks the draft in one transaction; publishing
or discarding empties the bytes, and the row stays as the record of who did what.

Only the office imports. Bounds: the document's size (``importing.tables.MAX_DOCUMENT_BYTES``), drafts open at once
(``MAX_OPEN_DRAFTS``), the corrections (``importing.corrections.MAX_CORRECTIONS``); a change made on a page that shows
an older version of the draft is refused (``StaleDraft``), never merged blindly.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, sessionmaker

from responsibilities.errors import IllegalTransition, InvalidInput, NotFound, StaleDeliverable
from responsibilities.importing.corrections import MAX_CORRECTIONS, Corrections
from responsibilities.importing.tables import too_large
from responsibilities.storage.audit import write_audit
from responsibilities.storage.db import read_session, serialise
from responsibilities.storage.model import PlanImport
from responsibilities.tracking.access import acting_user, require_office
from responsibilities.tracking.imports import draft_plan
from responsibilities.tracking.plans import add_plan_in
from responsibilities.vocabulary import IMPORT_STATUS_NAMES

SessionFactory = sessionmaker[Session]
MAX_OPEN_DRAFTS = 50  # drafts in progress at once, the whole office's
MAX_FILE_NAME = 200  # the uploaded file's name, as shown


class StaleDraft(StaleDeliverable):
    """Someone changed the draft since the page was shown: nothing was overwritten."""


@dataclass(frozen=True)
class PlanChoices:
    """What the office chose for the plan's header ("" : as the importer proposes)."""

    id: str = ""
    title: str = ""
    short_name: str = ""


@dataclass(frozen=True)
class ImportDraft:
    id: int
    file_name: str
    size: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    status: str  # draft | published | discarded
    version: int
    year: int | None
    corrections: Corrections
    plan: PlanChoices
    plan_id: str | None  # the plan it was published as
    finished_by: str | None
    finished_at: datetime | None
    content: bytes = field(default=b"", repr=False)  # empty in lists, and once published or discarded


# ── corrections as JSON ──────────────────────────────────────────────────────────────────────────


def corrections_json(corrections: Corrections, plan: PlanChoices) -> dict:
    return {"units": dict(corrections.units),
            "new_units": {name: list(value) for name, value in corrections.new_units.items()},
            "leads": {str(i): unit for i, unit in sorted(corrections.leads.items())},
            "deadlines": {str(i): text for i, text in sorted(corrections.deadlines.items())},
            "plan": {"id": plan.id, "title": plan.title, "short_name": plan.short_name}}


def _corrections_of(data: dict) -> tuple[Corrections, PlanChoices]:
    corrections = Corrections(units=dict(data.get("units", {})),
                              new_units={n: (v[0], v[1]) for n, v in data.get("new_units", {}).items()},
                              leads={int(i): u for i, u in data.get("leads", {}).items()},
                              deadlines={int(i): t for i, t in data.get("deadlines", {}).items()})
    plan = data.get("plan", {})
    return corrections, PlanChoices(plan.get("id", ""), plan.get("title", ""), plan.get("short_name", ""))


def _draft(record: PlanImport, *, content: bool) -> ImportDraft:
    corrections, plan = _corrections_of(record.corrections or {})
    return ImportDraft(record.id, record.file_name, record.size, record.created_by, record.created_at,
                       record.updated_at, record.status, record.version, record.year, corrections, plan,
                       record.plan_id, record.finished_by, record.finished_at, record.content if content else b"")


def display_name(file_name: str | None) -> str:
    """The uploaded file's name as shown: its last part only, no control or invisible characters, bounded."""
    name = PureWindowsPath(PurePosixPath(file_name or "").name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip()
    return name[:MAX_FILE_NAME] or "未命名文件"


# ── the drafts ───────────────────────────────────────────────────────────────────────────────────


def start_import(session_factory: SessionFactory, *, actor: str, now: datetime, file_name: str, data: bytes,
                 year: int | None = None) -> ImportDraft:
    """Keep an uploaded document (already read once by the caller, so that an unreadable one is never kept) as a
    new draft; refused when the office has MAX_OPEN_DRAFTS open already."""
    refused = too_large(file_name, len(data))
    if refused:
        raise refused
    with session_factory.begin() as session:
        serialise(session, "plan-imports")
        user = acting_user(session, actor)
        require_office(user, "import.upload")
        open_now = session.scalar(select(func.count()).select_from(PlanImport).where(PlanImport.status == "draft"))
        if open_now >= MAX_OPEN_DRAFTS:
            raise InvalidInput(f"已有 {open_now} 份方案草稿尚未发布,达到 {MAX_OPEN_DRAFTS} 份的上限:"
                               "请先发布或丢弃不再需要的草稿,再导入新文件")
        record = PlanImport(created_by=user.name, created_at=now, updated_at=now, file_name=display_name(file_name),
                            size=len(data), sha256=hashlib.sha256(data).hexdigest(), content=data, year=year,
                            corrections=corrections_json(Corrections(), PlanChoices()), status="draft", version=1)
        session.add(record)
        session.flush()
        write_audit(session, now=now, actor=user.name, action="import.upload",
                    after={"import": record.id, "file": record.file_name, "size": record.size,
                           "sha256": record.sha256})
        return _draft(record, content=True)


def open_imports(session_factory: SessionFactory, *, viewer: str) -> list[ImportDraft]:
    """The drafts in progress, the newest first (without their documents' bytes)."""
    with read_session(session_factory) as session:
        require_office(acting_user(session, viewer), "import.upload")
        found = session.scalars(select(PlanImport).options(defer(PlanImport.content))
                                .where(PlanImport.status == "draft").order_by(PlanImport.id.desc())
                                .limit(MAX_OPEN_DRAFTS))
        return [_draft(r, content=False) for r in found]


def find_import(session_factory: SessionFactory, import_id: int, *, viewer: str) -> ImportDraft:
    """One import, with its document's bytes while it is a draft."""
    with read_session(session_factory) as session:
        require_office(acting_user(session, viewer), "import.upload")
        record = session.get(PlanImport, import_id) if 0 < import_id < 2**31 else None
        if record is None:
            raise NotFound(f"没有编号为 {import_id} 的方案导入")
        return _draft(record, content=True)


def _locked_draft(session: Session, import_id: int, expected_version: int | None) -> PlanImport:
    record = session.get(PlanImport, import_id, with_for_update=True) if 0 < import_id < 2**31 else None
    if record is None:
        raise NotFound(f"没有编号为 {import_id} 的方案导入")
    if record.status != "draft":
        done = f"(方案编号 {record.plan_id})" if record.plan_id else ""
        raise IllegalTransition(f"方案草稿《{record.file_name}》已由 {record.finished_by}"
                                f"{IMPORT_STATUS_NAMES[record.status]}{done},不能再更改")
    if expected_version is not None and record.version != expected_version:
        raise StaleDraft(f"方案草稿《{record.file_name}》在此页面打开后已有改动(现为第 {record.version} 版,页面显示的是"
                         f"第 {expected_version} 版),未作任何更改:请刷新页面,核对后再改")
    return record


def save_corrections(session_factory: SessionFactory, import_id: int, *, actor: str, now: datetime,
                     corrections: Corrections, plan: PlanChoices, expected_version: int | None) -> ImportDraft:
    """Replace the draft's corrections (the caller has had the importer apply them, so that a refused one is
    never kept); refused when the draft changed since ``expected_version``."""
    if corrections.size() > MAX_CORRECTIONS:
        raise InvalidInput(f"更正超过 {MAX_CORRECTIONS} 处:请分批保存")
    with session_factory.begin() as session:
        require_office(acting_user(session, actor), "import.correct")
        record = _locked_draft(session, import_id, expected_version)
        record.corrections = corrections_json(corrections, plan)
        record.version += 1
        record.updated_at = now
        return _draft(record, content=False)


def discard_import(session_factory: SessionFactory, import_id: int, *, actor: str, now: datetime,
                   expected_version: int | None = None) -> ImportDraft:
    with session_factory.begin() as session:
        user = acting_user(session, actor)
        require_office(user, "import.discard")
        record = _locked_draft(session, import_id, expected_version)
        _finish(record, "discarded", user.name, now)
        write_audit(session, now=now, actor=user.name, action="import.discard",
                    before={"import": record.id, "file": record.file_name, "status": "draft"},
                    after={"import": record.id, "status": "discarded"})
        return _draft(record, content=False)


def publish_import(session_factory: SessionFactory, import_id: int, draft_text: str, *, actor: str, now: datetime,
                   expected_version: int | None) -> str:
    """Add the plan ``draft_text`` (the draft's document read with its corrections) describes and mark the draft
    published, in one transaction; returns the plan's id. A draft that does not load is refused with its problems
    (InvalidInput, one per line), an id already a plan's too: nothing is written."""
    plan = draft_plan(draft_text)
    with session_factory.begin() as session:
        user = acting_user(session, actor)
        require_office(user, "plan.add")
        record = _locked_draft(session, import_id, expected_version)
        add_plan_in(session, plan, now=now, actor=user.name)
        _finish(record, "published", user.name, now)
        record.plan_id = plan.id
        write_audit(session, now=now, actor=user.name, action="import.publish",
                    before={"import": record.id, "file": record.file_name, "status": "draft"},
                    after={"import": record.id, "status": "published", "plan": plan.id})
        return plan.id


def _finish(record: PlanImport, status: str, actor: str, now: datetime) -> None:
    record.status, record.finished_by, record.finished_at, record.updated_at = status, actor, now, now
    record.content = b""
    record.version += 1
