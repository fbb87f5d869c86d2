"""The Kubernetes manifests of deploy/kubernetes: valid for the stated Kubernetes version (strict:
no unknown field), and saying what the README promises of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
#: The Kubernetes version the manifests are written for (README: Deploy on Kubernetes).
KUBERNETES = "1.31.0"


def resources() -> dict[str, dict[str, Any]]:
    found = {}
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            found[doc["kind"]] = doc
    return found


def test_the_manifests_are_valid_kubernetes() -> None:
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(validate), "--strict", "-k", KUBERNETES, *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(MANIFESTS)


def test_the_deployment_runs_safely_and_is_probed() -> None:
    kinds = resources()
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    } <= set(kinds)
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]
    policy = kinds["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    # The Secret is an example: no real value is committed.
    assert all("replace" in v for v in kinds["Secret"]["stringData"].values())
