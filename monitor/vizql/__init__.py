"""The Tableau VizQL protocol: framing, session config, bootstrap, data dictionary, commands.

Pure Python on bytes and JSON, no network: the crawl client (``monitor.crawl.tableau``)
does the requests, this package reads and builds their bodies, and the ``tableau-data``
reader decodes what the client spooled. Decoding into a frame
(``monitor.vizql.dictionary``, polars) is not imported here: the daemon crawls with
this package and must not load the scan worker's parsers.
"""

from __future__ import annotations

from monitor.vizql.bootstrap import Bootstrap, parse_bootstrap
from monitor.vizql.framing import split_chunks
from monitor.vizql.segments import merge_segments, value_lists
from monitor.vizql.session import SessionConfig, parse_config_page, parse_start_session

__all__ = [
    "Bootstrap",
    "SessionConfig",
    "merge_segments",
    "parse_bootstrap",
    "parse_config_page",
    "parse_start_session",
    "split_chunks",
    "value_lists",
]
