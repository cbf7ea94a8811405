"""The ``leakmon`` command line: the one place that prints."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import resources
from pathlib import Path

from monitor import __version__
from monitor.admin import (
    CONFIG_ENV,
    add_commands,
    add_common,
    command,
    log_level,
    optional_config,
)
from monitor.config import load_scan_config
from monitor.download import download
from monitor.errors import ConfigError, FetchError, FileTooLarge, StoreError
from monitor.isolation import IsolatedScanner
from monitor.models import FileReport
from monitor.report import render_json, render_text
from monitor.sarif import render_sarif

__all__ = ["main"]

logger = logging.getLogger("monitor")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: What a command killed by a closed pipe exits with, as if by SIGPIPE (128 + 13).
EXIT_PIPE = 141

_DESCRIPTION = """\
leakmon watches public data portals and raises the alarm when a published file carries
personal data: the daemon (`leakmon run`) crawls the configured portals, scans every new
or changed file in an isolated worker and pages on-call; `leakmon scan` is the same
scanner as a one-shot gate before a file is published."""
_EPILOG = f"""\
examples:
  leakmon demo                                   # a leak found in a stand-in portal, ~15 s
  leakmon scan export.csv https://data.example.gov/files/data.json
  leakmon scan --format sarif ./to-publish/ > leakmon.sarif
  leakmon check-config /etc/leakmon/leakmon.yaml
  leakmon run --config /etc/leakmon/leakmon.yaml
  leakmon findings --open                        # with {CONFIG_ENV} set

Every command that reads a configuration takes --config FILE, or reads ${CONFIG_ENV}.
-v and -q go anywhere on the line. `leakmon COMMAND --help` for each command's examples.
Docs: https://github.com/leakmon/leakmon/tree/main/docs"""


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
    args.config_obj = load_scan_config(optional_config(args), overrides)
    targets = _expand(args.targets)
    scanner = IsolatedScanner(args.config_obj) if args.isolate else None
    reports = []
    for i, target in enumerate(targets, start=1):
        reports.append(_scan_one(target, args, scanner))
        _progress(i, len(targets), target)
    if args.format == "json":
        print(render_json(reports))
    elif args.format == "sarif":
        print(render_sarif(reports))
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


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the shell completion script."""
    from monitor.completion import completion_script  # lazy import: only for this command

    print(completion_script(build_parser(), args.shell), end="")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="leakmon",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"leakmon {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="fewer log lines")
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        dest="config_top",
        metavar="FILE",
        help=f"leakmon YAML config for the command (default: ${CONFIG_ENV})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = command(
        sub,
        "scan",
        "scan files or URLs for personal data (a publishing gate)",
        "Scan files, directories (recursively) or URLs, each in an isolated worker, and"
        " report what personal data they carry, with masked evidence only. Exit 0 when"
        " clean, 1 when a finding reaches --fail-on, 2 when a file could not be checked."
        " The scan: section of --config (or $LEAKMON_CONFIG) sets limits and detection.",
        "  leakmon scan export.csv roster.xlsx\n"
        "  leakmon scan https://data.example.gov/files/data.json\n"
        "  leakmon scan --format json --fail-on critical ./to-publish/\n"
        "  leakmon scan --format sarif ./to-publish/ > leakmon.sarif   # code scanning",
    )
    add_common(scan, config="optional")
    scan.add_argument("targets", nargs="+", metavar="PATH_OR_URL")
    scan.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="text for people, json for scripts, sarif (2.1.0) for code-scanning CI",
    )
    scan.add_argument(
        "--fail-on",
        choices=("low", "medium", "high", "critical"),
        default=None,
        help="exit 1 when a finding is at least this severe (default: high)",
    )
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

    demo = command(
        sub,
        "demo",
        "watch a stand-in portal on 127.0.0.1, publish a leak, show the page",
        "Start a stand-in portal and webhook receiver on 127.0.0.1, run the daemon against"
        " them with SQLite in a temporary folder (removed at the end), publish a row-level"
        " export like the 2022 leak, and print the page it sends and the metrics.",
        "  leakmon demo\n  leakmon demo --offline      # only scan the two bundled files",
    )
    add_common(demo, config=None)
    demo.add_argument(
        "--offline",
        action="store_true",
        help="only scan the bundled example files (no daemon, no sockets)",
    )
    demo.set_defaults(func=cmd_demo)

    add_commands(sub)

    lst = command(
        sub,
        "list",
        "list registered plugins",
        "List the registered plugins of one kind with their one-line documentation.",
        "  leakmon list readers",
    )
    add_common(lst, config=None)
    lst.add_argument("what", choices=("readers",))
    lst.set_defaults(func=cmd_list)

    completion = command(
        sub,
        "completion",
        "print a shell completion script (bash, zsh)",
        "Print a completion script for leakmon's commands, options and their choices.",
        "  source <(leakmon completion bash)\n"
        "  leakmon completion bash > ~/.local/share/bash-completion/completions/leakmon\n"
        "  leakmon completion zsh > ~/.zfunc/leakmon.zsh   # then source it from ~/.zshrc",
    )
    add_common(completion, config=None)
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(func=cmd_completion)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else EXIT_OK
    logging.basicConfig(
        level=log_level(args), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"leakmon: configuration error:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as exc:
        print(f"leakmon: store error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`leakmon scan ... | head`): no traceback, and no second
        # error when Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
