"""The deployment files agree with the service: every setting they pass is one the service knows, probes and
ports point where the service answers, the grace period covers the graceful shutdown."""
import ipaddress
import json
import pathlib
import re
import subprocess
import sys

import yaml

from conftest import ROOT, Service, run_node, wait_until

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from kube_server import KubeApiServer  # noqa: E402

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


def settings():
    """The replicas' settings: deploy/k8s/settings.env, the source of the generated ConfigMap."""
    data = {}
    for line in (DEPLOY / "k8s" / "settings.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            data[key] = value
    return data


def render(folder):
    """`kubectl kustomize folder`: the objects as kubectl apply -k would send them."""
    import subprocess
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def rendered():
    """Every object `kubectl kustomize deploy/k8s` makes (the base with its components)."""
    return render(DEPLOY / "k8s")


def rendered_one(kind, name):
    return next(d for d in rendered() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_configmap_and_secret_only_set_known_settings():
    known = documented_settings()
    assert {"PORT", "REDIS_URL", "MAX_BATCH_COUNT"} <= known
    for kind, data in [("settings.env", settings())] + [(d["kind"], d.get("data") or d.get("stringData"))
                                                        for d in load("secret.yaml")]:
        unknown = set(data) - known
        assert not unknown, f"{kind} sets settings the service does not know: {unknown}"
    assert settings()["REDIS_REQUIRED"] == "true"  # replicas never serve from a private store


def test_configmap_values_are_accepted_by_the_service(tmp_path):
    """The service starts with exactly the ConfigMap's values (Redis pointed at nothing: it falls back; the
    Kubernetes API is the test server, standing for the in-cluster API the pod would find)."""
    env = settings()
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    with KubeApiServer(namespaces=("pipeline",)) as api:
        env.update(KUBE_API_URL=api.url, KUBE_NAMESPACE="pipeline", KUBECONFIG="/nonexistent")
        svc = Service(tmp_path, env=env, start=False)
        try:
            svc.start(wait=False)
            assert wait_until(svc.listening, timeout=30), svc.log()
            # REDIS_REQUIRED=true: not ready without Redis, and says why
            health = svc.get("/healthz")
            assert health.status_code == 503 and "REDIS_REQUIRED" in health.json()["detail"], health.text
            assert health.json()["executor"] == env["EXECUTOR"]
        finally:
            svc.stop()


def test_deployment_probes_ports_and_grace():
    deployment, service, _ = load("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = container["ports"][0]
    assert port["containerPort"] == 8000  # the default PORT, also the image's
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    # liveness does not follow Redis (REDIS_REQUIRED=true makes /healthz 503 without it): the loop answering is enough
    assert container["livenessProbe"]["httpGet"]["path"] == "/metrics"
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


def test_a_settings_change_rolls_the_pods(tmp_path):
    """The ConfigMap is generated with a hash of the settings in its name, and the Deployment refers to it: a changed
    setting is a changed pod template, so kubectl apply -k rolls the pods (a ConfigMap edited in place would not)."""
    import shutil

    def config_names(objects):
        cms = [o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap"
               and o["metadata"]["name"].startswith("pipeline-orchestrator")]
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        refs = [e["configMapRef"]["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                if "configMapRef" in e]
        assert len(cms) == 1 and refs == cms, (cms, refs)
        return cms[0]
    before = config_names(render(DEPLOY / "k8s"))
    assert before.startswith("pipeline-orchestrator-") and before != "pipeline-orchestrator"
    assert next(o for o in render(DEPLOY / "k8s") if o["kind"] == "ConfigMap" and o["metadata"]["name"] == before)[
        "data"] == settings()
    copy = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", copy)
    env = copy / "settings.env"
    env.write_text(env.read_text().replace("GENERATE_SECONDS=5", "GENERATE_SECONDS=6"))
    assert config_names(render(copy)) != before


def test_rolling_update_keeps_a_live_replica_to_take_the_run_over():
    """An old pod stops only once its replacement is ready (maxUnavailable 0), one new pod at a time (maxSurge 1):
    the run an old pod hands over at SIGTERM always finds a live replica; the choice is explained beside it."""
    deployment = load("deployment.yaml")[0]
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    text = (DEPLOY / "k8s" / "deployment.yaml").read_text()
    assert "maxUnavailable 0" in text and "maxSurge 1" in text  # the comment that explains them


def test_dockerfile_builds_both_binaries_and_runs_the_service():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "build/pipeline-orchestrator" in text and "build/pipeline-task" in text
    assert re.search(r"EXPOSE 8000", text)
    assert "ENTRYPOINT" in text and "pipeline-orchestrator" in text.split("ENTRYPOINT", 1)[1]


def test_every_manifest_validates_against_the_kubernetes_schemas(tmp_path):
    objects = rendered()
    assert {d["kind"] for d in objects} >= {"Deployment", "PersistentVolumeClaim", "ConfigMap", "Role"}
    out = tmp_path / "objects.json"
    out.write_text(json.dumps(objects))
    p = run_node("validate_k8s.mjs", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("valid:") == len(objects)


def rules_of(role):
    return {(group, resource): sorted(rule["verbs"]) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"]}


def test_rbac_grants_what_the_executor_needs_and_no_more():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in load("rbac.yaml")}
    service = rules_of(docs[("Role", "pipeline-orchestrator")])
    assert service == {
        ("batch", "jobs"): sorted(["create", "get", "list", "watch", "delete"]),
        ("", "pods"): sorted(["create", "get", "list", "watch", "delete"]),  # create, delete: EXECUTOR=kubernetes
        ("", "pods/log"): sorted(["get", "list", "watch"]),
        ("", "configmaps"): sorted(["create", "get", "delete", "patch"]),
        ("", "resourcequotas"): sorted(["get", "list"]),  # EXECUTOR=kubernetes: what is free before each start
        ("", "events"): sorted(["get", "list", "watch"]),  # EXECUTOR=nextflow: why a Job gets no pod (FailedCreate)
    }
    runner = rules_of(docs[("Role", "nextflow-runner")])
    assert runner == {("", "pods"): sorted(["create", "get", "list", "watch", "delete"]),
                      ("", "pods/status"): ["get"], ("", "pods/log"): ["get"]}
    for name in ("pipeline-orchestrator", "nextflow-runner"):
        binding = docs[("RoleBinding", name)]
        assert binding["roleRef"]["name"] == name and binding["subjects"][0]["name"] == name
        assert ("ServiceAccount", name) in docs
    for d in docs.values():
        assert d["kind"] not in ("ClusterRole", "ClusterRoleBinding")  # namespace-scoped only


def test_deployment_runs_as_the_service_account_and_sees_the_work_volume():
    deployment = rendered_one("Deployment", "pipeline-orchestrator")
    config = settings()
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "pipeline-orchestrator"
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    pvc = rendered_one("PersistentVolumeClaim", config["WORK_PVC"])
    assert claim["persistentVolumeClaim"]["claimName"] == config["WORK_PVC"]
    container = pod["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == claim["name"])
    work_mount = next(e["value"] for e in container["env"] if e["name"] == "WORK_MOUNT")
    assert mount["mountPath"] == work_mount and mount["readOnly"] is True
    assert any(e["name"] == "DATA_DIR" for e in container["env"])  # the patch merged, not replaced
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    assert pvc["spec"]["storageClassName"]  # a class that provides RWX, named (the default usually cannot)
    assert config["NEXTFLOW_SERVICE_ACCOUNT"] == "nextflow-runner"


def test_without_the_work_volume_component_nothing_mounts_a_claim():
    """EXECUTOR=local needs no claim: the base Deployment mounts none, so an unbound claim cannot keep it Pending."""
    pod = load("deployment.yaml")[0]["spec"]["template"]["spec"]
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"])
    assert "work-volume" in load("kustomization.yaml")[0]["components"]


def test_image_ships_the_workflow():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^COPY workflows /workflows$", text, re.M)
    assert (ROOT / "workflows" / "demo.nf").is_file() and (ROOT / "workflows" / "nextflow.config").is_file()


def test_configmap_trusts_the_ingress_pod_network():
    # ingress-nginx connects from its controller pod: without TRUSTED_PROXIES covering the pod network every
    # visitor would be one client for the rate limit and the stream's per-client cap
    ranges = settings()["TRUSTED_PROXIES"].split(",")
    trusted = [ipaddress.ip_network(r.strip()) for r in ranges]
    for pod_ip in ("10.42.0.17", "10.244.1.5", "192.168.12.3"):  # k3s, flannel, Calico
        assert any(ipaddress.ip_address(pod_ip) in net for net in trusted), pod_ip
