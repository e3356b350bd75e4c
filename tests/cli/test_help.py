"""Help for people and scripts: bare `zenml` prints help, a typo names the nearest command, and
every command's --help has a description, an example and described positional arguments."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from zenml_cli.parser import build_parser

from tests.cli.conftest import Cli, one_error_line


def _commands(
    parser: argparse.ArgumentParser, path: str = "zenml"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _commands(sub, f"{path} {name}")


def test_bare_zenml_prints_help(cli: Cli) -> None:
    """`zenml` alone prints the list of commands and exits 0."""
    result = cli()
    assert result.code == 0, result.err
    assert "connect" in result.out and "service-account" in result.out
    assert result.err == ""


def test_bare_group_prints_its_help(cli: Cli) -> None:
    """`zenml service-account` alone prints its actions instead of an error."""
    result = cli("service-account")
    assert result.code == 0, result.err
    assert "create" in result.out and "describe" in result.out
    assert "Example:" in result.out


def test_a_mistyped_command_suggests_the_nearest(cli: Cli) -> None:
    """`zenml statsu` is one usage line that suggests `status`, exit 2."""
    result = cli("statsu")
    assert one_error_line(result) and result.code == 2
    assert "did you mean 'status'?" in result.err
    nested = cli("service-account", "craete")
    assert "did you mean 'create'?" in nested.err


def test_every_command_has_a_description_and_an_example() -> None:
    """Each command's --help starts with a description and ends with an example line."""
    missing = []
    for path, parser in _commands(build_parser()):
        if path == "zenml":
            continue
        if not parser.description or not (parser.epilog or "").startswith("Example:\n  zenml "):
            missing.append(path)
    assert missing == []


def test_every_positional_argument_is_described() -> None:
    """No positional argument in any command lacks a help text."""
    missing = [
        f"{path} {action.metavar or action.dest}"
        for path, parser in _commands(build_parser())
        for action in parser._actions
        if not action.option_strings
        and not isinstance(action, argparse._SubParsersAction)
        and not action.help
    ]
    assert missing == []


def test_status_disconnect_up_and_down_are_described() -> None:
    """The commands the issue named have real descriptions in the command list."""
    helps = build_parser().format_help()
    for name in ("status", "disconnect", "up", "down"):
        line = next(line for line in helps.splitlines() if line.strip().startswith(name))
        assert len(line.split(None, 1)) == 2, line
