"""Operator commands: run the daemon, check the config, migrate, list findings, accept baselines."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from monitor import __version__
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.logs import configure_logging
from monitor.models import utcnow
from monitor.printable import printable
from monitor.redaction import redact_text, redact_url

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.models import Coverage
    from monitor.store import FindingRecord, Store

__all__ = [
    "CONFIG_ENV",
    "add_commands",
    "add_common",
    "command",
    "config_path",
    "log_level",
    "optional_config",
    "verbosity",
]

logger = logging.getLogger(__name__)


#: The environment variable that names the config file when ``--config`` is not given.
CONFIG_ENV = "LEAKMON_CONFIG"


class _Help(argparse.RawDescriptionHelpFormatter):
    """Keep the examples' line breaks; wrap the rest."""


def add_common(parser: argparse.ArgumentParser, config: str | None = "required") -> None:
    """Add ``-v``/``-q`` (anywhere on the line) and, unless ``config`` is None, ``--config``."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        dest="verbose_sub",
        help="more log lines (-vv for debug)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        dest="quiet_sub",
        help="fewer log lines: errors only",
    )
    if config is not None:
        parser.add_argument(
            "--config",
            "-c",
            type=Path,
            default=None,
            metavar="FILE",
            help=f"leakmon YAML config (default: ${CONFIG_ENV})"
            + ("" if config == "required" else "; optional here"),
        )


def command(sub: Any, name: str, summary: str, description: str, examples: str) -> Any:
    """Add a subcommand with its one-line summary, description and examples."""
    # Any: argparse's private _SubParsersAction and the parser it returns.
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=_Help,
    )


def verbosity(args: argparse.Namespace) -> int:
    """Return the net count of -v minus -q, before and after the subcommand."""
    return (
        getattr(args, "verbose", 0)
        + getattr(args, "verbose_sub", 0)
        - getattr(args, "quiet", 0)
        - getattr(args, "quiet_sub", 0)
    )


def log_level(args: argparse.Namespace, default: int = logging.WARNING) -> int:
    """Return the log level: each -v one step more detail, each -q one step less."""
    return min(logging.CRITICAL, max(logging.DEBUG, default - 10 * verbosity(args)))


def optional_config(args: argparse.Namespace) -> Path | None:
    """Return ``--config`` (after or before the subcommand), else ``$LEAKMON_CONFIG``, or None."""
    given: Path | None = getattr(args, "config", None) or getattr(args, "config_top", None)
    if given is None and os.environ.get(CONFIG_ENV):
        given = Path(os.environ[CONFIG_ENV])
    return given


def config_path(args: argparse.Namespace) -> Path:
    """Return the config file the command must read.

    Raises:
        ConfigError: when neither ``--config`` nor ``$LEAKMON_CONFIG`` names one.
    """
    given = optional_config(args)
    if given is None:
        raise ConfigError(f"no configuration: give --config FILE or set {CONFIG_ENV}")
    return given


def _settings(args: argparse.Namespace, notifier_secrets: bool = False) -> Settings:
    """Load the config; only ``run`` needs the notifiers' secrets to be set."""
    return load_settings(config_path(args), notifier_secrets=notifier_secrets)


def _shown_storage(settings: Settings) -> str:
    """Return the storage URL without its password or any secret-looking query value."""
    raw = settings.storage.get_secret_value()
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return "<storage URL without a scheme>"
    # The user-info ends at the LAST @ before the path: an unencoded @ in a password
    # must not leave its tail in sight.
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        user = authority.rsplit("@", 1)[0].split(":", 1)[0]
        authority = f"{user}:***@{authority.rsplit('@', 1)[1]}"
    shown = f"{scheme}://{authority}{slash}{tail}"
    return re.sub(r"(?i)([?&][^=&]*(?:pass|secret|token|key)[^=&]*=)[^&#]*", r"\1***", shown)


def _store(settings: Settings) -> Store:
    from monitor.store import Store  # lazy import: SQLAlchemy only for commands that need it

    return Store(settings.storage.get_secret_value())


def _redacted(value: Any) -> Any:  # Any: a JSON-like tree from model_dump
    """Return a copy of a JSON-like tree with every URL in its strings redacted."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return redact_text(value) if isinstance(value, str) else value


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a configuration file and print it resolved, with secrets redacted."""
    path: Path = args.file or config_path(args)
    settings = load_settings(path, notifier_secrets=False)
    try:
        load_settings(path)
    except ConfigError as exc:  # valid, but `leakmon run` would refuse it: say why
        print(f"# note: leakmon run needs: {exc}", file=sys.stderr)
    # Show where the store is, but no secret a URL carries (user-info password, an
    # unencoded @ in it, ?password=, a fragment), in the storage URL or anywhere else.
    resolved: dict[str, Any] = _redacted(settings.model_dump(mode="json"))
    resolved["storage"] = redact_url(settings.storage.get_secret_value())
    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    print(
        f"# {path}: valid ({len(settings.targets)} target(s), {len(settings.notify)} notifier(s))",
        file=sys.stderr,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the daemon until SIGTERM or SIGINT."""
    path = config_path(args)
    settings = _settings(args, notifier_secrets=True)
    configure_logging(log_level(args, logging.INFO), json_lines=args.json_logs)
    logger.info(
        "leakmon %s starting",
        __version__,
        extra={
            "version": __version__,
            "config": str(path),
            "storage": _shown_storage(settings),
            "targets": [t.name for t in settings.targets],
            "notifiers": [n.name for n in settings.notify],
            "cluster": settings.cluster is not None,
        },
    )
    from monitor.daemon import Daemon  # lazy import: Scrapy and Twisted only for `run`

    Daemon(settings, config_path=path).run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    store = _store(_settings(args))
    store.migrate()
    print("database schema is current")
    return 0


def _finding_row(f: FindingRecord) -> dict[str, Any]:
    return {
        "key": f.key,
        "status": f.status,
        "severity": str(f.severity),
        "entity": f.entity,
        "target": f.target,
        "resource_url": f.resource_url,
        "table": f.table,
        "column": f.column,
        "columns": list(f.columns),
        "matched": f.matched,
        "scanned": f.scanned,
        "evidence": list(f.evidence),
        "reason": f.reason,
        "opened_at": f.opened_at.isoformat(),
        "last_seen_at": f.last_seen_at.isoformat(),
        "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None,
    }


def cmd_findings(args: argparse.Namespace) -> int:
    """List findings from the store, newest first."""
    store = _store(_settings(args))
    store.check_current()
    rows = [_finding_row(f) for f in store.findings(open_only=args.open, target=args.target)]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no findings" + (" open" if args.open else ""))
    for r in rows:
        where = r["column"] or ",".join(r["columns"])
        # Names, URLs and evidence come from files and portals: controls are shown, not obeyed.
        print(
            printable(
                f"{r['status']:<9} {r['severity'].upper():<8} {r['entity']:<17} "
                f"{r['target']}  {r['resource_url']}  {r['table'] or ''} {where}"
            )
        )
        print(
            printable(
                f"          {r['matched']}/{r['scanned']} e.g. {', '.join(r['evidence'])}  "
                f"opened {r['opened_at']}"
            )
        )
    # Findings say what leaked; coverage says what could not be looked at (never clean).
    walks = store.walks()
    for name in sorted(walks):
        coverage = walks[name][1]
        if args.target in (None, name) and coverage is not None and coverage.verdict != "complete":
            print("\n".join(_coverage_lines(coverage, name)))
    return 0


def _coverage_lines(coverage: Coverage | None, target: str) -> list[str]:
    """Return what a target's last poll checked, and what it did not and why, as text."""
    if coverage is None:
        return [f"{target}: not polled yet (no coverage recorded)"]
    head = f"{target}: last poll {coverage.at.isoformat(timespec='seconds')} {coverage.verdict}"
    lines = [head, f"  coverage {coverage.line()}"]
    if coverage.why:
        lines.append(f"  not complete: {coverage.why}")
    if coverage.incomplete_since:
        lines.append(
            f"  incomplete since {coverage.incomplete_since.isoformat(timespec='seconds')}"
        )
    lines += [f"  not checked: {note}" for note in coverage.notes]
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    """Show each target's last poll: what it checked, and what it could not, with why."""
    settings = _settings(args)
    store = _store(settings)
    store.check_current()
    walks = store.walks()
    names = [t.name for t in settings.targets if args.target in (None, t.name)]
    if args.format == "json":
        out = {n: (c.to_dict() if (c := walks.get(n, (None, None))[1]) else None) for n in names}
        print(json.dumps(out, indent=2))
        return 0
    for name in names:
        print("\n".join(_coverage_lines(walks.get(name, (None, None))[1], name)))
    return 0


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    """Accept the latest observed schemas as baselines (audited)."""
    if not args.resource and not args.target:
        print("leakmon: give a RESOURCE URL or --target NAME", file=sys.stderr)
        return 2
    store = _store(_settings(args))
    store.check_current()
    actor = args.actor or os.environ.get("USER") or "operator"
    count = store.accept_baselines(
        url=args.resource, target=args.target, actor=actor, reason=args.reason, at=utcnow()
    )
    print(f"accepted {count} schema baseline(s) as {actor}: {args.reason}")
    return 0 if count else 1


def cmd_discover(args: argparse.Namespace) -> int:
    """Print what leakmon would watch at a URL: the portal kind and its files, unfetched."""
    from monitor.config import Settings
    from monitor.crawl.discover import discover  # lazy import: Scrapy only for this command

    configure_logging(log_level(args))
    path = optional_config(args)
    settings = load_settings(path, notifier_secrets=False) if path else Settings()
    found = discover(settings, args.url, args.kind)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "url": found.url,
                    "kind": found.kind,
                    "evidence": found.evidence,
                    "incomplete": found.incomplete,
                    "files": [f.__dict__ for f in found.files],
                },
                indent=2,
            )
        )
        return 0
    print(f"{found.url}: portal kind {found.kind}" + ("" if args.kind else " (detected)"))
    for clue in found.evidence.values():
        print(f"  evidence: {clue}")
    print(f"{len(found.files)} file(s) would be watched:")
    for f in found.files:
        label = " / ".join(x for x in (f.dataset, f.title) if x)
        print(f"  {f.url}" + (f"  [{label}]" if label else ""))
    if found.incomplete:
        print(f"note: the crawl was incomplete: {found.incomplete}")
    print(
        "\nTarget configuration:\n"
        f'  - name: my-portal\n    start_urls: ["{found.url}"]\n    kind: {found.kind}\n'
        "    every: 5m"
    )
    return 0


def add_commands(sub: Any) -> None:
    """Add the operator subcommands to the ``leakmon`` parser."""
    run = command(
        sub,
        "run",
        "run the daemon: crawl the targets, scan new files, raise alerts",
        "Migrate the store, then poll every target, scan each new or changed file in an"
        " isolated worker and deliver alerts, until SIGTERM or SIGINT (SIGHUP reloads the"
        " configuration). Logs go to stderr as JSON lines; metrics and health are served on"
        " http.listen.",
        "  leakmon run --config /etc/leakmon/leakmon.yaml\n"
        "  LEAKMON_CONFIG=/etc/leakmon/leakmon.yaml leakmon run\n"
        "  leakmon run --no-json-logs -v      # readable text, debug lines",
    )
    add_common(run)
    run.add_argument(
        "--json-logs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="JSON lines on stderr (default) or plain text",
    )
    run.set_defaults(func=cmd_run)

    check = command(
        sub,
        "check-config",
        "validate a config and print it resolved, secrets redacted",
        "Load the configuration as `leakmon run` would, print it with every default filled"
        " in and secrets redacted, and exit 2 naming the field and value if it is invalid."
        " Notifier secrets (${VARIABLES} under notify:) may be unset here: a note says"
        " which ones `leakmon run` will need.",
        "  leakmon check-config /etc/leakmon/leakmon.yaml\n"
        "  leakmon check-config --config /etc/leakmon/leakmon.yaml\n"
        "  LEAKMON_CONFIG=/etc/leakmon/leakmon.yaml leakmon check-config",
    )
    add_common(check)
    check.add_argument("file", type=Path, nargs="?", default=None, help="same as --config")
    check.set_defaults(func=cmd_check_config)

    migrate = command(
        sub,
        "migrate",
        "bring the database schema up to date",
        "Apply the store's pending schema migrations (`leakmon run` also does it on start).",
        "  leakmon migrate --config /etc/leakmon/leakmon.yaml",
    )
    add_common(migrate)
    migrate.set_defaults(func=cmd_migrate)

    findings = command(
        sub,
        "findings",
        "list findings from the store (masked evidence only)",
        "List findings, newest first: status, severity, entity, target, file, table and"
        " column, counts and masked evidence. Read-only: no notifier secret is needed.",
        "  leakmon findings --open\n  leakmon findings --open --target openjustice --format json",
    )
    add_common(findings)
    findings.add_argument("--open", action="store_true", help="only open findings")
    findings.add_argument("--target", default=None, help="only this target's findings")
    findings.add_argument("--format", choices=("text", "json"), default="text")
    findings.set_defaults(func=cmd_findings)

    status = command(
        sub,
        "status",
        "each target's last poll: resources checked, and not checked with why",
        "Show, for every configured target, what its last poll found and checked, and what"
        " it could not check with the reason. Read-only: no notifier secret is needed.",
        "  leakmon status\n  leakmon status --target openjustice --format json",
    )
    add_common(status)
    status.add_argument("--target", default=None, help="only this target")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=cmd_status)

    disc = command(
        sub,
        "discover",
        "show the portal kind and files leakmon would watch at a URL",
        "Detect the portal kind at a URL (CKAN, Socrata, ArcGIS, DCAT, Tableau or plain"
        " HTML) and list the data files leakmon would watch there, without downloading"
        " them; print a target entry to paste into the config.",
        "  leakmon discover https://data.example.gov/\n"
        "  leakmon discover https://data.example.gov/ --kind ckan --format json",
    )
    add_common(disc, config="optional")
    disc.add_argument("url")
    disc.add_argument("--kind", default=None, help="skip detection (html, ckan, socrata, ...)")
    disc.add_argument("--format", choices=("text", "json"), default="text")
    disc.set_defaults(func=cmd_discover)

    baseline = command(
        sub,
        "baseline",
        "schema baselines",
        "Manage the schema baselines that schema-drift findings compare against.",
        "  leakmon baseline accept --target openjustice --reason 'new column approved'",
    )
    add_common(baseline, config=None)
    bsub = baseline.add_subparsers(dest="baseline_command", required=True, metavar="COMMAND")
    accept = command(
        bsub,
        "accept",
        "accept current schemas as the new baselines (audited)",
        "Promote the latest observed schemas of a file, or of every file of a target, to"
        " baselines; the schema-drift findings they raised resolve. Recorded in the audit"
        " log with --actor and --reason.",
        "  leakmon baseline accept --target openjustice --reason 'new column approved'\n"
        "  leakmon baseline accept https://data.example.gov/files/permits.csv \\\n"
        "      --reason 'aggregates only, checked by J. Doe'",
    )
    add_common(accept)
    accept.add_argument("resource", nargs="?", default=None, help="a file URL")
    accept.add_argument("--target", default=None, help="every file of a target")
    accept.add_argument("--reason", required=True, help="why the change is intended (audited)")
    accept.add_argument("--actor", default=None, help="who accepts (default: $USER)")
    accept.set_defaults(func=cmd_baseline_accept)
