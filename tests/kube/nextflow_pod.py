"""A Nextflow 24.10 worker pod, built from the `k8s` and `process` scopes of a parsed nextflow.config the way
Nextflow's K8sConfig, K8sTaskHandler.newSubmitRequest0 and PodSpecBuilder.build build it (read in Nextflow's
sources at tag v24.10.0; this is a re-statement of what they produce, not their code):

- the launcher `/bin/bash -ue <task dir>/.command.run` is the container's `args` (the image's ENTRYPOINT stays)
  unless k8s.entrypointOverride (or NXF_CONTAINER_ENTRYPOINT_OVERRIDE in the controller's environment) is set,
  then its `command`; no `workingDir` (the launcher changes directory itself);
- labels: k8s.pod labels, then nextflow.io/app, runName, taskName, processName, sessionId (values sanitised);
- container name = pod name = nf-<task hash>-<5 hex>; `imagePullPolicy` only from k8s.pullPolicy /
  imagePullPolicy / a pod option; a container securityContext only for `privileged`;
- the pod's securityContext from k8s.runAsUser (runAsUser only) or else k8s.securityContext (as given);
  serviceAccountName from k8s.serviceAccount; automountServiceAccountToken false only when a pod option says so;
- resources: requests.cpu = cpus (a JSON number), limits.cpu too only with k8s.cpuLimits; memory "<MB>Mi" as
  request and limit;
- the work claim (k8s.storageClaimName at k8s.storageMountPath) as volume vol-N, mounted in the container."""
import hashlib
import itertools
import re
import time

_volumes = itertools.count(1)  # PodSpecBuilder numbers volumes across every pod of the JVM


class K8sConfig:
    def __init__(self, cfg, env=None):
        k8s = cfg.get("k8s") or {}
        self.k8s, self.process = k8s, cfg.get("process") or {}
        env = env or {}
        opts = k8s.get("pod") or []
        self.options = [opts] if isinstance(opts, dict) else list(opts)
        self.pull_policy = k8s.get("pullPolicy") or k8s.get("imagePullPolicy")
        self.security = None
        if k8s.get("runAsUser") is not None:
            self.security = {"runAsUser": k8s["runAsUser"]}
        elif isinstance(k8s.get("securityContext"), dict):
            self.security = dict(k8s["securityContext"])
        self.labels, self.automount, self.privileged = {}, True, False
        for o in self.options:  # PodOptions.create, in its order of keys
            if o.get("pullPolicy") or o.get("imagePullPolicy"):
                self.pull_policy = o.get("pullPolicy") or o.get("imagePullPolicy")
            elif o.get("label") and o.get("value"):
                self.labels[o["label"]] = str(o["value"])
            elif o.get("runAsUser") is not None:
                self.security = {"runAsUser": o["runAsUser"]}
            elif isinstance(o.get("securityContext"), dict):
                self.security = dict(o["securityContext"])
            elif isinstance(o.get("automountServiceAccountToken"), bool):
                self.automount = o["automountServiceAccountToken"]
            elif isinstance(o.get("privileged"), bool):
                self.privileged = o["privileged"]
            else:
                raise ValueError(f"Unknown pod options: {o}")  # (others exist; the service writes none)
        override = k8s.get("entrypointOverride")
        if override is None:
            override = env.get("NXF_CONTAINER_ENTRYPOINT_OVERRIDE")
        self.entrypoint_override = bool(override)
        self.cpu_limits = bool(k8s.get("cpuLimits") or False)
        self.claim = k8s.get("storageClaimName")
        self.mount_path = k8s.get("storageMountPath") or "/workspace"
        self.namespace = k8s.get("namespace")
        self.service_account = k8s.get("serviceAccount")


def memory_mega(text):
    """Nextflow's MemoryUnit of a process's `memory` ('4096 MB', '4 GB'), in its (binary) megabytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?B)\s*", str(text))
    if not m:
        raise ValueError(f"Not a valid 'MemoryUnit' value: {text}")
    scale = {"B": 1 / 1024**2, "KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024**2}[m.group(2)]
    return int(float(m.group(1)) * scale)


def sanitize_value(v):
    """PodSpecBuilder's sanitising of a label value: 'GENERATE (1)' -> 'GENERATE_1'."""
    v = re.sub(r"[^A-Za-z0-9._-]+", "_", str(v)[:63])
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", v)


def pod_name(task_hash):
    suffix = hashlib.md5(str(int(time.time() * 1000)).encode()).hexdigest()[-5:]
    return f"nf-{task_hash}-{suffix}"


def worker_pod(k8s, *, name, image, task_dir, run_name, task_name, process_name, session_id, cpus, memory):
    launcher = ["/bin/bash", "-ue", f"{task_dir}/.command.run"]
    container = {"name": name, "image": image}
    container["command" if k8s.entrypoint_override else "args"] = launcher
    if k8s.pull_policy:
        container["imagePullPolicy"] = k8s.pull_policy
    if k8s.privileged:
        container["securityContext"] = {"privileged": True}
    spec = {"restartPolicy": "Never", "containers": [container]}
    if k8s.service_account:
        spec["serviceAccountName"] = k8s.service_account
    if not k8s.automount:
        spec["automountServiceAccountToken"] = False
    if k8s.security:
        spec["securityContext"] = k8s.security
    labels = dict(k8s.labels)
    labels.update({"nextflow.io/app": "nextflow", "nextflow.io/runName": run_name, "nextflow.io/taskName": task_name,
                   "nextflow.io/processName": process_name, "nextflow.io/sessionId": f"uuid-{session_id}"})
    res = {}
    if cpus:
        res.setdefault("requests", {})["cpu"] = cpus
        if k8s.cpu_limits:
            res.setdefault("limits", {})["cpu"] = cpus
    if memory:
        res.setdefault("requests", {})["memory"] = f"{memory_mega(memory)}Mi"
        res.setdefault("limits", {})["memory"] = f"{memory_mega(memory)}Mi"
    if res:
        container["resources"] = res
    if k8s.claim:
        vol = f"vol-{next(_volumes)}"
        spec["volumes"] = [{"name": vol, "persistentVolumeClaim": {"claimName": k8s.claim}}]
        container["volumeMounts"] = [{"name": vol, "mountPath": k8s.mount_path}]
    meta = {"name": name, "namespace": k8s.namespace or "default",
            "labels": {k: sanitize_value(v) for k, v in labels.items()}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
