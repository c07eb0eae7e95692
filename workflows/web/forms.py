"""Reading forms and query strings: each field checked, each problem a Chinese message next to its field.

A form that fails comes back with what the person typed; nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request

from responsibilities.errors import DomainError, InvalidInput, StaleDeliverable
from responsibilities.limits import MAX_TEXT, checked_text
from responsibilities.reading.board import KINDS, Filters
from responsibilities.storage.model import STATES
from workflows.web.security import headline_of, status_of

MAX_LINKS = 10


@dataclass
class Form:
    """The values as typed (strings), and the problems found, by field ("form": the form as a whole)."""

    name: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200

    def text(self, key: str, label: str, *, required: bool = False, limit: int = MAX_TEXT,
             multiline: bool = True) -> str | None:
        """The services' own check of a text (responsibilities/limits.py), its message next to the field."""
        try:
            return checked_text(self.values.get(key), label, limit=limit, multiline=multiline, required=required)
        except InvalidInput as refused:
            self.fail(key, str(refused))
            return None

    def day(self, key: str, label: str, *, required: bool = True) -> date | None:
        value = self.values.get(key, "").strip()
        if not value:
            if required:
                self.fail(key, f"请填写{label}")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(key, f"{label}应为日期,格式为 年-月-日,例如 2019-11-15")
            return None

    def integer(self, key: str, label: str) -> int | None:
        value = self.values.get(key, "").strip()
        if not value:
            return None
        if not value.isdigit() or len(value) > 9:
            self.fail(key, f"{label}应为整数")
            return None
        return int(value)

    def fail(self, key: str, message: str, status: int = 422) -> None:
        self.errors.setdefault(key, message)
        self.status = max(self.status, status) if self.status != 200 else status

    def refused(self, error: DomainError, field_for_input: str = "form") -> None:
        """A service refused: the message goes next to the field it is about (or the whole form)."""
        key = field_for_input if isinstance(error, InvalidInput) else "form"
        if isinstance(error, StaleDeliverable):
            key = "form"
        self.errors[key] = f"{headline_of(error)}:{error}"
        self.status = status_of(error)

    @property
    def ok(self) -> bool:
        return not self.errors


async def read_form(request: Request, name: str, *, files: int = 0) -> tuple[Form, Any]:
    raw = await request.form(max_files=files, max_fields=40, max_part_size=64 * 1024)
    values = {k: v for k, v in raw.multi_items() if isinstance(v, str)}
    return Form(name, values), raw


def dashboard_filters(request: Request) -> tuple[Filters, Form]:
    form = Form("filters", {k: request.query_params.get(k, "") for k in ("unit", "kind", "state", "within", "plan")})
    kind = form.values["kind"] or None
    if kind is not None and kind not in KINDS:
        form.fail("kind", "未知的时限类型")
        kind = None
    state = form.values["state"] or None
    if state is not None and state not in STATES:
        form.fail("state", "未知的状态")
        state = None
    within = form.integer("within", "到期天数")
    if within is not None and within > 3660:
        form.fail("within", "到期天数不超过 3660")
        within = None
    plan = form.values["plan"] or None
    if plan is not None and len(plan) > 64:
        form.fail("plan", "未知的方案")
        plan = None
    return Filters(unit=form.values["unit"] or None, kind=kind, state=state, due_within_days=within, plan=plan), form


def page_number(request: Request, key: str) -> int:
    value = request.query_params.get(key, "1")
    return int(value) if value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1
