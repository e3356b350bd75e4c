"""Device-id prefixes and paging through the whole list, with a scripted server."""

from __future__ import annotations

import io
from pathlib import Path

from zenml_cli.main import main

from tests.cli.scripted_server import scripted_server

A = "4f1c2a9e-0000-4000-8000-000000000001"
B = "4f1c7b2d-0000-4000-8000-000000000002"
TOKEN = (200, {"access_token": "t", "token_type": "bearer", "expires_in": 3600})


def _device(device_id: str, status: str = "active") -> dict[str, object]:
    return {"id": device_id, "status": status, "hostname": "laptop", "user": {"name": "a"}}


def _run(url: str, tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {
        "ZENML_CONFIG_PATH": str(tmp_path),
        "ZENML_STORE_URL": url,
        "ZENML_STORE_API_KEY": "KEY",
    }
    code = main(list(argv), env=env, stdout=out, stderr=err, sleep=lambda _: None)
    return code, out.getvalue(), err.getvalue()


def test_ambiguous_prefix_lists_candidates_and_changes_nothing(tmp_path: Path) -> None:
    """`lock 4f1c` with two matching devices names both, exits 1, and sends no PUT."""
    page = {"items": [_device(A), _device(B)], "total": 2, "page": 1, "size": 100}
    with scripted_server([TOKEN, (200, page)]) as server:
        code, _, err = _run(server.url, tmp_path, "authorized-device", "lock", "4f1c")
    assert code == 1
    assert A in err and B in err and err.count("\n") == 1
    assert [method for method, _, _ in server.requests] == ["POST", "GET"]


def test_unique_prefix_locks_the_full_id(tmp_path: Path) -> None:
    """`lock 4f1c7` resolves to the one matching device and PUTs {locked: true} to its id."""
    page = {"items": [_device(A), _device(B)], "total": 2, "page": 1, "size": 100}
    with scripted_server([TOKEN, (200, page), (200, _device(B, "locked"))]) as server:
        code, out, err = _run(server.url, tmp_path, "device", "lock", "4f1c7")
    assert code == 0, err
    assert f"Locked device {B} (laptop)" in out
    assert server.requests[-1][:2] == ("PUT", f"/api/v1/devices/{B}")


def test_list_follows_every_page(tmp_path: Path) -> None:
    """list asks for the next page until it has `total` items."""
    first = {"items": [_device(A)], "total": 2, "page": 1, "size": 1}
    second = {"items": [_device(B)], "total": 2, "page": 2, "size": 1}
    with scripted_server([TOKEN, (200, first), (200, second)]) as server:
        code, out, err = _run(server.url, tmp_path, "devices", "list", "--status", "active")
    assert code == 0, err
    assert A in out and B in out
    paths = [path for _, path, _ in server.requests[1:]]
    assert paths[0].startswith("/api/v1/devices?status=active&page=1")
    assert "page=2" in paths[1]


def test_expired_api_key_token_is_renewed_after_a_401(tmp_path: Path) -> None:
    """A 401 on an API-key token logs in again once and retries the request."""
    page = {"items": [], "total": 0, "page": 1, "size": 100}
    unauthorized = (401, {"error": "unauthorized", "detail": "token expired"})
    with scripted_server([TOKEN, unauthorized, TOKEN, (200, page)]) as server:
        code, out, err = _run(server.url, tmp_path, "devices", "list")
    assert code == 0, err
    assert out.strip() == "No devices."
    assert [path.split("?")[0] for _, path, _ in server.requests] == [
        "/api/v1/login",
        "/api/v1/devices",
        "/api/v1/login",
        "/api/v1/devices",
    ]
