"""The deployment files agree with the service: every setting they pass is one the service knows, probes and
ports point where the service answers, the grace period covers the graceful shutdown."""
import pathlib
import re

import yaml

from conftest import ROOT, Service

DEPLOY = ROOT / "deploy"


def documented_settings():
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def load(name):
    return list(yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()))


def test_configmap_and_secret_only_set_known_settings():
    known = documented_settings()
    assert {"PORT", "REDIS_URL", "MAX_BATCH_COUNT"} <= known
    for doc in load("configmap.yaml") + load("secret.yaml"):
        data = doc.get("data") or doc.get("stringData")
        unknown = set(data) - known
        assert not unknown, f"{doc['kind']} sets settings the service does not know: {unknown}"


def test_configmap_values_are_accepted_by_the_service(tmp_path):
    """The service starts with exactly the ConfigMap's values (Redis pointed at nothing: it falls back)."""
    env = dict(load("configmap.yaml")[0]["data"])
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    svc = Service(tmp_path, env=env)
    try:
        assert svc.get("/healthz").json()["executor"] == env["EXECUTOR"]
    finally:
        svc.stop()


def test_deployment_probes_ports_and_grace():
    deployment, service, _ = load("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = container["ports"][0]
    assert port["containerPort"] == 8000  # the default PORT, also the image's
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["terminationGracePeriodSeconds"] > 10  # the service exits within 10 s of SIGTERM
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert deployment["spec"]["replicas"] >= 2
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    data_dir = next(e["value"] for e in container["env"] if e["name"] == "DATA_DIR")
    assert any(m["mountPath"] == data_dir for m in container["volumeMounts"])  # the only place it writes


def test_kustomization_lists_every_manifest():
    listed = set(load("kustomization.yaml")[0]["resources"])
    present = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_dockerfile_builds_both_binaries_and_runs_the_service():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "build/pipeline-orchestrator" in text and "build/pipeline-task" in text
    assert re.search(r"EXPOSE 8000", text)
    assert "ENTRYPOINT" in text and "pipeline-orchestrator" in text.split("ENTRYPOINT", 1)[1]
