"""Make text from a file safe to print on a terminal or post to chat: controls shown, not obeyed.

Column, table and member names, error texts and URLs come from files and portals.
Printed raw, an ESC sequence can rewrite a terminal (clear the screen, hide a line,
set the title), a newline can forge a line of output, and a bidi override (U+202E)
can make ``gpj.exe`` read as ``exe.jpg``. ``printable`` shows each such character
as a visible escape (backslash, ``x1b``; backslash, ``u202e``) and leaves other text alone.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

#: C0 controls (tab and newline included: one field must stay one line), DEL, C1
#: controls, bidi embeddings, overrides, isolates and marks, line and paragraph
#: separators, and the BOM / zero-width no-break space.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return ``text`` with control and bidi-override characters written as escapes."""
    return _UNSAFE.sub(_escape, text)
