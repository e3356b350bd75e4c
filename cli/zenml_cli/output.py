"""Render API objects for people (tables, key/value blocks) or for programs (``--output json``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from zenml_cli.config import parse_timestamp

Column = tuple[str, Callable[[dict[str, Any]], str]]


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        choices=("table", "json"),
        default="table",
        help="table (default, for people) or json (the API's field names, for scripts)",
    )


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def timestamp(value: Any) -> str:
    """``2026-11-28 10:00 UTC`` for an ISO 8601 string; ``-`` when absent."""
    if not value:
        return "-"
    try:
        parsed = parse_timestamp(str(value))
    except ValueError:
        return str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def text(value: Any) -> str:
    """A cell: ``-`` for nothing, yes/no for booleans, the name of a nested ``{id, name}``."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "name" in value:
        return str(value["name"])
    return str(value)


def field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda item: text(item.get(name))


def time_field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda item: timestamp(item.get(name))


def table(items: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """A plain-text table with a header row; columns as wide as their widest cell."""
    rows = [[header for header, _ in columns]]
    rows += [[render(item) for _, render in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def record(item: dict[str, Any], columns: Sequence[Column]) -> str:
    """One object as aligned ``Label: value`` lines."""
    width = max(len(label) for label, _ in columns) + 1
    return "\n".join(f"{(label + ':').ljust(width)} {render(item)}" for label, render in columns)
