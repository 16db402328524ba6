"""The Kubernetes manifests: valid for the cluster, and in step with the image, gunicorn and the
settings they deploy."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from django.urls import resolve

from bookingportal import health
from tests.processes import manage

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests are written for (deploy/kubernetes/README.md); the
# schemas ship inside kubernetes-validate, so this runs offline.
KUBERNETES_VERSION = "1.31"
PLACEHOLDER = "change-me"
SECRET_NAMES = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CACHE_URL",
    "FLG_API_KEY",
    "EMAIL_HOST_PASSWORD",
    "METRICS_TOKEN",
}
# Variables the settings or gunicorn.conf.py read that the ConfigMap leaves alone, and why.
NOT_FOR_OPERATORS = {
    "ENV_FILE": "the image points it at a file that does not exist",
    "STATIC_ROOT": "static files are collected when the image is built",
    "FLG_SANDBOX_SESSION_TTL": "the sandbox is never on in production",
    "FLG_SANDBOX_WEBHOOK_URL": "the sandbox is never on in production",
    "FLG_API_KEY_FILE": "the key is FLG_API_KEY in the Secret",
    "GUNICORN_BIND": "the container port and the probes depend on it",
    "PROMETHEUS_MULTIPROC_DIR": "the image and the Deployment set it, beside its emptyDir",
    "EMAIL_FILE_PATH": "the file mail backend is for development; production sends by SMTP",
    "FLG_SANDBOX_DEMO_HOST": "the sandbox is never on in production",
    "TRUST_X_FORWARDED_PROTO": "retired: read only to refuse it, TRUSTED_PROXIES replaces it",
    "FLG_WEBHOOK_TOKEN": "a secret, and optional: a commented-out entry of the Secret example",
    "FLG_SANDBOX_AUTO_LEADS": "the sandbox is never on in production",
    "STAFF_TWO_FACTOR": "always on in production: only DEBUG may turn it off",
    "PORT": "only `make run`'s local defaults follow it; production sets PORTAL_URL",
}
# Egress the portal needs: DNS, PostgreSQL, Redis, FLG over HTTPS, and SMTP.
EGRESS = {
    ("UDP", 53),
    ("TCP", 53),
    ("TCP", 5432),
    ("TCP", 6379),
    ("TCP", 443),
    ("TCP", 587),
    ("TCP", 465),
    ("TCP", 25),
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifest(name: str) -> dict[str, Any]:
    (doc,) = documents(MANIFESTS / name)
    return doc


def manifest_files() -> list[Path]:
    return sorted(
        path
        for path in [*MANIFESTS.glob("*.yaml"), *MANIFESTS.glob("*.yml")]
        if path.name != "kustomization.yaml"
    )


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def gunicorn_defaults(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in ("GUNICORN_BIND", "FLG_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def settings_default(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "bookingportal" / "settings.py"))[name]


def variables_read_by(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    # env.str("X"), os.environ.get("X"), bookingportal.env's readers: env_bool("X"), env_hosts("X")…
    pattern = r"""(?:env\.\w+|env_\w+|_[a-z]\w*|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)\""""
    return set(re.findall(pattern, source))


def dockerfile_user() -> tuple[int, int]:
    lines = re.findall(r"^USER\s+(\d+):(\d+)\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    assert lines, "the Dockerfile has no numeric USER uid:gid line"
    uid, gid = lines[-1]
    return int(uid), int(gid)


WORKLOADS = ["deployment.yaml", "migrate-job.yaml", "worker-deployment.yaml"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_every_manifest_is_valid_kubernetes_with_no_unknown_field(path):
    docs = documents(path)
    assert docs, f"{path.name} holds no document"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{path.name}: {doc['kind']} at {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            pytest.fail(f"{path.name}: {error.message}")


def test_the_kustomization_names_every_manifest_but_the_examples():
    resources = manifest("kustomization.yaml")["resources"]
    expected = [path.name for path in manifest_files() if ".example." not in path.name]
    assert sorted(resources) == sorted(expected)


def test_the_kustomization_names_only_files_that_exist():
    resources = manifest("kustomization.yaml")["resources"]
    assert len(resources) == len(set(resources))
    assert all((MANIFESTS / name).is_file() for name in resources)


@pytest.mark.subprocess
@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed; files are checked alone"
)
def test_the_kustomization_builds():
    result = subprocess.run(
        ["kubectl", "kustomize", str(MANIFESTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc)
    expected = [
        "ConfigMap",
        "Deployment",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "NetworkPolicy",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PodDisruptionBudget",
        "Service",
    ]
    assert kinds == expected


def test_the_deployment_runs_two_replicas_and_scales_on_cpu():
    deployment = manifest("deployment.yaml")
    hpa = manifest("hpa.yaml")
    assert deployment["spec"]["replicas"] == 2
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] == 2
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_pods_run_as_the_images_own_user(name):
    uid, gid = dockerfile_user()
    pod = manifest(name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == uid == 10001
    assert pod["securityContext"]["runAsGroup"] == gid
    assert pod["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_containers_cannot_gain_privileges(name):
    pod = manifest(name)["spec"]["template"]["spec"]
    context = container(manifest(name))["securityContext"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_containers_have_resource_requests_and_limits(name):
    resources = container(manifest(name))["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_the_writable_paths_are_empty_dirs():
    deployment = manifest("deployment.yaml")
    portal = container(deployment)
    empty_dirs = {
        volume["name"]
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
        if "emptyDir" in volume
    }
    mounted = {mount["mountPath"]: mount["name"] for mount in portal["volumeMounts"]}
    env = {var["name"]: var["value"] for var in portal["env"]}
    assert mounted["/tmp"] in empty_dirs  # noqa: S108 (a path in the pod, not a file)
    assert mounted[env["PROMETHEUS_MULTIPROC_DIR"]] in empty_dirs


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_metrics_directory_the_image_names_is_writable_in_every_pod(name):
    # The settings refuse to start when PROMETHEUS_MULTIPROC_DIR cannot be written, and the
    # image sets it for every command, the migrate Job's too.
    image_dir = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", (ROOT / "Dockerfile").read_text())
    assert image_dir, "the Dockerfile sets no PROMETHEUS_MULTIPROC_DIR"
    workload = manifest(name)
    portal = container(workload)
    env = {var["name"]: var["value"] for var in portal.get("env", [])}
    directory = env.get("PROMETHEUS_MULTIPROC_DIR", image_dir.group(1))
    empty_dirs = {
        volume["name"]
        for volume in workload["spec"]["template"]["spec"]["volumes"]
        if "emptyDir" in volume
    }
    mounted = {mount["mountPath"]: mount["name"] for mount in portal["volumeMounts"]}
    assert mounted.get(directory) in empty_dirs


def test_the_container_port_is_the_one_gunicorn_binds(monkeypatch):
    bind = gunicorn_defaults(monkeypatch)["bind"]
    ports = container(manifest("deployment.yaml"))["ports"]
    assert [port["containerPort"] for port in ports] == [int(bind.rsplit(":", 1)[1])]
    assert "GUNICORN_BIND" not in manifest("configmap.yaml")["data"]


def test_the_service_and_the_network_policy_use_the_container_port():
    (port,) = container(manifest("deployment.yaml"))["ports"]
    (service_port,) = manifest("service.yaml")["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])
    for rule in manifest("networkpolicy.yaml")["spec"]["ingress"]:
        assert [p["port"] for p in rule["ports"]] == [port["containerPort"]]


@pytest.mark.parametrize(
    ("probe", "path", "view"),
    [
        ("startupProbe", "/healthz", health.healthz),
        ("livenessProbe", "/healthz", health.healthz),
        ("readinessProbe", "/readyz", health.readyz),
    ],
)
def test_the_probes_ask_for_health_pages_the_portal_serves(probe, path, view):
    portal = container(manifest("deployment.yaml"))
    http_get = portal[probe]["httpGet"]
    assert http_get["path"] == path
    assert resolve(http_get["path"]).func is view
    (port,) = portal["ports"]
    assert http_get["port"] in (port["name"], port["containerPort"])


def test_pods_get_longer_to_stop_than_a_request_may_take(monkeypatch):
    graceful_timeout = gunicorn_defaults(monkeypatch)["graceful_timeout"]
    flg_timeout = max(
        settings_default("FLG_TIMEOUT", monkeypatch),
        int(manifest("configmap.yaml")["data"]["FLG_TIMEOUT"]),
    )
    pod = manifest("deployment.yaml")["spec"]["template"]["spec"]
    pre_stop = container(manifest("deployment.yaml"))["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > (
        int(pre_stop[1]) + flg_timeout + graceful_timeout
    )


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_pods_read_the_configmap_and_the_secret(name):
    sources = container(manifest(name))["envFrom"]
    assert sources == [
        {"configMapRef": {"name": manifest("configmap.yaml")["metadata"]["name"]}},
        {"secretRef": {"name": manifest("secret.example.yaml")["metadata"]["name"]}},
    ]


def test_the_migrate_job_migrates_with_the_deployments_image():
    job = container(manifest("migrate-job.yaml"))
    assert job["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["image"] == container(manifest("deployment.yaml"))["image"]


def test_the_service_and_the_disruption_budget_find_the_web_pods_only():
    deployment = manifest("deployment.yaml")
    web = deployment["spec"]["template"]["metadata"]["labels"]
    migrate = manifest("migrate-job.yaml")["spec"]["template"]["metadata"]["labels"]
    selector = manifest("service.yaml")["spec"]["selector"]
    budget = manifest("pdb.yaml")["spec"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= web.items()
    assert not selector.items() <= migrate.items()
    assert budget["selector"]["matchLabels"] == selector
    assert budget["minAvailable"] == 1


def test_the_configmap_sets_every_variable_an_operator_would():
    read = variables_read_by(ROOT / "bookingportal" / "settings.py") | variables_read_by(
        ROOT / "gunicorn.conf.py"
    )
    configured = set(manifest("configmap.yaml")["data"]) | SECRET_NAMES
    assert read - configured - set(NOT_FOR_OPERATORS) == set()


def test_the_configmap_holds_no_secret_and_is_for_production():
    data = manifest("configmap.yaml")["data"]
    assert set(data) & SECRET_NAMES == set()
    assert data["DEBUG"] == "0"
    assert data["FLG_SANDBOX"] == "0"
    assert data["LOG_FORMAT"] == "json"
    assert "TRUST_X_FORWARDED_PROTO" not in data  # replaced by TRUSTED_PROXIES
    assert data["TRUSTED_PROXIES"]


@pytest.mark.subprocess
def test_the_configmap_passes_the_deploy_check():
    env = {
        **manifest("configmap.yaml")["data"],
        **manifest("secret.example.yaml")["stringData"],
        "SECRET_KEY": "tests-only-a-long-enough-secret-key-0123456789-abcdefghijklmnopqrst",
        # The placeholder is too short on purpose: the settings refuse it.
        "METRICS_TOKEN": "tests-only-metrics-token-0123456789",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_secret_example_holds_placeholders_only():
    secret = manifest("secret.example.yaml")
    values = secret["stringData"]
    assert "data" not in secret
    assert set(values) == SECRET_NAMES
    for name, value in values.items():
        assert PLACEHOLDER in value, name
        # A pasted key or password is a long unbroken run; placeholders and URLs are not.
        assert max(len(word) for word in re.split(r"[^A-Za-z0-9]+", value)) < 16, name
        if "://" in value:
            host = urlsplit(value).hostname or ""
            assert host == "example.com" or host.endswith(".example.com"), name


def test_the_ingress_example_terminates_tls_and_sends_customers_to_the_service():
    ingress = manifest("ingress.example.yaml")
    service = manifest("service.yaml")
    (rule,) = ingress["spec"]["rules"]
    (tls,) = ingress["spec"]["tls"]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert rule["host"] in tls["hosts"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in [port["name"] for port in service["spec"]["ports"]]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert not any("snippet" in key for key in annotations)


def test_the_network_policy_lets_out_only_dns_databases_flg_and_mail():
    policy = manifest("networkpolicy.yaml")["spec"]
    allowed = {
        (port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"]
    }
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert allowed == EGRESS


def test_the_network_policy_lets_in_only_the_ingress_controller_and_prometheus():
    rules = manifest("networkpolicy.yaml")["spec"]["ingress"]
    namespaces = [
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in rules
        for peer in rule["from"]
    ]
    assert namespaces == ["ingress-nginx", "monitoring"]
    assert all("podSelector" in peer for rule in rules for peer in rule["from"])
