"""The notifier seam: registry, entry-point plugins, building from config, the POST helper."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr

from monitor.config import NotifierConfig, load_settings
from monitor.errors import ConfigError, NotConfigured, NotifyError
from monitor.notifiers import (
    NOTIFIERS,
    PagerDutyNotifier,
    SlackNotifier,
    WebhookNotifier,
    build_notifiers,
    http_post,
    load_plugins,
    register,
)
from monitor.notifiers import base as base_module
from monitor.notifiers.base import redact_url


@pytest.fixture(autouse=True)
def _restore_registry():
    saved = dict(NOTIFIERS)
    yield
    NOTIFIERS.clear()
    NOTIFIERS.update(saved)


class EchoNotifier:
    """A third-party notifier, as a plugin package would ship it."""

    kind: ClassVar[str] = "echo"

    def __init__(self, name: str = "echo") -> None:
        self.name = name

    @classmethod
    def from_config(cls, cfg):
        if cfg.url is None:
            raise NotConfigured("echo needs a url")
        return cls(cfg.name)

    def send(self, alert) -> None:
        pass


class FakeEntryPoint:
    def __init__(self, name: str, loaded) -> None:
        self.name = name
        self.value = f"leakmon_echo:{name}"
        self._loaded = loaded

    def load(self):
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def _entry_points(monkeypatch, *eps):
    def fake(group: str):
        assert group == "leakmon.notifiers"
        return list(eps)

    monkeypatch.setattr(base_module, "entry_points", fake)


def test_builtins_are_registered():
    assert NOTIFIERS["webhook"] is WebhookNotifier
    assert NOTIFIERS["slack"] is SlackNotifier
    assert NOTIFIERS["pagerduty"] is PagerDutyNotifier


def test_duplicate_kind_raises():
    class OtherWebhook:
        kind = "webhook"

    with pytest.raises(ValueError, match="'webhook' registered twice"):
        register(OtherWebhook)


def test_registering_the_same_class_again_is_harmless():
    assert register(WebhookNotifier) is WebhookNotifier


@pytest.mark.parametrize("kind", [None, "", "Web Hook", "1st"])
def test_kind_must_be_a_config_name(kind):
    class Bad:
        pass

    Bad.kind = kind
    with pytest.raises(ValueError, match="class-level kind"):
        register(Bad)


def test_build_notifiers_by_name():
    built = build_notifiers(
        [
            NotifierConfig(name="hook", kind="webhook", url=SecretStr("https://h.example/x")),
            NotifierConfig(name="chat", kind="slack", url=SecretStr("https://s.example/y")),
            NotifierConfig(name="pd", kind="pagerduty", routing_key=SecretStr("k" * 32)),
        ]
    )

    assert list(built) == ["hook", "chat", "pd"]
    assert isinstance(built["hook"], WebhookNotifier)
    assert isinstance(built["chat"], SlackNotifier)
    assert isinstance(built["pd"], PagerDutyNotifier)
    assert built["chat"].name == "chat"


def test_unknown_kind_names_notifier_and_field(monkeypatch):
    _entry_points(monkeypatch)
    with pytest.raises(ConfigError, match=r"notifier 'ops': kind: unknown kind 'webhok'") as caught:
        build_notifiers([NotifierConfig(name="ops", kind="webhok")])
    assert "pagerduty, slack, webhook" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "field"), [("webhook", "url"), ("slack", "url"), ("pagerduty", "routing_key")]
)
def test_missing_secret_names_notifier_and_field(kind, field):
    with pytest.raises(ConfigError, match=rf"notifier 'ops' \({kind}\): {field}: required"):
        build_notifiers([NotifierConfig(name="ops", kind=kind)])


def test_switched_off_notifier_is_skipped_with_a_warning(caplog):
    configs = [
        NotifierConfig(name="hook", kind="webhook", url=SecretStr("https://h.example/x")),
        NotifierConfig(name="chat", kind="slack", url=SecretStr("")),
    ]
    with caplog.at_level(logging.WARNING, logger="monitor.notifiers.base"):
        built = build_notifiers(configs)

    assert list(built) == ["hook"]
    assert any(
        "'chat'" in r.getMessage() and "switched off" in r.getMessage() for r in caplog.records
    )


def test_unused_secret_is_reported(caplog):
    cfg = NotifierConfig(
        name="chat", kind="slack", url=SecretStr("https://s.example/y"), secret=SecretStr("x")
    )
    with caplog.at_level(logging.WARNING, logger="monitor.notifiers.base"):
        build_notifiers([cfg])
    assert any("ignores secret" in r.getMessage() for r in caplog.records)


def test_plugins_load_from_entry_points(monkeypatch):
    _entry_points(monkeypatch, FakeEntryPoint("echo", EchoNotifier))

    assert load_plugins() == ["echo"]
    assert NOTIFIERS["echo"] is EchoNotifier


def test_build_notifiers_loads_plugins_for_unknown_kinds(monkeypatch):
    _entry_points(monkeypatch, FakeEntryPoint("echo", EchoNotifier))

    built = build_notifiers(
        [
            NotifierConfig(name="e1", kind="echo", url=SecretStr("https://e.example/")),
            NotifierConfig(name="e2", kind="echo"),  # switched off by the plugin itself
        ]
    )
    assert list(built) == ["e1"]
    assert isinstance(built["e1"], EchoNotifier)


def test_plugin_that_takes_a_builtin_kind_raises(monkeypatch):
    class Impostor:
        kind = "slack"

    _entry_points(monkeypatch, FakeEntryPoint("impostor", Impostor))
    with pytest.raises(ValueError, match="'slack' registered twice"):
        load_plugins()


@pytest.mark.parametrize("loaded", [ImportError("no module named leakmon_echo"), "not a class"])
def test_broken_plugin_is_a_config_error(monkeypatch, loaded):
    _entry_points(monkeypatch, FakeEntryPoint("echo", loaded))
    with pytest.raises(ConfigError, match="notifier plugin 'echo'"):
        load_plugins()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"),
        ("http://user:pw@127.0.0.1:8080/x?token=abc", "http://127.0.0.1:8080/…"),
        ("https://h.example", "https://h.example/…"),
        ("http://[::1", "<invalid URL>"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_http_post_returns_status_and_excerpt(receiver):
    receiver.respond(202, b'{"status": "success"}')
    status, excerpt = http_post("n", receiver.url + "/in", b"{}", {"X-Extra": "1"}, timeout=2)

    assert (status, excerpt) == (202, '{"status": "success"}')
    got = receiver.requests[0]
    assert got.headers["X-Extra"] == "1"
    assert got.headers["Content-Type"] == "application/json"
    assert got.body == b"{}"


def test_http_post_error_excerpt_is_short(receiver):
    receiver.fail(1, 500, body=b"x" * 10_000)
    with pytest.raises(NotifyError) as caught:
        http_post("n", receiver.url, b"{}")
    assert len(str(caught.value)) < 300


def test_http_post_keeps_extra_secrets_out_of_messages(receiver):
    receiver.fail(1, 400, body=b"bad key sekr1t-routing-key")
    with pytest.raises(NotifyError) as caught:
        http_post("n", receiver.url, b"{}", secrets=["sekr1t-routing-key"])
    assert "sekr1t" not in str(caught.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:,hello", "ftp://h.example/x"])
def test_http_post_refuses_other_schemes(url):
    with pytest.raises(NotifyError, match="only http"):
        http_post("n", url, b"{}")


def test_example_config_builds_its_notifiers(monkeypatch):
    monkeypatch.setenv("LEAKMON_WEBHOOK_URL", "https://hooks.example.com/leakmon/T0KEN")
    monkeypatch.setenv("LEAKMON_WEBHOOK_SECRET", "example-secret")
    settings = load_settings(Path(__file__).resolve().parents[2] / "config" / "example.yaml")

    built = build_notifiers(settings.notify)

    assert {name: type(n) for name, n in built.items()} == {"oncall": WebhookNotifier}
