"""argparse pieces shared by every command: the parser class and value types."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NoReturn

from zenml_cli.errors import CLIError

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes are one ``Error:`` line (exit 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see `{self.prog} --help`)", exit_code=USAGE_ERROR)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A mistyped command or choice names the nearest one (``did you mean 'status'?``)."""
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(choice) for choice in choices]
        close = difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
        what = "command" if isinstance(action, argparse._SubParsersAction) else "choice"
        hint = f"; did you mean {close[0]!r}?" if close else f" (choose from {', '.join(names)})"
        raise argparse.ArgumentError(action, f"unknown {what} {value!r}{hint}")


def add_command(
    subparsers: argparse._SubParsersAction[Any],
    name: str,
    *,
    help: str,
    example: str | Sequence[str],
    aliases: Sequence[str] = (),
    description: str | None = None,
) -> Parser:
    """A sub-command whose ``--help`` has a description and at least one example line."""
    examples = [example] if isinstance(example, str) else list(example)
    parser: Parser = subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=help,
        description=description or (help[:1].upper() + help[1:] + "."),
        epilog="Example:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def add_group(
    subparsers: argparse._SubParsersAction[Any],
    name: str,
    *,
    help: str,
    example: str | Sequence[str],
    aliases: Sequence[str] = (),
    dest: str = "action",
    positionals: Sequence[tuple[str, str, str]] = (),
) -> tuple[Parser, argparse._SubParsersAction[Any]]:
    """A command with its own sub-commands; run bare, it prints its help.

    ``positionals`` (dest, metavar, help) come before the sub-command, as in
    ``zenml service-account api-key ACCOUNT rotate KEY``.
    """
    group = add_command(subparsers, name, help=help, example=example, aliases=aliases)
    for dest_name, metavar, text in positionals:
        group.add_argument(dest_name, metavar=metavar, help=text)
    group.set_defaults(handler=lambda rt, args: print_help(rt, group))
    sub = group.add_subparsers(dest=dest, metavar="ACTION")
    return group, sub


def print_help(rt: Any, parser: argparse.ArgumentParser) -> int:
    """``zenml`` (or a command group) given alone: its help on stdout, exit 0."""
    rt.out(parser.format_help().rstrip())
    return 0


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def boolean(raw: str) -> bool:
    """``true``/``false`` (also yes/no, 1/0, on/off), for options like ``--active false``."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {raw!r}")


def non_negative_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def port(raw: str) -> int:
    value = non_negative_int(raw)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def given(**values: object) -> dict[str, object]:
    """The options the user actually gave (not None), as a request body for a partial update."""
    return {name: value for name, value in values.items() if value is not None}


_UNITS = {"d": 86400, "h": 3600, "m": 60}


def duration(raw: str) -> timedelta:
    """A duration such as ``90d``, ``12h`` or ``30m`` (a whole number and a unit)."""
    text = raw.strip().lower()
    unit = _UNITS.get(text[-1:])
    number = text[:-1]
    if unit is None or not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90d, 12h or 30m, got {raw!r}"
        )
    return timedelta(seconds=int(number) * unit)
