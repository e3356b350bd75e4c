"""/metrics: Prometheus text format 0.0.4 an operator can scrape and alert on."""

from __future__ import annotations

import re
from typing import Any

from tests.builders import ADMIN_PASSWORD
from tests.device_flow.builders import approve, poll, start
from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock
from zenml_server.http.metrics import CONTENT_TYPE

_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\]*",?)+\})? -?[0-9.]+(e[+-]?[0-9]+)?$')


async def _metrics(client: Any) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    text: str = await checked(resp)
    return text


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in /metrics:\n{text}")


async def test_metrics_are_valid_prometheus_text(client: Any) -> None:
    """Every line is a HELP, a TYPE or a well-formed sample, and every sample's metric has a
    TYPE; the content type carries version=0.0.4."""
    await client.get("/health")
    text = await _metrics(client)
    typed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE"), line
            continue
        assert _SAMPLE.match(line), line
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        assert name in typed or re.sub(r"_(bucket|sum|count)$", "", name) in typed, line


async def test_requests_are_counted_by_route_template_and_code(client: Any) -> None:
    """Requests count under their route template and exact status code (never the raw path),
    with a latency histogram per route."""
    await client.get("/api/v1/devices/3f1c0d8e-secret-looking-id")
    await client.get("/api/v1/devices/another-id")
    text = await _metrics(client)
    route = "/api/v1/devices/{device_id}"
    sample = f'zenml_server_http_requests_total{{method="GET",route="{route}",code="401"}}'
    assert _value(text, sample) == 2
    assert "secret-looking-id" not in text and "another-id" not in text
    name = "zenml_server_http_request_duration_seconds"
    assert _value(text, f'{name}_bucket{{route="{route}",le="+Inf"}}') == 2
    assert _value(text, f'{name}_count{{route="{route}"}}') == 2


async def test_device_flows_and_logins_are_counted(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Device flows started, approved and expired, and logins by kind and outcome."""
    first = await start(client)
    assert (await approve(client, admin_token, first)).status == 200
    assert (await poll(client, first)).status == 200
    second = await start(client)
    clock.advance(3600)
    assert (await poll(client, second)).status == 400
    bad = {"username": "admin", "password": ADMIN_PASSWORD + "x"}
    assert (await client.post("/api/v1/login", data=bad)).status == 400
    text = await _metrics(client)
    flows = "zenml_server_device_flows_total"
    assert _value(text, f'{flows}{{outcome="started"}}') == 2
    assert _value(text, f'{flows}{{outcome="approved"}}') == 1
    assert _value(text, f'{flows}{{outcome="denied"}}') == 0
    assert _value(text, f'{flows}{{outcome="expired"}}') == 1
    logins = "zenml_server_logins_total"
    assert _value(text, f'{logins}{{kind="password",outcome="success"}}') == 1
    assert _value(text, f'{logins}{{kind="password",outcome="invalid_grant"}}') == 1
    assert _value(text, f'{logins}{{kind="device_code",outcome="success"}}') == 1
    assert _value(text, f'{logins}{{kind="device_code",outcome="expired_token"}}') == 1


async def test_database_pool_loops_and_revocations_are_shown(
    client: Any, admin_token: str, engine: str
) -> None:
    """The pool, database up, each loop's last good round and revocations sent; LISTEN
    connected on PostgreSQL."""
    authorization = await start(client)
    assert (await approve(client, admin_token, authorization)).status == 200
    text = await _metrics(client)
    assert _value(text, "zenml_server_database_up") == 1
    assert _value(text, "zenml_server_db_pool_max") >= 1
    assert _value(text, "zenml_server_db_pool_waiting") == 0
    assert "zenml_server_db_pool_in_use " in text and "zenml_server_db_pool_size " in text
    age = "zenml_server_background_loop_last_success_age_seconds"
    for loop in ("change_log_poller", "last_used_flush", "housekeeping"):
        assert _value(text, f'{age}{{loop="{loop}"}}') >= 0
        assert _value(text, f'zenml_server_background_loop_stale{{loop="{loop}"}}') == 0
    assert _value(text, "zenml_server_revocations_sent_total") >= 0
    assert 'zenml_server_revocations_received_total{path="poll"}' in text
    assert ("zenml_server_listen_connected " in text) == (engine == "postgresql")


async def test_rate_limits_show_how_many_keys_they_hold(client: Any) -> None:
    """Each rate limit, by name, with the number of keys (addresses, names) it holds."""
    await start(client)
    bad = {"username": "nobody", "password": "wrong-password"}
    assert (await client.post("/api/v1/login", data=bad)).status == 400
    text = await _metrics(client)
    keys = "zenml_server_rate_limit_keys"
    assert _value(text, f'{keys}{{limit="device_authorization_per_address"}}') == 1
    assert _value(text, f'{keys}{{limit="password_login_per_address"}}') == 1
    assert _value(text, f'{keys}{{limit="api_key_login_per_address"}}') == 0
    limits = re.findall(rf'^{keys}{{limit="([a-z_]+)"}}', text, re.MULTILINE)
    assert len(limits) == len(set(limits)), limits
    assert {
        "api_key_login_per_address",
        "device_authorization_per_address",
        "device_cancel_per_address",
        "password_change_per_user",
        "password_login_per_address",
        "password_login_per_name",
        "password_login_per_name_and_address",
        "sso_per_address",
        "token_exchange_per_address",
        "unknown_device_code_per_address",
        "user_code_per_address",
        "user_code_per_user",
    } <= set(limits), limits


async def test_revoked_tokens_held_in_memory_are_shown(client: Any, admin_token: str) -> None:
    """The gauge of revoked, unexpired jtis this process holds: 0, then 1 after a revocation
    (the benchmark checks it to know the server really loaded its seeded revocations)."""
    assert _value(await _metrics(client), "zenml_server_revoked_tokens") == 0
    resp = await client.post("/api/v1/revoke", data={"token": admin_token})
    assert resp.status == 200
    assert _value(await _metrics(client), "zenml_server_revoked_tokens") == 1
