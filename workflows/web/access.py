"""Who may see what on the web, on top of the services' rules: overviews are not for units, and a unit asking for
another unit's work is told it is not there (404), not that it is forbidden."""

from __future__ import annotations

from fastapi import Request

from responsibilities.errors import NotAllowed, NotFound
from responsibilities.reading import queries
from responsibilities.tracking.accounts import SignedIn
from workflows.web.context import web


def require_overview(user: SignedIn) -> None:
    if user.role == "unit":
        raise NotAllowed("责任单位只能查看本单位的事项")


def hide_other_units(error: NotAllowed) -> NotFound:
    """A unit asking for another unit's work is told it is not there: what exists elsewhere is not its business."""
    return NotFound("未找到:该事项不存在,或不属于本单位")


def load_view(request: Request, user: SignedIn, ref: str) -> queries.DeliverableView:
    """One deliverable as ``user`` may see it, or 404: another unit's is answered as one that is not there, in the
    same words (tracking/access.py: find_deliverable)."""
    return queries.show(web(request).sessions, ref=ref, viewer=user.user_name)
