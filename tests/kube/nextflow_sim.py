"""A scripted Nextflow run on the Kubernetes API test server (kube_sim.ClusterSim), as the service's Job starts it.

When the Job's controller pod runs (its container is `nextflow`), it plays Nextflow 24.10 with its k8s executor
and `-ansi-log false`: the console lines Nextflow prints (banner, Launching, one `[ab/123456] Submitted process >
TASK` per task, and on failure the `ERROR ~ Error executing process > 'TASK'` report with its `Caused by:` block),
and one worker pod per task, labelled as Nextflow's K8sTaskHandler labels them (nextflow.io/app, runName,
taskName = the task name made a label value, processName, sessionId), created in the DAG's order: every GENERATE
at once, ANALYZE (b) when GENERATE (b) has succeeded, REPORT when every ANALYZE has. Its exit code (0, or 1 on a
failed task) ends the Job through the Job controller of kube_sim (conditions as batch/v1 writes them).

A worker pod runs the real `pipeline-task` (TASK_PROGRAM) on the simulated work volume (`volume`, which the
service mounts as WORK_MOUNT), with the arguments demo.nf gives it and the pauses from the run's ConfigMap, and
its output becomes the pod's log; so report.json is real. When the controller pod is deleted (the service
cancels by deleting the Job), Nextflow deletes its worker pods, as its shutdown does.

`scenario` (set by a test through the server's control endpoint) changes the script:
    {"fail": {"task": "ANALYZE (2)", "exit_code": 3, "stderr": ["boom: disk on fire"]}}   a task fails
    {"pending": {"task": "GENERATE (1)", "reason": "ImagePullBackOff"}}    a worker pod never starts
    {"controller_pending": "Unschedulable"}                                 the controller pod never starts
    {"hold": true}                                                          workers run until deleted (cancel)
    {"gate": threading.Event()}                                             workers wait for it, then work
    {"controller_error": "text"}                                            Nextflow stops before any task
    {"silent": true}                                                        with "fail": the controller hangs
"""
import copy
import hashlib
import os
import re
import subprocess
import threading
import time
import uuid

VERSION = "24.10.0"


def label_value(task_name):
    """Nextflow's sanitising of a label value: 'GENERATE (1)' -> 'GENERATE_1'."""
    v = re.sub(r"[^A-Za-z0-9._-]+", "_", task_name)
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", v)[:63]


class NextflowSim:
    def __init__(self, cluster, store, volume, task_program):
        self.cluster, self.store = cluster, store
        self.volume, self.task_program = volume, task_program
        self.scenario = {}
        self.runs = []  # run names seen, for the tests
        cluster.pod_hooks.insert(0, self._pod_hook)

    # ---- which pods are ours ----
    def _pod_hook(self, pod):
        labels = pod["metadata"].get("labels") or {}
        if "nextflow.io/runName" in labels:
            return self._worker_behaviour(pod)
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        if "pipeline/run-id" in labels and "nextflow" in containers:
            if self.scenario.get("controller_pending"):
                return {"pending": self.scenario["controller_pending"]}
            return {"script": self._controller}
        return None

    def _worker_behaviour(self, pod):
        task = pod["metadata"]["annotations"]["sim/task"]
        pending = self.scenario.get("pending") or {}
        if pending.get("task") == task:
            return {"pending": pending.get("reason", "ImagePullBackOff")}
        return {"script": self._worker}

    # ---- the controller: Nextflow ----
    def _controller(self, cluster, pod):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        container = next(c for c in pod["spec"]["containers"] if c["name"] == "nextflow")
        args = container.get("args", [])
        opt = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("-")}
        run = opt["-name"]
        self.runs.append(run)
        batches, rows, seed = int(opt["--batches"]), int(opt["--rows"]), int(opt["--seed"])
        cm_name = next(v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v)
        cm = self.store.find("configmaps", ns, cm_name)
        text = cm["data"]["nextflow.config"] if cm else ""
        pause = {k: float(v) for k, v in re.findall(r"(generate_seconds|analyze_seconds) = ([0-9.]+)", text)}
        image = (re.findall(r"container = '([^']+)'", text) or ["?"])[0]
        say = lambda line: cluster.log(ns, name, line)
        say(f"N E X T F L O W  ~  version {VERSION}")
        say(f"Launching `/workflows/demo.nf` [{run}] DSL2 - revision: {hashlib.sha1(run.encode()).hexdigest()[:10]}")
        if self.scenario.get("controller_error"):
            say("ERROR ~ " + self.scenario["controller_error"])
            say("")
            say(" -- Check '.nextflow.log' file for details")
            return 1
        session = str(uuid.uuid4())
        results = os.path.join(self.volume, "results", run)
        os.makedirs(results, exist_ok=True)

        def argv(task):
            stage, _, b = task.partition(" (")
            b = b.rstrip(")")
            if stage == "GENERATE":
                return ["generate", f"--batch={b}", f"--rows={rows}", f"--seed={seed}",
                        f"--sleep={pause.get('generate_seconds', 0)}", f"--out={results}/batch_{b}.csv"]
            if stage == "ANALYZE":
                return ["analyze", f"--batch={b}", f"--sleep={pause.get('analyze_seconds', 0)}",
                        f"--in={results}/batch_{b}.csv", f"--out={results}/stats_batch_{b}.json"]
            return ["report", f"--out={results}/report.json"] + [f"{results}/stats_batch_{i}.json"
                                                                  for i in range(1, batches + 1)]

        pods = {}  # task -> pod name

        def submit(task):
            digest = hashlib.md5(f"{run}/{task}".encode()).hexdigest()
            pod_name = "nf-" + digest
            process = task.split(" (")[0]
            manifest = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns,
                             "labels": {"nextflow.io/app": "nextflow", "nextflow.io/runName": run,
                                        "nextflow.io/taskName": label_value(task),
                                        "nextflow.io/processName": process,
                                        "nextflow.io/sessionId": "uuid-" + session},
                             "annotations": {"sim/task": task, "sim/argv": "\x1f".join(argv(task))}},
                "spec": {"restartPolicy": "Never", "serviceAccountName": pod["spec"].get("serviceAccountName"),
                         "containers": [{"name": pod_name, "image": image,
                                         "command": ["/bin/bash", "-ue", "/workspace/work/%s/%s/.command.run"
                                                     % (digest[:2], digest[2:])],
                                         "workingDir": "/workspace/work/%s/%s" % (digest[:2], digest[2:])}]},
            }
            cluster.create_pod(ns, manifest)
            pods[task] = pod_name
            say(f"[{digest[:2]}/{digest[2:8]}] Submitted process > {task}")

        def phase(task):
            p = self.store.find("pods", ns, pods[task])
            return p["status"].get("phase") if p else "Gone"

        def stopped():
            if cluster.pod_alive(pod):
                return False
            # Nextflow's shutdown: its worker pods are deleted
            for pod_name in pods.values():
                try:
                    self.store.delete("pods", ns, pod_name)
                except Exception:
                    pass
            return True

        for b in range(1, batches + 1):
            submit(f"GENERATE ({b})")
        done = set()
        while True:
            if stopped():
                return 143
            for task in list(pods):
                if task in done:
                    continue
                ph = phase(task)
                if ph == "Succeeded":
                    done.add(task)
                    if task.startswith("GENERATE"):
                        submit("ANALYZE (" + task.split("(")[1])
                    elif task.startswith("ANALYZE") and sum(t.startswith("ANALYZE") for t in done) == batches:
                        submit("REPORT")
                    elif task == "REPORT":
                        return 0
                elif ph in ("Failed", "Gone"):
                    if self.scenario.get("silent"):  # a controller that hangs instead of reporting
                        while not stopped():
                            time.sleep(0.05)
                        return 143
                    self._error_report(say, task, pods[task])
                    running = [t for t in pods if t not in done and t != task and phase(t) in ("Pending", "Running")]
                    if running:
                        say(f"WARN: Killing running tasks ({len(running)})")
                        for t in running:
                            try:
                                self.store.delete("pods", ns, pods[t])
                            except Exception:
                                pass
                    return 1
            time.sleep(0.05)

    def _error_report(self, say, task, pod_name):
        fail = self.scenario.get("fail") or {}
        code = fail.get("exit_code", 1)
        digest = pod_name[3:]
        for line in ["ERROR ~ Error executing process > '%s'" % task, "",
                     "Caused by:", "  Process `%s` terminated with an error exit status (%d)" % (task, code), "", "",
                     "Command executed:", "", "  pipeline-task ...", "",
                     "Command exit status:", "  %d" % code, "",
                     "Command output:", "  (empty)", "",
                     "Command error:"] + ["  " + s for s in fail.get("stderr", [])] + [
                     "", "Work dir:", "  /workspace/work/%s/%s" % (digest[:2], digest[2:]), "",
                     "Tip: when you have fixed the problem you can continue the execution adding the option "
                     "`-resume` to the run command line", "",
                     " -- Check '.nextflow.log' file for details"]:
            say(line)

    # ---- a worker: pipeline-task on the work volume ----
    def _worker(self, cluster, pod):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        task = pod["metadata"]["annotations"]["sim/task"]
        fail = self.scenario.get("fail") or {}
        if fail.get("task") == task:
            for line in fail.get("stderr", []):
                cluster.log(ns, name, line)
            return fail.get("exit_code", 1)
        gate = self.scenario.get("gate")
        if gate is not None:
            while not gate.wait(0.05):
                if not cluster.pod_alive(pod):
                    return 143
        if self.scenario.get("hold"):
            while cluster.pod_alive(pod):
                time.sleep(0.05)
            return 143
        argv = [self.task_program] + pod["metadata"]["annotations"]["sim/argv"].split("\x1f")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            cluster.log(ns, name, line.rstrip("\n"))
        return proc.wait()
