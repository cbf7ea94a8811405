r"""Text from files, made safe to look at: control and direction characters shown as escapes.

HTML escaping (Jinja2's autoescape) keeps markup in a column or file name from
becoming markup on the page; this keeps what is left honest to the eye: an
escape sequence, a newline or a right-to-left override in a name is shown as
``\x1b``, ``\n`` or ``\u202e`` instead of reordering or hiding the text
around it.
"""

from __future__ import annotations

import logging
import re

__all__ = ["visible"]

logger = logging.getLogger(__name__)

#: C0 and C1 controls, DEL, bidi embeddings, overrides and isolates, and marks that
#: change direction or hide (zero-width and invisible separators, BOM), and lone
#: surrogates (half a character: they cannot even be encoded as UTF-8).
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """Return ``value`` as text with every hidden or direction-changing character escaped."""
    if value is None:
        return ""
    return _HIDDEN.sub(_escape, str(value))
