"""leakmon: watch public data portals for published personal data."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
