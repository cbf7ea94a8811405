"""Render the kustomize builds of deploy/kubernetes and read what their pods would get.

Shared by the tests of the base, the postgres overlay and the cluster overlay: the rendered
objects, the leakmon container, the config file it reads from its ConfigMap, the environment
its Secrets and the downward API give it, and the schema check of every object.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from monitor.config import Settings, load_settings
from tests.deploy.tools import DEPLOY, require_tool

if TYPE_CHECKING:
    from collections.abc import Mapping

KUSTOMIZE = DEPLOY / "kubernetes"
#: The oldest Kubernetes the manifests support (the PDB's unhealthyPodEvictionPolicy);
#: every bundled schema version from it to the newest is checked.
OLDEST_KUBERNETES = (1, 27)
#: Custom resources have no bundled schema; their fields are asserted by the tests instead.
CUSTOM_KINDS = {"ServiceMonitor"}
#: What the downward API would give a pod in the tests (``fieldRef`` paths).
POD_FIELDS = {
    "metadata.name": "leakmon-6f7c9d5b8-q4x2z",
    "metadata.namespace": "leakmon",
}


def render(overlay: str) -> list[dict[str, Any]]:
    """Return the objects ``kubectl kustomize`` builds from a folder of deploy/kubernetes."""
    kubectl = require_tool("kubectl")
    done = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """Return the one object of a kind (and name, when given)."""
    found = [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod(docs: list[dict[str, Any]], name: str = "leakmon") -> dict[str, Any]:
    """Return the pod spec of a Deployment (leakmon's by default)."""
    spec: dict[str, Any] = only(docs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return leakmon's container (the only one in its pod)."""
    containers = pod(docs)["containers"]
    assert [c["name"] for c in containers] == ["leakmon"]
    return dict(containers[0])


def config_path(leakmon: dict[str, Any]) -> PurePosixPath:
    """Return the config file the container's arguments name."""
    args = leakmon["args"]
    assert args[:1] == ["run"], args
    assert "--config" in args, args
    return PurePosixPath(args[args.index("--config") + 1])


def config_text(docs: list[dict[str, Any]]) -> str:
    """Return the leakmon config the container reads: the mounted ConfigMap's file."""
    leakmon = container(docs)
    path = config_path(leakmon)
    mount = next(m for m in leakmon["volumeMounts"] if m["mountPath"] == str(path.parent))
    volume = next(v for v in pod(docs)["volumes"] if v["name"] == mount["name"])
    configmap = only(docs, "ConfigMap", volume["configMap"]["name"])
    text: str = configmap["data"][path.name]
    return text


def secret_values(docs: list[dict[str, Any]], env: list[dict[str, Any]]) -> dict[str, str]:
    """Return the environment a container gets from Secrets in this build."""
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    values = {}
    for var in env:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            continue
        secret = secrets.get(ref["name"])
        assert secret is not None, f"{var['name']}: Secret {ref['name']} is not in the build"
        data = secret.get("stringData", {})
        assert ref["key"] in data, f"{var['name']}: Secret {ref['name']} has no key {ref['key']}"
        values[var["name"]] = data[ref["key"]]
    return values


def field_values(env: list[dict[str, Any]], fields: Mapping[str, str]) -> dict[str, str]:
    """Return the environment a container gets from the downward API (``fieldRef``)."""
    values = {}
    for var in env:
        ref = var.get("valueFrom", {}).get("fieldRef")
        if ref is not None:
            assert ref["fieldPath"] in fields, f"{var['name']}: no test value for {ref}"
            values[var["name"]] = fields[ref["fieldPath"]]
    return values


def settings(
    docs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Load the ConfigMap's config with monitor.config, with the env the pod would get."""
    env = container(docs).get("env", [])
    given = {**secret_values(docs, env), **field_values(env, POD_FIELDS)}
    for name in [n for n in os.environ if n.startswith("LEAKMON_") or n in given]:
        monkeypatch.delenv(name)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "leakmon.yaml"
    config.write_text(config_text(docs), encoding="utf-8")
    return load_settings(config)


def _kubernetes_validate() -> Any:
    # Any: the module object of an optional test dependency.
    try:
        import kubernetes_validate  # optional: only these tests need it
    except ImportError:
        message = "kubernetes-validate is not installed: pip install kubernetes-validate"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so deploy checks may not be skipped)")
        pytest.skip(message)
    return kubernetes_validate


def _bundled_versions(kv: Any) -> list[str]:
    # Any: the kubernetes_validate module. Its schemas ship as v<version>-local folders.
    folder = Path(kv.__file__).parent / "kubernetes-json-schema"
    return [p.name[1:].removesuffix("-local") for p in folder.glob("v*-local")]


def validate_schemas(docs: list[dict[str, Any]]) -> None:
    """Fail unless every object matches the strict schema of every supported Kubernetes."""
    kv = _kubernetes_validate()
    versions = [
        v
        for v in sorted(_bundled_versions(kv), key=lambda v: tuple(map(int, v.split("."))))
        if tuple(map(int, v.split(".")[:2])) >= OLDEST_KUBERNETES
    ]
    assert versions[-1] == kv.latest_version()
    checked = set()
    for version in versions:
        for doc in docs:
            if doc["kind"] in CUSTOM_KINDS:
                continue
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as exc:
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on {version}: {exc}")
            checked.add(doc["kind"])
    assert checked == {d["kind"] for d in docs} - CUSTOM_KINDS
