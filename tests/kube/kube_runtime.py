"""A real container runtime behind the Kubernetes API test server: podman (with runc) runs each Pod object as a
kubelet would, and the pod's status and logs are read back from podman.

    rt = PodmanRuntime(volumes={"nextflow-work-pvc": "/tmp/x/volume"}, configmaps=lambda ns, name: {...})
    h = rt.start(pod)            # pod: the object as the API server stored it (a dict); returns at once
    h.status()                   # {"phase", "initContainerStatuses", "containerStatuses", ...} as the kubelet writes
    h.logs("task")               # [(RFC 3339 timestamp with 9 digits, line), ...] from `podman logs --timestamps`
    h.follow("task", fn)         # fn(ts, line) for each line as it comes; returns when the container has ended
    h.delete(grace=2)            # podman pod rm -f -t grace
    rt.close()                   # removes every pod it started

What podman does itself, from the Pod spec (`podman kube play --network none`): command/args against the image's
ENTRYPOINT/CMD, env, workingDir (runc makes a missing one as root, as on a cluster), the pod's and containers'
securityContext (runAsUser/Group, runAsNonRoot, readOnlyRootFilesystem, capabilities, allowPrivilegeEscalation),
init containers one after another before the others, and imagePullPolicy (Always pulls, and fails here: no registry
is reachable). Volumes are mapped, since the test server's cluster has no storage of its own: a persistentVolumeClaim
named in `volumes` is that host folder (the one the service sees as WORK_MOUNT), a configMap is written out from
the API server's object, an emptyDir is a fresh folder; all become hostPath volumes. Init containers are kept after
they ran (podman's "always" init type) so that their exit codes and logs can be read.

Statuses as the kubelet writes them: Pending with `waiting` ContainerCreating / PodInitializing, ErrImagePull then
ImagePullBackOff (with podman's error as the message) when the image cannot be had, `running` with startedAt,
`terminated` with exitCode, reason Completed / Error / OOMKilled, startedAt, finishedAt; phase Succeeded when every
container ended with 0, Failed when one did not (or an init container failed: restartPolicy Never).

Not done (differs from a kubelet): restartPolicy other than Never, activeDeadlineSeconds, resources (no limits are
enforced: cgroup v1 here), probes, a pod network (--network none), service account tokens, node selection.

podman's settings come from containers.conf beside this file (CONTAINERS_CONF): runc, not crun (cgroup v1), and
ulimits these machines accept.
"""
import copy
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CONTAINERS_CONF = os.path.join(HERE, "containers.conf")
INIT_TYPE = "io.podman.annotations.init.container.type"
PULL_ERRORS = ("initializing source", "pulling image", "manifest unknown", "short-name", "image not known",
               "unable to find", "no such image", "Trying to pull", "reading manifest", "pinging container registry")


def podman_env():
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = CONTAINERS_CONF
    return env


def podman(*args, timeout=120, check=False):
    """Runs podman with the tests' containers.conf; returns the CompletedProcess (text)."""
    p = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=podman_env())
    if check and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {p.stderr.strip()}")
    return p


def unavailable(image=None):
    """None when podman can run containers here (and `image` is in its storage), else why not (a sentence)."""
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman runc)"
    try:
        p = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"podman does not answer: {e}"
    if p.returncode != 0:
        return "podman cannot run here: " + p.stderr.strip()[:300]
    if image and podman("image", "exists", image, timeout=30).returncode != 0:
        return f"the image {image} is not built (make image)"
    return None


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _k8s_time(podman_time):
    """podman inspect's time ("2026-12-07T11:54:46.040959926Z" or with an offset) as the API writes it (seconds)."""
    if not podman_time or podman_time.startswith("0001-"):
        return None
    return podman_time[:19] + "Z" if podman_time.endswith("Z") else rfc3339(_parse_time(podman_time))


def _parse_time(text):
    from datetime import datetime
    head, _, rest = text.partition(".")
    frac, tz = "", "Z"
    for i, ch in enumerate(rest):
        if not ch.isdigit():
            frac, tz = rest[:i], rest[i:]
            break
    else:
        frac = rest
    tz = "+00:00" if tz in ("Z", "") else tz.split(" ")[0]
    dt = datetime.fromisoformat(f"{head}.{(frac or '0')[:6]:0<6}{tz}")
    return dt.timestamp()


class RuntimePod:
    """One pod under podman. The methods may be called from any thread."""

    def __init__(self, runtime, pod):
        self.rt = runtime
        self.pod = copy.deepcopy(pod)
        meta = self.pod["metadata"]
        self.namespace, self.k8s_name = meta.get("namespace", "default"), meta["name"]
        self.name = f"{runtime.prefix}-{self.k8s_name}"[:63].rstrip("-")  # the podman pod
        spec = self.pod["spec"]
        self.init_names = [c["name"] for c in spec.get("initContainers") or []]
        self.names = [c["name"] for c in spec.get("containers") or []]
        self.images = {c["name"]: c.get("image", "") for c in (spec.get("initContainers") or []) +
                       (spec.get("containers") or [])}
        self.lock = threading.Lock()
        self.pull_error = None  # (container, message) when podman could not have an image
        self.pull_failed_at = 0.0
        self.play_error = None
        self.deleted = False
        self.scratch = tempfile.mkdtemp(prefix="kube-runtime-")
        self.started_at = time.time()
        self.thread = threading.Thread(target=self._play, daemon=True)
        self.thread.start()

    # ---- podman names ----
    def container(self, name):
        return f"{self.name}-{name}"

    # ---- starting ----
    def _manifest(self):
        """The pod as podman is given it: its own name, volumes mapped onto host folders, init containers kept."""
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": self.name, "labels": dict(self.pod["metadata"].get("labels") or {}),
                            "annotations": {INIT_TYPE: "always"}},
               "spec": copy.deepcopy(self.pod["spec"])}
        pod["metadata"]["labels"]["kube-runtime"] = self.rt.prefix
        spec = pod["spec"]
        for key in ("nodeName", "serviceAccount", "serviceAccountName", "automountServiceAccountToken",
                    "activeDeadlineSeconds", "schedulerName", "priority", "preemptionPolicy", "enableServiceLinks",
                    "dnsPolicy"):
            spec.pop(key, None)
        spec["restartPolicy"] = "Never"
        volumes = []
        for v in spec.get("volumes") or []:
            volumes.append({"name": v["name"], "hostPath": {"path": self._volume_dir(v), "type": "Directory"}})
        spec["volumes"] = volumes
        return pod

    def _volume_dir(self, v):
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            if claim not in self.rt.volumes:
                raise RuntimeError(f"no folder for the claim {claim} (PodmanRuntime(volumes=...))")
            return os.path.abspath(self.rt.volumes[claim])
        if "hostPath" in v:
            return v["hostPath"]["path"]
        d = os.path.join(self.scratch, v["name"])
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)  # an emptyDir is writable by the pod's user
        if "configMap" in v:
            cm = self.rt.configmaps(self.namespace, v["configMap"]["name"]) if self.rt.configmaps else None
            if cm is None:
                raise RuntimeError(f"configmap {v['configMap']['name']} not found")
            items = v["configMap"].get("items")
            data = cm.get("data") or {}
            for key, path in ([(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]):
                target = os.path.join(d, path)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w") as f:
                    f.write(data.get(key, ""))
                os.chmod(target, 0o644)
            os.chmod(d, 0o755)
        return d

    def _play(self):
        try:
            manifest = self._manifest()
        except (RuntimeError, OSError) as e:
            self.play_error = str(e)
            return
        path = os.path.join(self.scratch, "pod.json")
        with open(path, "w") as f:
            json.dump(manifest, f)
        p = podman("kube", "play", "--network", "none", path, timeout=600)
        if p.returncode == 0 or self.deleted:
            return
        err = p.stderr.strip()
        last = err.splitlines()[-1] if err else "podman kube play failed"
        if any(k in err for k in PULL_ERRORS):
            culprit = next((n for n in self.init_names + self.names if self.images[n] and self.images[n].split(":")[0]
                            in err), (self.init_names + self.names)[0])
            with self.lock:
                self.pull_error = (culprit, last.removeprefix("Error: "))
                self.pull_failed_at = time.time()
        elif "init container" not in err:  # a failed init container shows in its status
            self.play_error = last

    # ---- reading back ----
    def _inspect(self):
        """{container name: podman's State} of this pod's containers."""
        names = [self.container(n) for n in self.init_names + self.names]
        p = podman("container", "inspect", *names, timeout=60)
        out = {}
        try:
            for c in json.loads(p.stdout or "[]"):
                out[c["Name"][len(self.name) + 1:]] = c.get("State") or {}
        except ValueError:
            pass
        return out

    def _state(self, name, st, waiting):
        """One container's state object, from podman's State (or None: not created)."""
        status = (st or {}).get("Status")
        if status == "running":
            return {"running": {"startedAt": _k8s_time(st.get("StartedAt")) or rfc3339(time.time())}}, True
        if status in ("exited", "stopped") and _k8s_time(st.get("FinishedAt")):
            code = st.get("ExitCode", 0)
            reason = "OOMKilled" if st.get("OOMKilled") else ("Completed" if code == 0 else "Error")
            return {"terminated": {"exitCode": code, "reason": reason,
                                   "startedAt": _k8s_time(st.get("StartedAt")),
                                   "finishedAt": _k8s_time(st.get("FinishedAt")),
                                   "containerID": "podman://" + self.container(name)}}, False
        return {"waiting": {"reason": waiting}}, False

    def _pull_waiting(self, name):
        culprit, message = self.pull_error
        if name != culprit:
            return None
        if time.time() - self.pull_failed_at < self.rt.pull_backoff_after:
            return {"waiting": {"reason": "ErrImagePull", "message": message}}
        return {"waiting": {"reason": "ImagePullBackOff",
                            "message": f'Back-off pulling image "{self.images[name]}"'}}

    def status(self):
        """The pod's status as the kubelet would write it now."""
        with self.lock:
            pull = self.pull_error
        states = {} if pull else self._inspect()
        init_done = all("terminated" in self._state(n, states.get(n), "")[0] and
                        self._state(n, states.get(n), "")[0]["terminated"]["exitCode"] == 0 for n in self.init_names)
        init_failed = any("terminated" in self._state(n, states.get(n), "")[0] and
                          self._state(n, states.get(n), "")[0]["terminated"]["exitCode"] != 0 for n in self.init_names)
        init_statuses, statuses = [], []
        for n in self.init_names:
            state, running = (self._pull_waiting(n) or {"waiting": {"reason": "PodInitializing"}}, False) if pull \
                else self._state(n, states.get(n), "PodInitializing")
            init_statuses.append(_status(n, self.images[n], state, running))
        for n in self.names:
            if pull:
                state, running = self._pull_waiting(n) or {"waiting": {"reason": "PodInitializing" if self.init_names
                                                                       else "ContainerCreating"}}, False
            else:
                state, running = self._state(n, states.get(n), "ContainerCreating" if init_done else "PodInitializing")
            statuses.append(_status(n, self.images[n], state, running))
        ended = [s["state"]["terminated"] for s in statuses if "terminated" in s["state"]]
        if init_failed:
            phase = "Failed"
        elif statuses and len(ended) == len(statuses):
            phase = "Succeeded" if all(t["exitCode"] == 0 for t in ended) else "Failed"
        elif any("running" in s["state"] for s in statuses) or ended:
            phase = "Running"
        else:
            phase = "Pending"
        st = {"phase": phase, "containerStatuses": statuses}
        if init_statuses:
            st["initContainerStatuses"] = init_statuses
        if self.play_error:
            st["message"] = self.play_error
        return st

    def logs(self, container):
        """[(timestamp, line)] of one container so far (podman logs --timestamps)."""
        p = podman("logs", "--timestamps", self.container(container), timeout=60)
        return [_split_log_line(line) for line in p.stdout.splitlines()]

    def follow(self, container, fn, alive=lambda: True):
        """Calls fn(ts, line) for each line of the container's log as it comes, until the container has ended (or
        alive() is false). Waits for the container to exist first."""
        # until it has started: `podman logs --follow` of a container that is only created returns at once, empty
        while alive() and not self.deleted:
            p = podman("container", "inspect", "--format", "{{.State.Status}}", self.container(container), timeout=30)
            if p.returncode == 0 and p.stdout.strip() not in ("", "created", "configured", "initialized"):
                break
            time.sleep(self.rt.poll)
        else:
            return
        proc = subprocess.Popen(["podman", "logs", "--follow", "--timestamps", self.container(container)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=podman_env())
        try:
            for line in proc.stdout:
                if not alive():
                    break
                fn(*_split_log_line(line.rstrip("\n")))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def delete(self, grace=2):
        """Stops the pod's containers (SIGTERM, then SIGKILL after `grace` seconds) and removes the pod."""
        self.deleted = True
        podman("pod", "rm", "--force", "--time", str(int(grace)), self.name, timeout=120)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _status(name, image, state, running):
    return {"name": name, "image": image, "imageID": "", "ready": running, "restartCount": 0, "started": running,
            "state": state, "lastState": {}}


def _split_log_line(line):
    ts, _, text = line.partition(" ")
    return ts, text


class PodmanRuntime:
    """Runs pods under podman. `volumes`: {claim name: host folder}; `configmaps`: fn(namespace, name) -> the
    ConfigMap object or None (for configMap volumes); `prefix`: of every podman pod's name (default: unique)."""

    def __init__(self, volumes=None, configmaps=None, prefix=None, poll=0.1, pull_backoff_after=1.0):
        self.volumes = dict(volumes or {})
        self.configmaps = configmaps
        self.prefix = prefix or "kt" + uuid.uuid4().hex[:8]
        self.poll = poll
        self.pull_backoff_after = pull_backoff_after  # ErrImagePull becomes ImagePullBackOff after this long
        self.pods = {}
        self._lock = threading.Lock()

    def start(self, pod):
        h = RuntimePod(self, pod)
        with self._lock:
            self.pods[(h.namespace, h.k8s_name, pod["metadata"].get("uid"))] = h
        return h

    def close(self):
        with self._lock:
            pods, self.pods = list(self.pods.values()), {}
        for h in pods:
            h.deleted = True
        p = podman("pod", "ps", "--filter", f"label=kube-runtime={self.prefix}", "--format", "{{.Name}}", timeout=60)
        names = p.stdout.split()
        if names:
            podman("pod", "rm", "--force", "--time", "0", *names, timeout=300)
        for h in pods:
            shutil.rmtree(h.scratch, ignore_errors=True)
