"""Tables, records and timestamps for people; JSON for scripts."""

from __future__ import annotations

import json

from zenml_cli.output import field, record, table, text, time_field, timestamp, to_json


def test_table_aligns_columns_under_headers() -> None:
    """Each column is as wide as its widest cell; missing values show as '-'."""
    rendered = table(
        [{"name": "ci", "active": True}, {"name": "deployer-bot", "active": None}],
        [("NAME", field("name")), ("ACTIVE", field("active"))],
    )
    assert rendered.splitlines() == [
        "NAME          ACTIVE",
        "ci            yes",
        "deployer-bot  -",
    ]


def test_record_lists_labelled_values() -> None:
    """A record is one aligned 'Label: value' line per field, times in UTC."""
    rendered = record(
        {"id": "abc", "created": "2026-11-28T10:00:00Z", "user": {"id": "u", "name": "alice"}},
        [("ID", field("id")), ("Created", time_field("created")), ("User", field("user"))],
    )
    assert rendered.splitlines() == [
        "ID:      abc",
        "Created: 2026-11-28 10:00:00 UTC",
        "User:    alice",
    ]


def test_cells_render_booleans_nested_names_and_nothing() -> None:
    """yes/no for booleans, the name of an {id, name} object, '-' for null or empty."""
    assert [text(True), text(False), text(None), text(""), text({"id": "1", "name": "n"})] == [
        "yes",
        "no",
        "-",
        "-",
        "n",
    ]


def test_timestamps_are_shown_in_utc() -> None:
    """ISO 8601 with an offset is converted to UTC; absent is '-'; garbage passes through."""
    assert timestamp("2026-11-28T11:30:00+01:00") == "2026-11-28 10:30:00 UTC"
    assert timestamp(None) == "-"
    assert timestamp("soon") == "soon"


def test_json_output_keeps_api_field_names() -> None:
    """--output json is the API's objects, unchanged, as parseable JSON."""
    item = {"trusted_device": True, "last_login": None}
    assert json.loads(to_json([item])) == [item]
