"""A device id may be given as a unique prefix."""

from __future__ import annotations

import pytest
from zenml_cli.commands.devices import match_prefix
from zenml_cli.errors import CLIError

IDS = [
    "4f1c2a9e-0000-4000-8000-000000000001",
    "4f1c7b2d-0000-4000-8000-000000000002",
    "9a0b1c2d-0000-4000-8000-000000000003",
]


def test_unique_prefix_resolves_to_the_full_id() -> None:
    """A prefix that matches one id returns that id, whatever its case."""
    assert match_prefix("9A0B", IDS) == IDS[2]
    assert match_prefix("4f1c2", IDS) == IDS[0]


def test_full_id_resolves_to_itself() -> None:
    """A complete id is always unambiguous."""
    assert match_prefix(IDS[1], IDS) == IDS[1]


def test_ambiguous_prefix_lists_the_candidates() -> None:
    """A prefix shared by several ids names them all and picks none."""
    with pytest.raises(CLIError) as raised:
        match_prefix("4f1c", IDS)
    assert IDS[0] in raised.value.message and IDS[1] in raised.value.message
    assert IDS[2] not in raised.value.message


def test_unknown_or_empty_prefix_is_an_error() -> None:
    """No match, and an empty prefix, are both refused."""
    with pytest.raises(CLIError, match="no device id starts with"):
        match_prefix("ffff", IDS)
    with pytest.raises(CLIError, match="give a device id"):
        match_prefix("  ", IDS)
