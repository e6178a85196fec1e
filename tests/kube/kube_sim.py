"""What the cluster does behind the API in the test server: the kubelet (a pod goes Pending -> Running ->
Succeeded/Failed with an exit code and log lines, or stays Pending with a reason) and the Job controller (a Job
gets one pod; the pod's end completes or fails the Job with conditions as batch/v1 writes them since 1.31).

A pod's behaviour is a dict, chosen when the pod is created by the first hook in `pod_hooks` that returns one
(else `default_behaviour`):
    {"pending": "ImagePullBackOff" | "Unschedulable" | "ContainerCreating"}  stays Pending
    {"logs": ["line", ["line", "line"], ...], "exit_code": 0, "reason": "OOMKilled",
     "start_delay": 0.05, "line_delay": 0.0, "run_seconds": 0.0, "hold": False,
     "start_gate": threading.Event()}   stays ContainerCreating until the gate is set
    {"script": fn(sim, pod) -> exit_code}   runs in the pod's thread once it is Running (Nextflow's controller)
    {"runtime": kube_runtime.PodmanRuntime}   runs for real under podman (tests/kube/kube_runtime.py): status and
                                              logs are podman's (`sim.runtime`, when set, is the default)
"hold": True keeps the pod Running until sim.finish_pod(). Hooks on jobs (`job_hooks`, fn(job) -> True when the
hook made the Job's pods itself) let another simulation (tests/kube/nextflow_sim.py) take a Job over.
A list inside "logs" is one write of the container read in one go: its lines share one timestamp, as the container
runtime stamps a whole read of the container's output (CRI-O's conmon does)."""
import copy
import json
import threading
import time
import uuid

import kube_events
from kube_store import now_rfc3339


def ts_now_ns():
    ns = time.time_ns()
    return ns, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


class PodLog:
    def __init__(self):
        self.lines = []  # (timestamp RFC 3339 with 9 digits, text)
        self.last_ns = 0
        self.done = False


class ClusterSim:
    def __init__(self, store):
        self.store = store
        self.pod_hooks = []  # fn(pod) -> behaviour dict or None
        self.job_hooks = []  # fn(job) -> True when handled
        self.default_behaviour = {"logs": [], "exit_code": 0}
        self.logs = {}  # (ns, pod) -> PodLog
        self.threads = {}  # (ns, pod) -> thread
        self.held = {}  # (ns, pod) -> threading.Event released by finish_pod
        self.finish_codes = {}
        self.deleted = set()
        self.stopping = False
        self.runtime = None  # a kube_runtime.PodmanRuntime: every pod no hook claims runs under it
        self.runtime_pods = {}  # (ns, pod, uid) -> kube_runtime.RuntimePod
        store.listeners.append(self._on_change)
        store.defaulters["pods"] = pod_defaults
        store.defaulters["jobs"] = job_defaults

    # ---- the API side: changes seen in the store ----
    def _on_change(self, etype, resource, obj):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if resource == "pods" and etype == "ADDED":
            self.logs[key] = PodLog()
            self.held.pop(key, None)  # a new pod of an old name starts afresh
            self.finish_codes.pop(key, None)
            t = threading.Thread(target=self._run_pod, args=(copy.deepcopy(obj),), daemon=True)
            self.threads[key] = t
            threading.Timer(0, t.start).start()  # after the create has answered
        elif resource == "pods" and etype == "DELETED":
            self.deleted.add((key, meta["uid"]))
            log = self.logs.get(key)
            if log:
                log.done = True
            ev = self.held.get(key)
            if ev:
                ev.set()
            h = self.runtime_pods.pop((key[0], key[1], meta["uid"]), None)
            if h is not None:  # the kubelet stops the containers: SIGTERM, then SIGKILL after the grace period
                grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
                threading.Thread(target=h.delete, args=(grace,), daemon=True).start()
        elif resource == "pods" and etype == "MODIFIED":
            self._job_follow_pod(obj)
        elif resource == "jobs" and etype == "ADDED":
            job = copy.deepcopy(obj)
            threading.Timer(0, self._start_job, args=(job,)).start()

    # ---- helpers another simulation uses ----
    def log(self, ns, pod, text, same_read=False):
        """Appends one line to a pod's log (the kubelet's timestamp is taken now), or several lines read at once
        (`text` a list): they share one timestamp. same_read=True: more lines of the read before (its timestamp)."""
        with self.store.lock:
            log = self.logs.setdefault((ns, pod), PodLog())
            ns_now, ts = ts_now_ns()
            if same_read and log.lines:
                ns_now, ts = log.last_ns, log.lines[-1][0]
            elif ns_now <= log.last_ns:  # one read after another: later, as the runtime's clock moves on
                ns_now = log.last_ns + 1
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns_now // 10**9)) + ".%09dZ" % (ns_now % 10**9)
            log.last_ns = ns_now
            for line in (text if isinstance(text, list) else [text]):
                log.lines.append((ts, line))
            self.store.changed.notify_all()

    def log_at(self, ns, pod, ts, text, container=None):
        """Appends one line with its own timestamp (the runtime's) to a pod's log (or to one container's)."""
        with self.store.lock:
            key = (ns, pod) if container is None else (ns, pod, container)
            log = self.logs.setdefault(key, PodLog())
            log.lines.append((ts, text))
            self.store.changed.notify_all()

    def create_pod(self, ns, manifest, owner=None):
        """Creates a pod as a controller would (with an owner reference to `owner`, an object)."""
        m = copy.deepcopy(manifest)
        if owner is not None:
            m.setdefault("metadata", {})["ownerReferences"] = [{
                "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        return self.store.create("pods", ns, m)

    def finish_pod(self, ns, name, exit_code=0, reason=None):
        """Ends a pod held Running ({"hold": True})."""
        self.finish_codes[(ns, name)] = (exit_code, reason)
        self.held.setdefault((ns, name), threading.Event()).set()  # the pod may not have reached its hold yet

    def pod_alive(self, pod):
        meta = pod["metadata"]
        return ((meta["namespace"], meta["name"]), meta["uid"]) not in self.deleted and not self.stopping

    # ---- the kubelet ----
    def _behaviour(self, pod):
        for hook in self.pod_hooks:
            b = hook(pod)
            if b is not None:
                return b
        return {"runtime": self.runtime} if self.runtime is not None else self.default_behaviour

    def _set(self, pod, fn):
        meta = pod["metadata"]
        if not self.pod_alive(pod):
            return None
        return self.store.update("pods", meta["namespace"], meta["name"], fn)

    def _run_pod(self, pod):
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        b = self._behaviour(pod)
        if b.get("runtime") is not None:
            return self._run_in_runtime(pod, b["runtime"])
        containers = [c["name"] for c in pod["spec"].get("containers", [])] or ["main"]
        time.sleep(b.get("start_delay", 0.02))
        pending = b.get("pending")
        if pending == "Unschedulable":
            def unsched(o):
                o["status"]["conditions"] = [{
                    "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(), "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
                               "3 No preemption victims found for incoming pod."}]
            self._set(pod, unsched)
            return
        self._set(pod, lambda o: schedule(o, containers, pending or "ContainerCreating"))
        if pending:
            return
        gate = b.get("start_gate")
        while gate is not None and not gate.wait(0.05):
            if not self.pod_alive(pod):
                return
        time.sleep(b.get("start_delay", 0.02))
        if self._set(pod, lambda o: run(o, containers)) is None:
            return
        exit_code, reason = b.get("exit_code", 0), b.get("reason")
        if "script" in b:
            exit_code = b["script"](self, copy.deepcopy(self.store.find("pods", ns, name) or pod))
        else:
            for line in b.get("logs", []):
                if not self.pod_alive(pod):
                    return
                self.log(ns, name, line)
                if b.get("line_delay"):
                    time.sleep(b["line_delay"])
            if b.get("run_seconds"):
                time.sleep(b["run_seconds"])
            if b.get("hold"):
                ev = self.held.setdefault((ns, name), threading.Event())
                ev.wait()
                exit_code, reason = self.finish_codes.get((ns, name), (exit_code, reason))
        if not self.pod_alive(pod):
            return
        self._set(pod, lambda o: terminate(o, exit_code, reason))
        with self.store.lock:
            self.logs[(ns, name)].done = True
            self.store.changed.notify_all()

    def _run_in_runtime(self, pod, runtime):
        """The kubelet with a real runtime: podman runs the pod; its status and logs are copied into the API."""
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        h = runtime.start(pod)
        self.runtime_pods[(ns, name, meta["uid"])] = h
        if not self.pod_alive(pod):  # deleted while starting
            self.runtime_pods.pop((ns, name, meta["uid"]), None)
            h.delete(0)
            return
        self._set(pod, lambda o: schedule(o, containers, "ContainerCreating"))
        alive = lambda: self.pod_alive(pod)  # noqa: E731
        followers = [threading.Thread(target=h.follow, daemon=True, args=(
            c, lambda ts, line, c=c: self.log_at(ns, name, ts, line, None if c == containers[0] else c), alive))
            for c in [c["name"] for c in pod["spec"].get("initContainers") or []] + containers]
        for t in followers:
            t.start()
        last = None
        while self.pod_alive(pod):
            st = h.status()
            if st["phase"] in ("Succeeded", "Failed"):
                # a runtime's log file is whole when the kubelet reports the container ended: copy it first, or a
                # client that reads the log of a finished pod could miss its last lines
                for t in followers:
                    t.join(timeout=30)
            key = json.dumps(st, sort_keys=True)
            if key != last:
                last = key
                self._set(pod, lambda o: runtime_status(o, st))
            if st["phase"] in ("Succeeded", "Failed"):
                break
            time.sleep(runtime.poll)
        for t in followers:
            t.join(timeout=30)
        with self.store.lock:
            self.logs.setdefault((ns, name), PodLog()).done = True
            self.store.changed.notify_all()

    # ---- the Job controller ----
    def _start_job(self, job):
        for hook in self.job_hooks:
            if hook(job):
                return
        kube_events.create_job_pod_retrying(self, job, self.create_job_pod)

    def create_job_pod(self, job, behaviour_labels=None):
        """The Job controller's pod for `job` (labels job-name and controller-uid, owned by the Job)."""
        meta = job["metadata"]
        tmpl = copy.deepcopy(job["spec"]["template"])
        tmeta = tmpl.setdefault("metadata", {})
        labels = tmeta.setdefault("labels", {})
        labels.update({"controller-uid": meta["uid"], "batch.kubernetes.io/controller-uid": meta["uid"],
                       "job-name": meta["name"], "batch.kubernetes.io/job-name": meta["name"]})
        labels.update(behaviour_labels or {})
        tmeta["name"] = meta["name"] + "-" + uuid.uuid4().hex[:5]
        pod = self.create_pod(meta["namespace"], {"apiVersion": "v1", "kind": "Pod", "metadata": tmeta,
                                                  "spec": tmpl["spec"]}, owner=job)
        self.store.update("jobs", meta["namespace"], meta["name"], lambda o: o.__setitem__("status", {
            "active": 1, "ready": 0, "startTime": now_rfc3339(), "uncountedTerminatedPods": {}}))
        return pod

    def _job_follow_pod(self, pod):
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("kind") == "Job"]
        phase = pod.get("status", {}).get("phase")
        if not refs or phase not in ("Succeeded", "Failed"):
            return
        ns, job_name = pod["metadata"]["namespace"], refs[0]["name"]

        def finish(job):
            st = job.setdefault("status", {})
            if any(c["type"] in ("Complete", "Failed") for c in st.get("conditions", [])):
                return
            t = now_rfc3339()
            st.pop("active", None)
            st["ready"] = 0
            if phase == "Succeeded":
                st["succeeded"] = 1
                st["completionTime"] = t
                st["conditions"] = [
                    {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                     "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
                    {"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                     "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}]
            else:
                st["failed"] = 1
                st["conditions"] = [
                    {"type": "FailureTarget", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                     "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
                    {"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                     "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]

        def later():
            job = self.store.find("jobs", ns, job_name)
            if job and not any(c["type"] in ("Complete", "Failed") for c in job.get("status", {}).get("conditions", [])):
                self.store.update("jobs", ns, job_name, finish)
        threading.Timer(0, later).start()


# ---- pod states, as the kubelet writes them ---------------------------------------------------------------------

def pod_defaults(pod):
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        image = c.get("image", "")
        c.setdefault("imagePullPolicy", "Always" if ":" not in image.split("/")[-1] or image.endswith(":latest")
                     else "IfNotPresent")
        c.setdefault("resources", {})
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return pod


def job_defaults(job):
    spec = job.setdefault("spec", {})
    uid = job["metadata"]["uid"]
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec["selector"] = spec.get("selector") or {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
    tmeta.setdefault("labels", {}).update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                                           "batch.kubernetes.io/job-name": job["metadata"]["name"],
                                           "job-name": job["metadata"]["name"]})
    tspec = spec["template"].setdefault("spec", {})
    for k, v in (("dnsPolicy", "ClusterFirst"), ("schedulerName", "default-scheduler"),
                 ("terminationGracePeriodSeconds", 30), ("securityContext", {})):
        tspec.setdefault(k, v)
    job["status"] = {}
    return job


def _container_status(name, image, state, ready=False, restart=0):
    return {"name": name, "image": image, "imageID": "", "ready": ready, "restartCount": restart, "started": ready,
            "state": state, "lastState": {}}


def _images(o):
    return {c["name"]: c.get("image", "") for c in o["spec"].get("containers", [])}


def schedule(o, containers, waiting_reason):
    t = now_rfc3339()
    o["spec"]["nodeName"] = "node-1"
    st = o["status"]
    st["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
                        {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
                        {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": t,
                         "reason": "ContainersNotReady",
                         "message": "containers with unready status: [" + " ".join(containers) + "]"},
                        {"type": "ContainersReady", "status": "False", "lastProbeTime": None,
                         "lastTransitionTime": t, "reason": "ContainersNotReady"}]
    st["hostIP"] = "10.0.0.1"
    st["startTime"] = t
    images = _images(o)
    messages = {"ImagePullBackOff": 'Back-off pulling image "%s"', "ErrImagePull": 'failed to pull image "%s"'}
    st["containerStatuses"] = [
        _container_status(n, images.get(n, ""), {"waiting": {"reason": waiting_reason, **(
            {"message": messages[waiting_reason] % images.get(n, "")} if waiting_reason in messages else {})}})
        for n in containers]


def run(o, containers):
    t = now_rfc3339()
    st = o["status"]
    st["phase"] = "Running"
    st["podIP"] = "10.244.0.%d" % (abs(hash(o["metadata"]["name"])) % 250 + 2)
    st["podIPs"] = [{"ip": st["podIP"]}]
    for c in st["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c.update({"status": "True", "lastTransitionTime": t})
            c.pop("reason", None)
            c.pop("message", None)
    images = _images(o)
    st["containerStatuses"] = [_container_status(n, images.get(n, ""), {"running": {"startedAt": t}}, ready=True)
                               for n in containers]


def runtime_status(o, st):
    """A status read from a real runtime (kube_runtime.RuntimePod.status()) written into the pod as the kubelet
    does: phase, container and init container statuses, and the conditions that follow from them."""
    t = now_rfc3339()
    status = o["status"]
    status["phase"] = st["phase"]
    status["containerStatuses"] = st["containerStatuses"]
    if "initContainerStatuses" in st:
        status["initContainerStatuses"] = st["initContainerStatuses"]
    if st.get("message"):
        status["message"] = st["message"]
    ready = st["phase"] == "Running" and all(c["ready"] for c in st["containerStatuses"])
    inits = st.get("initContainerStatuses") or []
    initialized = all("terminated" in c["state"] and c["state"]["terminated"]["exitCode"] == 0 for c in inits)
    if st["phase"] != "Pending" and "podIP" not in status:
        status["podIP"] = "10.244.0.%d" % (abs(hash(o["metadata"]["name"])) % 250 + 2)
        status["podIPs"] = [{"ip": status["podIP"]}]
    for c in status.get("conditions", []):
        want = {"Initialized": initialized, "Ready": ready, "ContainersReady": ready}.get(c["type"])
        if want is None or (c["status"] == "True") == want:
            continue
        c.update({"status": "True" if want else "False", "lastTransitionTime": t})
        if want:
            c.pop("reason", None)
            c.pop("message", None)
        else:
            c["reason"] = "PodCompleted" if st["phase"] in ("Succeeded", "Failed") else (
                "ContainersNotReady" if c["type"] != "Initialized" else "ContainersNotInitialized")


def terminate(o, exit_code, reason=None):
    t = now_rfc3339()
    st = o["status"]
    st["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    for c in st.get("conditions", []):
        if c["type"] in ("Ready", "ContainersReady"):
            c.update({"status": "False", "lastTransitionTime": t, "reason": "PodCompleted"})
    for cs in st.get("containerStatuses", []):
        started = cs["state"].get("running", {}).get("startedAt", t)
        cs["ready"] = False
        cs["started"] = False
        cs["state"] = {"terminated": {"exitCode": exit_code, "reason": reason or ("Completed" if exit_code == 0
                                                                                    else "Error"),
                                      "startedAt": started, "finishedAt": t, "containerID": "containerd://" +
                                      uuid.uuid4().hex}}
