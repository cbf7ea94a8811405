"""Shell completion for ``leakmon``: a bash (and zsh) script generated from the parser.

``leakmon completion bash`` prints it; the script completes subcommands, their options,
the choices of options that have them (``--format``, ``--fail-on``) and file names.
It is generated from the same ``argparse`` parser that parses the command line, so a new
option completes without anyone editing a script.
"""

from __future__ import annotations

import argparse
import shlex

__all__ = ["completion_script"]

_FILE_OPTIONS = ("--config", "-c")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public accessor for subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(
    parser: argparse.ArgumentParser, path: str, table: dict[str, argparse.ArgumentParser]
) -> None:
    table[path] = parser
    for name, sub in _subcommands(parser).items():
        _walk(sub, f"{path} {name}".strip(), table)


def _words(parser: argparse.ArgumentParser) -> list[str]:
    words = list(_subcommands(parser))
    for action in parser._actions:
        words += [o for o in action.option_strings if o.startswith("--") or len(o) == 2]
    return sorted(set(words))


def _choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    out = {}
    for action in parser._actions:
        if action.choices and action.option_strings:
            for option in action.option_strings:
                out[option] = [str(c) for c in action.choices]
    return out


def completion_script(parser: argparse.ArgumentParser, shell: str = "bash") -> str:
    """Return a completion script for ``bash`` or ``zsh`` (through bashcompinit)."""
    table: dict[str, argparse.ArgumentParser] = {}
    _walk(parser, "", table)
    words_cases, choice_cases = [], []
    for path, sub in sorted(table.items()):
        words_cases.append(f"    {shlex.quote(path)}) opts={shlex.quote(' '.join(_words(sub)))} ;;")
        for option, choices in sorted(_choices(sub).items()):
            key = shlex.quote(f"{path}|{option}")
            choice_cases.append(f"    {key}) opts={shlex.quote(' '.join(choices))} ;;")
    file_options = "|".join(_FILE_OPTIONS)
    lines = [
        "# leakmon shell completion. bash: source it, or save it as",
        "#   ~/.local/share/bash-completion/completions/leakmon",
        "# zsh: add `autoload -U +X bashcompinit && bashcompinit` before sourcing it.",
        "_leakmon() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '  local path="" opts="" i word subs',
        "  for ((i = 1; i < COMP_CWORD; i++)); do",
        '    word="${COMP_WORDS[i]}"',
        "    [[ $word == -* ]] && continue",
        '    subs=" $(_leakmon_words "$path") "',
        '    [[ $subs == *" $word "* ]] && path="${path:+$path }$word"',
        "  done",
        '  case "$prev" in',
        f'    {file_options}) COMPREPLY=($(compgen -f -- "$cur")); return ;;',
        "  esac",
        '  opts="$(_leakmon_choices "$path|$prev")"',
        '  if [[ -n $opts ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi',
        '  COMPREPLY=($(compgen -W "$(_leakmon_words "$path")" -- "$cur"))',
        '  if [[ $cur != -* && -n $path ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi',
        "}",
        "_leakmon_words() {",
        '  local opts=""',
        '  case "$1" in',
        *words_cases,
        "  esac",
        '  printf "%s" "$opts"',
        "}",
        "_leakmon_choices() {",
        '  local opts=""',
        '  case "$1" in',
        *choice_cases,
        "  esac",
        '  printf "%s" "$opts"',
        "}",
        "complete -o default -F _leakmon leakmon",
    ]
    if shell == "zsh":
        lines.insert(3, "autoload -U +X bashcompinit && bashcompinit")
    return "\n".join(lines) + "\n"
