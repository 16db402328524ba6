"""The task worker on Kubernetes: its own Deployment from the portal's image and configuration,
probed by `worker_health`, given time to finish an email, and reachable by nothing.

The checks every workload shares (valid manifests, non-root, resources, the ConfigMap and the
Secret) run on it in test_kubernetes.py; these are the worker's own."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.test_kubernetes import (
    MANIFESTS,
    ROOT,
    container,
    documents,
    manifest,
    settings_default,
)

WORKER_LABELS = {"app.kubernetes.io/name": "bookingportal", "app.kubernetes.io/component": "worker"}
WORKER_HEALTH = ["python", "manage.py", "worker_health"]
# The contract of `worker_health` (the queue's management command): where the heartbeat is.
HEARTBEAT_DEFAULT = "/tmp/bookingportal-worker.heartbeat"  # noqa: S108 (a path in the pod)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels and matchExpressions) selects `labels`."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def network_policies() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(MANIFESTS.glob("*.yaml"))
        for doc in documents(path)
        if doc["kind"] == "NetworkPolicy"
    ]


def pod_labels(name: str) -> dict[str, str]:
    labels: dict[str, str] = manifest(name)["spec"]["template"]["metadata"]["labels"]
    return labels


def egress_ports(policy: dict[str, Any]) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"]}


def worker() -> dict[str, Any]:
    return container(manifest("worker-deployment.yaml"))


def email_timeout(monkeypatch: pytest.MonkeyPatch) -> int:
    return max(
        settings_default("EMAIL_TIMEOUT", monkeypatch) or 0,
        int(manifest("configmap.yaml")["data"]["EMAIL_TIMEOUT"]),
    )


def test_the_worker_runs_the_procfiles_worker_command():
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    (line,) = [line for line in procfile.splitlines() if line.startswith("worker:")]
    assert worker()["command"] == shlex.split(line.split(":", 1)[1])
    assert worker()["command"] == ["python", "manage.py", "run_worker"]


def test_the_worker_runs_the_portals_image_with_its_configuration():
    web = container(manifest("deployment.yaml"))
    assert worker()["image"] == web["image"]
    assert worker()["imagePullPolicy"] == web["imagePullPolicy"]
    assert worker()["envFrom"] == web["envFrom"]


def test_the_worker_has_its_own_pods_that_no_service_or_autoscaler_picks_up():
    deployment = manifest("worker-deployment.yaml")
    assert deployment["metadata"]["name"] != manifest("deployment.yaml")["metadata"]["name"]
    assert deployment["spec"]["selector"]["matchLabels"] == WORKER_LABELS
    assert pod_labels("worker-deployment.yaml") == WORKER_LABELS
    assert not selects({"matchLabels": manifest("service.yaml")["spec"]["selector"]}, WORKER_LABELS)
    assert manifest("hpa.yaml")["spec"]["scaleTargetRef"]["name"] == "bookingportal"
    assert "ports" not in worker()


@pytest.mark.parametrize("probe", ["startupProbe", "livenessProbe"])
def test_the_worker_is_probed_by_worker_health(probe):
    check = worker()[probe]
    assert check["exec"]["command"] == WORKER_HEALTH
    # A check starts Python and Django (about a second of CPU): time for that, even throttled.
    assert check["timeoutSeconds"] >= 5
    assert check["periodSeconds"] * check["failureThreshold"] >= 60


def test_the_worker_has_no_readiness_probe_since_it_takes_no_traffic():
    assert "readinessProbe" not in worker()


def test_the_heartbeat_file_is_on_a_writable_volume():
    # The root filesystem is read-only: the heartbeat must land on an emptyDir.
    deployment = manifest("worker-deployment.yaml")
    heartbeat = manifest("configmap.yaml")["data"].get("WORKER_HEARTBEAT_FILE", HEARTBEAT_DEFAULT)
    empty_dirs = {
        volume["name"]
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
        if "emptyDir" in volume
    }
    mounted = {mount["mountPath"]: mount["name"] for mount in worker()["volumeMounts"]}
    assert mounted[os.path.dirname(heartbeat)] in empty_dirs


def test_a_stopping_worker_has_time_to_finish_the_email_it_is_sending(monkeypatch):
    pod = manifest("worker-deployment.yaml")["spec"]["template"]["spec"]
    # Connect, greeting and TLS, sign-in, envelope, message: each may wait EMAIL_TIMEOUT.
    assert pod["terminationGracePeriodSeconds"] >= 5 * email_timeout(monkeypatch)


def test_a_rollout_or_a_drain_always_leaves_a_worker_running():
    deployment = manifest("worker-deployment.yaml")["spec"]
    budget = manifest("worker-pdb.yaml")["spec"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert selects(budget["selector"], WORKER_LABELS)
    assert not selects(budget["selector"], pod_labels("deployment.yaml"))
    # One budget slot short of the replicas, or a node drain could never evict a worker.
    assert 1 <= budget["minAvailable"] < deployment["replicas"]
    web_budget = manifest("pdb.yaml")["spec"]
    assert not selects(web_budget["selector"], WORKER_LABELS)


def test_nothing_may_connect_to_the_worker():
    applying = [p for p in network_policies() if selects(p["spec"]["podSelector"], WORKER_LABELS)]
    assert applying, "no NetworkPolicy selects the worker, so everything may reach it"
    for policy in applying:
        assert "Ingress" in policy["spec"]["policyTypes"]
        assert policy["spec"].get("ingress", []) == []


def test_the_portals_policy_still_covers_the_web_and_migrate_pods():
    (policy,) = [p for p in network_policies() if p["metadata"]["name"] == "bookingportal"]
    selector = policy["spec"]["podSelector"]
    assert selects(selector, pod_labels("deployment.yaml"))
    assert selects(selector, pod_labels("migrate-job.yaml"))
    assert not selects(selector, WORKER_LABELS)


def test_the_worker_may_reach_dns_the_database_redis_and_the_mail_server_only():
    (policy,) = [p for p in network_policies() if p["metadata"]["name"] == "bookingportal-worker"]
    config = manifest("configmap.yaml")["data"]
    secret = manifest("secret.example.yaml")["stringData"]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    needed = {
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", urlsplit(secret["DATABASE_URL"]).port),
        ("TCP", urlsplit(secret["CACHE_URL"]).port),
        ("TCP", int(config["EMAIL_PORT"])),
    }
    allowed = egress_ports(policy["spec"])
    assert needed <= allowed
    # Plain SMTP and implicit TLS besides submission, as the portal's policy allows; no HTTPS.
    assert allowed - needed == {("TCP", 465), ("TCP", 25)}


def test_the_worker_manifests_are_in_the_kustomization():
    resources = manifest("kustomization.yaml")["resources"]
    for name in ["worker-deployment.yaml", "worker-pdb.yaml", "worker-networkpolicy.yaml"]:
        assert name in resources
        assert Path(MANIFESTS / name).is_file()
