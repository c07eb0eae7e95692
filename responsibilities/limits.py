"""The bounds of what a person types: how long a text may be, and which characters it may not hold. Stated once.

Every door (the web's forms, the JSON API, the command line, a workbook's cells) ends in a service, and the services
check their texts here: a refusal is an InvalidInput in Chinese, raised before anything is written. The doors may
refuse earlier with the same constants (the web's forms and the API's models do, so that a page puts the message next
to its field and the API's description states the bound), never with bounds of their own.

Why these rules:
- a length bound: a note is read on a page and in an email, not a document store; and the command line would
  otherwise take 120,000 characters the web refuses;
- no control characters: PostgreSQL refuses NUL outright (a 500 for the web, a traceback for the command line),
  and the others (ESC, backspace, a carriage return) forge or hide what a terminal or a list shows; line breaks
  and tabs stay where a text of several lines is natural (notes, reasons), never in a name;
- no lone surrogates: Python keeps undecodable bytes of an argument (`duban note x $'\\xff'`) as surrogates, which
  no database can encode.
Figures have their own bounds (figures/rules.py: MAX_COUNT); links theirs (tracking/evidence.py: MAX_LINK_CHARS).
"""

from __future__ import annotations

import unicodedata

from responsibilities.errors import InvalidInput

MAX_TEXT = 2000  # a note, a reason, an opinion: what a person writes about a deliverable or a report
MAX_USER_NAME = 64  # the users.name column's length (storage/model.py), and every actor column's
MAX_PASSWORD_CHARS = 200  # Argon2 takes any length; a cap keeps a megabyte "password" from costing anything
LINE_BREAKS = "\n\t"  # what a text of several lines may hold besides printable characters (\r\n becomes \n)
SUBMIT_NEEDS_NOTE_OR_EVIDENCE = "请填写办结说明,或提供佐证材料"  # the rule of 办结, wherever it comes from


def _forbidden(text: str, *, multiline: bool) -> str | None:
    """The first character ``text`` may not hold, described for a person; None when there is none."""
    for position, char in enumerate(text, 1):
        if multiline and char in LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        # Cc: control characters (NUL, ESC, line breaks…); Cs: lone surrogates; Zl, Zp: Unicode's line breaks.
        # In a name also Cf (zero-width and direction marks: a name shown reversed) and Co (private use).
        if category in ("Cc", "Cs", "Zl", "Zp") or (not multiline and category in ("Cf", "Co")):
            if char == "\x00":
                return f"第 {position} 个字符是空字符(NUL)"
            if category == "Cs":
                return f"第 {position} 个字符无法识别(不是有效的 UTF-8 文字,请检查终端或文件的编码)"
            if char in "\n\r\u2028\u2029":
                return f"第 {position} 个字符是换行"
            return f"第 {position} 个字符是控制字符(U+{ord(char):04X})"
    return None


def checked_text(text: str | None, what: str, *, limit: int = MAX_TEXT, multiline: bool = True,
                 required: bool = False) -> str | None:
    """``text`` stripped, its line breaks as \\n; None when empty (refused when ``required``). ``what`` is the
    text's name in Chinese (进展说明, 退回理由…): 请填写{what}."""
    value = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip() if multiline else (text or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"请填写{what}")
        return None
    if len(value) > limit:
        raise InvalidInput(f"{what}不能超过 {limit} 个字符(现有 {len(value)} 个),请删减后再提交")
    problem = _forbidden(value, multiline=multiline)
    if problem is not None:
        allowed = "除换行和制表符外," if multiline else ""
        raise InvalidInput(f"{what}中不能有控制字符:{problem};{allowed}请只填写文字")
    return value


def required_text(text: str | None, what: str, *, limit: int = MAX_TEXT, multiline: bool = True) -> str:
    value = checked_text(text, what, limit=limit, multiline=multiline, required=True)
    assert value is not None
    return value


def checked_name(name: str | None, what: str = "用户名") -> str:
    """A user's name: one line, not blank, at most MAX_USER_NAME characters, no control characters."""
    return required_text(name, what, limit=MAX_USER_NAME, multiline=False)


def is_clean_key(value: str | None, limit: int = 200) -> bool:
    """Whether an identifier a person typed (a deliverable's ref, a user's name to look up) can be looked up at
    all: bounded, and free of the characters a database cannot take. One that cannot is simply not there."""
    return value is not None and len(value) <= limit and _forbidden(value, multiline=False) is None
