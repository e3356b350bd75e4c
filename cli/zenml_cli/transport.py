"""One HTTP request with urllib, and the ``User-Agent`` the server reads device metadata from.

Named ``transport`` rather than ``http`` so it can never shadow the standard library's package.
"""

from __future__ import annotations

import json
import platform
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zenml_cli import __version__
from zenml_cli.errors import ApiError, CLIError

TIMEOUT_SECONDS = 30.0


def user_agent() -> str:
    """``zenml-cli/<v> Host/<hostname> ZenML/<v> Python/<v> OS/<system>``, read by the server
    (the first part names this client on the approval page)."""
    python = ".".join(str(part) for part in sys.version_info[:3])
    host = socket.gethostname()
    return (
        f"zenml-cli/{__version__} Host/{host} ZenML/{__version__} Python/{python} "
        f"OS/{platform.system()}"
    )


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is a one-line error."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise CLIError(
                f"the server answered HTTP {self.status} with a body that is not JSON"
            ) from None


class ConnectionFailed(CLIError):
    """The server could not be reached at all (refused, DNS, timeout)."""


def send(
    method: str,
    url: str,
    *,
    form: Mapping[str, str] | None = None,
    json_body: Any = None,
    token: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Response:
    """Send one request and return the response, whatever its status.

    Raises ConnectionFailed when no HTTP answer arrives.
    """
    headers = {"User-Agent": user_agent(), "Accept": "application/json"}
    data: bytes | None = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # Only http(s) URLs get here: config.normalize_url rejects every other scheme.
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return Response(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, dict(error.headers.items()), error.read())
    except urllib.error.URLError as error:
        reason = error.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise ConnectionFailed(f"cannot reach the server at {_origin(url)}: {text}") from None
    except TimeoutError:
        raise ConnectionFailed(f"the server at {_origin(url)} did not answer in time") from None
    except (ConnectionError, OSError) as error:
        raise ConnectionFailed(
            f"lost the connection to {_origin(url)}: {error.strerror or error}"
        ) from None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def raise_for_status(response: Response) -> None:
    """Turn an error answer into an ApiError with the server's one-sentence explanation."""
    if response.status < 400:
        return
    code = ""
    detail = ""
    try:
        body = json.loads(response.body) if response.body else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error") or "")
        detail = str(body.get("detail") or body.get("error_description") or "")
    if response.status >= 500:
        message = f"the server failed (HTTP {response.status})"
        if detail:
            message += f": {detail}"
    elif detail:
        message = detail
    else:
        message = _DEFAULT_MESSAGES.get(
            response.status, f"the server answered HTTP {response.status}"
        )
    request_id = body.get("request_id") if isinstance(body, dict) else None
    if request_id and response.status >= 500:
        message += f" (request id {request_id})"
    raise ApiError(message, status=response.status, code=code)


_DEFAULT_MESSAGES = {
    400: "the server rejected the request as invalid",
    401: "not authenticated; run `zenml connect --url URL` again",
    403: "you are not allowed to do that",
    404: "not found",
    409: "that conflicts with something that already exists",
    422: "the server rejected the request as invalid",
}
