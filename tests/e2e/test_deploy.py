"""The deployment files agree with the service and with each other: every overlay renders (kubectl kustomize) and
each object validates against the official schemas; every setting they pass is one the service knows; one image
name and tag (the VERSION file's) everywhere; one namespace (the manifests', the code's default, the README's);
what each overlay promises (kind: one replica, ReadWriteOnce; production: PDB, NetworkPolicy, quota, LimitRange,
Pod Security, TLS Ingress for WebSockets); and every command of the README's Kubernetes section is one these tests
render or evaluate."""
import ipaddress
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SERVICE_BIN, Service, run_node, wait_until

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from kube_podsecurity import violations  # noqa: E402
from kube_server import KubeApiServer  # noqa: E402

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
VERSION = (ROOT / "VERSION").read_text().strip()
NAMESPACE = "pipeline"
# every folder a person applies or renders; the overlays are what the README walks through
FOLDERS = ["access", "base", "overlays/kind", "overlays/kind-outside", "overlays/production"]
OVERLAYS = ["overlays/kind", "overlays/production"]  # the service in the cluster


def documented_settings():
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def load(path):
    return list(yaml.safe_load_all((K8S / path).read_text()))


def env_file(path):
    """KEY=value lines (a kustomize envs: file)."""
    data = {}
    for line in (K8S / path).read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            data[key] = value
    return data


_rendered = {}


def render(folder):
    """`kubectl kustomize folder`: the objects as kubectl apply -k would send them (cached per folder)."""
    folder = pathlib.Path(folder)
    if not folder.is_absolute():
        folder = K8S / folder
    if folder not in _rendered:
        out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        _rendered[folder] = [d for d in yaml.safe_load_all(out.stdout) if d]
    return _rendered[folder]


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


def settings_of(objects):
    """The data of the generated settings ConfigMap the Deployment reads (pipeline-orchestrator-<hash>)."""
    deployment = one(objects, "Deployment", "pipeline-orchestrator")
    ref = next(e["configMapRef"]["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
               if "configMapRef" in e)
    return one(objects, "ConfigMap", ref)["data"]


def container_env(objects):
    c = one(objects, "Deployment", "pipeline-orchestrator")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in c.get("env", [])}


def pod_templates(objects):
    return [(o["metadata"]["name"], o["spec"]["template"]) for o in objects
            if o["kind"] in ("Deployment", "StatefulSet", "Job")]


# ---- every folder renders and validates; every file is used --------------------------------------------------------

@pytest.mark.parametrize("folder", FOLDERS)
def test_every_folder_renders_and_validates_against_the_kubernetes_schemas(tmp_path, folder):
    """kubectl kustomize of each folder, each object checked against Kubernetes' own OpenAPI schemas
    (kubernetes-models); no placeholder survives (set-by-kustomize, set-in-cluster.env, set-by-the-overlay)."""
    objects = render(folder)
    out = tmp_path / "objects.json"
    out.write_text(json.dumps(objects))
    p = run_node("validate_k8s.mjs", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("valid:") == len(objects)
    if folder.startswith("overlays/"):
        assert "set-by-" not in json.dumps(objects) and "set-in-" not in json.dumps(objects)


def test_every_manifest_file_is_used():
    """A YAML or env file under deploy/k8s that no kustomization names would be a setting nobody applies."""
    used = set()
    for k in K8S.rglob("kustomization.yaml"):
        doc = yaml.safe_load(k.read_text())
        names = list(doc.get("resources", [])) + list(doc.get("components", []))
        names += [p["path"] for p in doc.get("patches", []) if "path" in p]
        for gen in doc.get("configMapGenerator", []) + doc.get("secretGenerator", []):
            names += gen.get("envs", []) + gen.get("files", [])
        used |= {(k.parent / n).resolve() for n in names}
    files = {p.resolve() for p in K8S.rglob("*") if p.is_file() and p.name != "kustomization.yaml"}
    assert files <= used, sorted(str(f) for f in files - used)


# ---- settings ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_known_to_the_service(overlay):
    known = documented_settings()
    objects = render(overlay)
    settings = settings_of(objects)
    assert not set(settings) - known, f"{overlay} sets settings the service does not know: {set(settings) - known}"
    # REDIS_PASSWORD only carries the Secret into REDIS_URL (expanded by Kubernetes); everything else is a setting
    assert not set(container_env(objects)) - known - {"REDIS_PASSWORD"}
    assert settings["REDIS_REQUIRED"] == "true"  # replicas never serve from a private store
    assert "REDIS_URL" not in settings  # it carries the password: made from the Secret, never in a ConfigMap


def expanded_env(objects, password="pw"):
    """The environment Kubernetes gives the service: the ConfigMap, then env with $(VAR) expanded."""
    env = dict(settings_of(objects))
    for name, e in container_env(objects).items():
        if "value" in e:
            env[name] = re.sub(r"\$\(([A-Z_]+)\)", lambda m: env[m.group(1)], e["value"])
        elif "secretKeyRef" in e.get("valueFrom", {}):
            env[name] = password
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_settings_are_accepted_by_the_service(tmp_path, overlay):
    """The service starts with exactly the overlay's environment (Redis pointed at nothing; the Kubernetes API is the
    test server, standing for the in-cluster API the pod would find, without KUBE_NAMESPACE: the namespace is the
    service's default, the manifests' one)."""
    env = expanded_env(render(overlay))
    assert env["REDIS_URL"] == "redis://:pw@pipeline-redis:6379/0"
    env["REDIS_URL"] = "redis://:pw@127.0.0.1:1/0"
    env.pop("DATA_DIR", None)
    env.pop("WORK_MOUNT", None)
    with KubeApiServer(namespaces=(NAMESPACE,)) as api:
        env.update(KUBE_API_URL=api.url, KUBECONFIG="/nonexistent")
        svc = Service(tmp_path, env=env, start=False)
        svc.env.pop("KUBE_NAMESPACE", None)
        try:
            svc.start(wait=False)
            assert wait_until(svc.listening, timeout=30), svc.log()
            # REDIS_REQUIRED=true: not ready without Redis, and says why
            health = svc.get("/healthz")
            assert health.status_code == 503 and "REDIS_REQUIRED" in health.json()["detail"], health.text
            assert health.json()["executor"] == env["EXECUTOR"]
            # the access check at start-up went to the namespace of the manifests, by default
            assert any(f"/namespaces/{NAMESPACE}/pods" in r[1] for r in api.requests), api.requests
        finally:
            svc.stop()


def test_a_settings_change_rolls_the_pods(tmp_path):
    """The ConfigMap is generated with a hash of its data in its name, and the Deployment refers to it: a changed
    setting is a changed pod template, so kubectl apply -k rolls the pods (a ConfigMap edited in place would not)."""
    before = one(render("overlays/kind"), "Deployment", "pipeline-orchestrator")
    name = next(e["configMapRef"]["name"] for e in before["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                if "configMapRef" in e)
    assert name.startswith("pipeline-orchestrator-") and name != "pipeline-orchestrator"
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    env = copy / "base" / "settings.env"
    env.write_text(env.read_text().replace("RUN_HISTORY_LIMIT=5", "RUN_HISTORY_LIMIT=6"))
    after = one(render(copy / "overlays" / "kind"), "Deployment", "pipeline-orchestrator")
    assert after["spec"]["template"] != before["spec"]["template"]


# ---- the Deployment ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_probes_ports_and_grace(overlay):
    objects = render(overlay)
    deployment = one(objects, "Deployment", "pipeline-orchestrator")
    service = one(objects, "Service", "pipeline-orchestrator")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = container["ports"][0]
    assert port["containerPort"] == 8000  # the default PORT, also the image's
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    # liveness does not follow Redis (REDIS_REQUIRED=true makes /healthz 503 without it): the loop answering is enough
    assert container["livenessProbe"]["httpGet"]["path"] == "/metrics"
    assert pod["terminationGracePeriodSeconds"] > 10  # the service exits within 10 s of SIGTERM
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    data_dir = container_env(objects)["DATA_DIR"]["value"]
    assert any(m["mountPath"] == data_dir for m in container["volumeMounts"])  # the only place it writes


def test_rolling_update_keeps_a_live_replica_to_take_the_run_over():
    """An old pod stops only once its replacement is ready (maxUnavailable 0), one new pod at a time (maxSurge 1):
    the run an old pod hands over at SIGTERM always finds a live replica; the choice is explained beside it."""
    for overlay in OVERLAYS:
        strategy = one(render(overlay), "Deployment", "pipeline-orchestrator")["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    text = (K8S / "base" / "deployment.yaml").read_text()
    assert "maxUnavailable 0" in text and "maxSurge 1" in text  # the comment that explains them


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_runs_as_the_service_account_and_sees_the_work_volume(overlay):
    objects = render(overlay)
    config = settings_of(objects)
    pod = one(objects, "Deployment", "pipeline-orchestrator")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "pipeline-orchestrator"
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert claim["persistentVolumeClaim"]["claimName"] == config["WORK_PVC"]
    one(objects, "PersistentVolumeClaim", config["WORK_PVC"])
    container = pod["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == claim["name"])
    assert mount["mountPath"] == container_env(objects)["WORK_MOUNT"]["value"] and mount["readOnly"] is True
    assert "DATA_DIR" in container_env(objects)  # the patch merged, not replaced
    assert config["NEXTFLOW_SERVICE_ACCOUNT"] == "nextflow-runner"
    one(objects, "ServiceAccount", "nextflow-runner")


def test_without_the_work_components_nothing_mounts_a_claim():
    """EXECUTOR=local needs no claim: base/ mounts none, so an unbound claim cannot keep it Pending."""
    objects = render("base")
    pod = one(objects, "Deployment", "pipeline-orchestrator")["spec"]["template"]["spec"]
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"])
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]


def test_dockerfile_builds_both_binaries_and_runs_the_service():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "build/pipeline-orchestrator" in text and "build/pipeline-task" in text
    assert re.search(r"EXPOSE 8000", text)
    assert "ENTRYPOINT" in text and "pipeline-orchestrator" in text.split("ENTRYPOINT", 1)[1]


def test_image_ships_the_workflow():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^COPY workflows /workflows$", text, re.M)
    assert (ROOT / "workflows" / "demo.nf").is_file() and (ROOT / "workflows" / "nextflow.config").is_file()



# ---- RBAC ---------------------------------------------------------------------------------------------------------

def rules_of(role):
    return {(group, resource): sorted(rule["verbs"]) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"]}


def test_rbac_grants_what_the_executors_need_and_no_more():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in render("access")
            if d["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")}
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
    for kind, _ in docs:
        assert kind not in ("ClusterRole", "ClusterRoleBinding")  # namespace-scoped only


def can_i(objects, verb, resource, namespace, user):
    """What `kubectl auth can-i VERB RESOURCE -n NAMESPACE --as USER` answers, from the RBAC objects alone (the
    manifests bind Roles only): resource is `pods`, `jobs.batch` or `pods/log`."""
    m = re.fullmatch(r"system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+)", user)
    assert m, user
    sa_ns, sa = m.groups()
    name, _, sub = resource.partition("/")
    plural, _, group = name.partition(".")
    wanted = plural + ("/" + sub if sub else "")
    for b in objects:
        if b["kind"] != "RoleBinding" or b["metadata"]["namespace"] != namespace:
            continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == sa and s.get("namespace") == sa_ns
                   for s in b["subjects"]):
            continue
        role = one(objects, "Role", b["roleRef"]["name"])
        for rule in role["rules"]:
            if group in rule["apiGroups"] and wanted in rule["resources"] and verb in rule["verbs"]:
                return True
    return False


# ---- one image, one namespace -------------------------------------------------------------------------------------

IMAGE = f"pipeline-orchestrator:{VERSION}"


def test_one_image_name_and_tag_everywhere():
    """The VERSION file's tag in kustomize's images:, the Deployment, APP_IMAGE (the image of every task pod), the
    Nextflow config, the service's default and `make image`; never :latest."""
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert base["images"] == [{"name": "pipeline-orchestrator", "newTag": VERSION}]
    for folder in ("base",) + tuple(OVERLAYS):
        objects = render(folder)
        image = one(objects, "Deployment", "pipeline-orchestrator")["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith("/" + IMAGE) or image == IMAGE, (folder, image)
        assert settings_of(objects)["APP_IMAGE"] == image, folder  # the service starts its pods from its own image
        for _, template in pod_templates(objects):
            for c in template["spec"]["containers"]:
                assert ":" in c["image"].rsplit("/", 1)[-1] and not c["image"].endswith(":latest"), c["image"]
    # kind's image is the one `make image` tags and `kind load docker-image` side-loads: no registry in its name
    assert settings_of(render("overlays/kind"))["APP_IMAGE"] == IMAGE
    nextflow_config = (ROOT / "workflows" / "nextflow.config").read_text()
    assert re.search(rf"^\s*app_image = '{re.escape(IMAGE)}'$", nextflow_config, re.M)
    assert re.search(rf"^APP_IMAGE={re.escape(IMAGE)}$", (ROOT / ".env.example").read_text(), re.M)
    help_text = subprocess.run([str(SERVICE_BIN), "--help"], capture_output=True, text=True, timeout=10).stdout
    assert re.search(rf'APP_IMAGE +default "{re.escape(IMAGE)}"', help_text), help_text
    dry = subprocess.run(["make", "-n", "--no-print-directory", "image", "ENGINE=podman"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert f"-t {IMAGE} " in dry.stdout, dry.stdout + dry.stderr
    assert ":latest" not in "".join(p.read_text() for p in K8S.rglob("*.yaml") if p.is_file())


def test_one_namespace_in_the_manifests_the_code_and_the_docs():
    for folder in FOLDERS:
        for o in render(folder):
            if o["kind"] == "Namespace":
                assert o["metadata"]["name"] == NAMESPACE
            else:
                assert o["metadata"].get("namespace") == NAMESPACE, (folder, o["kind"], o["metadata"]["name"])
    # the code's default (checked running in test_overlay_settings_are_accepted_by_the_service), as documented
    assert re.search(r"else pipeline\b", (ROOT / ".env.example").read_text())
    readme = (ROOT / "README.md").read_text()
    assert "else `pipeline`" in readme
    assert re.search(rf"^\s*namespace = '{NAMESPACE}'$", (ROOT / "workflows" / "nextflow.config").read_text(), re.M)
    assert set(re.findall(r"kubectl -n (\S+)", readme)) == {NAMESPACE}
    assert set(re.findall(r" -n (\S+) --as", readme)) <= {NAMESPACE, "default"}


# ---- what each overlay promises -----------------------------------------------------------------------------------

def test_kind_fits_a_laptop_with_one_replica_and_side_loaded_images():
    objects = render("overlays/kind")
    settings = settings_of(objects)
    assert one(objects, "Deployment", "pipeline-orchestrator")["spec"]["replicas"] == 1
    pvc = one(objects, "PersistentVolumeClaim", settings["WORK_PVC"])
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["spec"]["storageClassName"] == "standard"
    assert settings["EXECUTOR"] == "kubernetes" and settings["IMAGE_PULL_POLICY"] == "IfNotPresent"
    for _, template in pod_templates(objects):
        for c in template["spec"]["containers"]:
            assert c.get("imagePullPolicy", "IfNotPresent") == "IfNotPresent"  # a tag other than :latest: IfNotPresent
    assert quantity(settings["WORKER_CPU"]) <= 0.25 and quantity(settings["WORKER_MEMORY"]) <= 256 * 2**20
    # the Redis password is generated for the laptop (nothing to make by hand)
    assert [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"].startswith("pipeline-redis-")]
    assert not [o for o in objects if o["kind"] in ("Ingress", "PodDisruptionBudget")]
    # kind-outside: the same namespace, claim and quota, without the service
    outside = render("overlays/kind-outside")
    assert {o["kind"] for o in outside} == {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ResourceQuota",
                                            "LimitRange", "PersistentVolumeClaim"}
    for kind in ("Namespace", "ResourceQuota", "PersistentVolumeClaim"):
        assert one(outside, kind) == one(objects, kind)


def test_production_has_replicas_tls_ingress_pdb_networkpolicy_and_its_settings():
    objects = render("overlays/production")
    settings = settings_of(objects)
    cluster = env_file("overlays/production/cluster.env")
    deployment = one(objects, "Deployment", "pipeline-orchestrator")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == 2 and settings["REDIS_REQUIRED"] == "true"
    # the work volume: ReadWriteMany of the class named in cluster.env
    pvc = one(objects, "PersistentVolumeClaim", settings["WORK_PVC"])
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["storageClassName"] == cluster["STORAGE_CLASS"]
    # the Ingress: TLS for the host it serves, the Service's port, WebSocket-friendly timeouts
    ingress = one(objects, "Ingress", "pipeline-orchestrator")
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == cluster["HOST"] and ingress["spec"]["tls"] == [
        {"hosts": [cluster["HOST"]], "secretName": cluster["TLS_SECRET"]}]
    assert ingress["spec"]["ingressClassName"] == cluster["INGRESS_CLASS"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = one(objects, "Service", backend["name"])
    assert backend["port"]["name"] in [p["name"] for p in service["spec"]["ports"]]
    notes = ingress["metadata"]["annotations"]
    for name in ("proxy-read-timeout", "proxy-send-timeout"):  # longer than the stream's 30 s keep-alive, by far
        assert int(notes[f"nginx.ingress.kubernetes.io/{name}"]) >= 3600
    assert notes["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    # ingress-nginx's pods are trusted for X-Forwarded-For
    assert settings["TRUSTED_PROXIES"]
    # the PDB keeps one of the two replicas through a drain
    pdb = one(objects, "PodDisruptionBudget", "pipeline-orchestrator")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    # only the service's pods reach Redis
    policy = one(objects, "NetworkPolicy")
    redis = one(objects, "StatefulSet", "pipeline-redis")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= redis["spec"]["template"]["metadata"][
        "labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (allowed,) = policy["spec"]["ingress"]
    (source,) = allowed["from"]
    assert set(source) == {"podSelector"} and source["podSelector"]["matchLabels"].items() <= labels.items()
    assert allowed["ports"] == [{"protocol": "TCP", "port": 6379}]
    # writes need the token: the Secret is required here
    secret_ref = next(e["secretRef"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                      if "secretRef" in e)
    assert secret_ref == {"name": "pipeline-orchestrator", "optional": False}
    # the Secrets are made by hand, never rendered from the repository
    assert not [o for o in objects if o["kind"] == "Secret"]
    one(objects, "ResourceQuota")
    one(objects, "LimitRange")


def test_production_trusts_the_ingress_pod_network():
    # ingress-nginx connects from its controller pod: without TRUSTED_PROXIES covering the pod network every
    # visitor would be one client for the rate limit and the stream's per-client cap
    ranges = settings_of(render("overlays/production"))["TRUSTED_PROXIES"].split(",")
    trusted = [ipaddress.ip_network(r.strip()) for r in ranges]
    for pod_ip in ("10.42.0.17", "10.244.1.5", "192.168.12.3"):  # k3s, flannel, Calico
        assert any(ipaddress.ip_address(pod_ip) in net for net in trusted), pod_ip


# Nextflow 24.10's workers have no container securityContext: `restricted` refuses them (see the README)
LEVEL_FOR = {"kubernetes": "restricted", "nextflow": "baseline", "local": "restricted"}


@pytest.mark.parametrize("overlay", OVERLAYS + ["overlays/kind-outside"])
def test_pod_security_level_is_the_one_the_executor_can_meet(overlay):
    objects = render(overlay)
    labels = one(objects, "Namespace")["metadata"]["labels"]
    executor = settings_of(objects)["EXECUTOR"] if overlay in OVERLAYS else "kubernetes"  # the README's command
    assert labels["pod-security.kubernetes.io/enforce"] == LEVEL_FOR[executor]
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    # every pod of the manifests meets restricted whatever the level (as the test server's admission checks it)
    for name, template in pod_templates(objects):
        assert violations(template) == [], (overlay, name)


def quantity(text):
    """A Kubernetes quantity as a number (cores, bytes): the suffixes these manifests use."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|)", str(text))
    assert m, text
    return float(m.group(1)) * units[m.group(2)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_quota_leaves_the_tasks_what_the_settings_say(overlay):
    """The quota counts the service's replicas (one more during a roll: maxSurge) and Redis too: what is left must be
    QUOTA_CPU / QUOTA_MEMORY, the room the preview plans with; the LimitRange admits every container we make."""
    objects = render(overlay)
    settings = settings_of(objects)
    hard = one(objects, "ResourceQuota")["spec"]["hard"]
    own = {"requests": {"cpu": 0.0, "memory": 0.0}, "limits": {"cpu": 0.0, "memory": 0.0}}
    containers = []
    for o in objects:
        if o["kind"] == "Deployment":
            count = o["spec"]["replicas"] + o["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        elif o["kind"] == "StatefulSet":
            count = o["spec"]["replicas"]
        else:
            continue
        for c in o["spec"]["template"]["spec"]["containers"]:
            containers.append(c)
            for kind in own:
                for res in ("cpu", "memory"):
                    own[kind][res] += count * quantity(c["resources"][kind][res])
    for kind in own:
        assert quantity(hard[f"{kind}.cpu"]) - own[kind]["cpu"] >= quantity(settings["QUOTA_CPU"]), (kind, own)
        assert quantity(hard[f"{kind}.memory"]) - own[kind]["memory"] >= quantity(settings["QUOTA_MEMORY"]), kind
    (limit,) = one(objects, "LimitRange")["spec"]["limits"]
    sizes = [(settings["WORKER_CPU"], settings["WORKER_MEMORY"])]
    if settings["EXECUTOR"] == "nextflow":
        sizes.append((settings["CONTROLLER_CPU"], settings["CONTROLLER_MEMORY"]))
    sizes += [(c["resources"]["limits"]["cpu"], c["resources"]["limits"]["memory"]) for c in containers]
    for cpu, memory in sizes:
        assert quantity(cpu) <= quantity(limit["max"]["cpu"]) and quantity(memory) <= quantity(limit["max"]["memory"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_asks_for_the_password_that_redis_url_carries(overlay):
    objects = render(overlay)
    env = container_env(objects)
    secret = env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    names = list(env)
    assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")  # Kubernetes expands only what comes before
    assert "$(REDIS_PASSWORD)@" in env["REDIS_URL"]["value"]
    redis = one(objects, "StatefulSet", "pipeline-redis")["spec"]["template"]["spec"]["containers"][0]
    args = redis["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    redis_env = {e["name"]: e for e in redis["env"]}
    assert redis_env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == secret
    assert redis_env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"] == secret  # the probe authenticates
    assert "PONG" in " ".join(redis["readinessProbe"]["exec"]["command"])  # NOAUTH is not ready


# ---- the README's Kubernetes section: every command is rendered, run (dry) or evaluated here ----------------------

def readme_commands():
    """(command tokens, trailing comment) of every line of the sh blocks of the README's Kubernetes section."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploying on Kubernetes"):readme.index("\n## ", readme.index(
        "## Deploying on Kubernetes") + 5)]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip():
                continue
            code, _, comment = line.partition("  #")
            commands.append((shlex.split(code), comment.strip()))
    return commands


def split_env(tokens):
    env = {}
    while tokens and re.match(r"^[A-Z][A-Z0-9_]*=", tokens[0]):
        key, _, value = tokens.pop(0).partition("=")
        env[key] = value
    return env, tokens


def check_kubectl(args, comment, tmp_path):
    production, kind = render("overlays/production"), render("overlays/kind")

    def exists(ref, objects=None):
        kinds = {"deploy": "Deployment", "svc": "Service", "statefulset": "StatefulSet"}
        kind_name, _, name = ref.partition("/")
        for objs in ([objects] if objects else [production, kind]):
            one(objs, kinds[kind_name], name)

    if args[:2] in (["apply", "-k"], ["delete", "-k"]):
        folder = args[2]
        assert folder.startswith("deploy/k8s/") and folder[len("deploy/k8s/"):] in FOLDERS, folder
        render(ROOT / folder)
        return
    if args[:2] == ["auth", "can-i"]:
        opts = dict(re.findall(r"--?([a-z-]+)[ =](\S+)", " ".join(args[2:])))
        verb, resource = args[2], args[3]
        if opts.get("subresource"):
            resource += "/" + opts["subresource"]
        # the answer the README shows: "# yes", "# no", or "# you: yes (…)"
        answer = comment.split(":")[-1].split()[0]
        assert answer in ("yes", "no"), comment
        if "as" not in opts:  # the person's own identity (kind's admin): the cluster answers, not our Roles
            assert answer == "yes"
            return
        assert can_i(production, verb, resource, opts["n"], opts["as"]) == (answer == "yes"), (args, comment)
        return
    assert args[0] == "-n" and args[1] == NAMESPACE, args
    sub = args[2:]
    if sub[:2] in (["rollout", "status"], ["rollout", "restart"]):
        for ref in sub[2:]:
            exists(ref)
    elif sub[0] in ("logs", "describe"):
        exists(sub[1])
    elif sub[0] == "scale":
        exists(sub[1])
        assert sub[2] == "--replicas=0"
    elif sub[0] == "port-forward":
        exists(sub[1], kind)
        local, _, remote = sub[2].partition(":")
        assert int(remote) in [p["port"] for p in one(kind, "Service", sub[1].split("/")[1])["spec"]["ports"]]
        assert local == "8080"  # the port the curl commands use
    elif sub[:2] == ["get", "pods"]:
        label = sub[sub.index("-l") + 1]
        key, _, value = label.partition("=")
        assert f'"{key}", "{value}"' in (ROOT / "src" / "exec" / "pod_spec.c").read_text()  # the task pods' label
    elif sub[:3] == ["create", "secret", "generic"]:
        name = sub[3]
        dry = [a.replace("$(openssl rand -hex 32)", "0123abcd") for a in sub]
        p = subprocess.run(["kubectl", "-n", NAMESPACE, *dry, "--dry-run=client", "-o", "json"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        keys = set(json.loads(p.stdout)["data"])
        container = one(production, "Deployment", "pipeline-orchestrator")["spec"]["template"]["spec"]["containers"][0]
        if name == "pipeline-redis":  # the Secret REDIS_URL and Redis read
            assert keys == {container_env(production)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]}
        else:  # the Secret the service reads as its environment: settings only
            assert name in [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
            assert keys <= documented_settings() and "API_TOKEN" in keys
    elif sub[:3] == ["create", "secret", "tls"]:
        assert sub[3] == env_file("overlays/production/cluster.env")["TLS_SECRET"]
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pipeline.example.com",
                        "-keyout", "tls.key", "-out", "tls.crt", "-days", "1"], cwd=tmp_path, check=True,
                       capture_output=True, timeout=60)
        p = subprocess.run(["kubectl", "-n", NAMESPACE, *sub, "--dry-run=client", "-o", "json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and json.loads(p.stdout)["type"] == "kubernetes.io/tls", p.stderr
    else:
        raise AssertionError(f"a README command no test checks: kubectl {' '.join(args)}")


def test_readme_kubernetes_commands_are_rendered_run_or_evaluated(tmp_path):
    commands = readme_commands()
    assert len(commands) > 20
    production_image = one(render("overlays/production"), "Deployment", "pipeline-orchestrator")["spec"][
        "template"]["spec"]["containers"][0]["image"]
    api_paths = json.loads((ROOT / "web" / "openapi.json").read_text())["paths"]
    seen = set()
    for tokens, comment in commands:
        env, tokens = split_env(list(tokens))
        what = tokens[0]
        seen.add(what)
        if what == "kubectl":
            check_kubectl(tokens[1:], comment, tmp_path)
        elif what == "kind":
            if tokens[1:3] == ["load", "docker-image"]:
                assert tokens[3] == IMAGE == settings_of(render("overlays/kind"))["APP_IMAGE"]
            else:
                assert tokens[1:] in (["create", "cluster"], ["delete", "cluster"]), tokens
        elif what == "make":
            assert tokens[1] == "image"
            image = tokens[2].partition("IMAGE=")[2] if len(tokens) > 2 else IMAGE
            assert image in (IMAGE, production_image), image
            dry = subprocess.run(["make", "-n", "--no-print-directory", *tokens[1:], "ENGINE=podman"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
            assert f"-t {image} " in dry.stdout, dry.stdout + dry.stderr
        elif what == "docker":
            assert tokens[1:] == ["push", production_image]
        elif what == "curl":
            url = next(t for t in tokens if t.startswith("localhost:"))
            assert url.startswith("localhost:8080/")  # kubectl port-forward's local port
            assert url[len("localhost:8080"):] in api_paths, url
        elif what == "./build/pipeline-orchestrator":
            assert set(env) <= documented_settings(), env
            if env.get("EXECUTOR") == "kubernetes":  # against kind-outside: the kind overlay's settings
                kind = settings_of(render("overlays/kind"))
                assert {k: kind[k] for k in env} == env
        else:
            raise AssertionError(f"a README command no test checks: {' '.join(tokens)}")
    assert {"kubectl", "kind", "make", "curl", "./build/pipeline-orchestrator"} <= seen
