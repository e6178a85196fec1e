"""Black-box tests of the Kubernetes client (src/kube/): build/tests/kube_probe, which drives the client exactly as
the service does (the API found from the environment), against the Kubernetes API test server (tests/kube/)."""
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import time

import pytest
import yaml

from conftest import BUILD, ROOT, SANITIZER_MARKERS, free_port, wait_until

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from kube_server import KubeApiServer  # noqa: E402

PROBE = BUILD / "tests" / "kube_probe"
NS = "pipeline"


class Probe:
    """One kube_probe process; its JSON lines are read as they come."""

    def __init__(self, env, *args, seconds=30):
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": env.pop("HOME", "/nonexistent"),
                    "KUBE_PROBE_SECONDS": str(seconds),
                    "ASAN_OPTIONS": "detect_leaks=1:exitcode=23:abort_on_error=0",
                    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
                    "LSAN_OPTIONS": "suppressions=" + str(ROOT / "tests" / "lsan.supp"), **env}
        self.proc = subprocess.Popen([str(PROBE), *args], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next(self, timeout=20):
        item = self.lines.get(timeout=timeout)
        if item is not None:
            self.seen.append(item)
        return item

    def wait_for(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if item is None:
                break
            if pred(item):
                return item
        raise AssertionError(f"not seen; probe printed {self.seen}\n{self.stderr}")

    def finish(self, timeout=40):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr = self.proc.stderr.read()
        while True:
            try:
                item = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if item is None:
                break
            self.seen.append(item)
        for marker in SANITIZER_MARKERS:
            assert marker not in self.stderr, self.stderr
        return self.proc.returncode


def probe(env, *args, seconds=30):
    """Runs kube_probe to its end; returns (exit code, its JSON lines)."""
    p = Probe(dict(env), *args, seconds=seconds)
    rc = p.finish()
    return rc, p.seen


def last(lines, event):
    return [x for x in lines if x["event"] == event][-1]


@pytest.fixture
def kube():
    srv = KubeApiServer(tls=False, token="s3cret", namespaces=(NS, "default", "team-a", "pipeline")).start()
    yield srv
    srv.stop()


@pytest.fixture
def kube_tls(tmp_path):
    srv = KubeApiServer(tls=True, token="s3cret", namespaces=(NS, "default", "team-a", "pipeline"),
                        certs_dir=str(tmp_path / "certs")).start()
    yield srv
    srv.stop()


def url_env(srv, token="s3cret"):
    return {"KUBE_API_URL": srv.url, "KUBE_TOKEN": token}


def pod(name, labels=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], "restartPolicy": "Never"}}


PODS = f"/api/v1/namespaces/{NS}/pods"


# ---- where the API is ------------------------------------------------------------------------------------------

def test_plain_url_with_token_passes_the_access_check(kube):
    rc, out = probe(url_env(kube), "access")
    assert rc == 0, out
    assert last(out, "access") == {"event": "access", "ok": True, "detail": "v1.31.0"}
    assert last(out, "config")["namespace"] == NS
    assert [r[:2] for r in kube.requests] == [("GET", "/version"), ("GET", f"{PODS}?limit=1")]


def test_wrong_token_fails_the_access_check_with_the_api_message(kube):
    rc, out = probe(url_env(kube, token="wrong"), "access")
    assert rc == 1
    detail = last(out, "access")["detail"]
    assert "Unauthorized" in detail and kube.url in detail


def test_unreachable_api_and_forbidden_namespace_are_said_clearly(kube):
    port = free_port()
    rc, out = probe({"KUBE_API_URL": f"http://127.0.0.1:{port}"}, "access")
    assert rc == 1 and last(out, "access")["detail"].startswith(f"cannot reach the Kubernetes API at http://127.0.0.1:{port}")
    kube.inject("GET", "pods", 403, message='pods is forbidden: User "system:serviceaccount:pipeline:x" cannot list '
                                            'resource "pods" in API group "" in the namespace "pipeline"')
    rc, out = probe(url_env(kube), "access")
    detail = last(out, "access")["detail"]
    assert rc == 1 and "refused to list pods in namespace \"pipeline\"" in detail and "HTTP 403 Forbidden" in detail
    assert "cannot list resource" in detail


def test_bad_settings_name_the_variable():
    rc, out = probe({"KUBE_API_URL": "ftp://x"}, "access")
    assert rc == 2 and "KUBE_API_URL" in last(out, "config_error")["message"]
    rc, out = probe({"KUBE_API_URL": "http://x", "KUBE_NAMESPACE": "Bad_NS"}, "access")
    assert rc == 2 and "KUBE_NAMESPACE" in last(out, "config_error")["message"]
    rc, out = probe({"KUBERNETES_SERVICE_HOST": ""}, "access")
    assert rc == 2 and "no Kubernetes API" in last(out, "config_error")["message"]


def two_context_kubeconfig(srv, path, user, data=True):
    """A kubeconfig whose current-context points elsewhere; context "test" (namespace team-a) is this server."""
    srv.write_kubeconfig(path, context="test", namespace="team-a", user=user, data=data)
    cfg = yaml.safe_load(pathlib.Path(path).read_text())
    cfg["clusters"].append({"name": "prod", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}})
    cfg["users"].append({"name": "prod-user", "user": {"token": "nope"}})
    cfg["contexts"].append({"name": "prod", "context": {"cluster": "prod", "user": "prod-user", "namespace": "prod"}})
    cfg["current-context"] = "prod"
    pathlib.Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_kubeconfig_with_tls_client_certificate_data_and_a_chosen_context(kube_tls, tmp_path):
    kc = two_context_kubeconfig(kube_tls, tmp_path / "config", user="cert")
    rc, out = probe({"KUBECONFIG": str(kc), "KUBE_CONTEXT": "test"}, "access")
    assert rc == 0, out
    cfg = last(out, "config")
    assert cfg["namespace"] == "team-a" and cfg["server"] == kube_tls.url and "context test" in cfg["source"]
    assert ("GET", "/api/v1/namespaces/team-a/pods?limit=1", 200) in kube_tls.requests
    # the current-context is the other cluster: unreachable
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    assert rc == 1 and "cannot reach" in last(out, "access")["detail"]


def test_kubeconfig_with_files_and_a_token_in_the_default_place(kube_tls, tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    kube_tls.write_kubeconfig(home / ".kube" / "config", namespace=None, user="token", data=False)
    rc, out = probe({"HOME": str(home), "KUBE_NAMESPACE": "default"}, "access")
    assert rc == 0, out
    assert last(out, "config")["namespace"] == "default"
    # no namespace anywhere: "pipeline" (deploy/k8s's); NEXTFLOW_NAMESPACE is read too
    rc, out = probe({"HOME": str(home)}, "access")
    assert rc == 0 and last(out, "config")["namespace"] == "pipeline"
    rc, out = probe({"HOME": str(home), "NEXTFLOW_NAMESPACE": "team-a"}, "access")
    assert rc == 0 and last(out, "config")["namespace"] == "team-a"


def test_kubeconfig_tls_without_the_ca_is_refused(kube_tls, tmp_path):
    kc = tmp_path / "config"
    kube_tls.write_kubeconfig(kc, user="token")
    cfg = yaml.safe_load(kc.read_text())
    del cfg["clusters"][0]["cluster"]["certificate-authority-data"]
    kc.write_text(yaml.safe_dump(cfg))
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    assert rc == 1 and "cannot reach" in last(out, "access")["detail"]
    cfg["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    kc.write_text(yaml.safe_dump(cfg))
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    assert rc == 0, out


def test_api_url_over_tls_with_a_ca_file_or_insecure(kube_tls):
    env = {"KUBE_API_URL": kube_tls.url, "KUBE_TOKEN": "s3cret"}
    rc, out = probe(env, "access")
    assert rc == 1 and "cannot reach" in last(out, "access")["detail"]  # the system's CAs do not know ours
    rc, out = probe({**env, "KUBE_CA_FILE": kube_tls.ca_file}, "access")
    assert rc == 0, out
    rc, out = probe({**env, "KUBE_INSECURE": "1"}, "access")
    assert rc == 0, out
    rc, out = probe({**env, "KUBE_INSECURE": "yes"}, "access")
    assert rc == 2 and "KUBE_INSECURE" in last(out, "config_error")["message"]


def test_kubeconfig_exec_user_and_bad_yaml_stop_with_a_clear_message(kube_tls, tmp_path):
    kc = tmp_path / "config"
    kube_tls.write_kubeconfig(kc, user="exec")
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    msg = last(out, "config_error")["message"]
    assert rc == 2 and '"exec"' in msg and "KUBE_API_URL" in msg and str(kc) in msg
    kc.write_text("clusters: [\n  - name: x\n users: {")
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    assert rc == 2 and "not valid YAML" in last(out, "config_error")["message"]
    rc, out = probe({"KUBECONFIG": str(tmp_path / "missing")}, "access")
    assert rc == 2 and "no such file" in last(out, "config_error")["message"]


def service_account(srv, folder, token, namespace="team-a"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_bytes(pathlib.Path(srv.ca_file).read_bytes())
    (folder / "namespace").write_text(namespace)
    return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(srv.port),
            "KUBE_SERVICEACCOUNT_DIR": str(folder)}


def test_in_cluster_service_account_and_a_rotated_token(kube_tls, tmp_path):
    sa = tmp_path / "sa"
    env = service_account(kube_tls, sa, "token-1\n")
    kube_tls.token_file = str(sa / "token")  # the server accepts whatever the file holds now
    rc, out = probe(env, "access")
    assert rc == 0, out
    assert last(out, "config")["namespace"] == "team-a" and "in-cluster" in last(out, "config")["source"]

    p = Probe(dict(env), "get", "/api/v1/namespaces/team-a/pods", "6", "300")
    p.wait_for(lambda x: x["event"] == "response")
    p.wait_for(lambda x: x["event"] == "response")
    # the kubelet rotates the projected token: the old one is refused from now on
    tmp = sa / "token.new"
    tmp.write_text("token-2-rotated\n")
    os.replace(tmp, sa / "token")
    assert p.finish() == 0, p.seen
    responses = [x for x in p.seen if x["event"] == "response"]
    assert len(responses) == 6 and all(r["status"] == 200 for r in responses)


def test_a_namespace_that_is_not_a_dns_label_stops_start_up_whatever_its_source(kube_tls, tmp_path):
    """Only the environment's namespace was checked: ".." from a kubeconfig reached the request path, where curl
    collapses "namespaces/../pods" into a cluster-wide list."""
    kc = tmp_path / "config"
    kube_tls.write_kubeconfig(kc, namespace="..", user="token")
    rc, out = probe({"KUBECONFIG": str(kc)}, "access")
    msg = last(out, "config_error")["message"]
    assert rc == 2 and '".."' in msg and f"the kubeconfig {kc} (context test)" in msg and "DNS-1123" in msg, out
    rc, out = probe({"KUBECONFIG": str(kc), "KUBE_NAMESPACE": "team-a"}, "access")  # not the one used
    assert rc == 0 and last(out, "config")["namespace"] == "team-a", out
    for bad in ("../kube-system", "Team-A", "a" * 64, "team a"):
        env = service_account(kube_tls, tmp_path / "sa", "t", namespace=bad + "\n")
        rc, out = probe(env, "access")
        msg = last(out, "config_error")["message"]
        assert rc == 2 and f"the service account file {tmp_path / 'sa' / 'namespace'}" in msg, (bad, out)
    assert all("/namespaces/team-a/" in r[1] or r[1] == "/version" for r in kube_tls.requests), kube_tls.requests


def warnings_of(env, *args):
    p = Probe(dict(env), *args)
    rc = p.finish()
    return rc, [line for line in p.stderr.splitlines() if " warn " in line and "kube" in line]


def test_tls_verification_off_and_a_token_over_plain_http_are_said_at_start_up(kube, kube_tls, tmp_path):
    rc, warns = warnings_of({"KUBE_API_URL": kube_tls.url, "KUBE_TOKEN": "s3cret", "KUBE_INSECURE": "1"}, "access")
    assert rc == 0 and len(warns) == 1 and "TLS verification of the Kubernetes API is off (KUBE_INSECURE=1)" in \
        warns[0], warns
    kc = tmp_path / "config"
    kube_tls.write_kubeconfig(kc, user="token")
    cfg = yaml.safe_load(kc.read_text())
    del cfg["clusters"][0]["cluster"]["certificate-authority-data"]
    cfg["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    kc.write_text(yaml.safe_dump(cfg))
    rc, warns = warnings_of({"KUBECONFIG": str(kc)}, "access")
    assert rc == 0 and len(warns) == 1 and "insecure-skip-tls-verify in the kubeconfig" in warns[0], warns
    rc, warns = warnings_of(url_env(kube), "access")  # http:// with a token: it travels in clear
    assert rc == 0 and len(warns) == 1 and f"{kube.url} is plain http:// and a bearer token" in warns[0], warns
    # verified TLS, or plain http without a token (kubectl proxy): nothing to say
    rc, warns = warnings_of({"KUBE_API_URL": kube_tls.url, "KUBE_TOKEN": "s3cret", "KUBE_CA_FILE": kube_tls.ca_file},
                            "access")
    assert rc == 0 and warns == []
    kube.token = None
    rc, warns = warnings_of({"KUBE_API_URL": kube.url}, "access")
    assert rc == 0 and warns == []


# ---- requests ----------------------------------------------------------------------------------------------------

def test_create_get_patch_delete_and_their_errors(kube):
    env = url_env(kube)
    rc, out = probe(env, "create", PODS, json.dumps(pod("p1", {"app": "x"})))
    body = last(out, "response")["body"]
    assert rc == 0 and last(out, "response")["status"] == 201
    assert body["metadata"]["uid"] and body["metadata"]["resourceVersion"] and body["spec"]["dnsPolicy"]
    rc, out = probe(env, "create", PODS, json.dumps(pod("p1")))
    r = last(out, "response")
    assert rc == 1 and (r["status"], r["reason"], r["message"]) == (409, "AlreadyExists", 'pods "p1" already exists')
    rc, out = probe(env, "create", "/api/v1/namespaces/nope/pods", json.dumps(pod("p2")))
    r = last(out, "response")
    assert (r["status"], r["reason"], r["message"]) == (404, "NotFound", 'namespaces "nope" not found')
    rc, out = probe(env, "create", PODS, json.dumps(pod("Bad_Name")))
    r = last(out, "response")
    assert r["status"] == 422 and r["reason"] == "Invalid" and r["message"].startswith('Pod "Bad_Name" is invalid')
    # a create is not idempotent: an injected 500 is answered, not retried
    kube.inject("POST", "pods", 500, message="etcdserver: request timed out")
    n = len(kube.requests)
    rc, out = probe(env, "create", PODS, json.dumps(pod("p3")))
    r = last(out, "response")
    assert (r["status"], r["message"]) == (500, "etcdserver: request timed out") and len(kube.requests) == n + 1
    # merge patch of metadata
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "1234", "controller": True}
    rc, out = probe(env, "patch", f"{PODS}/p1", json.dumps({"metadata": {"ownerReferences": [owner]}}))
    assert rc == 0 and last(out, "response")["body"]["metadata"]["ownerReferences"] == [owner]
    rc, out = probe(env, "get", f"{PODS}/p1")
    assert last(out, "response")["body"]["metadata"]["labels"] == {"app": "x"}
    rc, out = probe(env, "delete", f"{PODS}/p1", "Background")
    assert rc == 0 and last(out, "response")["status"] == 200
    rc, out = probe(env, "get", f"{PODS}/p1")
    assert rc == 1 and last(out, "response")["reason"] == "NotFound"


def test_get_is_retried_after_429_500_and_a_dropped_connection(kube):
    kube.inject("GET", "pods", 500, count=1)
    kube.inject("GET", "pods", 429, count=1, retry_after=1)
    kube.inject("GET", "pods", 0, count=1, drop=True)
    rc, out = probe(url_env(kube), "get", PODS)
    assert rc == 0 and last(out, "response")["status"] == 200
    gets = [r for r in kube.requests if r[0] == "GET" and r[1] == PODS]
    assert [g[2] for g in gets] == [500, 429, 0, 200]


def test_a_create_answered_429_is_retried_after_retry_after(kube):
    """429 means the API did nothing (max-in-flight, priority and fairness): a create is asked again, when the
    answer says."""
    kube.inject("POST", "pods", 429, count=1, retry_after=1)
    t0 = time.monotonic()
    rc, out = probe(url_env(kube), "create", PODS, json.dumps(pod("p429")))
    assert rc == 0 and last(out, "response")["status"] == 201, out
    assert time.monotonic() - t0 >= 1.0
    assert [r[2] for r in kube.requests if r[0] == "POST"] == [429, 201]


def test_a_create_whose_answer_was_lost_takes_the_object_it_made_and_no_other(kube):
    env = url_env(kube)
    kube.inject("POST", "pods", 0, lose=True)  # carried out; the connection breaks before the answer
    rc, out = probe(env, "create", PODS, json.dumps(pod("mine", {"app": "x", "run": "r1"})))
    r = last(out, "response")
    assert rc == 0 and r["status"] == 200, out
    assert r["body"]["metadata"]["uid"] == kube.store.get("pods", NS, "mine")["metadata"]["uid"]
    assert [(m, s) for m, p, s in kube.requests if p.startswith(PODS)] == \
        [("POST", 201), ("POST", 409), ("GET", 200)]

    # the name is taken by an object that is not ours (other labels): the 409 stands
    kube.store.create("pods", NS, pod("theirs", {"app": "other"}))
    kube.inject("POST", "pods", 0, drop=True)  # the connection breaks: whether it was carried out is unknown
    rc, out = probe(env, "create", PODS, json.dumps(pod("theirs", {"app": "x"})))
    r = last(out, "response")
    assert rc == 1 and (r["status"], r["reason"]) == (409, "AlreadyExists"), out
    assert kube.store.get("pods", NS, "theirs")["metadata"]["labels"] == {"app": "other"}
    # without a lost answer a 409 is the API's word: not looked into
    n = len(kube.requests)
    rc, out = probe(env, "create", PODS, json.dumps(pod("mine", {"app": "x", "run": "r1"})))
    assert rc == 1 and last(out, "response")["status"] == 409 and len(kube.requests) == n + 1


def test_connections_are_reused(kube):
    rc, out = probe(url_env(kube), "get", PODS, "5", "20")
    assert rc == 0 and len([x for x in out if x["event"] == "response"]) == 5
    assert kube.connections == 1


def test_a_request_that_gets_no_answer_times_out(kube):
    kube.inject("POST", "configmaps", 0, hang=True)
    rc, out = probe({**url_env(kube), "KUBE_TIMEOUT_SECONDS": "1"}, "create", f"/api/v1/namespaces/{NS}/configmaps",
                    json.dumps(cm("slow")))
    r = last(out, "response")
    assert rc == 1 and r["status"] == 0 and "timed out" in r["message"].lower()


def test_retries_are_bounded(kube):
    kube.inject("GET", "pods", 503, count=100)
    rc, out = probe(url_env(kube), "get", PODS)
    assert rc == 1 and last(out, "response")["status"] == 503
    assert len([r for r in kube.requests if r[1] == PODS]) == 5  # the first try and 4 retries


def test_delete_of_a_job_with_background_propagation_removes_its_pods(kube):
    env = url_env(kube)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1"},
           "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                                              "containers": [{"name": "c", "image": "x:1"}]}}}}
    kube.add_behaviour({"labels": {"job-name": "j1"}}, {"hold": True})
    rc, out = probe(env, "create", f"/apis/batch/v1/namespaces/{NS}/jobs", json.dumps(job))
    assert rc == 0
    assert wait_until(lambda: kube.store.list("pods", NS, "job-name=j1")[0])
    rc, out = probe(env, "delete", f"/apis/batch/v1/namespaces/{NS}/jobs/j1", "Background")
    assert rc == 0
    assert wait_until(lambda: not kube.store.list("pods", NS, "job-name=j1")[0])


# ---- watches -----------------------------------------------------------------------------------------------------

def cm(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {}}


def test_watch_survives_a_drop_and_an_expired_resource_version_without_loss_or_repeat(kube):
    store = kube.store
    for n in ("a", "b", "c"):
        store.create("configmaps", NS, cm(n, {"app": "x"}))
    store.create("configmaps", NS, cm("other"))
    p = Probe(url_env(kube), "watch", "v1", "configmaps", "app=x", "9")
    p.wait_for(lambda x: x["event"] == "synced")
    assert wait_until(lambda: kube.watches_started == 1)
    store.create("configmaps", NS, cm("d", {"app": "x"}))
    p.wait_for(lambda x: x.get("name") == "d")

    kube.drop_watches()  # the stream breaks mid-way: watch again from the last resourceVersion
    assert wait_until(lambda: kube.watches_started == 2)
    store.create("configmaps", NS, cm("e", {"app": "x"}))
    p.wait_for(lambda x: x.get("name") == "e")

    # while the client is away: a change, a delete, then the history is compacted: the next watch gets
    # 200 + ERROR 410 and the client lists again
    with store.lock:
        kube.drop_watches()
        store.patch("configmaps", NS, "a", {"data": {"k": "v"}})
        store.delete("configmaps", NS, "b")
        store.expire()
    assert wait_until(lambda: kube.watches_started >= 4)  # the refused one, then the one after the re-list
    store.create("configmaps", NS, cm("f", {"app": "x"}))
    store.create("configmaps", NS, cm("zz-end", {"app": "x"}))
    assert p.finish() == 0, p.seen
    events = [(x["type"], x["name"]) for x in p.seen if x["event"] == "watch"]
    assert events[:5] == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("ADDED", "d"), ("ADDED", "e")]
    assert sorted(events[5:7]) == [("DELETED", "b"), ("MODIFIED", "a")]  # found by the re-list
    assert events[7:] == [("ADDED", "f"), ("ADDED", "zz-end")]
    lists = [r for r in kube.requests if r[0] == "GET" and "watch=1" not in r[1] and "configmaps" in r[1]]
    assert len(lists) == 2
    assert any("watch=1" in r[1] and r[2] == 200 for r in kube.requests)


def test_watch_streams_that_end_cleanly_are_opened_again_from_the_last_resource_version(kube):
    kube.watch_seconds_max = 0.3
    kube.store.create("configmaps", NS, cm("a", {"app": "x"}))
    p = Probe(url_env(kube), "watch", "v1", "configmaps", "app=x", "4")
    p.wait_for(lambda x: x["event"] == "synced")
    assert wait_until(lambda: kube.watches_started >= 3)
    kube.store.create("configmaps", NS, cm("b", {"app": "x"}))
    kube.store.patch("configmaps", NS, "a", {"data": {"k": "v"}})
    p.wait_for(lambda x: x.get("type") == "MODIFIED")
    seen = kube.watches_started
    assert wait_until(lambda: kube.watches_started >= seen + 2)
    kube.store.create("configmaps", NS, cm("c", {"app": "x"}))
    assert p.finish() == 0, p.seen
    assert [(x["type"], x["name"]) for x in p.seen if x["event"] == "watch"] == \
        [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("ADDED", "c")]
    watches = [r for r in kube.requests if "watch=1" in r[1]]
    lists = [r for r in kube.requests if "configmaps" in r[1] and "watch=1" not in r[1]]
    assert len(lists) == 1 and len(watches) >= 3
    assert len({r[1].split("resourceVersion=")[1].split("&")[0] for r in watches}) >= 2  # from where it was


def test_watch_streams_that_end_at_once_without_an_event_are_backed_off(kube):
    """A proxy that ends every stream at once, cleanly: a failure, asked again with growing pauses, not in a
    tight loop; once streams last again the events come."""
    kube.store.create("configmaps", NS, cm("a", {"app": "x"}))
    kube.watch_seconds_max = 0
    p = Probe(url_env(kube), "watch", "v1", "configmaps", "app=x", "2")
    p.wait_for(lambda x: x["event"] == "synced")
    time.sleep(4)
    assert 2 <= kube.watches_started <= 8, kube.watches_started
    kube.watch_seconds_max = 3600
    kube.store.create("configmaps", NS, cm("b", {"app": "x"}))
    assert p.finish() == 0, p.seen
    assert [(x["type"], x["name"]) for x in p.seen if x["event"] == "watch"] == [("ADDED", "a"), ("ADDED", "b")]
    assert len([r for r in kube.requests if "configmaps" in r[1] and "watch=1" not in r[1]]) == 1  # no re-list


def test_requests_started_from_inside_watch_callbacks(kube):
    """An executor reacts to a watch event with a request (a get, a log stream): curl refuses new transfers from
    inside its callbacks, so the client must hand them over afterwards."""
    for n in ("a", "b"):
        kube.store.create("configmaps", NS, cm(n, {"app": "x"}))
    p = Probe({**url_env(kube), "KUBE_PROBE_GET_ON_EVENT": "1"}, "watch", "v1", "configmaps", "app=x", "3")
    p.wait_for(lambda x: x["event"] == "synced")
    assert wait_until(lambda: kube.watches_started == 1)
    kube.store.create("configmaps", NS, cm("c", {"app": "x"}))  # an event from the stream (a write callback)
    assert p.finish() == 0, p.seen
    gets = sorted((x["name"], x["status"]) for x in p.seen if x["event"] == "get")
    assert gets == [("a", 200), ("b", 200), ("c", 200)]


def test_watch_keeps_trying_when_the_list_fails(kube):
    kube.store.create("configmaps", NS, cm("a", {"app": "x"}))
    kube.inject("GET", "configmaps", 403, count=1, watch=False, message="configmaps is forbidden")
    rc, out = probe(url_env(kube), "watch", "v1", "configmaps", "app=x", "1")
    assert rc == 0
    assert [x["event"] for x in out[1:]] == ["watch_error", "watch"]
    assert out[1]["status"] == 403 and out[1]["message"] == "configmaps is forbidden"


# ---- logs --------------------------------------------------------------------------------------------------------

def test_followed_log_of_a_pod_not_yet_on_a_node_then_running(kube):
    lines = [f"line {i}" for i in range(5)] + ["ünïcode ✓", ""]
    kube.add_behaviour({"name_prefix": "slow"}, {"start_delay": 1.0, "logs": lines, "line_delay": 0.05})
    kube.store.create("pods", NS, pod("slow-1"))
    rc, out = probe(url_env(kube), "logs", "slow-1")
    assert rc == 0, out
    got = [x for x in out if x["event"] == "line"]
    assert [x["text"] for x in got] == lines
    for x in got:
        assert len(x["ts"]) == 30 and x["ts"][19] == "." and x["ts"].endswith("Z")
    assert last(out, "end")["status"] == 200
    # the pod's log was asked while it was not on a node (200, empty) or its container not started (400)
    logs = [r for r in kube.requests if "/log" in r[1]]
    assert len(logs) >= 2 and logs[-1][2] == 200

    # sinceTime: whole seconds on the wire, the lines at or before the given time skipped here
    since = got[2]["ts"]
    rc, out = probe(url_env(kube), "logs", "slow-1", since, "once")
    assert [x["text"] for x in out if x["event"] == "line"] == lines[3:]
    assert f"sinceTime={since[:19]}Z".replace(":", "%3A") in [r for r in kube.requests if "/log" in r[1]][-1][1]


def test_followed_log_resumes_after_a_drop_without_repeating_lines(kube):
    kube.add_behaviour({"name_prefix": "held"}, {"logs": ["one", "two"], "hold": True})
    kube.store.create("pods", NS, pod("held-1"))
    p = Probe(url_env(kube), "logs", "held-1")
    p.wait_for(lambda x: x.get("text") == "two")
    kube.drop_watches()  # breaks followed logs too
    kube.sim.log(NS, "held-1", "three")
    kube.sim.finish_pod(NS, "held-1", 0)
    assert p.finish() == 0, p.seen
    assert [x["text"] for x in p.seen if x["event"] == "line"] == ["one", "two", "three"]
    assert len([r for r in kube.requests if "/log" in r[1]]) >= 2


def test_lines_that_share_a_timestamp_are_all_handed_over_once_across_a_resume(kube):
    """The runtime stamps a whole read of the container's output with one time: lines with equal timestamps are
    normal, and a stream resumed in the middle of them (sinceTime reaches the kubelet in whole seconds) neither
    loses nor repeats one."""
    kube.add_behaviour({"name_prefix": "burst"}, {"logs": [["a", "b"]], "hold": True})
    kube.store.create("pods", NS, pod("burst-1"))
    p = Probe(url_env(kube), "logs", "burst-1")
    p.wait_for(lambda x: x.get("text") == "b")
    kube.drop_watches()  # breaks the followed log after "b"
    kube.sim.log(NS, "burst-1", "c", same_read=True)  # the rest of the same read: a's and b's timestamp
    kube.sim.log(NS, "burst-1", "d")
    kube.sim.finish_pod(NS, "burst-1", 0)
    assert p.finish() == 0, p.seen
    got = [x for x in p.seen if x["event"] == "line"]
    assert [x["text"] for x in got] == ["a", "b", "c", "d"]
    assert got[0]["ts"] == got[1]["ts"] == got[2]["ts"] != got[3]["ts"]
    resumed = [r[1] for r in kube.requests if "/log" in r[1]][-1]
    assert f"sinceTime={got[0]['ts'][:19]}Z".replace(":", "%3A") in resumed  # whole seconds on the wire

    # a take-over knows where the other replica stopped to the millisecond, and how many lines of that
    # millisecond it sent: here "a" only
    ms = got[0]["ts"][:23] + "Z"
    rc, out = probe(url_env(kube), "logs", "burst-1", ms, "once", "1")
    assert rc == 0 and [x["text"] for x in out if x["event"] == "line"] == ["b", "c", "d"]
    rc, out = probe(url_env(kube), "logs", "burst-1", ms, "once", "3")
    assert rc == 0 and [x["text"] for x in out if x["event"] == "line"] == ["d"]
    # no count: every line at the given time was sent
    rc, out = probe(url_env(kube), "logs", "burst-1", got[0]["ts"], "once")
    assert rc == 0 and [x["text"] for x in out if x["event"] == "line"] == ["d"]


def test_an_overlong_log_line_is_cut_at_the_bound(kube):
    kube.add_behaviour({"name_prefix": "long"}, {"logs": ["x" * 40000, "after"]})
    kube.store.create("pods", NS, pod("long-1"))
    rc, out = probe(url_env(kube), "logs", "long-1")
    got = [x for x in out if x["event"] == "line"]
    assert rc == 0 and [len(x["ts"]) for x in got] == [30, 30]
    assert got[0]["text"] == "x" * (16384 - 31) and got[1]["text"] == "after"  # KUBE_LOG_LINE_MAX, timestamp included


def test_log_of_a_missing_pod_ends_with_the_api_message(kube):
    rc, out = probe(url_env(kube), "logs", "ghost")
    assert rc == 1 and last(out, "end")["status"] == 404 and last(out, "end")["message"] == 'pods "ghost" not found'


# ---- the test server is the real API's shape: kubectl reads it --------------------------------------------------

def test_kubectl_reads_objects_watches_and_logs_from_the_test_server(kube_tls, tmp_path):
    import shutil
    if shutil.which("kubectl") is None:  # `make test` installs Debian's kubernetes-client when none is there
        pytest.skip("kubectl is not installed")
    kc = kube_tls.write_kubeconfig(tmp_path / "config", namespace=NS, user="cert")
    kube_tls.add_behaviour({"name_prefix": "w"}, {"logs": ["hello"], "exit_code": 0})
    kube_tls.store.create("pods", NS, pod("w1", {"app": "x"}))
    assert wait_until(lambda: kube_tls.store.get("pods", NS, "w1")["status"]["phase"] == "Succeeded")

    def kubectl(*args, timeout=20):
        return subprocess.run(["kubectl", "--kubeconfig", str(kc), *args], capture_output=True, text=True,
                              timeout=timeout)
    r = kubectl("get", "pods", "-l", "app=x", "-o", "json")
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["w1"] and items[0]["status"]["phase"] == "Succeeded"
    r = kubectl("logs", "w1", "--timestamps")
    assert r.returncode == 0 and r.stdout.split(" ", 1)[1] == "hello\n"
    r = kubectl("get", "pods", "-w", "-o", "json", "--request-timeout=3s", timeout=30)
    assert '"name": "w1"' in r.stdout
    r = kubectl("get", "pod", "nope")
    assert r.returncode != 0 and 'pods "nope" not found' in r.stderr
