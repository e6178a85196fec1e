"""The pods of EXECUTOR=kubernetes (one pod per task, labelled pipeline/task) on the Kubernetes API test server.

A task pod runs the real `pipeline-task` (TASK_PROGRAM) with the pod's own command line, its /workspace paths
mapped onto the simulated work volume (`volume`, which the service mounts as WORK_MOUNT); the container runtime
creates the container's workingDir, as runc does. Its output becomes the pod's log, so report.json is real.

`scenario` changes what a task does (keys are the pipeline/task label values, e.g. "ANALYZE_2"):
    {"fail": {"ANALYZE_2": {"exit_code": 3, "logs": ["boom"], "reason": "OOMKilled"}}}   the pod fails
    {"pending": {"GENERATE_1": "ImagePullBackOff"}}                                      the pod never starts
    {"hold": True}                                                                       pods run until deleted
    {"gate": threading.Event()}                                                          pods wait for it, then work
    {"start_gate": threading.Event()}                    pods stay Pending (ContainerCreating) until it is set
    {"evict": {"ANALYZE_1": 1}}         the first N pods of that task are evicted by the kubelet while they run:
                                        phase Failed, status.reason "Evicted", the container ended with 137
With `runtime` (tests/kube/kube_runtime.py) the task pods run for real under podman instead.
`max_active` is the most pods of any run that existed at once without having finished.
"""
import os
import subprocess
import threading
import time

RUN_LABEL, TASK_LABEL = "pipeline/run-id", "pipeline/task"


class PodRunnerSim:
    def __init__(self, cluster, store, volume, task_program, runtime=None):
        self.cluster, self.store = cluster, store
        self.runtime = runtime  # a kube_runtime.PodmanRuntime: task pods run under it (scenarios do not apply)
        self.volume, self.task_program = volume, task_program
        self.scenario = {}
        self.start_delay = 0.02  # seconds before a pod is scheduled, then before it runs (0: measurements)
        self.active, self.max_active = 0, 0
        self.created = []  # pod names, in creation order
        self._lock = threading.Lock()
        cluster.pod_hooks.insert(0, self._pod_hook)
        store.listeners.append(self._on_change)

    def _on_change(self, etype, resource, obj):
        if resource != "pods" or RUN_LABEL not in (obj["metadata"].get("labels") or {}):
            return
        n = sum(1 for (r, _, _), o in list(self.store.objects.items())
                if r == "pods" and RUN_LABEL in (o["metadata"].get("labels") or {})
                and (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
        with self._lock:
            self.active = n
            self.max_active = max(self.max_active, n)

    def _pod_hook(self, pod):
        labels = pod["metadata"].get("labels") or {}
        task = labels.get(TASK_LABEL)
        if task is None:
            return None
        self.created.append(pod["metadata"]["name"])
        if self.runtime is not None:
            return {"runtime": self.runtime}
        pending = (self.scenario.get("pending") or {}).get(task)
        if pending:
            return {"pending": pending}
        evict = self.scenario.get("evict") or {}
        if evict.get(task, 0) > 0:
            evict[task] -= 1
            return {"script": self._evicted, "start_delay": self.start_delay}
        fail = (self.scenario.get("fail") or {}).get(task)
        if fail is not None:
            return {"logs": fail.get("logs", []), "exit_code": fail.get("exit_code", 1),
                    "reason": fail.get("reason", "Error")}
        return {"script": self._run, "start_delay": self.start_delay, "start_gate": self.scenario.get("start_gate")}

    def _evicted(self, cluster, pod):
        """What the kubelet does to a pod it evicts under node pressure (pkg/kubelet/eviction): the containers are
        killed, the pod fails with reason Evicted and a message naming the resource."""
        from kube_sim import terminate
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        cluster.log(ns, name, "started, about to be evicted")
        time.sleep(0.1)

        def evict(o):
            terminate(o, 137, "Error")
            o["status"]["reason"] = "Evicted"
            o["status"]["message"] = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 0."
        cluster._set(pod, evict)
        return 137

    def _local(self, path):
        return self.volume + path[len("/workspace"):] if path.startswith("/workspace") else path

    def _run(self, cluster, pod):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if self.scenario.get("hold"):
            while cluster.pod_alive(pod):
                time.sleep(0.05)
            return 143
        gate = self.scenario.get("gate")
        if gate is not None:
            while not gate.wait(0.05):
                if not cluster.pod_alive(pod):
                    return 143
        c = pod["spec"]["containers"][0]
        os.makedirs(self._local(c["workingDir"]), exist_ok=True)
        argv = [self.task_program] + [a.replace("/workspace", self.volume) if "/workspace" in a else a
                                      for a in c["command"][1:]]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            if cluster.pod_alive(pod):
                cluster.log(ns, name, line.rstrip("\n"))
        return proc.wait()
