"""Findings about how a Tableau view exposes its data, before any personal data is read.

A dashboard meant for aggregates that starts offering its full data or its
workbook has changed what anyone on the internet can take, whatever the rows
hold today: in June 2022 the leak was exactly such a download. So the offer
itself is a finding (``DATA_EXPOSURE``) on the view's URL, one per mechanism:

- **high** when the target's configuration forbids the mechanism
  (``tableau: {full_data: forbidden}``);
- **medium** when a view already watched starts offering it (drift-like);
- **low** when the view offered it the first time leakmon saw it (recorded and
  shown, not paged by the default routes).

A finding keeps its severity while the offer lasts, unless a policy raises it,
and resolves when the view stops offering the mechanism.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.models import MECHANISMS, Finding, Severity

if TYPE_CHECKING:
    from collections.abc import Mapping

    from monitor.models import ViewExposure

__all__ = ["DESCRIPTIONS", "PERMISSIONS", "exposure_findings"]

#: What a person calls each mechanism (Tableau's menu names).
DESCRIPTIONS = {
    "summary_data": "summary data (Download > Data > Summary)",
    "full_data": "full data (Download > Data > Full data)",
    "crosstab": "crosstab (Download > Crosstab)",
    "workbook": "the packaged workbook (Download > Tableau Workbook)",
}
#: The permission that lets a visitor use each mechanism (Tableau's capability names).
PERMISSIONS = {
    "summary_data": "Download Summary Data (allow_summary)",
    "full_data": "Download Full Data / View Underlying Data (allow_view_underlying)",
    "crosstab": "Download Summary Data (allow_export_data)",
    "workbook": "Download Workbook / Save a Copy (Tableau Public: allowDataAccess)",
}
#: Mechanisms whose offer is itself a finding: they hand out row-level data.
_WATCHED = ("full_data", "workbook")


def exposure_findings(
    exposure: ViewExposure, known: Mapping[str, Severity], first_sight: bool
) -> list[Finding]:
    """Return the ``DATA_EXPOSURE`` findings of a view, one per row-level mechanism it offers.

    Args:
        exposure: what the view's viz session offered.
        known: the severity of each open exposure finding of the view, by mechanism.
        first_sight: True when leakmon has never watched this view before.
    """
    flags = ", ".join(f"{name}={'on' if on else 'off'}" for name, on in exposure.permissions)
    out = []
    for mechanism in MECHANISMS:
        if mechanism not in exposure.offers:
            continue
        if mechanism not in _WATCHED and mechanism not in exposure.forbidden:
            continue  # summary data and crosstabs are the sheet as shown: scanned, not flagged
        if mechanism in exposure.forbidden:
            severity, why = Severity.HIGH, "which this target's configuration forbids"
        elif mechanism in known:
            severity, why = known[mechanism], "as before"
        elif first_sight:
            severity, why = Severity.LOW, "since leakmon first saw it"
        else:
            severity, why = Severity.MEDIUM, "newly: it did not before"
        severity = max(severity, known.get(mechanism, Severity.LOW))
        reason = (
            f"Tableau view {exposure.view} lets any visitor download"
            f" {DESCRIPTIONS[mechanism]}, {why}. Allowed by: {PERMISSIONS[mechanism]}."
            + (f" Session flags: {flags}." if flags else "")
        )
        out.append(
            Finding(
                file=exposure.url,
                table=None,
                column=mechanism,
                entity="DATA_EXPOSURE",
                severity=severity,
                score=1.0,
                matched=0,
                scanned=0,
                reason=reason,
            )
        )
    return out
