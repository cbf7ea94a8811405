"""deploy/container/Containerfile, checked by parsing it: no container engine runs here.

The builder stage's wheel build is also run for real (pip, no engine) on exactly the
files the Containerfile copies, so a package missing from the COPY lines fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from monitor.config import load_settings
from tests.deploy.tools import DEPLOY, REPO

if TYPE_CHECKING:
    from pathlib import Path

CONTAINERFILE = DEPLOY / "container" / "Containerfile"
DOCKERIGNORE = REPO / ".dockerignore"
BASE_IMAGE = re.compile(r"^python:3\.11-slim-bookworm(@sha256:[0-9a-f]{64})?$")
#: Anything that would put a compiler or headers into the final image.
BUILD_TOOLS = re.compile(
    r"\b(apt-get|apt|apk|dnf|yum)\s+(install|add)\b|\bgcc\b|\bg\+\+|\bclang\b|\bmake\b"
    r"|build-essential|-dev\b|-devel\b|\bpip\s+(install|wheel)\b"
)


@dataclass
class Stage:
    """One FROM ... of the Containerfile and its instructions."""

    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Return the arguments of every instruction with this keyword."""
        return [args for kw, args in self.instructions if kw == keyword]


def _instructions(text: str) -> list[tuple[str, str]]:
    """Return (KEYWORD, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"unterminated instruction: {pending!r}"
    return out


def _parse() -> tuple[dict[str, str], list[Stage]]:
    """Return the global ARG defaults and the stages."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in _instructions(CONTAINERFILE.read_text(encoding="utf-8")):
        if keyword == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, flags=re.IGNORECASE)
            assert m, f"FROM {rest}"
            image = re.sub(r"\$\{(\w+)\}", lambda v: args[v.group(1)], m.group(1))
            stages.append(Stage(image, m.group(2)))
        elif not stages and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"expected exec form, got {args}"
    return [str(v) for v in value]


def test_two_stages_on_a_pinned_slim_python() -> None:
    _, stages = _parse()
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder"
    for stage in stages:
        assert BASE_IMAGE.match(stage.image), stage.image
    assert any("pip wheel" in run for run in builder.all("RUN"))
    assert final.all("COPY")[0].startswith("--from=builder ")


def test_final_stage_has_no_build_tools() -> None:
    _, (_, final) = _parse()
    offending = [run for run in final.all("RUN") if BUILD_TOOLS.search(run)]
    assert offending == []


def test_runs_as_a_numeric_non_root_user() -> None:
    _, (_, final) = _parse()
    users = final.all("USER")
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can check it without /etc/passwd.
    assert uid.isdigit(), users[-1]
    assert int(uid) > 0, users[-1]
    assert gid == "" or int(gid) > 0, users[-1]
    assert any(f"--uid {uid}" in run for run in final.all("RUN")), "the user is not created"


def test_entrypoint_and_cmd_run_the_shipped_config() -> None:
    _, (_, final) = _parse()
    assert _exec_form(final.all("ENTRYPOINT")[-1]) == ["leakmon"]
    cmd = _exec_form(final.all("CMD")[-1])
    assert cmd == ["run", "--config", "/etc/leakmon/leakmon.yaml"]
    copied = {c.split()[-1]: c.split()[-2] for c in final.all("COPY") if "--from" not in c}
    assert cmd[2] in copied, "the config CMD names is not copied into the image"


def test_healthcheck_asks_healthz_with_python_on_the_config_port() -> None:
    _, (_, final) = _parse()
    (check,) = final.all("HEALTHCHECK")
    options, _, command = check.partition(" CMD ")
    assert "--start-period=" in options  # the store migrates before /healthz answers
    argv = _exec_form(command)
    assert argv[0] == "python"  # slim images have no curl
    url = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", argv[-1])
    assert url, argv

    settings = load_settings(DEPLOY / "container" / "leakmon.yaml")
    host, _, port = settings.http.listen.rpartition(":")
    assert host == "0.0.0.0"  # noqa: S104  (inside the container)
    assert url.group(1) == port
    assert final.all("EXPOSE") == [port]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Say whether .dockerignore leaves ``path`` out (last matching pattern wins).

    A pattern matches a path or any of its parents, as in Docker; ``**`` spans folders.
    """

    def regex(pattern: str) -> re.Pattern[str]:
        out = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
            out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        return re.compile(out)

    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if any(regex(pattern.lstrip("!")).fullmatch(p) for p in prefixes):
            ignored = not negate
    return ignored


def _copied_sources() -> list[str]:
    """Return the build-context paths every COPY without --from reads."""
    _, stages = _parse()
    sources = []
    for stage in stages:
        for copy in stage.all("COPY"):
            words = [w for w in copy.split() if not w.startswith("--")]
            if "--from" not in copy:
                sources.extend(words[:-1])
    return sources


def test_copied_files_exist_and_reach_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = _copied_sources()
    assert sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        kept = [f for f in files if not _ignored(f.relative_to(REPO).as_posix(), patterns)]
        assert kept, f"COPY {source}: .dockerignore leaves all of it out"
        if path.is_dir():
            lost = {
                f.relative_to(REPO).as_posix()
                for f in files
                if "__pycache__" not in f.parts and f not in kept
            }
            assert lost == set(), f"COPY {source}: .dockerignore drops {sorted(lost)[:5]}"
    # And the allow-list keeps the rest of the working tree out of the image.
    for private in (".venv/bin/python", ".git/config", "state.db", "bench/out/x.csv"):
        assert _ignored(private, patterns), private


def _docker_copy(source: Path, dest: Path) -> None:
    """Copy as COPY does: a folder's contents into ``dest``; a file into a ``dest/`` folder."""
    if source.is_dir():
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / source.name)


def test_builder_stage_builds_a_complete_wheel_from_the_copied_files(tmp_path: Path) -> None:
    """Run the builder's `pip wheel` on a context holding only what its COPY lines copy."""
    _, (builder, _) = _parse()
    (workdir,) = builder.all("WORKDIR")
    context = tmp_path / "src"
    for copy in builder.all("COPY"):
        *sources, dest = copy.split()
        for source in sources:
            _docker_copy(REPO / source, context / dest)
    assert workdir == "/src"
    wheels = tmp_path / "wheels"
    # Without build isolation, as in the image (there the locked setuptools builds it).
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("leakmon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # The package data the daemon needs at run time, and the spiders.
    for needed in ("monitor/cli.py", "monitor/detect/data/", "monitor/store/migrations/"):
        assert any(n.startswith(needed) for n in names), needed
    assert any(n.startswith("spiders/") for n in names)


LOCK = DEPLOY / "container" / "requirements.lock"
TABLEAU_LOCK = DEPLOY / "container" / "requirements-tableau.lock"


def _locked(path: Path = LOCK) -> dict[str, tuple[str, list[str]]]:
    """Return each locked package's version and hashes."""
    out: dict[str, tuple[str, list[str]]] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)\s*(.*)$", line)
        if m:
            hashes = re.findall(r"--hash=sha256:(\w+)", m.group(3))
            out[canonicalize_name(m.group(1))] = (m.group(2), hashes)
    return out


def test_image_installs_a_lock_with_hashes_only() -> None:
    _, (builder, _) = _parse()
    run = " ".join(builder.all("RUN"))
    assert "--require-hashes" in run
    assert '-r "$lock"' in run
    assert "lock=requirements.lock" in run
    assert "lock=requirements-tableau.lock" in run  # on amd64, where tableauhyperapi has wheels
    assert "--only-binary=:all:" in run
    assert "--no-build-isolation" in run  # leakmon's wheel is built by the locked setuptools
    assert "pip check" in run
    assert 'python -c "import tableauhyperapi"' in run
    copied = [c.split() for c in builder.all("COPY")]
    assert [
        "deploy/container/requirements.lock",
        "deploy/container/requirements-tableau.lock",
        "./",
    ] in copied


@pytest.mark.parametrize(("path", "extras"), [(LOCK, []), (TABLEAU_LOCK, ["tableau"])])
def test_lock_pins_every_dependency_with_hashes(path: Path, extras: list[str]) -> None:
    """A lock satisfies pyproject.toml (runtime dependencies, its extras, and the build
    backend), with one version and at least one SHA-256 per package."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = list(project["project"]["dependencies"])
    for extra in extras:
        wanted += project["project"]["optional-dependencies"][extra]
    wanted += project["build-system"]["requires"]
    locked = _locked(path)
    assert len(locked) > 20
    problems = []
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        if name not in locked:
            problems.append(f"{spec} is not locked")
        elif not spec.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{spec} but the lock has {locked[name][0]}")
    assert problems == [], "run scripts/lock_image: " + "; ".join(problems)
    assert [name for name, (_, hashes) in locked.items() if not hashes] == []
    assert all(len(h) == 64 for _, hashes in locked.values() for h in hashes)


def test_both_locks_pin_the_same_versions() -> None:
    """amd64 and arm64 images differ by the tableau extra only."""
    plain, tableau = _locked(LOCK), _locked(TABLEAU_LOCK)
    assert set(plain) <= set(tableau)
    assert {n: plain[n][0] for n in plain} == {n: tableau[n][0] for n in plain}
    assert "tableauhyperapi" in set(tableau) - set(plain)


def test_build_args_for_a_package_index_and_a_ca_stay_in_the_builder() -> None:
    _, (builder, final) = _parse()
    args = {a.split("=")[0] for a in builder.all("ARG")}
    assert {"PIP_INDEX_URL", "EXTRA_CA_CERT"} <= args
    assert "EXTRA_CA_CERT" in " ".join(builder.all("RUN"))
    assert final.all("ARG") == []  # nothing of them reaches the final image's config
    header = CONTAINERFILE.read_text(encoding="utf-8").split("\nARG ", 1)[0]
    assert "--build-arg PIP_INDEX_URL=" in header
    assert '--build-arg "EXTRA_CA_CERT=' in header


def test_podman_build_is_documented_with_the_docker_format() -> None:
    """podman's default OCI format drops HEALTHCHECK; the documented command keeps it."""
    text = CONTAINERFILE.read_text(encoding="utf-8")
    podman = [line for line in text.splitlines() if "podman build" in line]
    assert podman
    assert all("--format docker" in line for line in podman), podman
