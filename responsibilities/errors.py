"""Domain errors: each says what was refused and what a person can do about it.

Interfaces (CLI, web) turn them into a message and a non-zero exit or a 4xx; none of them is a crash.
"""

from __future__ import annotations

from responsibilities.vocabulary import STATE_NAMES


class DomainError(Exception):
    """An action the rules of the supervision cycle refuse."""


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The actor's role does not permit the action (a unit acting on another unit's work, a leader writing…)."""


class IllegalTransition(DomainError):
    """The deliverable's state does not allow the action (accepting an open one, submitting a waived one…)."""


class InvalidInput(DomainError):
    pass


class StaleDeliverable(DomainError):
    """Someone else changed the deliverable since the actor looked at it: nothing was overwritten."""


class Busy(DomainError):
    """The same person's previous heavy request (an upload being read) is still under way: try again after it."""


# ── the words messages use ───────────────────────────────────────────────────────────────────────
# Messages are read by the office's and the units' staff, in Simplified Chinese, with the words of
# responsibilities/vocabulary.py, as every interface. Identifiers, commands, dates and refs stay as they are.

def state_name(state: str) -> str:
    """A deliverable's state as the pages call it, quoted: “已报待审”."""
    return f"“{STATE_NAMES.get(state, state)}”"
