"""What the API's routes share: the error shapes they document, and the CSRF check on every change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from responsibilities.tracking.accounts import SignedIn
from workflows.web.context import signed_in
from workflows.web.security import check_csrf

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"}, 403: {"description": "the role may not do this, or CSRF failed"},
    404: {"description": "not found, or another unit's"}, 409: {"description": "state or version conflict"},
    422: {"description": "invalid input"}}


def csrf(request: Request, user: SignedIn = Depends(signed_in),
         x_csrf_token: Annotated[str | None, Header()] = None) -> SignedIn:
    """Who changes something, after their CSRF token was checked."""
    check_csrf(request, user, x_csrf_token)
    return user
