"""The ``leakmon`` command line: the one place that prints."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import resources
from pathlib import Path

from monitor import __version__
from monitor.admin import add_commands
from monitor.config import load_scan_config
from monitor.download import download
from monitor.errors import ConfigError, FetchError, FileTooLarge, StoreError
from monitor.isolation import IsolatedScanner
from monitor.models import FileReport
from monitor.report import render_json, render_text

__all__ = ["main"]

logger = logging.getLogger("monitor")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _expand(targets: list[str]) -> list[str]:
    """Expand directories into the files below them; URLs and files pass through."""
    out: list[str] = []
    for target in targets:
        path = Path(target)
        if "://" not in target and path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file())
        else:
            out.append(target)
    return out


def _progress(i: int, n: int, name: str) -> None:
    if sys.stderr.isatty() and n > 1:
        width = 30
        done = int(width * i / n)
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {name[-40:]:<40}")
        sys.stderr.flush()
        if i == n:
            sys.stderr.write("\n")


def _scan_one(target: str, args: argparse.Namespace, scanner: IsolatedScanner | None) -> FileReport:
    # Imported here, not at the top: with --isolate the parent never loads polars or
    # the name lists, which keeps its memory small beside the worker's.
    from monitor.scan import scan_file  # lazy import: see above

    config = args.config_obj
    if "://" in target:
        try:
            got = download(target, config.limits.read_limits().max_file_bytes)
        except (FetchError, FileTooLarge) as exc:
            return FileReport(target, "unknown", 0, 0, 0, (), f"{type(exc).__name__}: {exc}")
        try:
            if scanner:
                return scanner.scan(got.path, source=target, media_type=got.media_type)
            return scan_file(got.path, config, source=target, media_type=got.media_type)
        finally:
            got.path.unlink(missing_ok=True)
    path = Path(target)
    if not path.is_file():
        return FileReport(target, "unknown", 0, 0, 0, (), "no such file")
    if scanner:
        return scanner.scan(path)
    return scan_file(path, config)


def cmd_scan(args: argparse.Namespace) -> int:
    """Scan files or URLs and exit 0 (clean), 1 (findings at --fail-on or above) or 2 (errors)."""
    overrides = {"fail_on": args.fail_on} if args.fail_on else {}
    if args.no_free_text:
        overrides["free_text_analysis"] = False
    args.config_obj = load_scan_config(args.config, overrides)
    targets = _expand(args.targets)
    scanner = IsolatedScanner(args.config_obj) if args.isolate else None
    reports = []
    for i, target in enumerate(targets, start=1):
        reports.append(_scan_one(target, args, scanner))
        _progress(i, len(targets), target)
    if args.format == "json":
        print(render_json(reports))
    else:
        print(render_text(reports, colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
    threshold = args.config_obj.fail_severity
    if any(f.severity >= threshold for r in reports for f in r.findings):
        return EXIT_FINDINGS
    return EXIT_ERROR if any(r.error for r in reports) else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the daemon against a stand-in portal; with --offline, only scan the examples."""
    if not args.offline:
        from monitor.demo import run_demo  # lazy import: Scrapy and Twisted only for the demo

        return run_demo()
    from monitor.scan import scan_file  # lazy import: keeps `leakmon --help` fast

    examples = resources.files("monitor") / "examples"
    with resources.as_file(examples) as folder:
        files = [folder / "ccw_permits_by_county.csv", folder / "ccw_permits_export.csv"]
        config = load_scan_config(None)
        reports = [scan_file(path, config, source=path.name) for path in files]
    print("leakmon demo: scanning two synthetic files a portal might publish.\n")
    print(render_text(reports, colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
    print(
        "\nThe aggregate file is clean; the export is a row-level list of people and would be "
        "paged as critical.\nScan your own files with: leakmon scan PATH_OR_URL..."
    )
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """List registered plugins of one kind with their one-line documentation."""
    from monitor.readers import REGISTRY  # lazy import: keeps `leakmon --help` fast

    if args.what == "readers":
        for kind, cls in sorted(REGISTRY.items()):
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            print(f"{kind:<12} {', '.join(cls.extensions):<40} {doc}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="leakmon", description=__doc__)
    parser.add_argument("--version", action="version", version=f"leakmon {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="scan files or URLs for personal data (a publishing gate)")
    scan.add_argument("targets", nargs="+", metavar="PATH_OR_URL")
    scan.add_argument("--format", choices=("text", "json"), default="text")
    scan.add_argument(
        "--fail-on",
        choices=("low", "medium", "high", "critical"),
        default=None,
        help="exit 1 when a finding is at least this severe (default: high)",
    )
    scan.add_argument("--config", type=Path, default=None, help="YAML with a scan: section")
    scan.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scan each file in a worker process with memory/time limits",
    )
    scan.add_argument(
        "--no-free-text",
        action="store_true",
        help="skip Presidio analysis of free-text samples (faster)",
    )
    scan.set_defaults(func=cmd_scan)

    demo = sub.add_parser(
        "demo", help="watch a stand-in portal on 127.0.0.1, publish a leak, show the page"
    )
    demo.add_argument(
        "--offline",
        action="store_true",
        help="only scan the bundled example files (no daemon, no sockets)",
    )
    demo.set_defaults(func=cmd_demo)

    add_commands(sub)

    lst = sub.add_parser("list", help="list registered plugins")
    lst.add_argument("what", choices=("readers",))
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else EXIT_OK
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"leakmon: configuration error:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as exc:
        print(f"leakmon: store error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
