"""Everything a command touches outside its arguments, passed in so tests can supply their own.

The environment, the streams, the clock, ``sleep`` and the browser opener all come from here;
no command reads ``os.environ`` or calls ``time.sleep`` directly.
"""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from zenml_cli import oidc
from zenml_cli.client import Client
from zenml_cli.config import (
    ENV_STORE_API_KEY,
    ENV_STORE_URL,
    Config,
    Credentials,
    default_config_dir,
    normalize_url,
)
from zenml_cli.errors import CLIError, NotConnected


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the user's browser; False when no browser could be started."""
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


@dataclass
class Runtime:
    env: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    sleep: Callable[[float], None]
    now: Callable[[], datetime] = utc_now
    open_browser: Callable[[str], bool] = open_in_browser
    platform: str = sys.platform
    _config: Config | None = field(default=None, init=False)
    _client: Client | None = field(default=None, init=False)

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def config(self) -> Config:
        if self._config is None:
            self._config = Config(default_config_dir(self.env))
        return self._config

    def client(self) -> Client:
        """The client for the server this command talks to (resolved once per process).

        ``ZENML_STORE_URL`` + ``ZENML_STORE_API_KEY`` win over anything stored; the key's token
        then stays in memory only. ``ZENML_STORE_URL`` alone picks which stored server to use.
        """
        if self._client is None:
            self._client = self._resolve_client()
        return self._client

    def _resolve_client(self) -> Client:
        env_url = self.env.get(ENV_STORE_URL, "").strip()
        env_key = self.env.get(ENV_STORE_API_KEY, "").strip()
        config = self.config()
        if env_url and env_key:
            if config.servers():
                self.err(
                    f"Using {ENV_STORE_URL} and {ENV_STORE_API_KEY} from the environment "
                    "(stored credentials are ignored)."
                )
            credentials = Credentials(kind="api_key", api_key=env_key)
            return Client(normalize_url(env_url), credentials, config=None, now=self.now)
        if env_key:
            raise CLIError(f"{ENV_STORE_API_KEY} is set but {ENV_STORE_URL} is not; set both")
        keyless = oidc.from_environment(self.env) if env_url else None
        if keyless is not None:
            return Client(normalize_url(env_url), keyless, config=None, now=self.now, env=self.env)
        url = normalize_url(env_url) if env_url else config.active_url
        if url is None:
            raise NotConnected(
                "not connected to a ZenML server; run `zenml connect --url URL` first"
            )
        stored = config.credentials(url)
        if stored is None:
            raise CLIError(f"no credentials stored for {url}; run `zenml connect --url {url}`")
        return Client(url, stored, config=config, now=self.now, env=self.env)

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question on stdin; anything but y/yes (or end of input) is no."""
        self.stdout.write(f"{question} [y/N]: ")
        self.stdout.flush()
        answer = self.stdin.readline()
        if not answer:
            self.out()
        return answer.strip().lower() in ("y", "yes")

    def browser_available(self) -> bool:
        """False over SSH, and on Linux without a display: opening one would only confuse."""
        if self.env.get("SSH_CONNECTION") or self.env.get("SSH_TTY"):
            return False
        if self.platform.startswith("linux"):
            return bool(self.env.get("DISPLAY") or self.env.get("WAYLAND_DISPLAY"))
        return True
