"""argparse pieces shared by every command: the parser class and value types."""

from __future__ import annotations

import argparse
from typing import NoReturn

from zenml_cli.errors import CLIError

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes are one ``Error:`` line (exit 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see `{self.prog} --help`)", exit_code=USAGE_ERROR)


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
