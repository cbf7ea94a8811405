"""Build Tableau files for tests: Hyper extracts, workbook XML and packaged workbooks.

The XML and the package layout follow the real samples in tableau/document-api-python
(commit 82bf2d112c83d2ab0e6a5f7a1a16a52d4ff3c874, test/assets/TABLEAU_10_TWBX.twbx:
``Book1.twb`` at the root, the extract under ``Data/``; its ``Book1.twb`` gives the
datasource element, the ``<column caption=… name='[…]'>`` captions and an
``<extract enabled='true'><connection class='dataengine' dbname=… schema='Extract'
tablename='Extract'>`` with ``<metadata-record class='column'>`` entries). Hyper
extracts use ``class='hyper'`` and ``Data/Extracts/<name>.hyper`` (the research
note's ``.twbx`` section; current Tableau writes them so).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from types import ModuleType

__all__ = ["hyperapi", "twb_xml", "write_hyper", "zip_bytes"]


def hyperapi() -> ModuleType:
    """Return ``tableauhyperapi``; skip without it locally, fail when CI is set (CI installs it)."""
    try:
        import tableauhyperapi
    except ImportError:
        message = "tableauhyperapi is not installed: pip install -e '.[test,tableau]'"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: scripts/check must install the tableau extra)")
        pytest.skip(message)
    return tableauhyperapi


def write_hyper(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    *,
    schema: str = "Extract",
    table: str = "Extract",
) -> Path:
    """Write a Hyper extract with one table of text columns, as Tableau names them."""
    hapi = hyperapi()
    with (
        tempfile.TemporaryDirectory() as logs,
        hapi.HyperProcess(
            telemetry=hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
            parameters={"log_config": "", "log_dir": logs},
        ) as hyper,
        hapi.Connection(hyper.endpoint, str(path), hapi.CreateMode.CREATE_AND_REPLACE) as conn,
    ):
        conn.catalog.create_schema_if_not_exists(schema)
        definition = hapi.TableDefinition(
            hapi.TableName(schema, table),
            [hapi.TableDefinition.Column(name, hapi.SqlType.text()) for name in columns],
        )
        conn.catalog.create_table(definition)
        with hapi.Inserter(conn, definition) as inserter:
            inserter.add_rows(rows)
            inserter.execute()
    return path


def twb_xml(
    datasource: str,
    columns: Sequence[tuple[str, str]],
    *,
    dbname: str = "Data/Extracts/people.hyper",
    engine: str = "hyper",
) -> bytes:
    """Return a workbook whose one datasource uses an extract; ``columns`` is (name, caption)."""
    records = "".join(
        "<metadata-record class='column'>"
        f"<remote-name>{name}</remote-name><remote-type>129</remote-type>"
        f"<local-name>[{name}]</local-name><parent-name>[Extract]</parent-name>"
        f"<remote-alias>{name}</remote-alias><ordinal>{i}</ordinal>"
        "<local-type>string</local-type></metadata-record>"
        for i, (name, _) in enumerate(columns)
    )
    captions = "".join(
        f"<column caption={quoteattr(caption)} datatype='string' name='[{name}]' "
        "role='dimension' type='nominal' />"
        for name, caption in columns
    )
    return (
        "<?xml version='1.0' encoding='utf-8' ?>\n\n"
        "<!-- build main.16.0510.1300                                -->\n"
        "<workbook source-build='0.0.0 (0000.16.0510.1300)' source-platform='mac' "
        "version='10.0' xmlns:user='http://www.tableausoftware.com/xml/user'>"
        "<datasources>"
        f"<datasource caption={quoteattr(datasource)} inline='true' "
        "name='federated.0bbjp8g02k4ss51anjdyj1s0vmrj' version='10.0'>"
        "<connection class='federated'><named-connections>"
        "<named-connection caption='applicants.csv' name='textscan.1'>"
        "<connection class='textscan' directory='C:/data' filename='applicants.csv' />"
        "</named-connection></named-connections>"
        "<relation connection='textscan.1' name='applicants.csv' table='[applicants#csv]' "
        f"type='table' /><metadata-records>{records}</metadata-records></connection>"
        f"{captions}"
        "<extract count='-1' enabled='true' units='records'>"
        f"<connection class={quoteattr(engine)} dbname={quoteattr(dbname)} schema='Extract' "
        "tablename='Extract'><relation name='Extract' table='[Extract].[Extract]' type='table' />"
        f"<metadata-records>{records}</metadata-records></connection></extract>"
        "</datasource></datasources>"
        # A worksheet refers to the datasource again; only the definition above counts.
        "<worksheets><worksheet name='Sheet 1'><table><view><datasources>"
        f"<datasource caption={quoteattr(datasource)} "
        "name='federated.0bbjp8g02k4ss51anjdyj1s0vmrj' />"
        "</datasources></view></table></worksheet></worksheets>"
        "</workbook>"
    ).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """Return a ZIP holding ``members`` in order, deflated, as Tableau packages them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()
