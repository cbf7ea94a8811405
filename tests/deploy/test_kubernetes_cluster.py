"""deploy/kubernetes/overlays/cluster: three replicas, a Redis frontier, PostgreSQL; all agree.

Rendered with ``kubectl kustomize`` and validated like the base (tests/deploy/kustomize.py).
Its config is loaded through monitor.config with the environment the pods would get,
Secrets and the downward API included. The example Redis's arguments are run on a real
``redis-server`` (127.0.0.1 only): it must refuse writes when full rather than evict.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from monitor.config import load_settings
from monitor.errors import ConfigError
from tests.deploy import kustomize as k8s
from tests.deploy.tools import is_placeholder, require_tool
from tests.net import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REDIS = "leakmon-redis"
#: Env var names that carry credentials: they must come from a Secret, never a literal.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|AUTH|_URL$|STORAGE")


@pytest.fixture(scope="module")
def cluster() -> list[dict[str, Any]]:
    return k8s.render("overlays/cluster")


def _redis_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (redis,) = k8s.pod(docs, REDIS)["containers"]
    return dict(redis)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def _pod_labels(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    labels: dict[str, str] = k8s.only(docs, "Deployment", name)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def test_cluster_renders_every_object(cluster: list[dict[str, Any]]) -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in cluster)
    configmap = next(v for v in k8s.pod(cluster)["volumes"] if "configMap" in v)["configMap"]
    assert configmap["name"].startswith("leakmon-config-")  # hashed: an edit rolls the pods
    assert kinds == sorted(
        [
            ("ConfigMap", configmap["name"]),
            ("Deployment", "leakmon"),
            ("Deployment", REDIS),
            ("NetworkPolicy", "leakmon"),
            ("NetworkPolicy", REDIS),
            ("PodDisruptionBudget", "leakmon"),
            ("Secret", "leakmon"),
            ("Secret", "leakmon-database"),
            ("Secret", REDIS),
            ("Service", "leakmon"),
            ("Service", REDIS),
            ("ServiceAccount", "leakmon"),
            ("ServiceMonitor", "leakmon"),
        ]
    )
    # No state volume: everything a replica keeps is in PostgreSQL or Redis.
    assert {d["metadata"]["namespace"] for d in cluster} == {"leakmon"}


def test_three_replicas_rolled_one_at_a_time(cluster: list[dict[str, Any]]) -> None:
    spec = k8s.only(cluster, "Deployment", "leakmon")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1},
    }


def test_replicas_prefer_different_nodes(cluster: list[dict[str, Any]]) -> None:
    affinity = k8s.pod(cluster)["affinity"]
    assert set(affinity) == {"podAntiAffinity"}
    anti = affinity["podAntiAffinity"]
    # Preferred only: fewer nodes than replicas must not leave a replica pending.
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    selector = term["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert _selects(selector, _pod_labels(cluster, "leakmon"))
    assert not _selects(selector, _pod_labels(cluster, REDIS))


def test_disruption_budget_keeps_replicas_up(cluster: list[dict[str, Any]]) -> None:
    pdb = k8s.only(cluster, "PodDisruptionBudget")["spec"]
    replicas = k8s.only(cluster, "Deployment", "leakmon")["spec"]["replicas"]
    assert pdb["maxUnavailable"] == 1
    assert replicas - pdb["maxUnavailable"] >= 2  # a drain leaves two replicas working
    assert _selects(pdb["selector"]["matchLabels"], _pod_labels(cluster, "leakmon"))
    assert not _selects(pdb["selector"]["matchLabels"], _pod_labels(cluster, REDIS))


def test_config_is_cluster_mode_on_postgres_and_loads(
    cluster: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = k8s.settings(cluster, tmp_path, monkeypatch)
    assert settings.cluster is not None
    assert make_url(settings.storage.get_secret_value()).drivername == "postgresql+psycopg"
    assert settings.cluster.replica == k8s.POD_FIELDS["metadata.name"]
    secrets = k8s.secret_values(cluster, k8s.container(cluster)["env"])
    assert settings.cluster.redis.get_secret_value() == secrets["LEAKMON_REDIS_URL"]
    assert settings.targets
    assert settings.scan.hash_key is not None


def test_config_names_its_store_so_no_sqlite_fallback(
    cluster: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the database Secret's key the config fails to load; it never runs on SQLite."""
    raw = yaml.safe_load(k8s.config_text(cluster))
    assert raw["storage"] == "${LEAKMON_STORAGE}"
    k8s.settings(cluster, tmp_path, monkeypatch)  # sets the pod's environment
    monkeypatch.delenv("LEAKMON_STORAGE")
    with pytest.raises(ConfigError, match="LEAKMON_STORAGE is not set"):
        load_settings(tmp_path / "leakmon.yaml")


def test_replica_name_is_the_pod_name(
    cluster: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = yaml.safe_load(k8s.config_text(cluster))
    assert raw["cluster"]["replica"] == "${POD_NAME}"
    env = {v["name"]: v for v in k8s.container(cluster)["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # The longest name a Deployment's pod gets (63 characters: a generateName base cut to
    # 58, plus 5 random characters) is a valid replica name.
    longest = ("leakmon-" + "7d9c5b8f4" * 8)[:58] + "x7k2p"
    monkeypatch.setitem(k8s.POD_FIELDS, "metadata.name", longest)
    assert len(k8s.POD_FIELDS["metadata.name"]) == 63
    settings = k8s.settings(cluster, tmp_path, monkeypatch)
    assert settings.cluster is not None
    assert settings.cluster.replica == k8s.POD_FIELDS["metadata.name"]


def test_redis_url_comes_from_a_secret_and_names_the_example_redis(
    cluster: list[dict[str, Any]],
) -> None:
    env = {v["name"]: v for v in k8s.container(cluster)["env"]}
    assert env["LEAKMON_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == REDIS
    url = urlsplit(k8s.secret_values(cluster, list(env.values()))["LEAKMON_REDIS_URL"])
    assert url.scheme == "redis"
    service = k8s.only(cluster, "Service", REDIS)
    assert url.hostname == service["metadata"]["name"]
    (port,) = service["spec"]["ports"]
    assert url.port == port["port"]
    assert _selects(service["spec"]["selector"], _pod_labels(cluster, REDIS))
    # The password leakmon sends is the one the example Redis requires.
    redis_secret = k8s.secret_values(cluster, _redis_container(cluster)["env"])
    assert url.password == redis_secret["REDIS_PASSWORD"]


def test_no_credential_is_written_in_a_manifest(cluster: list[dict[str, Any]]) -> None:
    for deployment in (d for d in cluster if d["kind"] == "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                if SECRET_NAME.search(var["name"]):
                    assert "secretKeyRef" in var.get("valueFrom", {}), var
            # Arguments name the password through the env, never spell it out.
            for arg in container.get("args", []):
                assert "REPLACE-ME" not in arg
    text = k8s.config_text(cluster)
    assert "://" not in re.sub(r"start_urls:.*", "", text)  # no URL with credentials inlined
    for secret in (d for d in cluster if d["kind"] == "Secret"):
        assert "data" not in secret
        real = [k for k, v in secret["stringData"].items() if not is_placeholder(v)]
        assert real == [], f"Secret {secret['metadata']['name']}: {real}"


def test_example_redis_keeps_nothing_and_refuses_rather_than_evicts(
    cluster: list[dict[str, Any]],
) -> None:
    args = _redis_container(cluster)["args"]
    options = dict(zip(args[1::2], args[2::2], strict=True))
    assert args[0] == "redis-server"
    assert options["--save"] == ""
    assert options["--appendonly"] == "no"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--requirepass"] == "$(REDIS_PASSWORD)"
    maxmemory = re.fullmatch(r"(\d+)mb", options["--maxmemory"])
    assert maxmemory
    limit = _redis_container(cluster)["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    # Room above maxmemory for Redis's own buffers, or the kernel kills it before it refuses.
    assert int(limit[:-2]) >= 1.5 * int(maxmemory.group(1))
    source = (k8s.KUSTOMIZE / "overlays" / "cluster" / "redis.yaml").read_text(encoding="utf-8")
    assert "refilled by the next polls" in source  # why no persistence is safe


def test_example_redis_is_locked_down_and_reachable_only_from_leakmon(
    cluster: list[dict[str, Any]],
) -> None:
    pod, redis = k8s.pod(cluster, REDIS), _redis_container(cluster)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert redis["securityContext"]["readOnlyRootFilesystem"] is True
    assert redis["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    policy = k8s.only(cluster, "NetworkPolicy", REDIS)["spec"]
    assert _selects(policy["podSelector"]["matchLabels"], _pod_labels(cluster, REDIS))
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert _selects(source["podSelector"]["matchLabels"], _pod_labels(cluster, "leakmon"))
    (port,) = rule["ports"]
    assert port["port"] in {p["name"] for p in redis["ports"]}


def test_cluster_manifests_match_the_kubernetes_schemas(cluster: list[dict[str, Any]]) -> None:
    k8s.validate_schemas(cluster)


# The example Redis, run: its arguments as the kubelet would pass them (no shell), on a
# free port of 127.0.0.1.

PASSWORD = "test-only-frontier-password"  # a throwaway local server


def _redis_cli(port: int, *command: str, auth: bool = True) -> subprocess.CompletedProcess[str]:
    cli = require_tool("redis-cli")
    env = {**os.environ, "REDISCLI_AUTH": PASSWORD} if auth else dict(os.environ)
    if not auth:
        env.pop("REDISCLI_AUTH", None)
    return subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def example_redis(cluster: list[dict[str, Any]]) -> Iterator[int]:
    server_path = require_tool("redis-server")
    require_tool("redis-cli")
    port = free_port()
    args = [
        a.replace("$(REDIS_PASSWORD)", PASSWORD).replace("6379", str(port))
        for a in _redis_container(cluster)["args"]
    ]
    server = subprocess.Popen(
        [server_path, *args[1:], "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while _redis_cli(port, "ping").stdout.strip() != "PONG":
            assert server.poll() is None, "redis-server refused the example's arguments"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_example_redis_arguments_start_a_real_redis(
    cluster: list[dict[str, Any]], example_redis: int
) -> None:
    got = _redis_cli(example_redis, "config", "get", "*").stdout.split("\n")
    config = dict(zip(got[0::2], got[1::2], strict=False))
    assert config["save"] == ""
    assert config["appendonly"] == "no"
    assert config["maxmemory-policy"] == "noeviction"
    assert int(config["maxmemory"]) == 256 * 1024 * 1024
    # The password is required, and the readiness probe's command passes it from the env.
    assert "NOAUTH" in _redis_cli(example_redis, "ping", auth=False).stdout
    probe = _redis_container(cluster)["readinessProbe"]["exec"]["command"]
    assert probe[0] == "redis-cli"
    probed = _redis_cli(example_redis, *[a for a in probe[1:] if a not in ("-p", "6379")])
    assert probed.stdout.strip() == "PONG"


def test_full_example_redis_refuses_writes_and_keeps_every_key(example_redis: int) -> None:
    """noeviction: at maxmemory a write fails loudly; nothing queued before is dropped."""
    value = b"x" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", example_redis), timeout=30) as conn:
        stream = conn.makefile("rb")

        def call(*parts: bytes) -> bytes:
            conn.sendall(
                b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
            )
            return stream.readline()

        assert call(b"AUTH", PASSWORD.encode()) == b"+OK\r\n"
        written, refused = 0, b""
        for i in range(400):  # 400 MiB > the 256 MB maxmemory
            answer = call(b"SET", b"job:%d" % i, value)
            if answer != b"+OK\r\n":
                refused = answer
                break
            written += 1
        assert refused.startswith(b"-OOM"), refused
        assert 200 <= written < 256
        assert call(b"DBSIZE") == b":%d\r\n" % written  # no key was evicted
        assert call(b"FLUSHALL") == b"+OK\r\n"
