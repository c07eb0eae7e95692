"""A plan being imported, as its page shows it: the document read again with the office's corrections, each row's
cells as written beside what duban made of them, the unit names to settle, and the draft plan file to publish.

The reading is the importer's (``importing.service.import_document``), against the office's directory of the day;
a correction that no longer applies (a unit retired, a new unit's id taken by a plan published since) is said on
the page, and the document is shown as read without corrections until the office settles it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from responsibilities.importing.corrections import CorrectionRefused, Corrections
from responsibilities.importing.draft import document_title, short_name, with_plan_names
from responsibilities.importing.reading import Flag, ImportedObligation
from responsibilities.importing.service import Imported, import_document
from responsibilities.importing.tables import DocumentUnreadable
from responsibilities.importing.units import Directory, Resolution
from responsibilities.reading.directory import office_directory
from responsibilities.tracking.import_drafts import ImportDraft, PlanChoices
from workflows.web.context import WebContext


def place_of(table: str, row: str) -> str:
    """Where a row is, for people: 表格 1 第 5 行 (some readers name the table in the row's place already)."""
    return row if row.startswith(table) else f"{table} {row}".strip()


@dataclass(frozen=True)
class Row:
    index: int
    o: ImportedObligation
    flags: list[Flag]
    lead_choice: str  # the unit the office chose as lead ("": as the document says)
    deadline_corrected: bool

    @property
    def place(self) -> str:
        return place_of(self.o.source.table, self.o.source.row)


@dataclass(frozen=True)
class Name:
    """A unit name of the document the office must settle (unknown, ambiguous) or has settled."""

    number: int  # for the page's element ids
    resolution: Resolution  # as it resolves now, corrections applied
    mapped_to: str | None  # the existing unit the office mapped it to
    new_unit: tuple[str, str] | None  # (id, full name) of the unit the office defined for it


@dataclass
class DraftView:
    draft: ImportDraft
    directory: Directory
    imported: Imported | None = None
    problem: str = ""  # the corrections that no longer apply
    unreadable: str = ""  # why the document cannot be read now
    rows: list[Row] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)
    title: str = ""  # what the importer proposes for the plan's header
    short_name: str = ""
    draft_text: str = ""
    new_units: dict[str, str] = field(default_factory=dict)  # id → full name of the units the office defined
    original_deadlines: dict[int, str] = field(default_factory=dict)  # index → the deadline cell as written
    short_names: dict[str, str] = field(default_factory=dict)  # unit id → the short name pages use (市人社局)

    @property
    def flags(self) -> list[Flag]:
        return [f for row in self.rows for f in row.flags]

    def unit_name(self, unit_id: str | None) -> str:
        if unit_id in self.short_names:
            return self.short_names[unit_id]
        entry = self.directory.entry(unit_id) if unit_id else None
        return entry.name if entry else self.new_units.get(unit_id or "", unit_id or "")


def read_with(ctx: WebContext, draft: ImportDraft, corrections: Corrections, plan: PlanChoices,
              directory: Directory | None = None) -> Imported:
    """The draft's document read with ``corrections``: DocumentUnreadable (CorrectionRefused for a correction that
    cannot apply) in Chinese otherwise."""
    return import_document(draft.content, draft.file_name, directory or office_directory(ctx.sessions),
                           year=draft.year, plan_id=plan.id or None, corrections=corrections)


def draft_view(ctx: WebContext, draft: ImportDraft) -> DraftView:
    directory = office_directory(ctx.sessions)
    view = DraftView(draft, directory)
    if draft.status != "draft":
        return view
    try:
        imported = read_with(ctx, draft, draft.corrections, draft.plan, directory)
    except CorrectionRefused as refused:
        view.problem = str(refused)
        imported = read_with(ctx, draft, Corrections(), draft.plan, directory)
    except DocumentUnreadable as unreadable:  # read once at upload; not now (LibreOffice gone for a .doc…)
        view.unreadable = str(unreadable)
        return view
    corrections = draft.corrections if not view.problem else Corrections()
    view.imported = imported
    view.title = document_title(imported.reading)
    view.short_name = short_name(draft.plan.title or view.title)
    view.draft_text = with_plan_names(imported.draft, title=draft.plan.title or None,  # a title chosen, not its
                                      short_name=draft.plan.short_name or view.short_name)  # short name: made from it
    view.rows = [Row(i, o, o.flags(), corrections.leads.get(i, ""), i in corrections.deadlines)
                 for i, o in enumerate(imported.reading.obligations)]
    for number, r in enumerate(imported.reading.names()):
        if r.status in ("unknown", "ambiguous") or r.name in corrections.units or r.name in corrections.new_units:
            view.names.append(Name(number, r, corrections.units.get(r.name), corrections.new_units.get(r.name)))
    if corrections.deadlines:  # the cells as the document writes them, beside the office's corrections
        original = read_with(ctx, draft, Corrections(), draft.plan, directory).reading.obligations
        view.original_deadlines = {i: original[i].deadline_text for i in corrections.deadlines if i < len(original)}
    view.new_units = {unit_id: full_name for unit_id, full_name in corrections.new_units.values()}
    return view
