"""The approval link drawn as a QR code on a terminal (so a phone can approve a headless box),
and never where it would only be noise."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from zenml_cli.main import main
from zenml_cli.qr import drawing

from tests.cli.scripted_server import scripted_server

START = {
    "device_code": "dc",
    "user_code": "WDJB-MJHT",
    "verification_uri": "http://x/devices/verify",
    "verification_uri_complete": "http://x/devices/verify?device_id=d&user_code=WDJB-MJHT",
    "expires_in": 300,
    "interval": 5,
}


class Terminal(io.StringIO):
    """Standard output that says it is a terminal and prints UTF-8."""

    encoding = "utf-8"  # type: ignore[assignment]

    def isatty(self) -> bool:
        return True


def _connect(tmp_path: Path, out: io.StringIO, *extra: str) -> str:
    with scripted_server([(200, START)]) as server:
        main(
            ["connect", "--url", server.url, "--no-wait", *extra],
            env={"ZENML_CONFIG_PATH": str(tmp_path)},
            stdout=out,
            stderr=io.StringIO(),
        )
    return out.getvalue()


def test_a_terminal_gets_the_link_as_a_qr_code(tmp_path: Path) -> None:
    """On a terminal, connect draws verification_uri_complete as a QR code below the link."""
    shown = _connect(tmp_path, Terminal())
    expected = io.StringIO()
    segno.make(START["verification_uri_complete"], error="l").terminal(
        out=expected, compact=True, border=2
    )
    assert "Or scan it with a phone:" in shown
    assert expected.getvalue().rstrip("\n") in shown
    assert START["verification_uri_complete"] in shown and "WDJB-MJHT" in shown


def test_no_qr_and_pipes_get_no_drawing(tmp_path: Path) -> None:
    """--no-qr, or output that is not a terminal (a pipe, a CI log), draws nothing."""
    assert "scan it" not in _connect(tmp_path / "a", Terminal(), "--no-qr")
    assert "scan it" not in _connect(tmp_path / "b", io.StringIO())


def test_a_terminal_that_cannot_print_blocks_gets_none() -> None:
    """An ASCII-only terminal gets no drawing rather than an encoding error."""
    assert drawing("http://x", "ascii") is None
    assert drawing("http://x", "utf-8")
