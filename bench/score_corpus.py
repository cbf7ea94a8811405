"""Score leakmon (and naive per-cell Presidio) on the labelled corpus in tests/corpus/labels.json.

Usage: ``python bench/score_corpus.py [--no-presidio] [--presidio-rows N] [--json OUT]``

Per file it prints the verdict (pages = a finding at ``high`` or more) against the
label, then column precision and recall and the clean columns raised to ``medium`` or
more. A labelled personal-data column counts as found when a finding of ``medium`` or
more names it with its entity (or one of its ``also`` entities); a clean column counts
as a false positive when any finding of ``medium`` or more names it. Table-level
re-identification findings name no single column and are listed per file instead.

Files whose label carries ``known_miss`` (a recorded misjudgement and why) count in
the headline figures like any other; the figures without them are printed too.

Presidio is run the naive way, per cell, on the first ``--presidio-rows`` rows of every
table (the peers sample 100-200 rows): a column is flagged with the entity most of its
hits carry when at least 20% of its non-empty cells have a hit scoring 0.5 or more.
Presidio's ``LOCATION`` counts as ``ADDRESS``; ``DATE_TIME``, ``NRP``, ``URL`` and the
like are not personal data entities and are ignored. With the ``no_op`` NLP engine
Presidio has no ``PERSON`` recognizer; the spaCy small model is used when installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "corpus" / "labels.json"
SHARED = REPO.parent / "shared" / "corpus"
PAGE, NOTE = "high", "medium"
_ORDER = {"low": 1, "medium": 2, "high": 3, "critical": 4}
_PRESIDIO_MAP = {
    "PERSON": "PERSON",
    "US_SSN": "US_SSN",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "LOCATION": "ADDRESS",
    "US_PASSPORT": "NATIONAL_ID",
    "US_ITIN": "NATIONAL_ID",
    "US_BANK_NUMBER": "NATIONAL_ID",
}


def corpus_path(key: str) -> Path:
    """Return where a labelled file lives: ``real/`` in ../shared, the rest in the repository."""
    folder, _, name = key.partition("/")
    if folder == "real":
        return SHARED / folder / name
    return REPO / "tests" / "corpus" / folder / name


@dataclass
class Score:
    """Counts for one engine over the corpus."""

    verdicts_right: int = 0
    files: int = 0
    tp: int = 0
    fn: int = 0
    fp: int = 0
    clean_loud: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    wrong_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        """Return the share of labelled personal-data columns found with their entity."""
        return self.tp / max(1, self.tp + self.fn)

    @property
    def precision(self) -> float:
        """Return the share of raised columns that hold the personal data they were raised for."""
        return self.tp / max(1, self.tp + self.fp)

    def summary(self) -> dict[str, Any]:
        """Return the figures as a JSON-able dict."""
        return {
            "files": self.files,
            "verdicts_right": self.verdicts_right,
            "wrong_files": self.wrong_files,
            "column_recall": round(self.recall, 4),
            "column_precision": round(self.precision, 4),
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "clean_columns_medium_or_more": len(self.clean_loud),
            "clean_loud": self.clean_loud,
            "misses": self.misses,
            "seconds": round(self.seconds, 2),
        }


def _judge(
    key: str,
    label: dict[str, Any],
    raised: dict[str, set[str]],
    pages: bool,
    score: Score,
) -> list[str]:
    """Fold one file's raised columns into ``score``; return this file's notes."""
    notes: list[str] = []
    score.files += 1
    right = pages == (label["expect"] == "leak")
    score.verdicts_right += right
    if not right:
        score.wrong_files.append(key)
    columns: dict[str, Any] = label["columns"]
    for col, truth in columns.items():
        got = raised.get(col, set())
        if truth["entity"]:
            ok = {truth["entity"], *truth.get("also", ())}
            if got & ok:
                score.tp += 1
            else:
                score.fn += 1
                score.misses.append(f"{key}::{col} ({truth['entity']}; got {sorted(got) or '-'})")
                notes.append(f"missed {col} {truth['entity']}")
        elif got:
            score.fp += 1
            score.clean_loud.append(f"{key}::{col} ({','.join(sorted(got))})")
            notes.append(f"clean {col} raised {','.join(sorted(got))}")
    for col, got in raised.items():
        if col not in columns and got:
            score.fp += 1
            score.clean_loud.append(f"{key}::{col} (unlabelled column: {','.join(sorted(got))})")
            notes.append(f"unlabelled column {col} raised")
    return notes


def score_leakmon(labels: dict[str, Any], verbose: bool = True) -> Score:
    """Scan every labelled file with leakmon and score it."""
    from monitor.scan import scan_path

    score = Score()
    for key, label in labels.items():
        path = corpus_path(key)
        start = time.monotonic()
        report = scan_path(path)
        score.seconds += time.monotonic() - start
        raised: dict[str, set[str]] = {}
        reid = []
        for f in report.findings:
            sev = str(f.severity)
            if f.entity == "REIDENTIFICATION":
                reid.append(f"{sev} re-identification over {', '.join(f.columns)}")
                continue
            if _ORDER[sev] >= _ORDER[NOTE] and f.column:
                raised.setdefault(f.column, set()).add(f.entity)
        worst = str(report.worst) if report.worst else "none"
        pages = report.worst is not None and _ORDER[worst] >= _ORDER[PAGE]
        notes = _judge(key, label, raised, pages, score)
        if report.error:
            notes.insert(0, f"error: {report.error}")
        if verbose:
            mark = "ok " if pages == (label["expect"] == "leak") else "BAD"
            print(
                f"  {mark} {key:<58} expect {label['expect']:<5} worst {worst:<8}"
                + (f"  [{'; '.join(notes + reid)}]" if notes or reid else "")
            )
    return score


def _combine(a: Score, b: Score) -> Score:
    """Return the score of two disjoint parts of the corpus taken together."""
    return Score(
        verdicts_right=a.verdicts_right + b.verdicts_right,
        files=a.files + b.files,
        tp=a.tp + b.tp,
        fn=a.fn + b.fn,
        fp=a.fp + b.fp,
        clean_loud=a.clean_loud + b.clean_loud,
        misses=a.misses + b.misses,
        wrong_files=a.wrong_files + b.wrong_files,
        seconds=a.seconds + b.seconds,
    )


def _presidio_engine(spacy_model: str | None) -> Any:  # presidio types are untyped here
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider, NoOpNlpEngine

    if spacy_model is None:
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    else:
        nlp = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": spacy_model}],
            }
        ).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def score_presidio(
    labels: dict[str, Any], rows: int, spacy_model: str | None, verbose: bool = False
) -> Score:
    """Score naive per-cell Presidio on the first ``rows`` rows of every table."""
    from monitor.config import ScanConfig
    from monitor.readers import read_tables

    engine = _presidio_engine(spacy_model)
    limits = ScanConfig().limits.read_limits()
    score = Score()
    for key, label in labels.items():
        cells: dict[str, list[str]] = {}
        try:
            for table in read_tables(corpus_path(key), limits):
                for col in table.frame.columns:
                    have = cells.setdefault(col, [])
                    if len(have) >= rows:
                        continue
                    values = table.frame.get_column(col).drop_nulls().head(rows - len(have))
                    have.extend(str(v) for v in values.to_list() if str(v).strip())
        except Exception as exc:
            print(f"  presidio: {key}: read error {type(exc).__name__}", file=sys.stderr)
        start = time.monotonic()
        raised: dict[str, set[str]] = {}
        for col, values in cells.items():
            hits: Counter[str] = Counter()
            hit_cells = 0
            for v in values:
                found = {
                    _PRESIDIO_MAP[r.entity_type]
                    for r in engine.analyze(text=v[:5000], language="en")
                    if r.score >= 0.5 and r.entity_type in _PRESIDIO_MAP
                }
                hit_cells += bool(found)
                hits.update(found)
            if values and hit_cells >= 0.2 * len(values):
                raised[col] = {hits.most_common(1)[0][0]}
        score.seconds += time.monotonic() - start
        pages = bool(raised)
        notes = _judge(key, label, raised, pages, score)
        if verbose:
            print(f"  presidio {key}: {'pages' if pages else 'quiet'} {notes}")
    return score


def _spacy_small() -> str | None:
    try:
        import en_core_web_sm  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return None
    return "en_core_web_sm"


def _print(name: str, s: Score) -> None:
    print(
        f"{name:<34} verdicts {s.verdicts_right}/{s.files}  recall {s.recall:.3f}  "
        f"precision {s.precision:.3f}  (tp {s.tp}, fn {s.fn}, fp {s.fp})  "
        f"clean columns >= medium: {len(s.clean_loud)}  time {s.seconds:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the scoring and print the table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-presidio", action="store_true", help="score leakmon only")
    parser.add_argument(
        "--presidio-rows", type=int, default=100, help="rows per table for Presidio"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no per-file lines")
    args = parser.parse_args(argv)
    labels = json.loads(LABELS.read_text())
    missing = [k for k in labels if not corpus_path(k).is_file()]
    if missing:
        print(f"corpus files missing (clone ../shared beside the repo): {missing}", file=sys.stderr)
        return 2
    print(f"corpus: {len(labels)} files, {sum(len(v['columns']) for v in labels.values())} columns")
    known = {k: v for k, v in labels.items() if v.get("known_miss")}
    rest = score_leakmon({k: v for k, v in labels.items() if k not in known}, not args.quiet)
    ours = _combine(rest, score_leakmon(known, verbose=not args.quiet))
    results = {"leakmon": ours.summary(), "leakmon_without_known_misses": rest.summary()}
    rows = [("leakmon", ours), (f"leakmon without {len(known)} known misses", rest)]
    if not args.no_presidio:
        noop = score_presidio(labels, args.presidio_rows, None)
        results["presidio_no_op"] = noop.summary()
        rows.append((f"presidio per cell, no_op ({args.presidio_rows} rows)", noop))
        model = _spacy_small()
        if model:
            sm = score_presidio(labels, args.presidio_rows, model)
            results["presidio_spacy_sm"] = sm.summary()
            rows.append((f"presidio per cell, {model}", sm))
        else:
            print("presidio with spaCy small: not run (en_core_web_sm is not installed)")
    print()
    for name, s in rows:
        _print(name, s)
    for key, label in known.items():
        print(f"  known miss: {key}: {label['known_miss']}")
    for name, s in rows[:1]:
        for line in s.wrong_files:
            print(f"  {name} wrong verdict: {line}")
        for line in s.misses:
            print(f"  {name} missed: {line}")
        for line in s.clean_loud:
            print(f"  {name} clean column raised: {line}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
