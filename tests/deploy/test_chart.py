"""The Helm chart, rendered by Helm's own engine (v4, shipped inside the helm-python-sdk wheel)
with each example values file in its ci/ folder, and every manifest validated against the
Kubernetes JSON schemas (kubernetes-validate) of a current Kubernetes release.

What cannot be checked without a cluster: `lookup` (keeping generated secrets on upgrade)
answers nothing offline, so only the generate-on-install branch is rendered here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.files import CHART, project_version
from zenml_server.settings import Settings

KUBERNETES_VERSION = "1.37.0"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "zs"
NAMESPACE = "auth"

Manifest = dict[str, Any]


def _values(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return loaded


def _render(values: dict[str, Any], *, upgrade: bool = False) -> dict[str, str]:
    chart = helm_python.Chart.load(CHART)
    chart.validate_schema(values)
    return chart.render(
        values, name=RELEASE, namespace=NAMESPACE, is_install=not upgrade, is_upgrade=upgrade
    )


def _manifests(values: dict[str, Any], *, upgrade: bool = False) -> list[Manifest]:
    out = []
    for name, text in sorted(_render(values, upgrade=upgrade).items()):
        if name.endswith("NOTES.txt"):
            continue
        out.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return out


def _one(manifests: list[Manifest], kind: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def _kinds(manifests: list[Manifest]) -> set[str]:
    return {m["kind"] for m in manifests}


def _pod_specs(manifests: list[Manifest]) -> Iterator[dict[str, Any]]:
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            yield m["spec"]["template"]["spec"]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


DEFAULTS = {"database": {"url": "postgresql://zenml:pw@db:5432/zenml"}}


def test_the_chart_is_rendered_by_helm_itself() -> None:
    """The renderer is Helm's Go engine (v4), not a reimplementation."""
    assert helm_python.helm_sdk_version().startswith("v4.")


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.stem)
def test_every_rendered_manifest_is_valid_kubernetes(values_file: Path) -> None:
    """Each example values file renders, and every manifest validates strictly for Kubernetes."""
    manifests = _manifests(_values(values_file))
    assert {"Deployment", "Service", "Job"} <= _kinds(manifests)
    for manifest in manifests:
        if manifest["kind"] == "ServiceMonitor":
            continue  # a Prometheus Operator CRD: no Kubernetes schema; checked below instead
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        assert manifest["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_the_four_scenarios_are_covered() -> None:
    """There are example values for defaults, an existing secret, ingress with TLS and HPA."""
    assert [p.stem for p in CI_VALUES] == [
        "defaults-values",
        "existing-secret-values",
        "hpa-values",
        "ingress-tls-values",
    ]


def test_values_schema_is_valid_and_rejects_misspelt_values() -> None:
    """values.schema.json is a valid schema and a typo anywhere fails instead of being ignored."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((CHART / "values.yaml").read_text()))
    chart = helm_python.Chart.load(CHART)
    for typo in (
        {"replicaCont": 3},
        {"ingress": {"enabeld": True}},
        {"autoscaling": {"targetCPU": 50}},
        {"trustedProxies": "10.0.0.0/8; 1.2.3.4"},
        {"jwtSecretKey": "too-short"},
        {"extraEnv": {"LOG_LEVEL": "DEBUG"}},
        {"image": {"pullPolicy": "Sometimes"}},
    ):
        with pytest.raises(helm_python.HelmValuesError):
            chart.validate_schema({**DEFAULTS, **typo})


def test_without_a_database_the_chart_refuses_to_render() -> None:
    """Installing without database.url or an existing secret fails with a message saying so."""
    with pytest.raises(helm_python.HelmError, match=r"database\.url"):
        _render({})


def test_migrations_run_in_a_pre_install_and_pre_upgrade_hook_after_the_secret() -> None:
    """`zenml-server migrate` runs as a hook Job, after the Secret it reads, with the same env."""
    for upgrade in (False, True):
        manifests = _manifests(DEFAULTS, upgrade=upgrade)
        job, secret = _one(manifests, "Job"), _one(manifests, "Secret")
        hooks = job["metadata"]["annotations"]
        assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        weights = (secret, job)
        assert [int(m["metadata"]["annotations"]["helm.sh/hook-weight"]) for m in weights] == [
            -10,
            0,
        ]
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        assert migrate["args"] == ["migrate"]
        (server,) = _one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
        assert _env(migrate) == _env(server)
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_only_the_replicas_receive_traffic_not_the_migration_job() -> None:
    """The Service, PDB and Deployment select the replicas' pods and never the migration Job's."""
    manifests = _manifests(DEFAULTS)
    selector = _one(manifests, "Service")["spec"]["selector"]
    deployment = _one(manifests, "Deployment")
    assert deployment["spec"]["selector"]["matchLabels"] == selector
    assert _one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    job_labels = _one(manifests, "Job")["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_labels.items()


def test_pods_are_hardened_drain_before_sigterm_and_spread() -> None:
    """Non-root, read-only root, no capabilities, seccomp, a /tmp emptyDir, probes and preStop."""
    manifests = _manifests(DEFAULTS)
    for pod in _pod_specs(manifests):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
            assert ctx["runAsUser"] == 10001
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    deployment = _one(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert server["startupProbe"]["httpGet"]["path"] == "/health"
    assert server["readinessProbe"]["httpGet"]["path"] == "/ready"
    pause = int(server["lifecycle"]["preStop"]["exec"]["command"][1])
    assert 0 < pause < pod["terminationGracePeriodSeconds"]
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert _one(manifests, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_secrets_are_generated_once_or_taken_as_given() -> None:
    """Admin password and encryption key are generated when empty (differently per install);
    given values are stored as given; an HS256 signing secret is never made up."""
    first = _one(_manifests(DEFAULTS), "Secret")["data"]
    second = _one(_manifests(DEFAULTS), "Secret")["data"]
    for key, length in (("ADMIN_PASSWORD", 24), ("ENCRYPTION_KEY", 32)):
        assert first[key] != second[key]
        assert len(base64.b64decode(first[key])) >= length
    assert "JWT_SECRET_KEY" not in first  # the server's own rotatable Ed25519 keys sign
    assert base64.b64decode(first["DATABASE_URL"]).decode() == DEFAULTS["database"]["url"]
    hpa = _values(CHART / "ci" / "hpa-values.yaml")
    given = _one(_manifests(hpa), "Secret")["data"]
    assert base64.b64decode(given["ADMIN_PASSWORD"]).decode() == hpa["admin"]["password"]
    assert base64.b64decode(given["JWT_SECRET_KEY"]).decode() == hpa["jwtSecretKey"]
    assert base64.b64decode(given["ENCRYPTION_KEY"]).decode() == hpa["encryptionKey"]["value"]
    off = _one(_manifests({**DEFAULTS, "encryptionKey": {"enabled": False}}), "Secret")["data"]
    assert "ENCRYPTION_KEY" not in off
    # On a cluster `lookup` finds the Secret of the earlier install and reuses its values:
    assert 'lookup "v1" "Secret"' in (CHART / "templates" / "_helpers.tpl").read_text()


def test_existing_secrets_replace_the_charts_own() -> None:
    """With existingSecret no Secret is rendered and the pods read the operator's Secrets."""
    manifests = _manifests(_values(CHART / "ci" / "existing-secret-values.yaml"))
    assert "Secret" not in _kinds(manifests)
    for pod in _pod_specs(manifests):
        env = _env(pod["containers"][0])
        refs = {
            name: (ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            for name, ref in env.items()
            if isinstance(ref, dict)
        }
        assert refs == {
            "ZENML_SERVER_DATABASE_URL": ("zenml-server-database", "DATABASE_URL"),
            "ZENML_SERVER_ADMIN_PASSWORD": ("zenml-server-credentials", "ADMIN_PASSWORD"),
            "ZENML_SERVER_JWT_SECRET_KEY": ("zenml-server-credentials", "JWT_SECRET_KEY"),
            "ZENML_SERVER_ENCRYPTION_KEY": ("zenml-server-credentials", "ENCRYPTION_KEY"),
        }
        optional = {
            n
            for n, ref in env.items()
            if isinstance(ref, dict) and ref["secretKeyRef"].get("optional")
        }
        assert optional == {"ZENML_SERVER_JWT_SECRET_KEY"}


def test_no_proxy_is_trusted_unless_the_operator_names_it() -> None:
    """trustedProxies is empty by default (and NOTES warn); a set value reaches the server."""
    assert yaml.safe_load((CHART / "values.yaml").read_text())["trustedProxies"] == ""
    rendered = _render(DEFAULTS)
    (server,) = yaml.safe_load(rendered["zenml-server/templates/deployment.yaml"])["spec"][
        "template"
    ]["spec"]["containers"]
    assert "ZENML_SERVER_TRUSTED_PROXIES" not in _env(server)
    assert "WARNING: trustedProxies is empty" in rendered["zenml-server/templates/NOTES.txt"]
    manifests = _manifests(_values(CHART / "ci" / "ingress-tls-values.yaml"))
    (server,) = _one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert _env(server)["ZENML_SERVER_TRUSTED_PROXIES"] == "10.42.0.17"


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.stem)
def test_pod_environment_is_settings_the_server_accepts(values_file: Path) -> None:
    """Every ZENML_SERVER_* variable the chart sets is a setting the server accepts."""
    (server,) = _one(_manifests(_values(values_file)), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {
        name: value
        if isinstance(value, str)
        else "postgresql://u:p@db:5432/zenml"
        if name.endswith("DATABASE_URL")
        else "s" * 40
        for name, value in _env(server).items()
    }
    settings = Settings.from_env(env)
    assert settings.encryption_key is not None


def test_hpa_scales_on_cpu_and_replaces_the_fixed_replica_count() -> None:
    """With autoscaling on, the HPA scales the Deployment on CPU and it sets no replicas."""
    manifests = _manifests(_values(CHART / "ci" / "hpa-values.yaml"))
    hpa = _one(manifests, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == 60
    assert "replicas" not in _one(manifests, "Deployment")["spec"]
    assert "HorizontalPodAutoscaler" not in _kinds(_manifests(DEFAULTS))


def test_ingress_tls_network_policy_and_service_monitor() -> None:
    """TLS at the ingress; only the ingress controller (and Prometheus) reach the pods; /metrics
    is scraped on the http port."""
    manifests = _manifests(_values(CHART / "ci" / "ingress-tls-values.yaml"))
    ingress = _one(manifests, "Ingress")
    assert ingress["spec"]["tls"] == [
        {"hosts": ["zenml.example.com"], "secretName": "zenml-example-com-tls"}
    ]
    policy = _one(manifests, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    controller, prometheus = rule["from"]
    assert controller["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    assert controller["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ingress-nginx"}
    assert prometheus["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    for pod in _pod_specs(manifests):
        assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "zenml-server-sso"}}]
    monitor = _one(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    service = _one(manifests, "Service")
    monitored = monitor["spec"]["selector"]["matchLabels"]
    assert monitored.items() <= service["metadata"]["labels"].items()
    assert policy["spec"]["podSelector"]["matchLabels"] == service["spec"]["selector"]
    assert service["spec"]["ports"][0]["name"] == "http"
    with pytest.raises(helm_python.HelmError, match="secretName"):
        _render({**DEFAULTS, "ingress": {"enabled": True, "tls": {"enabled": True}}})


def test_notes_print_the_url_and_the_zenml_connect_line() -> None:
    """NOTES.txt shows the URL, `zenml connect --url URL` and how to read the admin password."""
    notes = _render(_values(CHART / "ci" / "ingress-tls-values.yaml"))[
        "zenml-server/templates/NOTES.txt"
    ]
    assert "URL: https://zenml.example.com" in notes
    assert "zenml connect --url https://zenml.example.com\n" in notes
    assert "kubectl -n auth get secret zs-zenml-server" in notes
    assert "WARNING" not in notes


def test_every_value_is_commented() -> None:
    """Every key in values.yaml has a comment directly above it (or on its line)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z][\w.-]*:", line) and "#" not in line:
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#"), f"values.yaml:{number + 1}: {line.strip()} has no comment"


def test_image_defaults_to_the_package_version() -> None:
    """The chart deploys the image tagged with the package version unless told otherwise."""
    assert yaml.safe_load((CHART / "values.yaml").read_text())["image"]["tag"] == ""
    (server,) = _one(_manifests(DEFAULTS), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert server["image"] == f"zenml-server:{project_version()}"
