"""A scripted Nextflow run on the Kubernetes API test server (kube_sim.ClusterSim), as the service's Job starts it.

The controller is simulated (Nextflow's image cannot be had here); what it hands to the cluster is not:
- it reads the run's nextflow.config from the ConfigMap the Job mounts, layered over the project's
  (workflows/nextflow.config), with the language Nextflow reads (nextflow_config.py; a config it cannot parse
  ends the run as Nextflow would);
- it prints Nextflow 24.10's console lines with `-ansi-log false` (banner, Launching, `[ab/123456] Submitted
  process > TASK`, and on failure `ERROR ~ Error executing process > 'TASK'` with its `Caused by:` block);
- for each task it writes the task directory under workDir (nextflow_task.py: .command.sh from demo.nf's script,
  .command.run) as the user the controller's container runs as (the Job pod's securityContext, else the
  nextflow/nextflow image's root), with umask 022: directories 0755, files 0644, as the JVM makes them;
- it creates each worker pod through the API (quota and admission apply) exactly as Nextflow's K8sTaskHandler and
  PodSpecBuilder build it from that config (nextflow_pod.py), in the DAG's order;
- a worker's end is read from its task directory's .exitcode (none: "terminated for an unknown reason"), its
  outputs are checked and published (copied) to results/<run>/, and a succeeded worker pod is deleted;
- `-resume <session>` as Nextflow 24.10 does it (Session, TaskProcessor.checkCachedOrLaunchTask): the run keeps
  that session id (worker pods labelled nextflow.io/sessionId=uuid-<session>), a task's directory is
  workDir/<hash of the session, the task and the try>, and a task whose directory of the first try holds a
  successful .exitcode and its declared outputs is cached (the hash also covers the task's script and the
  directories of its inputs, so a task after one that runs again runs again too): `[ab/123456] Cached process > TASK`, no pod, its outputs
  published to the new run's results; a directory that exists but is not a cached result moves the task to its
  next try's (a fresh directory), where it runs. (Nextflow also asks its cache DB for the task's completed entry;
  the task directory stands for it here.)

A worker pod runs `.command.run` for real: under the test server's container runtime when it has one, else on
this machine through pod_host.py (the user, the volume at its mount path, command against the image's
ENTRYPOINT; an ENTRYPOINT that starts the service never ends). When the controller pod is deleted (the service
cancels by deleting the Job), Nextflow deletes its worker pods, as its shutdown does.

`scenario` (set by a test) changes the script:
    {"fail": {"task": "ANALYZE (2)", "exit_code": 3, "stderr": ["boom: disk on fire"]}}   a task's script fails
    {"pending": {"task": "GENERATE (1)", "reason": "ImagePullBackOff"}}    a worker pod never starts
    {"controller_pending": "Unschedulable"}                                 the controller pod never starts
    {"hold": true}                                                          tasks run until deleted (cancel)
    {"gate": threading.Event()}                                             tasks wait for it, then work
    {"controller_error": "text"}                                            Nextflow stops before any task
    {"silent": true}                                                        with "fail": the controller hangs
"""
import hashlib
import json
import os
import shlex
import threading
import time
import uuid

import nextflow_config
import nextflow_pod
import nextflow_task
import pod_host
from kube_store import ApiError

VERSION = "24.10.0"
ROOT = pod_host.ROOT
UNKNOWN_EXIT = 2**31 - 1  # what Nextflow reads from a missing .exitcode
POD_DELETE_DELAY = 0.5    # Nextflow deletes a succeeded pod when its next poll sees it


def label_value(task_name):
    return nextflow_pod.sanitize_value(task_name)


class NextflowSim:
    def __init__(self, cluster, store, volume, task_program, runtime=None):
        self.cluster, self.store = cluster, store
        self.volume, self.task_program = volume, task_program
        self.runtime = runtime  # set when the test server runs pods in containers: workers are left to it
        self.scenario = {}
        self.runs = []  # run names seen, for the tests
        self.tasks = {}  # worker pod name -> task name
        self.workers = []  # every worker pod manifest created, for the tests
        # a ReadWriteMany claim as NFS-backed provisioners make it: its root open to every user
        os.chmod(volume, 0o777)
        cluster.pod_hooks.insert(0, self._pod_hook)

    # ---- which pods are ours ----
    def _pod_hook(self, pod):
        labels = pod["metadata"].get("labels") or {}
        if "nextflow.io/runName" in labels:
            task = self.tasks.get(pod["metadata"]["name"])
            pending = self.scenario.get("pending") or {}
            if task is not None and pending.get("task") == task:
                return {"pending": pending.get("reason", "ImagePullBackOff")}
            return None if self.runtime else {"script": self._worker}
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        if "pipeline/run-id" in labels and "nextflow" in containers:
            if self.scenario.get("controller_pending"):
                return {"pending": self.scenario["controller_pending"]}
            return {"script": self._controller}
        return None

    # ---- the controller: Nextflow ----
    def _controller(self, cluster, pod):
        return _Run(self, cluster, pod).main()

    # ---- a worker without a container runtime: its process on this machine ----
    def _worker(self, cluster, pod):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        path = [os.path.dirname(os.path.abspath(self.task_program))]
        proc = pod_host.start_container(pod, self.volume, path)
        if proc is None:  # the image's ENTRYPOINT: the HTTP service, which does not end
            cluster.log(ns, name, '{"level":"info","msg":"listening on 0.0.0.0:8000"}')
            while cluster.pod_alive(pod):
                time.sleep(0.05)
            return 143
        reader = threading.Thread(target=lambda: [cluster.log(ns, name, line.rstrip("\n")) for line in proc.stdout],
                                  daemon=True)
        reader.start()
        while proc.poll() is None:
            if not cluster.pod_alive(pod):
                os.killpg(proc.pid, 9)
            time.sleep(0.02)
        reader.join(5)
        return proc.returncode


class _Run:
    """One `nextflow run` in a controller pod."""

    def __init__(self, sim, cluster, pod):
        self.sim, self.cluster, self.pod = sim, cluster, pod
        self.ns, self.name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.container = next(c for c in pod["spec"]["containers"] if c["name"] == "nextflow")
        # the controller's user: its securityContext, else the nextflow/nextflow image's (root)
        self.uid, self.gid = pod_host.identity(pod, self.container, "0")
        self.env = {e["name"]: e.get("value", "") for e in self.container.get("env") or []}
        self.pods, self.dirs, self.done = {}, {}, set()

    def say(self, line):
        self.cluster.log(self.ns, self.name, line)

    # -- as the controller's user, on the work volume at the controller's mount path --
    def sh(self, script, stdin=None):
        return pod_host.run_in_pod(self.sim.volume, self.mount, self.uid, self.gid,
                                   ["sh", "-c", "umask 022; " + script], stdin)

    def main(self):
        args = self.container.get("args", [])
        opt = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("-")}
        self.run = opt["-name"]
        self.sim.runs.append(self.run)
        wf = open(os.path.join(ROOT, "workflows", "demo.nf")).read()
        self.say(f"N E X T F L O W  ~  version {VERSION}")
        self.say(f"Launching `/workflows/demo.nf` [{self.run}] DSL2 - revision: "
                 f"{hashlib.sha1(self.run.encode()).hexdigest()[:10]}")
        if self.sim.scenario.get("controller_error"):
            return self.fatal(self.sim.scenario["controller_error"])
        cm_name = next(v["configMap"]["name"] for v in self.pod["spec"]["volumes"] if "configMap" in v)
        cm = self.sim.store.find("configmaps", self.ns, cm_name)
        try:
            project = nextflow_config.parse(open(os.path.join(ROOT, "workflows", "nextflow.config")).read())
            cfg = nextflow_config.merge(project, nextflow_config.parse(cm["data"]["nextflow.config"] if cm else ""))
        except nextflow_config.ConfigError as e:
            return self.fatal(f"Unable to parse config file: '{opt.get('-c')}'\n\n  {e}")
        self.k8s = nextflow_pod.K8sConfig(cfg, self.env)
        self.process = cfg.get("process") or {}
        self.mount = self.k8s.mount_path
        self.work = cfg.get("workDir") or "work"
        self.params = {**nextflow_task.workflow_params(wf), **(cfg.get("params") or {})}
        for k in ("batches", "rows", "seed"):
            self.params[k] = int(opt[f"--{k}"])
        self.scripts = nextflow_task.workflow_scripts(wf)
        # -resume <uuid>: the old session (Launcher takes only a UUID or `last` after -resume)
        self.resume = opt.get("-resume")
        self.session = self.resume or str(uuid.uuid4())
        self.results = f"{self.params['results']}/{self.run}"
        launch = self.container.get("workingDir") or "/"
        code, out = self.sh(f"mkdir -p {launch}/.nextflow && touch {launch}/.nextflow.log && mkdir -p {self.work}")
        if code != 0:
            return self.fatal(out.strip().splitlines()[-1] if out.strip() else "cannot write the launch directory")
        return self.schedule()

    def fatal(self, text):
        for line in ("ERROR ~ " + text).split("\n"):
            self.say(line)
        self.say("")
        self.say(" -- Check '.nextflow.log' file for details")
        return 1

    # -- tasks --
    def script_of(self, task):
        stage, _, b = task.partition(" (")
        b = b.rstrip(")")
        values = {f"params.{k}": v for k, v in self.params.items()}
        inputs = {}
        if stage == "GENERATE":
            values["batch"] = b
        elif stage == "ANALYZE":
            values.update(batch=b, csv=f"batch_{b}.csv")
            inputs[f"batch_{b}.csv"] = f"{self.dirs[f'GENERATE ({b})']}/batch_{b}.csv"
        else:
            names = [f"stats_batch_{i}.json" for i in range(1, self.params["batches"] + 1)]
            values["stats"] = names
            inputs = {n: f"{self.dirs[f'ANALYZE ({n[12:-5]})']}/{n}" for n in names}
        fail = self.sim.scenario.get("fail") or {}
        if fail.get("task") == task:
            lines = "".join(f"echo {shlex.quote(s)} >&2\n" for s in fail.get("stderr", []))
            return f"#!/bin/bash -ue\n{lines}exit {fail.get('exit_code', 1)}\n", inputs
        script = nextflow_task.render(self.scripts[stage], values)
        if self.sim.scenario.get("hold"):
            script = "#!/bin/bash -ue\nexec sleep 86400\n"
        elif self.sim.scenario.get("gate") is not None:
            gate = f"{self.work}/.gate-{self.run}"
            script = script.replace("\n", f"\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n", 1)
        return script, inputs

    def outputs_of(self, task):
        stage, _, b = task.partition(" (")
        b = b.rstrip(")")
        return {"GENERATE": [f"batch_{b}.csv"], "ANALYZE": [f"stats_batch_{b}.json"]}.get(stage, ["report.json"])

    def task_hash(self, task, script, inputs, tries):
        """As Nextflow's: the session, the process and task, its script and its input files, then the try."""
        key = json.dumps([self.session, task, script, sorted(inputs.items()), tries])
        return hashlib.md5(key.encode()).hexdigest()

    def cached(self, task, task_dir):
        """TaskProcessor.checkCachedOutput: a successful .exitcode and every declared output in the directory."""
        d = shlex.quote(task_dir)
        checks = " && ".join(f"test -e {d}/{shlex.quote(n)}" for n in self.outputs_of(task))
        code, out = self.sh(f"test \"$(cat {d}/.exitcode 2>/dev/null)\" = 0 && {checks}")
        return code == 0

    def launch(self, task):
        """checkCachedOrLaunchTask: the task is cached (None, and what follows it is launched), or submitted
        (None), or cannot be (the controller's exit status)."""
        script, inputs = self.script_of(task)
        tries = 1
        while True:
            digest = self.task_hash(task, script, inputs, tries)
            task_dir = f"{self.work}/{digest[:2]}/{digest[2:]}"
            exists = self.sh(f"test -d {shlex.quote(task_dir)}")[0] == 0
            if exists and self.resume and self.cached(task, task_dir):
                self.dirs[task] = task_dir
                self.say(f"[{digest[:2]}/{digest[2:8]}] Cached process > {task}")
                err = self.publish(task)
                if err:
                    return self.task_error(task, [err])
                self.done.add(task)
                return self.launch_next(task)
            if not exists:
                return self.submit(task, digest, script, inputs)
            tries += 1

    def launch_next(self, task):
        nxt = self.next_of(task)
        if nxt == "END":
            self.finished = True
            return None
        return self.launch(nxt) if nxt else None

    def submit(self, task, digest, script, inputs):
        task_dir = f"{self.work}/{digest[:2]}/{digest[2:]}"
        self.dirs[task] = task_dir
        q = shlex.quote
        code, out = self.sh(f"mkdir -p {q(task_dir)} && cat > {q(task_dir)}/.command.sh && "
                            f"printf %s {q(nextflow_task.launcher(task_dir, inputs))} > {q(task_dir)}/.command.run",
                            script)
        if code != 0:
            return self.task_error(task, [out.strip()])
        name = nextflow_pod.pod_name(digest)
        manifest = nextflow_pod.worker_pod(
            self.k8s, name=name, image=self.process.get("container"), task_dir=task_dir, run_name=self.run,
            task_name=task, process_name=task.split(" (")[0], session_id=self.session,
            cpus=self.process.get("cpus"), memory=self.process.get("memory"))
        self.sim.tasks[name] = task
        try:
            self.sim.store.create("pods", self.k8s.namespace or "default", manifest)
        except ApiError as e:  # K8sResponseException: the request, then the Status pretty-printed below it
            status = json.dumps(e.status(), indent=4).splitlines()
            return self.task_error(task, [
                f"Failed to submit K8s pod -- Cause: Request POST /api/v1/namespaces/{self.k8s.namespace}/pods "
                f"returned an error code={e.code}", ""] + ["  " + line for line in status], submitted=False)
        self.sim.workers.append(manifest)
        self.pods[task] = name
        self.say(f"[{digest[:2]}/{digest[2:8]}] Submitted process > {task}")
        return None

    def phase(self, task):
        p = self.sim.store.find("pods", self.k8s.namespace, self.pods[task])
        return p["status"].get("phase") if p else "Gone"

    def stopped(self):
        if self.cluster.pod_alive(self.pod):
            return False
        self.kill_all()  # Nextflow's shutdown: its worker pods are deleted
        return True

    def kill_all(self, keep=()):
        for task, pod_name in self.pods.items():
            if task not in keep and task not in self.done:
                try:
                    self.sim.store.delete("pods", self.k8s.namespace, pod_name)
                except Exception:
                    pass

    def schedule(self):
        gate = self.sim.scenario.get("gate")
        self.finished = False
        for b in range(1, self.params["batches"] + 1):
            if self.launch(f"GENERATE ({b})") is not None:
                return 1
        while True:
            if self.finished:  # every task cached, or the last one cached
                return 0
            if self.stopped():
                return 143
            if gate is not None and gate.is_set():
                open(os.path.join(self.sim.volume, os.path.relpath(f"{self.work}/.gate-{self.run}", self.mount)),
                     "w").close()
            for task in list(self.pods):
                if task in self.done:
                    continue
                ph = self.phase(task)
                if ph not in ("Succeeded", "Failed", "Gone"):
                    continue
                code = self.exit_status(task) if ph != "Gone" else UNKNOWN_EXIT
                if code == 0 and ph == "Succeeded":
                    err = self.publish(task)
                    if err:
                        return self.task_error(task, [err])
                    self.done.add(task)
                    threading.Timer(POD_DELETE_DELAY, self.delete_pod, args=(self.pods[task],)).start()
                    if self.launch_next(task) is not None:
                        return 1
                    if self.finished:
                        return 0
                else:
                    if self.sim.scenario.get("silent"):  # a controller that hangs instead of reporting
                        while not self.stopped():
                            time.sleep(0.05)
                        return 143
                    return self.task_error(task, None, code=code)
            time.sleep(0.05)

    def next_of(self, task):
        if task.startswith("GENERATE"):
            return "ANALYZE (" + task.split("(")[1]
        if task.startswith("ANALYZE"):
            return "REPORT" if sum(t.startswith("ANALYZE") for t in self.done) == self.params["batches"] else None
        return "END"

    def delete_pod(self, name):
        try:
            self.sim.store.delete("pods", self.k8s.namespace, name)
        except Exception:
            pass

    def exit_status(self, task):
        code, out = self.sh(f"cat {shlex.quote(self.dirs[task])}/.exitcode 2>/dev/null")
        try:
            return int(out.strip()) if code == 0 else UNKNOWN_EXIT
        except ValueError:
            return UNKNOWN_EXIT

    def publish(self, task):
        """publishDir mode 'copy', after checking the outputs exist (else Nextflow's message)."""
        d = shlex.quote(self.dirs[task])
        for name in self.outputs_of(task):
            if self.sh(f"test -e {d}/{shlex.quote(name)}")[0] != 0:
                return f"Missing output file(s) `{name}` expected by process `{task}`"
        files = " ".join(f"{d}/{shlex.quote(n)}" for n in self.outputs_of(task))
        code, out = self.sh(f"mkdir -p {shlex.quote(self.results)} && cp -L {files} {shlex.quote(self.results)}/")
        return None if code == 0 else out.strip()

    def task_error(self, task, cause, code=None, submitted=True):
        d = self.dirs.get(task, "")
        if cause is None:
            if code == UNKNOWN_EXIT:
                cause = [f"Process `{task}` terminated for an unknown reason -- Likely it has been terminated by "
                         "the external system"]
            else:
                cause = [f"Process `{task}` terminated with an error exit status ({code})"]
        lines = ["ERROR ~ Error executing process > '%s'" % task, "", "Caused by:"] + ["  " + c for c in cause]
        if submitted and code is not None:
            err = self.sh(f"cat {shlex.quote(d)}/.command.err 2>/dev/null")[1] if d else ""
            out = self.sh(f"cat {shlex.quote(d)}/.command.out 2>/dev/null")[1] if d else ""
            lines += ["", "", "Command executed:", "", "  pipeline-task ...", "",
                      "Command exit status:", "  %d" % code, "",
                      "Command output:"] + ["  " + s for s in (out.splitlines() or ["(empty)"])] + [
                      "", "Command error:"] + ["  " + s for s in err.splitlines()]
        lines += ["", "Work dir:", "  " + d, "",
                  "Tip: when you have fixed the problem you can continue the execution adding the option "
                  "`-resume` to the run command line", "", " -- Check '.nextflow.log' file for details"]
        for line in lines:
            self.say(line)
        running = [t for t in self.pods if t not in self.done and t != task and self.phase(t) in ("Pending",
                                                                                                 "Running")]
        if running:
            self.say(f"WARN: Killing running tasks ({len(running)})")
            self.kill_all(keep=(task,))
        return 1


def worker_tasks(sim):
    """{task name: worker pod manifest as created} of every run so far (the last pod of each task)."""
    return {m["metadata"]["labels"]["nextflow.io/taskName"]: m for m in sim.workers}

