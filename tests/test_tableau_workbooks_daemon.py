"""In the daemon, a packaged workbook's Hyper extract is scanned, and a legacy TDE is "not checked".

The legacy workbook is the real tableau/document-api-python sample
test/assets/TABLEAU_10_TWBX.twbx (commit 82bf2d112c83d2ab0e6a5f7a1a16a52d4ff3c874; see
tests/fixtures/SOURCES.md); the other workbook is built around a .hyper extract of synthetic
applicants (Faker) written with tableauhyperapi, served under Tableau Public's
``/workbooks/<name>.twb`` naming.
"""

from __future__ import annotations

import json
from pathlib import Path

from monitor.standin import Portal
from tests.faults.harness import Daemon, HoldingReceiver, wait_until
from tests.readers.tableau_files import hyperapi, twb_xml, write_hyper, zip_bytes
from tests.synthetic import CCW_COLUMNS, ccw_rows

SAMPLES = Path(__file__).resolve().parent / "data" / "files" / "tableau"


def test_daemon_finds_people_in_an_extract_and_reports_a_tde_as_not_checked(
    tmp_path: Path,
) -> None:
    hyperapi()
    captions = [(f"c{i}", name.replace("_", " ").title()) for i, name in enumerate(CCW_COLUMNS)]
    extract = write_hyper(tmp_path / "people.hyper", [c for c, _ in captions], ccw_rows(300))
    packaged = zip_bytes(
        {
            "Applicants.twb": twb_xml("CCW Applicants", captions),
            "Data/Extracts/people.hyper": extract.read_bytes(),
        }
    )
    portal = Portal().start()
    receiver = HoldingReceiver().start()
    portal.publish("Applicants.twb", packaged, media_type="application/octet-stream")
    portal.publish(
        "legacy.twbx", (SAMPLES / "TABLEAU_10_TWBX.twbx").read_bytes(), "application/octet-stream"
    )
    daemon = Daemon(
        tmp_path,
        storage=f"sqlite:///{tmp_path / 'state.db'}",
        portal_url=portal.url,
        receiver_url=receiver.url,
    )

    def alerts() -> dict[str, str]:
        docs = [json.loads(post.body) for post in receiver.posts]
        return {doc["resource_url"].rsplit("/", 1)[-1]: json.dumps(doc) for doc in docs}

    try:
        daemon.start().wait_ready()
        assert wait_until(lambda: {"Applicants.twb", "legacy.twbx"} <= set(alerts()), 90), (
            f"{receiver.posts}\n{daemon.logs()[-3000:]}"
        )
        errors = daemon.metric("leakmon_scan_errors_total")
    finally:
        daemon.stop()
        receiver.stop()
        portal.stop()
    found = alerts()["Applicants.twb"]
    assert "Data/Extracts/people.hyper::Extract.Extract" in found
    assert "EMAIL_ADDRESS" in found
    assert "FILE_LIMIT" not in found
    legacy = alerts()["legacy.twbx"]
    assert "FILE_LIMIT" in legacy
    assert "could not be fully checked: ReaderUnavailable" in legacy
    assert "legacy TDE extract" in legacy
    assert errors >= 1
