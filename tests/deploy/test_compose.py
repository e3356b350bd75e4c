"""deploy/compose.yaml and deploy/nginx.conf: valid, self-healing, and trusting only nginx."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.files import DEPLOY, IN_CI, SCHEMAS, interpolate, load_yaml, project_version
from zenml_server.settings import Settings

COMPOSE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"
SAMPLE_ENV = {
    "POSTGRES_PASSWORD": "a-database-password",
    "ZENML_ADMIN_PASSWORD": "an-admin-password",
    "ZENML_ENCRYPTION_KEY": "k" * 40,
    "ZENML_URL": "https://zenml.example.com",
}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def _nginx_address(compose: dict[str, Any]) -> str:
    address: str = compose["services"]["proxy"]["networks"]["zenml"]["ipv4_address"]
    return address


def test_compose_file_matches_the_compose_specification_schema() -> None:
    """The compose file validates against the vendored Compose specification JSON schema."""
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_every_service_restarts_and_has_a_healthcheck() -> None:
    """Every service restarts unless stopped and has a healthcheck of its own."""
    for name, service in _compose()["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert service["healthcheck"]["test"], name
        assert not service["healthcheck"].get("disable", False), name


def test_replicas_wait_for_a_healthy_postgres_and_nginx_for_healthy_replicas() -> None:
    """The replicas start once PostgreSQL is healthy; nginx once a replica is."""
    services = _compose()["services"]
    assert services["zenml"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["zenml"]["condition"] == "service_healthy"
    assert services["zenml"]["deploy"]["replicas"] >= 2


def test_images_are_pinned_to_exact_versions() -> None:
    """Every image names an exact version; ours matches the package version."""
    services = _compose()["services"]
    assert re.fullmatch(r"postgres:\d+\.\d+", services["postgres"]["image"])
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+", services["proxy"]["image"])
    assert services["zenml"]["image"] == f"zenml-server:{project_version()}"


def test_only_nginx_fixed_address_is_a_trusted_proxy() -> None:
    """The replicas trust exactly nginx's fixed address, which no other container can get."""
    compose = _compose()
    env = compose["services"]["zenml"]["environment"]
    nginx = ipaddress.ip_address(_nginx_address(compose))
    assert env["ZENML_SERVER_TRUSTED_PROXIES"] == str(nginx)
    (pool,) = compose["networks"]["zenml"]["ipam"]["config"]
    assert nginx in ipaddress.ip_network(pool["subnet"])
    assert nginx not in ipaddress.ip_network(pool["ip_range"])
    for name, service in compose["services"].items():
        assert list(service["networks"]) == ["zenml"], name


def test_replica_environment_is_settings_the_server_accepts() -> None:
    """Every ZENML_SERVER_* variable in the compose file is a valid setting of the server."""
    compose = yaml.safe_load(interpolate(COMPOSE.read_text(), SAMPLE_ENV))
    env = {k: str(v) for k, v in compose["services"]["zenml"]["environment"].items()}
    settings = Settings.from_env(env)
    assert settings.database_url.startswith("postgresql://zenml:a-database-password@postgres:")
    assert [str(net) for net in settings.trusted_proxies] == [f"{_nginx_address(compose)}/32"]
    assert settings.url == "https://zenml.example.com"
    # Rotatable Ed25519 keys kept encrypted in the database, not a fixed HS256 secret:
    assert settings.encryption_key == "k" * 40
    assert settings.jwt_secret_key is None


def test_compose_refuses_to_start_without_its_secrets() -> None:
    """The database, admin and encryption secrets have no defaults: compose stops without one."""
    for missing in ("POSTGRES_PASSWORD", "ZENML_ADMIN_PASSWORD", "ZENML_ENCRYPTION_KEY"):
        env = {k: v for k, v in SAMPLE_ENV.items() if k != missing}
        with pytest.raises(KeyError, match=missing):
            interpolate(COMPOSE.read_text(), env)


def test_nginx_keeps_upstream_connections_and_retries_idempotent_requests_only() -> None:
    """nginx reuses upstream connections and never retries a non-idempotent request."""
    conf = NGINX_CONF.read_text()
    directives = [line.split("#")[0].strip() for line in conf.splitlines()]
    assert any(re.fullmatch(r"keepalive \d+;", d) for d in directives)
    assert "proxy_http_version 1.1;" in directives
    assert 'proxy_set_header Connection "";' in directives
    (retry,) = [d for d in directives if d.startswith("proxy_next_upstream ")]
    assert "error" in retry.split()
    assert "non_idempotent" not in conf.replace("`non_idempotent`", "")
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in directives


def test_nginx_does_not_publish_metrics() -> None:
    """/metrics is answered 404 by nginx; Prometheus scrapes the replicas directly."""
    conf = NGINX_CONF.read_text()
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", conf)


def nginx_or_skip() -> str:
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None or os.geteuid() != 0 or shutil.which("unshare") is None:
        reason = "needs Debian's nginx (scripts/ensure-services.sh installs it), root and unshare"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def nginx_main_config(workdir: Path) -> str:
    """A main nginx.conf around deploy/nginx.conf, as the nginx image includes conf.d files."""
    temp = "".join(
        f" {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"pid {workdir / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{ access_log off;{temp}\n  include {NGINX_CONF};\n}}\n"
    )


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    """Debian's nginx accepts deploy/nginx.conf, included as the image includes conf.d files."""
    nginx = nginx_or_skip()
    main = tmp_path / "nginx.conf"
    main.write_text(nginx_main_config(tmp_path))
    # Inside compose, Docker's DNS answers `zenml` with the replicas' addresses; here a hosts
    # file in a private mount namespace does, so nginx resolves the upstream as it would there.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n172.28.0.130 zenml\n172.28.0.131 zenml\n")
    command = f"mount --bind {hosts} /etc/hosts && exec {nginx} -t -p {tmp_path} -c {main}"
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
