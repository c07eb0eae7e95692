"""What a person types, checked once for every door (the pages, the API, the command line): a length, and no
characters that cannot be stored or shown.

A note or a reason is at most MAX_TEXT characters, line breaks and tabs allowed; a name (a user's) is one line.
NUL and the other control characters are refused: PostgreSQL cannot store NUL at all, and a line break in a name
would print as a forged line wherever names are listed. Lone surrogates (what Python makes of bytes that are not
UTF-8 in a command-line argument) cannot be encoded, so they are refused too.
"""

from __future__ import annotations

import unicodedata

from responsibilities.errors import InvalidInput

MAX_TEXT = 2000  # a note, a reason: a paragraph, not a document (that is evidence)
MULTILINE = {"\n", "\t"}


def checked_text(text: str | None, what: str, *, required: bool = False, limit: int = MAX_TEXT,
                 one_line: bool = False) -> str | None:
    """``text`` stripped, or None when empty and not ``required``; ``what`` names it in messages (进展说明)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        if required:
            raise InvalidInput(f"请填写{what}")
        return None
    if len(text) > limit:
        raise InvalidInput(f"{what}有 {len(text):,} 个字符:最多 {limit:,} 个,请精简(详细材料可作为佐证材料上传)")
    bad = _unstorable(text, allowed=set() if one_line else MULTILINE)
    if bad is not None:
        raise InvalidInput(f"{what}含有不能保存的字符({bad}):请删去后重试"
                           + (";须写在一行内" if one_line and bad in ("换行", "制表符") else ""))
    return text


def _unstorable(text: str, *, allowed: set[str]) -> str | None:
    """The first character that may not be stored, described, or None."""
    for character in text:
        if character in allowed:
            continue
        category = unicodedata.category(character)
        if character == "\n":
            return "换行"
        if character == "\t":
            return "制表符"
        if category == "Cc":
            return f"控制字符 U+{ord(character):04X}"
        if category == "Cs":
            return "无效的字符编码(不是 UTF-8 文本)"
    return None
