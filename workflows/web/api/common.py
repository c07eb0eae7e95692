"""What the API's routes share: the error shape and the errors they document, the enumerations their parameters
take, and the CSRF check on every change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from pydantic import BaseModel

from responsibilities.deadlines.rules import KINDS
from responsibilities.storage.model import STATES
from responsibilities.tracking.accounts import SignedIn
from workflows.web.context import signed_in
from workflows.web.security import check_csrf

# The values a filter takes, declared so that the description lists them (and a wrong one is a 422 before any work).
DeadlineKind = Literal[KINDS]  # type: ignore[valid-type] - the tuple is the one the rules define
State = Literal[STATES]  # type: ignore[valid-type]


class ErrorDetail(BaseModel):
    code: str  # not_found, forbidden, invalid, conflict, bad_request, unauthenticated, throttled, busy, too_large
    message: str  # the refusal's kind, in Chinese
    detail: str  # what was wrong and what to do, in Chinese
    fields: list[dict[str, Any]] | dict[str, str] | None = None  # with invalid input: the problems by field
    problems: list[str] | None = None  # with an invalid workbook: every cell's problem


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorBody}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("the body is not JSON, or the request is malformed"),
    401: _error("not signed in"), 403: _error("the role may not do this, or CSRF failed"),
    404: _error("not found, or another unit's"), 409: _error("state or version conflict"),
    413: {"description": "the body is larger than 64 MB (text/plain)"},
    422: _error("invalid input, with the problems by field"),
    429: _error("too many failed sign-ins, or the account's previous upload is still being read")}


def csrf(request: Request, user: SignedIn = Depends(signed_in),
         x_csrf_token: Annotated[str | None, Header()] = None) -> SignedIn:
    """Who changes something, after their CSRF token was checked."""
    check_csrf(request, user, x_csrf_token)
    return user
