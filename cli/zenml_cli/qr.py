"""The approval link as a QR code in the terminal, so a phone can approve a headless machine.

Optional: drawn with segno (pure Python, no dependencies of its own; pinned in the CLI's ``qr``
extra, ``pip install "zenml-cli[qr]"``) when it is installed. Without it, or on a terminal that
cannot print the block characters, nothing is drawn: the link and code are printed as always.
The CLI itself keeps to the standard library.
"""

from __future__ import annotations

import io


def drawing(text: str, encoding: str | None) -> str | None:
    """``text`` as a QR code of Unicode half blocks, or None when it cannot be drawn here."""
    try:
        import segno  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    out = io.StringIO()
    segno.make(text, error="l").terminal(out=out, compact=True, border=2)
    drawn = out.getvalue()
    try:
        drawn.encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return None
    return drawn
