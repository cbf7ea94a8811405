"""deploy/kubernetes: the kustomize base and the postgres overlay render, validate and agree.

Rendered with the real ``kubectl kustomize`` (offline), validated against the Kubernetes
schemas bundled in ``kubernetes-validate``, and cross-checked: probes, ports, the config
path and the secrets all have to match what leakmon reads from its ConfigMap config.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.deploy import kustomize as k8s
from tests.deploy.tools import DEPLOY, REPO, is_placeholder


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return k8s.render("base")


@pytest.fixture(scope="module")
def postgres() -> list[dict[str, Any]]:
    return k8s.render("overlays/postgres")


def _mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)", quantity)
    assert match, f"expected a binary-suffixed quantity, got {quantity!r}"
    scale = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2}[match.group(2)]
    return float(match.group(1)) * scale


def test_base_renders_every_object(base: list[dict[str, Any]]) -> None:
    assert sorted(d["kind"] for d in base) == sorted(
        [
            "ConfigMap",
            "Deployment",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Secret",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ]
    )


def test_one_replica_replaced_not_rolled(base: list[dict[str, Any]]) -> None:
    spec = k8s.only(base, "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    source = (k8s.KUSTOMIZE / "base" / "deployment.yaml").read_text(encoding="utf-8")
    assert "single writer" in source  # the reason stays next to `replicas: 1`


def test_probes_hit_health_endpoints_on_the_configured_port(
    base: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = k8s.container(base)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["port"] in ports, f"{probe} uses port {get['port']!r}, not a container port"

    host, _, port = k8s.settings(base, tmp_path, monkeypatch).http.listen.rpartition(":")
    assert host == "0.0.0.0"  # noqa: S104  (inside the pod, for the kubelet and Prometheus)
    assert set(ports.values()) == {int(port)}


def test_pod_is_locked_down(base: list[dict[str, Any]]) -> None:
    pod, container = k8s.pod(base), k8s.container(base)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] == 30  # leakmon stops within 15 s
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}


def test_pod_runs_as_the_images_user(base: list[dict[str, Any]]) -> None:
    containerfile = (DEPLOY / "container" / "Containerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\d+)(?::(\d+))?\s*$", containerfile, flags=re.MULTILINE)
    assert users, "the Containerfile has no numeric USER"
    uid, gid = users[-1]
    sc = k8s.pod(base)["securityContext"]
    assert sc["runAsUser"] == int(uid)
    assert sc["runAsGroup"] == int(gid or uid)


def test_resources_leave_room_for_every_scan_worker(
    base: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = k8s.container(base)["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    settings = k8s.settings(base, tmp_path, monkeypatch)
    workers_cap = settings.scan_workers * settings.scan.limits.worker_memory_mb
    # Above the workers' own address-space caps, so a hostile file kills only its worker.
    assert _mebibytes(resources["limits"]["memory"]) > workers_cap
    assert _mebibytes(resources["requests"]["memory"]) <= _mebibytes(resources["limits"]["memory"])


def test_writable_places_are_volumes(
    base: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod, container = k8s.pod(base), k8s.container(base)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert "emptyDir" in mounts["/tmp"]
    claim = mounts["/var/lib/leakmon"]["persistentVolumeClaim"]["claimName"]
    assert claim in {d["metadata"]["name"] for d in base if d["kind"] == "PersistentVolumeClaim"}
    # The SQLite file lives on that volume, at an absolute path.
    url = make_url(k8s.settings(base, tmp_path, monkeypatch).storage.get_secret_value())
    assert url.get_backend_name() == "sqlite"
    assert PurePosixPath(url.database or "").parent == PurePosixPath("/var/lib/leakmon")


def test_config_mount_matches_the_container_args(base: list[dict[str, Any]]) -> None:
    container = k8s.container(base)
    path = k8s.config_path(container)
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent))
    assert mount.get("readOnly") is True
    assert "targets:" in k8s.config_text(base)  # the file the args name is in the ConfigMap


def test_configmap_config_loads_with_the_secrets(
    base: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = k8s.settings(base, tmp_path, monkeypatch)
    assert settings.targets, "the example config watches at least one target"
    assert settings.scan.hash_key is not None  # LEAKMON_HASH_KEY from the Secret
    assert all(n.url is not None for n in settings.notify if n.kind in ("webhook", "slack"))


def _variables(value: Any) -> set[str]:
    """Return the ${NAME} references in a loaded YAML document's string values."""
    if isinstance(value, dict):
        return set().union(*(_variables(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_variables(v) for v in value))
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", value)) if isinstance(value, str) else set()


def test_every_variable_of_the_config_comes_from_a_secret(base: list[dict[str, Any]]) -> None:
    referenced = _variables(yaml.safe_load(k8s.config_text(base)))
    provided = k8s.secret_values(base, k8s.container(base)["env"])
    assert referenced, "the config should take its webhook from ${...} variables"
    assert referenced <= set(provided)
    assert "LEAKMON_HASH_KEY" in provided
    assert not [v for v in k8s.container(base)["env"] if "value" in v and "KEY" in v["name"]]


def test_example_secrets_are_placeholders(
    base: list[dict[str, Any]], postgres: list[dict[str, Any]]
) -> None:
    for docs in (base, postgres):
        for secret in (d for d in docs if d["kind"] == "Secret"):
            assert "data" not in secret  # stringData only: readable, obviously fake
            real = [k for k, v in secret["stringData"].items() if not is_placeholder(v)]
            assert real == [], f"Secret {secret['metadata']['name']}: {real}"


def test_service_and_servicemonitor_select_the_metrics_port(base: list[dict[str, Any]]) -> None:
    pod_labels = k8s.only(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = k8s.only(base, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in k8s.container(base)["ports"]}

    monitor = k8s.only(base, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"]
    assert endpoint["path"] == "/metrics"


def test_disruption_budget_selects_the_pod(base: list[dict[str, Any]]) -> None:
    pod_labels = k8s.only(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    pdb = k8s.only(base, "PodDisruptionBudget")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    # One replica: a budget of 0 unavailable would block every node drain.
    assert pdb["maxUnavailable"] == 1


def test_image_is_a_placeholder_until_set(base: list[dict[str, Any]]) -> None:
    image = k8s.container(base)["image"]
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert version
    assert image == f"registry.example.invalid/leakmon:{version.group(1)}"


def test_postgres_overlay_reads_storage_from_a_secret(
    postgres: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {v["name"]: v for v in k8s.container(postgres)["env"]}
    assert "secretKeyRef" in env["LEAKMON_STORAGE"]["valueFrom"]
    settings = k8s.settings(postgres, tmp_path, monkeypatch)
    assert make_url(settings.storage.get_secret_value()).drivername == "postgresql+psycopg"
    # No SQLite volume left behind, and still one writer.
    assert not [d for d in postgres if d["kind"] == "PersistentVolumeClaim"]
    leakmon = k8s.container(postgres)
    assert "/var/lib/leakmon" not in {m["mountPath"] for m in leakmon["volumeMounts"]}
    assert k8s.only(postgres, "Deployment")["spec"]["replicas"] == 1
    assert {p["httpGet"]["path"] for p in (leakmon["readinessProbe"],)} == {"/readyz"}


@pytest.mark.parametrize("overlay", ["base", "postgres"])
def test_manifests_match_the_kubernetes_schemas(
    overlay: str, base: list[dict[str, Any]], postgres: list[dict[str, Any]]
) -> None:
    k8s.validate_schemas(base if overlay == "base" else postgres)
