"""Run inside .compat-venv: log in to the server at argv[1] with the real ZenML client's
device flow (``zenml.login.web_login.web_login``), which uses only the two OAuth endpoints.

Instead of opening a browser, the verification URL is printed as ``VERIFY <url>`` for the
test to approve; the outcome is printed as ``TOKEN <expires_in> <device_id>``.
"""

from __future__ import annotations

import sys
import webbrowser


def _print_instead(url: str, *args: object, **kwargs: object) -> bool:
    print(f"VERIFY {url}", flush=True)
    return True


webbrowser.open = _print_instead  # type: ignore[assignment]

# zenml.cli first, as the zenml command does: importing web_login alone is circular.
import zenml.cli  # noqa: E402, F401 - after the browser is replaced
from zenml.login.web_login import web_login  # noqa: E402

token = web_login(url=sys.argv[1])
print(f"TOKEN {token.expires_in} {token.device_id}", flush=True)
