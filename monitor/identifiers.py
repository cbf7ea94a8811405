"""Keep personal data out of names that come from a file: columns, tables, members, keys, errors.

A file's structure is data too. A headerless CSV whose first row is a person's
record turns that record into column names; a JSON object keyed by e-mail or
case number turns keys into columns; a ZIP member called
``smith_john_1980-02-01.csv`` becomes a table name; a reader's error quotes a
key. Every such name reaches findings, schemas, drift reasons, alerts and logs,
so each one is checked here, with the detectors' own patterns and name lists,
before anything else sees it. A name that looks personal is replaced by a
stable position name (``column 3``, ``member 2``, ``table 4``); an error text
has its personal parts masked.

What counts as personal in a name: an SSN, e-mail, phone or card number (the
detectors' needles), a date with a day, a run of six or more digits (IDs,
phones and dates without separators), a street address, or a person's full name
in either order (``John Smith``, ``smith_john``). A header row is taken as a data
row, and every column of the table gets its position name, when one of its
names is personal or two neighbouring names are a given name and a surname.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from typing import TYPE_CHECKING

from monitor.detect.shapes import NEEDLES, STREET_SUFFIXES
from monitor.masking import mask
from monitor.models import Finding, Severity

if TYPE_CHECKING:
    from monitor.detect.classify import NameScorer
    from monitor.hashing import ValueHasher
    from monitor.models import Table

__all__ = ["IdentifierGuard", "ReaderLogScrubber"]

logger = logging.getLogger(__name__)

#: The detectors' needles (Python ``re`` wants their inline flags scoped).
_NEEDLE = re.compile(
    "|".join(f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})" for p in NEEDLES.values())
)
_DATE = re.compile(
    r"(?<!\d)(?:\d{4}[-/._]\d{1,2}[-/._]\d{1,2}|\d{1,2}[-/._]\d{1,2}[-/._](?:\d{4}|\d{2}))(?!\d)"
)
_LONG_DIGITS = re.compile(r"\d{6,}")
_SPACED_DIGITS = re.compile(r"(?<!\d)\d(?:[ ._\-()]{0,2}\d){8,}(?!\d)")
_STREET = re.compile(
    rf"(?i)\b\d{{1,6}}[ _]+(?:[a-z]+[ _]+){{1,3}}(?:{'|'.join(STREET_SUFFIXES)})\b"
)
#: Where a name splits into parts that are judged one by one: paths, keys, member names.
_SEGMENTS = re.compile(r"::|[/\\\[\]]|(?<=\S)\.(?=[^\W\d])")
_WORDS = re.compile(r"[^\W\d_]+")
_QUOTED = re.compile(r"""'([^'\n]{1,300})'|"([^"\n]{1,300})\"""")
#: Which entity a name that matches each pattern carries, in the order they are tried.
#: A long number alone is some identifier: ``STATE_ID`` is the closest entity.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    *(
        ("US_SSN" if kind.startswith("US_SSN") else kind, re.compile(pattern))
        for kind, pattern in NEEDLES.items()
    ),
    ("DATE_OF_BIRTH", _DATE),
    ("ADDRESS", _STREET),
    ("STATE_ID", _LONG_DIGITS),
    ("STATE_ID", _SPACED_DIGITS),
)
_FILE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")
#: A count or share, alone or with the other ("58", "1,003", "58 - 4.79%", "12 (3.1%)").
_COUNT = re.compile(r"^\s*-?\d[\d,]*(?:\.\d+)?\s*%?(?:\s*[-(/]\s*\d[\d.,]*\s*%?\)?)?\s*$")
_BARE = re.compile(r"[^\s'\"]+")


class IdentifierGuard:
    """Decides whether a name from a file looks personal, and replaces it if so.

    Args:
        names: the detector's name lists (``Detector.names``).
    """

    def __init__(self, names: NameScorer) -> None:
        self.names = names
        # Table names are replaced by the order in which the file first shows them,
        # which is stable across rescans of one version of a file.
        self._tables: dict[str, str | None] = {}
        self._positions: dict[tuple[int, str], str] = {}
        self._counts: dict[tuple[int, str], int] = {}
        self._columns: dict[tuple[str | None, tuple[str, ...]], dict[str, str]] = {}
        #: entity -> (how many names carried it, up to 3 raw names). Raw: mask before use.
        self.found: dict[str, tuple[int, list[str]]] = {}
        self._noted: set[tuple[str, str]] = set()

    def personal(self, text: str) -> bool:
        """Say whether one identifier carries what looks like a person's data."""
        return self.kind(text) is not None

    def kind(self, text: str) -> str | None:
        """Return the entity one identifier seems to carry (``EMAIL_ADDRESS``...), or ``None``."""
        if not text or not text.strip():
            return None
        for entity, pattern in _KINDS:
            if pattern.search(text):
                return entity
        if self._full_name(text):
            return "PERSON"
        parts = [p for p in _SEGMENTS.split(text) if p]
        if len(parts) > 1:  # a JSON path or member path: each key or name on its own
            return next((k for part in parts if (k := self.kind(part))), None)
        return None

    def _note(self, entity: str | None, raw: str) -> None:
        """Remember a personal name (in memory only) for ``found``, once per distinct name."""
        if entity is None or (entity, raw) in self._noted:
            return
        self._noted.add((entity, raw))
        count, samples = self.found.get(entity, (0, []))
        if raw not in samples and len(samples) < 3:
            samples.append(raw)
        self.found[entity] = (count + 1, samples)

    def _full_name(self, text: str) -> bool:
        plain = _FILE_SUFFIX.sub("", text)
        words = _WORDS.findall(plain.replace("_", " "))
        if len(words) < 2 or len(words) > 6:
            return False
        spaced = " ".join(words)
        if self.names.looks_like_person_name(spaced):
            return True
        # "smith_john", "SMITH JOHN": surname first without a comma
        return self.names.looks_like_person_name(f"{words[0]}, {' '.join(words[1:])}")

    def _name_pair(self, first: str, second: str) -> bool:
        """Say whether two neighbouring column names read as a given name and a surname."""
        a, b = first.strip(), second.strip()
        if not (a.isalpha() and b.isalpha()) or a.islower() or b.islower():
            return False  # headers are words like "first", "last", "name"; data is capitalised
        return self.names.looks_like_person_name(f"{a} {b}") or self.names.looks_like_person_name(
            f"{b} {a}"
        )

    def column_names(
        self, table_name: str | None, columns: list[str], labels: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        """Return the renames a table's columns need (old name -> position name).

        ``labels`` are column names known to label counts (see :meth:`count_labels`).
        """
        key = (table_name, tuple(columns))
        known = self._columns.get(key)
        if known is not None:
            return known
        kinds = [None if c in labels else self._column_kind(c) for c in columns]
        flagged = [k is not None for k in kinds]
        pair = not any(flagged) and any(
            self._name_pair(a, b)
            for a, b in itertools.pairwise(columns)
            if a not in labels and b not in labels
        )
        whole_row = any(flagged) or pair
        if pair:
            self._note("PERSON", " ".join(columns[:3]))
        renames: dict[str, str] = {}
        taken = set(columns)
        for i, column in enumerate(columns):
            if whole_row:
                new = f"column {i + 1}"
                while new in taken and new != column:
                    new += "'"
                if new != column:
                    renames[column] = new
                    taken.add(new)
        if whole_row:
            logger.info(
                "table %s: %d column name(s) look like personal data; named by position",
                self.table_name(table_name) or "(file)",
                sum(flagged) or len(columns),
            )
        self._columns[key] = renames
        return renames

    def _column_kind(self, column: str) -> str | None:
        """Return the entity a name carries, noting the part that carries it."""
        for part in (p for p in _SEGMENTS.split(column) if p):
            entity = self.kind(part)
            if entity is not None:
                self._note(entity, part)
                return entity
        entity = self.kind(column)
        self._note(entity, column)
        return entity

    def table_name(self, name: str | None) -> str | None:
        """Return a table's name, with each personal part replaced by its position name."""
        if name is None:
            return None
        if name in self._tables:
            return self._tables[name]
        parts = name.split("::")
        out = []
        for depth, part in enumerate(parts):
            if self._column_kind(part) is not None:
                prefix = "::".join(parts[: depth + 1])
                out.append(self._position(prefix, depth))
            else:
                out.append(part)
        safe = "::".join(out)
        self._tables[name] = safe
        return safe

    def _position(self, prefix: str, depth: int) -> str:
        """Return ``member N`` / ``table N`` for a name part, by order of first sight."""
        known = self._positions.get((depth, prefix))
        if known is None:
            word = "member" if _FILE_SUFFIX.search(prefix.rsplit("::", 1)[-1]) else "table"
            n = self._counts[(depth, word)] = self._counts.get((depth, word), 0) + 1
            known = self._positions[(depth, prefix)] = f"{word} {n}"
        return known

    def count_labels(self, table: Table) -> frozenset[str]:
        """Return the person-name column names that head columns of counts.

        An election result has one column per candidate and vote counts below: two or
        more names of people over numbers are labels of a cross-tabulation. A record
        taken for a header row has one name, and beside it the person's other fields.
        """
        named = [c for c in table.columns if self.kind(c) == "PERSON"]
        if len(named) < 2:
            return frozenset()
        counts = frozenset(c for c in table.columns if self._counts_below(table, c))
        return counts if counts.issuperset(named) else frozenset()

    @staticmethod
    def _counts_below(table: Table, column: str) -> bool:
        """Say whether a column's values are counts or shares (nearly all of them)."""
        values = table.frame.get_column(column).drop_nulls().head(200).cast(str).to_list()
        filled = [v for v in values if v.strip()]
        return bool(filled) and sum(bool(_COUNT.match(v)) for v in filled) >= 0.9 * len(filled)

    def table(self, table: Table) -> Table:
        """Return the table with personal column and table names replaced."""
        renames = self.column_names(table.name, table.columns, self.count_labels(table))
        name = self.table_name(table.name)
        if not renames and name == table.name:
            return table
        frame = table.frame.rename(renames) if renames else table.frame
        return dataclasses.replace(table, name=name, frame=frame)

    def findings(self, source: str, hasher: ValueHasher) -> list[Finding]:
        """Return one finding per entity seen in the file's names (masked evidence only).

        Personal data in names is a leak like personal data in cells: a file keyed by
        e-mail addresses, or an archive of members named after people, publishes them.
        """
        out = []
        for entity, (count, samples) in sorted(self.found.items()):
            out.append(
                Finding(
                    file=source,
                    table=None,
                    column=None,
                    entity=entity,
                    severity=Severity.HIGH,
                    score=0.9,
                    matched=count,
                    scanned=count,
                    evidence=tuple(mask(raw, entity) for raw in samples),
                    reason=(
                        f"{count} name(s) of columns, tables, archive members or keys hold"
                        f" what looks like {entity}; they are shown by position"
                        " (column 3, member 2)"
                    ),
                    fingerprint=hasher.digest([entity, "names", *samples]),
                )
            )
        return out

    def text(self, message: str) -> str:
        """Return an error or log text with quoted personal names and raw identifiers masked."""

        def quoted(match: re.Match[str]) -> str:
            inner = match.group(1) if match.group(1) is not None else match.group(2)
            if self.personal(inner) or any(self.personal(p) for p in _SEGMENTS.split(inner) if p):
                return "'(a name that looks like personal data)'"
            return match.group(0)

        def token(match: re.Match[str]) -> str:
            # A file or member name as one word (``smith_john.csv:``), unquoted.
            word = match.group(0).rstrip(":,;)")
            if ("_" in word or _FILE_SUFFIX.search(word)) and self._full_name(word):
                return "(a name that looks like personal data)" + match.group(0)[len(word) :]
            return match.group(0)

        out = _QUOTED.sub(quoted, message)
        out = _BARE.sub(token, out)
        out = _NEEDLE.sub(lambda m: mask(m.group(0), "ID"), out)
        out = _DATE.sub(lambda m: mask(m.group(0), "DATE_OF_BIRTH"), out)
        # Long numbers outside quotes stay: in reader errors they are sizes and counts.
        return _STREET.sub(lambda m: mask(m.group(0), "STREET_ADDRESS"), out)


class ReaderLogScrubber(logging.Filter):
    """A logging filter that passes reader log lines through ``IdentifierGuard.text``.

    Readers log member names, sheet names and JSON paths as they read; this keeps
    personal ones out of the log without each reader knowing about detectors.
    """

    def __init__(self, guard: IdentifierGuard) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drop it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = self.guard.text(message), None
        return True
