"""The config file: where it lives, who can read it, what it keeps per server."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from zenml_cli.config import Config, Credentials, default_config_dir, normalize_url
from zenml_cli.errors import CLIError
from zenml_cli.runtime import Runtime

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_dir_comes_from_zenml_config_path(tmp_path: Path) -> None:
    """ZENML_CONFIG_PATH picks the directory; without it, ~/.config/zenml."""
    assert default_config_dir({"ZENML_CONFIG_PATH": str(tmp_path)}) == tmp_path
    assert default_config_dir({}) == Path.home() / ".config" / "zenml"


def test_file_is_0600_and_directory_0700(tmp_path: Path) -> None:
    """Stored credentials are readable only by their owner."""
    directory = tmp_path / "zenml"
    Config(directory).store("http://a.example", Credentials(kind="device", access_token="t"))
    assert _mode(directory) == 0o700
    assert _mode(directory / "config.json") == 0o600


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    """Saving replaces the file in one step; nothing but config.json is left behind."""
    config = Config(tmp_path)
    config.store("http://a.example", Credentials(kind="device", access_token="one"))
    config.store("http://a.example", Credentials(kind="device", access_token="two"))
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
    assert (
        json.loads((tmp_path / "config.json").read_text())["servers"]["http://a.example"][
            "access_token"
        ]
        == "two"
    )


def test_credentials_are_kept_per_url(tmp_path: Path) -> None:
    """Two servers keep separate credentials; the last one stored is the active one."""
    config = Config(tmp_path)
    config.store("http://a.example/", Credentials(kind="device", access_token="a", device_id="d"))
    config.store("https://b.example", Credentials(kind="api_key", access_token="b", api_key="KEY"))
    reloaded = Config(tmp_path)
    a = reloaded.credentials("http://a.example")
    b = reloaded.credentials("https://b.example")
    assert a is not None and (a.kind, a.access_token, a.device_id) == ("device", "a", "d")
    assert b is not None and (b.kind, b.api_key) == ("api_key", "KEY")
    assert reloaded.active_url == "https://b.example"


def test_forget_drops_one_server_and_the_active_marker(tmp_path: Path) -> None:
    """Forgetting the active server leaves the other server's credentials alone."""
    config = Config(tmp_path)
    config.store("http://a.example", Credentials(kind="device", access_token="a"))
    config.store("http://b.example", Credentials(kind="device", access_token="b"))
    config.forget("http://b.example")
    reloaded = Config(tmp_path)
    assert reloaded.credentials("http://b.example") is None
    assert reloaded.credentials("http://a.example") is not None
    assert reloaded.active_url is None


def test_client_id_is_created_once(tmp_path: Path) -> None:
    """The installation id is a UUID made on first use and the same ever after."""
    first = Config(tmp_path).client_id
    assert len(first) == 36
    assert Config(tmp_path).client_id == first


def test_a_corrupt_file_is_one_readable_error(tmp_path: Path) -> None:
    """A config file that is not JSON names the file instead of raising a traceback."""
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CLIError, match="not valid JSON"):
        Config(tmp_path)


def test_urls_are_normalised_and_checked() -> None:
    """A trailing slash does not make a second server; a URL without a scheme is refused."""
    assert normalize_url(" https://zenml.example.com/ ") == "https://zenml.example.com"
    with pytest.raises(CLIError, match="http:// or https://"):
        normalize_url("zenml.example.com")


def test_token_expiry_has_a_safety_margin() -> None:
    """A token that expires within 30 s counts as expired; one without expiry never does."""
    soon = Credentials(kind="device", access_token="t", expires_at="2026-11-28T10:00:20Z")
    later = Credentials(kind="device", access_token="t", expires_at="2026-11-28T11:00:00Z")
    assert soon.expired(NOW)
    assert not later.expired(NOW)
    assert not Credentials(kind="device", access_token="t").expired(NOW)
    assert Credentials(kind="device").expired(NOW)


def _runtime(env: dict[str, str]) -> tuple[Runtime, io.StringIO]:
    stderr = io.StringIO()
    rt = Runtime(
        env=env, stdout=io.StringIO(), stderr=stderr, stdin=io.StringIO(), sleep=lambda _: None
    )
    return rt, stderr


def test_environment_variables_win_over_stored_credentials(tmp_path: Path) -> None:
    """ZENML_STORE_URL + ZENML_STORE_API_KEY beat the stored server, with one notice."""
    Config(tmp_path).store("http://stored.example", Credentials(kind="device", access_token="t"))
    rt, stderr = _runtime(
        {
            "ZENML_CONFIG_PATH": str(tmp_path),
            "ZENML_STORE_URL": "http://env.example/",
            "ZENML_STORE_API_KEY": "ZENKEY_abc",
        }
    )
    client = rt.client()
    assert rt.client() is client
    assert client.url == "http://env.example"
    assert (client.credentials.kind, client.credentials.api_key) == ("api_key", "ZENKEY_abc")
    assert not client.stored
    assert stderr.getvalue().count("ZENML_STORE_API_KEY") == 1


def test_environment_variables_work_with_nothing_stored(tmp_path: Path) -> None:
    """With only the environment, the CLI has a server and writes nothing to disk."""
    rt, stderr = _runtime(
        {
            "ZENML_CONFIG_PATH": str(tmp_path / "none"),
            "ZENML_STORE_URL": "http://env.example",
            "ZENML_STORE_API_KEY": "ZENKEY_abc",
        }
    )
    assert rt.client().url == "http://env.example"
    assert stderr.getvalue() == ""
    assert not (tmp_path / "none").exists()


def test_an_api_key_without_a_url_is_refused(tmp_path: Path) -> None:
    """ZENML_STORE_API_KEY alone says which variable is missing."""
    rt, _ = _runtime({"ZENML_CONFIG_PATH": str(tmp_path), "ZENML_STORE_API_KEY": "k"})
    with pytest.raises(CLIError, match="ZENML_STORE_URL is not"):
        rt.client()
