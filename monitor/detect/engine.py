"""The detector: turns the chunks of a table into masked findings.

Per column it keeps a bounded sample (what the column is) and runs a full
compiled-regex pass where identifiers may hide in text (what is buried in it);
per table it counts quasi-identifier combinations and then judges severity
from all columns together. Presidio is used where it adds knowledge: its
validation hooks on candidates, and its analyzer (with leakmon's recognizers)
on a sample of free-text cells.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Protocol

from monitor.detect.classify import QUASI_IDENTIFIERS, ColumnVerdict, classify_column, name_shares
from monitor.detect.headers import header_tokens
from monitor.detect.profile import ColumnProfile
from monitor.detect.reid import KAnonymity
from monitor.detect.schema import table_schema
from monitor.detect.severity import NeedleHit, assess_table
from monitor.detect.subjects import apply_subject, table_subject
from monitor.detect.validate import valid_values
from monitor.hashing import ValueHasher
from monitor.masking import mask
from monitor.models import Finding

if TYPE_CHECKING:
    from monitor.detect.classify import NameScorer
    from monitor.detect.severity import Assessment
    from monitor.models import Table, TableSchema

__all__ = ["Detector", "FreeTextAnalyzer", "TableScan"]

logger = logging.getLogger(__name__)

_FREE_TEXT_SAMPLE = 200
#: Headers of place columns: the names inside them are streets, parks and towns.
#: Headers of a column that describes each row's organisation in prose.
_DESCRIPTION_HEADER = frozenset(
    "description descriptions descricao descripcion beschreibung beskrivning about summary "
    "mission remit purpose history objetivo finalidade competencias".split()
)
_PLACE_HEADER = frozenset(
    "address addr street location block intersection crossing direccion domicilio calle "
    "ubicacion endereco logradouro".split()
)
_NO_NEEDLES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "HASH",
        "PERSON",
        "DATE_OF_BIRTH",
        "ZIP",
        "SEX",
        "AGE",
        "BIRTH_YEAR",
    }
)


class FreeTextAnalyzer(Protocol):
    """Finds entities inside sentences (Presidio's analyzer with leakmon's recognizers)."""

    def find(self, texts: list[str]) -> dict[str, list[str]]:
        """Return, per entity, the matched substrings found in the texts."""
        ...


class Detector:
    """Finds personal data in tables; build one per process and reuse it.

    Args:
        names: name frequency lists (``monitor.detect.names.NameLists``).
        hasher: keyed hash for finding fingerprints.
        free_text: analyzer for free-text samples; ``None`` skips that step.
        today: reference date for ages (tests pin it).
    """

    def __init__(
        self,
        names: NameScorer,
        hasher: ValueHasher | None = None,
        free_text: FreeTextAnalyzer | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.names = names
        self.hasher = hasher or ValueHasher()
        self.free_text = free_text
        self.today = today or dt.datetime.now(dt.UTC).date()

    def table_scan(self, first: Table) -> TableScan:
        """Start scanning a logical table whose first chunk is ``first``."""
        return TableScan(self, first.source, first.name)

    def scan_tables(self, tables: list[Table]) -> list[Finding]:
        """Scan whole tables given as chunks (tests and small files)."""
        scans: dict[tuple[str, str | None], TableScan] = {}
        for table in tables:
            scan = scans.get(table.key) or scans.setdefault(table.key, self.table_scan(table))
            scan.feed(table)
        return [f for scan in scans.values() for f in scan.finish()]


class TableScan:
    """Accumulates one logical table's chunks, then judges it."""

    def __init__(self, detector: Detector, source: str, name: str | None) -> None:
        self.detector = detector
        self.source = source
        self.name = name
        self.rows = 0
        self.profiles: dict[str, ColumnProfile] = {}
        self._needle_columns: set[str] = set()
        self._kanon: KAnonymity | None = None
        self._qi_decided = False
        self._verdict_cache: dict[str, tuple[int, ColumnVerdict]] = {}
        self.schema: TableSchema | None = None
        #: Running text of a document (a PDF's ``text`` table), not a table of records.
        self.prose = False

    def feed(self, table: Table) -> None:
        """Add one chunk of the table."""
        frame = table.frame
        if not self.rows:
            self.prose = table.kind == "pdf" and table.name == "text"
        self.rows += frame.height
        for name in frame.columns:
            series = frame.get_column(name)
            profile = self.profiles.get(name)
            if profile is None:
                profile = self.profiles[name] = ColumnProfile(name)
                profile.add_sample(series)
                if self._wants_needles(profile):
                    self._needle_columns.add(name)
            else:
                profile.add_sample(series)
            profile.add_counts(series)
            if name in self._needle_columns:
                profile.add_needles(series)
        if not self._qi_decided:
            self._qi_decided = True
            verdicts = self._verdicts().values()
            qis = [v.column for v in verdicts if v.entity in QUASI_IDENTIFIERS]
            # Names identify people outright; quasi-identifier counting adds nothing then.
            if len(qis) >= 2 and not any(v.entity == "PERSON" for v in verdicts):
                self._kanon = KAnonymity(qis)
        if self._kanon is not None and all(c in frame.columns for c in self._kanon.columns):
            self._kanon.add(frame)

    def _wants_needles(self, profile: ColumnProfile) -> bool:
        """Search every row only where a column could hide identifiers in its text."""
        if not profile.sample or profile.share("NUMBER") >= 0.99:
            return False
        return self._verdict(profile).entity not in _NO_NEEDLES

    def _verdict(self, profile: ColumnProfile) -> ColumnVerdict:
        """Classify a column, again only when its sample has grown since last time."""
        cached = self._verdict_cache.get(profile.name)
        if cached is not None and cached[0] == len(profile.sample):
            return cached[1]
        d = self.detector
        verdict = classify_column(profile, d.names, d.today)
        self._verdict_cache[profile.name] = (len(profile.sample), verdict)
        return verdict

    def _verdicts(self) -> dict[str, ColumnVerdict]:
        return {n: self._verdict(p) for n, p in self.profiles.items()}

    def finish(self) -> list[Finding]:
        """Judge the table and return its findings, masked; ``schema`` is set as well."""
        verdicts = _promote_name_neighbours(self._verdicts(), self.profiles, self.detector.names)
        subject = table_subject(self.profiles, verdicts)
        if subject is not None:
            logger.debug("table %s: %s", self.name, subject.reason)
            verdicts = apply_subject(verdicts, subject)
        needles = self._needle_hits(verdicts)
        if subject is not None:
            needles = [n for n in needles if n.entity not in ("PERSON", "DATE_OF_BIRTH")]
        scanned = {n: p.filled for n, p in self.profiles.items()}
        reid = self._kanon.result() if self._kanon is not None and subject is None else None
        assessments = assess_table(list(verdicts.values()), needles, reid, scanned)
        findings = [self._finding(a) for a in assessments]
        self.schema = table_schema(
            self.name, self.rows, self.profiles, verdicts, findings, self.detector.today
        )
        return findings

    def _needle_hits(self, verdicts: dict[str, ColumnVerdict]) -> list[NeedleHit]:
        hits: list[NeedleHit] = []
        org_rows = any(v.entity == "ORG" for v in verdicts.values())
        for name, profile in self.profiles.items():
            for kind, (count, found) in profile.needles.items():
                entity = "US_SSN" if kind == "US_SSN_CONTEXT" else kind
                if verdicts[name].entity == entity:
                    continue
                valid = valid_values(kind, found)
                estimate = round(count * len(valid) / len(found)) if found else 0
                if estimate:
                    hits.append(NeedleHit(name, entity, estimate, tuple(valid[:3]), profile.filled))
            if (
                profile.is_free_text
                and verdicts[name].entity is None
                and self.detector.free_text is not None
            ):
                hits.extend(self._free_text_hits(profile, verdicts[name], org_rows))
        return hits

    def _free_text_hits(
        self, profile: ColumnProfile, verdict: ColumnVerdict, org_rows: bool = False
    ) -> list[NeedleHit]:
        """Run the analyzer on a sample of sentences and scale counts to the column.

        In a table whose rows are organisations, a column that describes each one
        (``description``, ``descricao``) is prose about the body: the founders and
        namesakes it names ("Fundação Joaquim Nabuco") are people named in prose.
        """
        prose = self.prose or (
            org_rows and bool(_DESCRIPTION_HEADER & set(header_tokens(profile.name)))
        )
        assert self.detector.free_text is not None  # noqa: S101  (checked by the caller)
        sample = profile.sample[:_FREE_TEXT_SAMPLE]
        found = self.detector.free_text.find(sample)
        hits = []
        for entity, values in found.items():
            if entity in profile.needles or entity == verdict.entity or not values:
                continue
            if entity == "PERSON" and verdict.business:
                continue  # "Grass Valley" in a column of place or facility names is no person
            if entity == "PERSON" and _PLACE_HEADER & set(header_tokens(profile.name)):
                continue  # "Trinidad Ave. and Morse St.": streets are named after people
            scale = profile.filled / len(sample)
            hits.append(
                NeedleHit(
                    profile.name,
                    entity,
                    max(1, round(len(values) * scale)),
                    tuple(values[:3]),
                    profile.filled,
                    prose=prose,
                )
            )
        return hits

    def _finding(self, a: Assessment) -> Finding:
        d = self.detector
        entity = a.entity
        return Finding(
            file=self.source,
            table=self.name,
            column=a.column,
            entity=entity,
            severity=a.severity,
            score=round(a.score, 3),
            matched=a.matched,
            scanned=a.scanned,
            evidence=tuple(mask(s, entity) for s in a.samples[:3]),
            reason=a.reason,
            columns=a.columns,
            fingerprint=d.hasher.digest([entity, a.column or ",".join(a.columns), *a.samples]),
        )


def _promote_name_neighbours(
    verdicts: dict[str, ColumnVerdict], profiles: dict[str, ColumnProfile], names: NameScorer
) -> dict[str, ColumnVerdict]:
    """Beside a column of names, a column of surnames or given names is names too."""
    if not any(v.entity == "PERSON" for v in verdicts.values()):
        return verdicts
    out = dict(verdicts)
    for col, v in verdicts.items():
        if v.entity is not None or v.business:
            continue
        shares = name_shares(profiles[col].sample, names)
        best = max(shares["first"], shares["last"])
        if best >= 0.7 and shares["alpha"] >= 0.9 and profiles[col].distinct_ratio >= 0.05:
            out[col] = ColumnVerdict(
                col,
                "PERSON",
                0.7,
                best,
                tuple(profiles[col].sample[:3]),
                f"{best:.0%} of values are known names, beside another column of names",
                name_shares=shares,
            )
    return out
