"""Stand-in catalogue portals (CKAN, DCAT-US, Socrata) on 127.0.0.1, in the real API shapes."""

from __future__ import annotations

from tests.portals.base import CataloguePortal
from tests.portals.ckan import CkanPortal
from tests.portals.dcat import DcatPortal
from tests.portals.socrata import SocrataPortal

__all__ = ["CataloguePortal", "CkanPortal", "DcatPortal", "SocrataPortal"]
