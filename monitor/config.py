"""leakmon's configuration: one validated pydantic model tree, defaults on the fields.

Unknown keys are errors (``extra="forbid"``), so a typo in YAML fails with its
field path instead of being silently ignored. Secrets come from ``LEAKMON_*``
environment variables, never from YAML kept in a repository.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.models import ReadLimits, Severity

__all__ = [
    "AllowRule",
    "ClusterConfig",
    "CrawlConfig",
    "HttpConfig",
    "LimitsConfig",
    "NotifierConfig",
    "PageConfig",
    "ScanConfig",
    "Settings",
    "TableauConfig",
    "TargetConfig",
    "format_validation_error",
    "load_scan_config",
    "load_settings",
    "parse_duration",
]

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)
_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def parse_duration(value: object) -> float:
    """Return seconds for ``30s``, ``5m``, ``1h``, ``1h30m`` or a plain number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    text = str(value)
    m = _DURATION.match(text)
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"expected a duration like 30s, 5m, 1h or 1h30m, got {text!r}")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(_Model):
    """Bounds on what one file may cost; see ``monitor.models.ReadLimits``."""

    max_file_mb: int = Field(2048, gt=0, description="largest file read, in MiB")
    max_rows: int = Field(50_000_000, gt=0)
    max_columns: int = Field(5_000, gt=0)
    max_sheets: int = Field(200, gt=0)
    chunk_mb: int = Field(8, gt=0, le=1024, description="bytes of CSV parsed at a time, MiB")
    max_archive_depth: int = Field(3, ge=0)
    max_archive_members: int = Field(10_000, gt=0)
    max_uncompressed_mb: int = Field(4096, gt=0)
    max_compression_ratio: float = Field(200.0, gt=1)
    max_pdf_pages: int = Field(500, gt=0)
    max_json_mb: int = Field(512, gt=0)
    worker_memory_mb: int = Field(3072, gt=128, description="address-space limit of a scan worker")
    worker_timeout_s: float = Field(900.0, gt=0, description="wall-clock limit of one file's scan")
    worker_max_files: int = Field(
        1000, gt=0, description="files a scan worker scans before a fresh one replaces it"
    )
    worker_recycle_mb: int = Field(
        1024, gt=0, description="resident memory after a file past which a scan worker is replaced"
    )

    def read_limits(self) -> ReadLimits:
        """Return the limits readers obey."""
        mib = 1024**2
        return ReadLimits(
            max_file_bytes=self.max_file_mb * mib,
            max_rows=self.max_rows,
            max_columns=self.max_columns,
            max_sheets=self.max_sheets,
            chunk_bytes=self.chunk_mb * mib,
            max_archive_depth=self.max_archive_depth,
            max_archive_members=self.max_archive_members,
            max_uncompressed_bytes=self.max_uncompressed_mb * mib,
            max_compression_ratio=self.max_compression_ratio,
            max_pdf_pages=self.max_pdf_pages,
            max_json_bytes=self.max_json_mb * mib,
        )


class ScanConfig(_Model):
    """How files are scanned."""

    limits: LimitsConfig = LimitsConfig()
    fail_on: str = Field("high", pattern=r"^(low|medium|high|critical)$")
    free_text_analysis: bool = Field(
        True, description="run Presidio's analyzer on a sample of free-text cells"
    )
    recognizers_file: Path | None = Field(
        None, description="extra Presidio YAML recognizers (see config/recognizers.yaml)"
    )
    hash_key: SecretStr | None = Field(
        None, description="HMAC key for finding fingerprints; from LEAKMON_HASH_KEY"
    )
    retry_unchecked: Duration = Field(
        900.0,
        gt=0,
        description="wait before fetching again a file that could not be checked completely;"
        " doubles with each failure, up to a day",
    )

    @property
    def fail_severity(self) -> Severity:
        """Return ``fail_on`` as a severity."""
        return Severity.parse(self.fail_on)


#: The only hosts on which the findings page may be served without authentication.
_LOOPBACK = re.compile(r"^(127\.\d{1,3}\.\d{1,3}\.\d{1,3})$")
#: The shortest page secret accepted: a token or password a person cannot guess.
PAGE_SECRET_MIN = 16


class PageConfig(_Model):
    """The read-only findings page (``http.page``); absent, no page is served.

    The secret (the bearer token, or the basic-auth password) comes from
    ``LEAKMON_PAGE_SECRET`` or from the file named by ``LEAKMON_PAGE_SECRET_FILE``,
    never from YAML kept in a repository; without one the daemon refuses to start
    the page. ``auth: none`` is accepted only on a 127.x.x.x listener (behind a
    reverse proxy on the same host that authenticates, or an SSH or kubectl tunnel).
    """

    listen: str | None = Field(
        None,
        pattern=r"^[^:\s]*:\d{1,5}$",
        description="host:port of a listener of its own; default: on http.listen",
    )
    auth: str = Field(
        "basic",
        pattern=r"^(basic|bearer|none)$",
        description="basic (browsers ask for user and secret; bearer tokens are taken too),"
        " bearer (Authorization: Bearer <secret> only), or none (127.x.x.x only)",
    )
    user: str = Field("leakmon", pattern=r"^[^:\s]{1,64}$", description="the basic-auth user")
    secret: SecretStr | None = Field(
        None, description="from LEAKMON_PAGE_SECRET or the file LEAKMON_PAGE_SECRET_FILE names"
    )

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < PAGE_SECRET_MIN:
            raise ValueError(
                f"the page secret must be at least {PAGE_SECRET_MIN} characters long,"
                f" got {len(secret.get_secret_value())}"
            )
        return secret


class HttpConfig(_Model):
    """The daemon's own HTTP endpoint: /metrics, /healthz, /readyz, and the findings page."""

    listen: str = Field("127.0.0.1:9464", pattern=r"^[^:\s]*:\d{1,5}$")
    page: PageConfig | None = Field(
        None, description="the read-only findings page that alert links land on; absent: none"
    )

    @field_validator("listen")
    @classmethod
    def _port_in_range(cls, listen: str) -> str:
        port = int(listen.rpartition(":")[2])
        if not 0 <= port <= 65535:
            raise ValueError(f"listen port must be 0..65535, got {port}")
        return listen

    @model_validator(mode="after")
    def _open_page_on_loopback_only(self) -> HttpConfig:
        if self.page is None or self.page.auth != "none":
            return self
        host = (self.page.listen or self.listen).rpartition(":")[0]
        if not _LOOPBACK.match(host):
            raise ValueError(
                "http.page: auth none is allowed only on a 127.x.x.x listener (set"
                f" http.page.listen: 127.0.0.1:PORT), not on {host or '<empty host>'!r}"
            )
        return self


class CrawlConfig(_Model):
    """How the crawler behaves towards portals: politely, and within bounds."""

    user_agent: str = "leakmon/0.1 (+https://github.com/leakmon/leakmon; open-data leak monitor)"
    obey_robots_txt: bool = True
    autothrottle: bool = True
    concurrent_requests: int = Field(
        8, gt=0, le=256, description="requests at once per target poll, all hosts together"
    )
    concurrent_requests_per_host: int = Field(
        4,
        gt=0,
        le=64,
        description="requests at once to one host (AutoThrottle paces at 1.5 × this ÷ latency,"
        " so this limit binds); a target may set its own",
    )
    max_backlog_files: int = Field(
        256,
        gt=0,
        description="downloaded files waiting for their scan; downloads pause at this many",
    )
    max_backlog_mb: int = Field(
        1024,
        gt=0,
        description="bytes of downloaded files waiting for their scan; downloads pause above",
    )
    download_timeout: Duration = Field(60.0, gt=0)
    download_max_mb: int = Field(512, gt=0, description="bodies above this are not downloaded")
    max_depth: int = Field(3, ge=0, description="link hops from a start URL")
    max_requests_per_poll: int = Field(5000, gt=0, description="per target and poll")
    max_datasets_per_poll: int = Field(
        2000,
        gt=0,
        description="catalogue datasets walked per poll; larger catalogues take several polls",
    )
    coverage_alert_after: Duration = Field(
        86400.0,
        gt=0,
        description="LeakmonCoverageIncomplete fires when a target's polls have left resources"
        " unchecked (or the catalogue unread) for this long: 6h, 24h, 48h",
    )
    trusted_hosts: list[str] = Field(
        default_factory=list,
        description="hosts (subdomains included) the crawler may reach at private or loopback"
        " addresses, besides each target's start URL hosts and allowed_domains; e.g. an intranet"
        " Tableau Server that a portal embeds",
    )
    file_extensions: list[str] = Field(
        default_factory=lambda: [
            ".csv",
            ".tsv",
            ".txt",
            ".xlsx",
            ".xls",
            ".xlsm",
            ".ods",
            ".json",
            ".geojson",
            ".ndjson",
            ".jsonl",
            ".zip",
            ".pdf",
        ]
    )


class TableauConfig(_Model):
    """What a target's Tableau views may offer visitors, and how hard leakmon may ask.

    ``forbidden`` turns a mechanism that a view offers into a high finding of its own,
    before any personal data is found in it: a site meant for aggregates declares
    that its dashboards must not offer full data or the workbook.
    """

    full_data: Literal["allowed", "forbidden"] = Field(
        "allowed", description="Download > Data > Full data (View Underlying Data)"
    )
    workbook: Literal["allowed", "forbidden"] = Field(
        "allowed", description="Download > Tableau Workbook (.twbx)"
    )
    crosstab: Literal["allowed", "forbidden"] = Field("allowed", description="Download > Crosstab")
    sessions_per_host: int = Field(
        2, gt=0, le=16, description="viz sessions open at once per Tableau host"
    )


class TargetConfig(_Model):
    """One portal to watch."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    start_urls: list[str] = Field(min_length=1)
    every: Duration = Field(300.0, ge=1.0, description="poll interval: 30s, 5m, 1h")
    allowed_domains: list[str] | None = None
    kind: str = Field(
        "auto",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="html, ckan, socrata, arcgis, dcat, tableau; auto detects it",
    )
    max_depth: int | None = Field(None, ge=0)
    robots: Literal["obey", "ignore"] = Field(
        "obey",
        description="ignore: do not read robots.txt for this target (for the portal's own"
        " operator; logged at start); crawl.obey_robots_txt: false ignores it everywhere",
    )
    crawl_delay: Duration | None = Field(
        None,
        ge=0,
        description="seconds between requests to one host; default: robots.txt's Crawl-Delay",
    )
    concurrent_requests_per_host: int | None = Field(
        None,
        gt=0,
        le=64,
        description="per-target crawl.concurrent_requests_per_host (a portal that agrees to more)",
    )
    coverage_alert_after: Duration | None = Field(
        None, gt=0, description="per-target crawl.coverage_alert_after"
    )
    tableau: TableauConfig = Field(default_factory=TableauConfig)

    @field_validator("start_urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"start URL must be http(s)://host/..., got {url!r}")
            try:  # an unclosed IPv6 bracket, a port out of range or not a number
                parts = urlsplit(url)
                _ = parts.hostname, parts.port
            except ValueError as exc:
                raise ValueError(f"start URL cannot be parsed ({exc}), got {url!r}") from None
        return urls


class NotifierConfig(_Model):
    """One alert channel. URLs and keys are secrets: give them as ``${ENV_VAR}``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    url: SecretStr | None = None
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing key (webhook)")
    routing_key: SecretStr | None = Field(None, description="PagerDuty integration key")
    min_severity: str = Field("high", pattern=r"^(low|medium|high|critical)$")
    timeout: Duration = Field(10.0, gt=0)
    max_body_kb: int | None = Field(
        None, ge=4, le=100 * 1024, description="webhook: largest body sent, in KiB (default 512)"
    )


class AllowRule(_Model):
    """An accepted finding: matching findings are kept but never alert. Audited."""

    target: str | None = None
    resource: str | None = Field(
        None,
        description="a URL, or a glob such as */roster*.csv (* and ? stay within a path"
        " segment; ** and a leading * match anything)",
    )
    table: str | None = None
    column: str | None = None
    entity: str | None = None
    reason: str = Field(min_length=3)
    expires: dt.date | None = None

    @model_validator(mode="after")
    def _not_everything(self) -> AllowRule:
        if not any((self.target, self.resource, self.table, self.column, self.entity)):
            raise ValueError(
                "an allow rule must name at least one of target, resource, table, column or entity"
            )
        return self


class ClusterConfig(_Model):
    """Several replicas sharing one crawl frontier (Redis) and one store (PostgreSQL).

    Absent, leakmon runs as one process, as before. Present, every replica started
    with the same configuration claims due polls and file downloads from the others,
    so each is done by exactly one replica, and takes over a dead replica's work once
    its lease runs out.
    """

    redis: SecretStr = Field(description="redis://host:6379/0; give it as ${LEAKMON_REDIS_URL}")
    replica: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
        description="this replica's name; default: host name and process id",
    )
    lease: Duration = Field(
        30.0,
        ge=2.0,
        le=3600.0,
        description="how long a claim on a poll or a download lasts unless renewed; "
        "a dead replica's work is taken over this long after it stopped renewing",
    )
    prefix: str = Field(
        "leakmon",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Redis key prefix: one per cluster sharing a Redis",
    )


class Settings(_Model):
    """The daemon's whole configuration."""

    storage: SecretStr = Field(
        SecretStr("sqlite:////var/lib/leakmon/state.db"),
        description="SQLAlchemy URL; postgresql+psycopg://... in production",
    )
    http: HttpConfig = HttpConfig()
    crawl: CrawlConfig = CrawlConfig()
    scan: ScanConfig = ScanConfig()
    targets: list[TargetConfig] = Field(default_factory=list)
    notify: list[NotifierConfig] = Field(default_factory=list)
    allow: list[AllowRule] = Field(default_factory=list)
    link_base: str | None = Field(None, description="base URL for links back to findings")
    scan_workers: int = Field(2, gt=0, le=64, description="files scanned at once")
    cluster: ClusterConfig | None = Field(
        None, description="share the work with other replicas; absent: one process"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for kind, names in (
            ("target", [t.name for t in self.targets]),
            ("notifier", [n.name for n in self.notify]),
        ):
            dupes = sorted(n for n, k in Counter(names).items() if k > 1)  # linear
            if dupes:
                raise ValueError(f"{kind} names must be unique, repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> Settings:
        # Replicas share their findings and claims through one database; SQLite is a file
        # on one machine and has neither row locks nor advisory locks.
        storage = self.storage.get_secret_value()
        if self.cluster is not None and not storage.startswith("postgresql"):
            raise ValueError(
                "cluster mode needs a shared PostgreSQL store (storage: postgresql+psycopg://...),"
                f" not {storage.split(':', 1)[0]}"
            )
        return self


def _expand_env(value: Any, where: str, lenient: bool = False) -> Any:
    """Replace ``${NAME}`` in strings with environment variables; a missing one is an error.

    With ``lenient``, a missing variable becomes ``<NAME not set>`` instead: commands that
    send nothing (``findings``, ``status``...) do not need the notifiers' secrets.
    """
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}", lenient) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]", lenient) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                if lenient:
                    return f"<{name} not set>"
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value


#: Values a configuration may expand to (aliases included): a billion-laughs file
#: (nine aliases of nine aliases...) is refused here instead of filling memory.
_MAX_YAML_NODES = 200_000


def read_yaml(path: Path) -> Any:  # Any: whatever the YAML document holds
    """Read a YAML file as UTF-8 and parse it safely, bounded in what aliases expand to.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 text, is not YAML, or
            expands (through anchors and aliases) past ``_MAX_YAML_NODES`` values.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} is invalid)") from exc
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: cannot read YAML: {exc}") from exc
    _bounded(loaded, path)
    return loaded


def _bounded(loaded: Any, path: Path) -> None:  # Any: a parsed YAML document
    """Count the values a document expands to, stopping at the limit (aliases repeat nodes)."""
    stack, seen = [loaded], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > _MAX_YAML_NODES:
            raise ConfigError(
                f"{path}: expands to more than {_MAX_YAML_NODES} values (anchors and aliases"
                " nested like a 'billion laughs' document?); refused"
            )
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def load_settings(path: Path, *, notifier_secrets: bool = True) -> Settings:
    """Load and validate the daemon's YAML configuration.

    Args:
        path: the YAML file.
        notifier_secrets: require every ``${VAR}`` of the ``notify:`` section to be set;
            commands that deliver nothing pass ``False``.

    Raises:
        ConfigError: naming the field path and the bad value.
    """
    loaded = read_yaml(path)
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
    for section in ("scan", "http", "crawl", "cluster"):
        if loaded.get(section) is not None and not isinstance(loaded[section], dict):
            got = type(loaded[section]).__name__
            raise ConfigError(f"{path}: {section}: must be a mapping, got {got}")
    data = {
        key: _expand_env(value, f"{path}.{key}", key == "notify" and not notifier_secrets)
        for key, value in loaded.items()
    }
    scan = dict(data.get("scan") or {})
    key = os.environ.get("LEAKMON_HASH_KEY")
    if key:
        scan["hash_key"] = key
    data["scan"] = scan
    if "LEAKMON_STORAGE" in os.environ:
        data["storage"] = os.environ["LEAKMON_STORAGE"]
    _page_secret(data, path)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from exc


def _page_secret(data: dict[str, Any], path: Path) -> None:
    """Put the findings page's secret from the environment into ``http.page``, if configured."""
    http = data.get("http")
    if not isinstance(http, dict) or not isinstance(http.get("page"), dict):
        return
    secret = os.environ.get("LEAKMON_PAGE_SECRET")
    secret_file = os.environ.get("LEAKMON_PAGE_SECRET_FILE")
    if secret_file and not secret:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: http.page: cannot read LEAKMON_PAGE_SECRET_FILE={secret_file}: {exc}"
            ) from exc
    if secret:
        data["http"] = {**http, "page": {**http["page"], "secret": secret}}


def format_validation_error(exc: ValidationError, where: str) -> str:
    """Return pydantic's errors as ``path.to.field: message (got value)`` lines."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{where}: {path}: {err['msg']}{shown}")
    return "\n".join(lines)


def load_scan_config(
    path: Path | None = None, overrides: dict[str, Any] | None = None
) -> ScanConfig:
    """Load scan settings from YAML (the ``scan:`` section or the whole file) and the environment.

    Raises:
        ConfigError: naming the field path and the bad value.
    """
    data: dict[str, Any] = {}
    if path is not None:
        loaded = read_yaml(path)
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
        # A daemon config (as $LEAKMON_CONFIG names) holds its scan settings under scan:,
        # perhaps none; a file of scan settings alone is the section itself.
        daemon = "scan" in loaded or bool(set(loaded) & (set(Settings.model_fields) - {"scan"}))
        section = loaded.get("scan") or {} if daemon else loaded
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: scan: must be a mapping, got {type(section).__name__}")
        data = dict(section)
    data.update(overrides or {})
    key = os.environ.get("LEAKMON_HASH_KEY")
    if key:
        data["hash_key"] = key
    try:
        return ScanConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path or "scan config"))) from exc
