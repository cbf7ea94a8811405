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

from monitor.config import load_settings
from monitor.logs import configure_logging
from monitor.models import utcnow

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.store import FindingRecord, Store

__all__ = ["add_commands"]

logger = logging.getLogger(__name__)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _store(settings: Settings) -> Store:
    from monitor.store import Store  # lazy import: SQLAlchemy only for commands that need it

    return Store(settings.storage.get_secret_value())


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a configuration file and print it resolved, with secrets redacted."""
    settings = load_settings(args.file)
    resolved: dict[str, Any] = settings.model_dump(mode="json")
    # Show where the store is, but not its password.
    resolved["storage"] = re.sub(
        r"(://[^:/@]+:)[^@]*@", r"\1**********@", settings.storage.get_secret_value()
    )
    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    print(
        f"# {args.file}: valid ({len(settings.targets)} target(s), "
        f"{len(settings.notify)} notifier(s))",
        file=sys.stderr,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the daemon until SIGTERM or SIGINT."""
    settings = _settings(args)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO, json_lines=args.json_logs)
    from monitor.daemon import Daemon  # lazy import: Scrapy and Twisted only for `run`

    Daemon(settings).run()
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
        print(
            f"{r['status']:<9} {r['severity'].upper():<8} {r['entity']:<17} "
            f"{r['target']}  {r['resource_url']}  {r['table'] or ''} {where}"
        )
        print(
            f"          {r['matched']}/{r['scanned']} e.g. {', '.join(r['evidence'])}  "
            f"opened {r['opened_at']}"
        )
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

    configure_logging(logging.DEBUG if args.verbose else logging.WARNING)
    settings = load_settings(args.config) if args.config else Settings()
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

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", "-c", type=Path, required=True, help="leakmon YAML config")

    run = sub.add_parser("run", help="run the daemon: crawl, scan, alert")
    config_arg(run)
    run.add_argument(
        "--json-logs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="JSON lines on stderr (default) or plain text",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a config and print it resolved")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_check_config)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    config_arg(migrate)
    migrate.set_defaults(func=cmd_migrate)

    findings = sub.add_parser("findings", help="list findings")
    config_arg(findings)
    findings.add_argument("--open", action="store_true", help="only open findings")
    findings.add_argument("--target", default=None)
    findings.add_argument("--format", choices=("text", "json"), default="text")
    findings.set_defaults(func=cmd_findings)

    disc = sub.add_parser("discover", help="show the portal kind and files leakmon would watch")
    disc.add_argument("url")
    disc.add_argument("--kind", default=None, help="skip detection (html, ckan, socrata, ...)")
    disc.add_argument(
        "--config", "-c", type=Path, default=None, help="use this config's crawl settings"
    )
    disc.add_argument("--format", choices=("text", "json"), default="text")
    disc.set_defaults(func=cmd_discover)

    baseline = sub.add_parser("baseline", help="schema baselines")
    bsub = baseline.add_subparsers(dest="baseline_command", required=True)
    accept = bsub.add_parser("accept", help="accept current schemas as the new baselines")
    config_arg(accept)
    accept.add_argument("resource", nargs="?", default=None, help="a file URL")
    accept.add_argument("--target", default=None, help="every file of a target")
    accept.add_argument("--reason", required=True, help="why the change is intended (audited)")
    accept.add_argument("--actor", default=None, help="who accepts (default: $USER)")
    accept.set_defaults(func=cmd_baseline_accept)
