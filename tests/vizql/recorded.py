"""Recorded real VizQL responses (and tableau-scraping's test shapes) used by the vizql tests.

Source: bertrandmartel/tableau-scraping, commit 2762a92641a57a96aba81b20b5b5c600a5ec514e,
tests/python/test_common.py, copied to ``tests/vizql/data/`` as JSON (see
tests/fixtures/SOURCES.md):

- ``underlying_data.json``: ``tableauDownloadableUnderlyingData``, a recorded
  tabdoc:get-underlying-data answer (New York hospital COVID-19 counts: public facility
  data, no personal data, so kept as recorded).
- ``summary_data.json``: ``tableauDownloadableSummaryData``, a recorded
  tabdoc:get-summary-data answer (statewide ICU counts; ``numRows`` 896, 200 rows sent).
- ``crosstab_dialog.json``, ``crosstab_export_result_key.json``,
  ``crosstab_export_tempfile_key.json``: ``tableauExportCrosstab*``.
- ``bootstrap_info.json``, ``bootstrap_data.json``, ``bootstrap_info_story_points.json``:
  ``info``, ``data`` and ``storyPointsInfo``, the author's bootstrap chunks with
  placeholder names (``[WORKSHEET1]``); his framed ``tableauDataResponse`` uses a fake
  length prefix (433337) that his regex ignores, so the tests frame them with true lengths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

#: tableau-scraping's view page sample (``tableauVizHtmlResponse``), verbatim.
VIZ_HTML = """
<div>
<textarea id="tsConfigContainer">
{
\t"vizql_root": "test",
\t"sessionid": "123456:123456",
\t"sheetId": "SHEET/NAME"
}
</textarea>
</div>
"""

#: tableau-scraping's dictionary spread over two segments
#: (``dataWithoutPresModelWithDictionary``).
TWO_SEGMENTS: dict[str, Any] = {
    "0": {
        "dataColumns": [
            {"dataType": "cstring", "dataValues": ["1", "2", "3", "4", "5", "6"]},
            {"dataType": "real", "dataValues": [1, 2, 3, 4, 5]},
        ]
    },
    "1": {"dataColumns": [{"dataType": "cstring", "dataValues": ["7", "8", "9"]}]},
}


def load(name: str) -> Any:
    """Return a recorded JSON document from ``tests/vizql/data``."""
    return json.loads((DATA / name).read_text())


def table_of(response: dict[str, Any]) -> dict[str, Any]:
    """Return the underlyingDataTable of a command answer."""
    return response["vqlCmdResponse"]["cmdResultList"][0]["commandReturn"]["underlyingDataTable"]
