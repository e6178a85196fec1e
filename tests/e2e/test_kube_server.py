"""The Kubernetes API test server (tests/kube/) checked on its own, over HTTP: the other tests trust it to answer
as the real API does (objects with defaults, Status errors, selectors, watches, Jobs, pods, logs, quotas)."""
import json
import sys

import pytest
import requests

from conftest import ROOT, wait_until

sys.path.insert(0, str(ROOT / "tests" / "kube"))
from kube_server import KubeApiServer  # noqa: E402

NS = "nextflow"
PODS = f"/api/v1/namespaces/{NS}/pods"
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"


@pytest.fixture
def api():
    srv = KubeApiServer(token="t0k").start()
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = "Bearer t0k"

    class Api:
        server = srv

        def __getattr__(self, method):
            return lambda path, **kw: getattr(s, method)(srv.url + path, timeout=kw.pop("timeout", 15), **kw)
    yield Api()
    s.close()
    srv.stop()


def pod(name, labels=None, cpu=None):
    c = {"name": "main", "image": "busybox:1.36"}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [c], "restartPolicy": "Never"}}


def job(name, restart="Never"):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": restart,
                                                              "containers": [{"name": "c", "image": "x:1"}]}}}}


def phase(api, name):
    r = api.get(f"{PODS}/{name}")
    return r.json().get("status", {}).get("phase") if r.status_code == 200 else None


def test_token_is_required(api):
    r = requests.get(api.server.url + "/version", timeout=5)
    assert r.status_code == 401 and r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                 "status": "Failure", "message": "Unauthorized",
                                                 "reason": "Unauthorized", "code": 401}


def test_pod_lifecycle_exit_codes_and_logs(api):
    api.server.add_behaviour({"name_prefix": "ok"}, {"logs": ["a", "b"]})
    api.server.add_behaviour({"name_prefix": "oom"}, {"logs": ["c"], "exit_code": 137, "reason": "OOMKilled"})
    created = api.post(PODS, json=pod("ok-1")).json()
    assert created["status"]["phase"] == "Pending" and created["spec"]["dnsPolicy"] == "ClusterFirst"
    assert created["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    api.post(PODS, json=pod("oom-1"))
    assert wait_until(lambda: phase(api, "ok-1") == "Succeeded" and phase(api, "oom-1") == "Failed")
    term = api.get(f"{PODS}/oom-1").json()["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 137 and term["reason"] == "OOMKilled"
    text = api.get(f"{PODS}/ok-1/log?timestamps=true").text
    lines = text.splitlines()
    assert [l.split(" ", 1)[1] for l in lines] == ["a", "b"] and len(lines[0].split(" ")[0]) == 30
    assert api.get(f"{PODS}/ok-1/log").text == "a\nb\n"


def test_pods_stuck_pending_and_their_logs(api):
    api.server.add_behaviour({"name_prefix": "unsched"}, {"pending": "Unschedulable"})
    api.server.add_behaviour({"name_prefix": "pull"}, {"pending": "ImagePullBackOff"})
    api.post(PODS, json=pod("unsched-1"))
    api.post(PODS, json=pod("pull-1"))

    def cond():
        return api.get(f"{PODS}/unsched-1").json()["status"].get("conditions")
    assert wait_until(cond)
    assert cond()[0]["reason"] == "Unschedulable" and "Insufficient cpu" in cond()[0]["message"]
    r = api.get(f"{PODS}/unsched-1/log?follow=true")
    assert r.status_code == 200 and r.content == b""  # not on a node yet
    assert wait_until(lambda: api.get(f"{PODS}/pull-1").json()["status"].get("containerStatuses"))
    waiting = api.get(f"{PODS}/pull-1").json()["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff" and "busybox:1.36" in waiting["message"]
    r = api.get(f"{PODS}/pull-1/log?follow=true")
    assert r.status_code == 400 and "is waiting to start: ImagePullBackOff" in r.json()["message"]


def test_job_completes_or_fails_with_conditions_by_type(api):
    api.server.add_behaviour({"labels": {"job-name": "bad"}}, {"exit_code": 1})
    assert api.post(JOBS, json=job("good")).status_code == 201
    assert api.post(JOBS, json=job("bad")).status_code == 201
    r = api.post(JOBS, json=job("always", restart="Always"))
    assert r.status_code == 422 and "spec.template.spec.restartPolicy" in r.json()["message"]

    def conditions(name):
        return [c["type"] for c in api.get(f"{JOBS}/{name}").json()["status"].get("conditions", [])]
    assert wait_until(lambda: conditions("good") and conditions("bad"))
    assert conditions("good") == ["SuccessCriteriaMet", "Complete"]
    assert conditions("bad") == ["FailureTarget", "Failed"]
    pods = api.get(f"{PODS}?labelSelector=job-name%3Dgood").json()["items"]
    assert len(pods) == 1 and pods[0]["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert pods[0]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"]


def test_delete_propagation(api):
    api.server.add_behaviour({}, {"hold": True})
    for name in ("orphan", "fg"):
        api.post(JOBS, json=job(name))
    assert wait_until(lambda: len(api.get(PODS).json()["items"]) == 2)
    assert api.delete(f"{JOBS}/orphan").status_code == 200  # batch/v1: the pods stay, without their owner
    left = api.get(f"{PODS}?labelSelector=job-name%3Dorphan").json()["items"]
    assert len(left) == 1 and left[0]["metadata"].get("ownerReferences") == []
    assert api.delete(f"{JOBS}/fg", json={"propagationPolicy": "Foreground"}).status_code == 200
    assert api.get(f"{PODS}?labelSelector=job-name%3Dfg").json()["items"] == []
    r = api.delete(f"{JOBS}/fg")
    assert r.status_code == 404 and r.json()["message"] == 'jobs.batch "fg" not found'


def test_label_selectors_and_paging(api):
    for i, (app, tier) in enumerate([("a", "web"), ("b", "web"), ("c", "db"), ("a", "db")]):
        api.post(f"/api/v1/namespaces/{NS}/configmaps",
                 json={"metadata": {"name": f"cm{i}", "labels": {"app": app, "tier": tier}}})

    def names(sel):
        r = api.get(f"/api/v1/namespaces/{NS}/configmaps", params={"labelSelector": sel})
        return [i["metadata"]["name"] for i in r.json()["items"]]
    assert names("app=a") == ["cm0", "cm3"]
    assert names("app in (a,b),tier!=db") == ["cm0", "cm1"]
    assert names("app notin (a)") == ["cm1", "cm2"]
    assert names("tier,!missing") == ["cm0", "cm1", "cm2", "cm3"]
    page = api.get(f"/api/v1/namespaces/{NS}/configmaps?limit=3").json()
    assert len(page["items"]) == 3 and page["metadata"]["continue"]
    rest = api.get(f"/api/v1/namespaces/{NS}/configmaps?limit=3&continue={page['metadata']['continue']}").json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm3"] and "continue" not in rest["metadata"]
    assert "kind" not in page["items"][0]  # list items carry no kind, as the real API writes them


def test_watch_from_zero_and_an_expired_resource_version(api):
    api.post(f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": "x"}})
    lines = api.get(f"/api/v1/namespaces/{NS}/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1").text
    events = [json.loads(l) for l in lines.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"], e["object"]["kind"]) for e in events] == \
        [("ADDED", "x", "ConfigMap")]
    api.server.expire()
    lines = api.get(f"/api/v1/namespaces/{NS}/configmaps?watch=1&resourceVersion=1000").text
    err = [json.loads(l) for l in lines.splitlines()]
    assert len(err) == 1 and err[0]["type"] == "ERROR"
    assert {k: err[0]["object"][k] for k in ("kind", "status", "reason", "code")} == \
        {"kind": "Status", "status": "Failure", "reason": "Expired", "code": 410}


def test_quota_used_follows_pods_and_refuses_what_does_not_fit(api):
    api.server.add_behaviour({}, {"hold": True})
    q = {"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "2", "requests.memory": "8Gi", "pods": "5"}}}
    assert api.post(f"/api/v1/namespaces/{NS}/resourcequotas", json=q).status_code == 201
    assert api.post(PODS, json=pod("p1", cpu="1500m")).status_code == 201
    r = api.post(PODS, json=pod("p2", cpu="1"))
    assert r.status_code == 403 and r.json()["reason"] == "Forbidden"
    assert r.json()["message"] == ('pods "p2" is forbidden: exceeded quota: q, requested: requests.cpu=1, '
                                   'used: requests.cpu=1500m, limited: requests.cpu=2')
    r = api.post(PODS, json=pod("p3"))
    assert r.status_code == 403 and "must specify requests.cpu,requests.memory" in r.json()["message"]
    used = api.get(f"/api/v1/namespaces/{NS}/resourcequotas/q").json()["status"]["used"]
    assert used == {"requests.cpu": "1500m", "requests.memory": "1Gi", "pods": "1"}
    api.server.sim.finish_pod(NS, "p1", 0)
    assert wait_until(lambda: api.get(f"/api/v1/namespaces/{NS}/resourcequotas/q").json()["status"]["used"]
                      ["pods"] == "0")
    assert api.post(PODS, json=pod("p2", cpu="1")).status_code == 201


def test_control_api_and_hooks_for_other_simulations(api):
    srv = api.server
    r = api.post("/_control/inject", json={"method": "POST", "resource": "jobs", "status": 403,
                                           "message": 'jobs.batch is forbidden: User "x" cannot create'})
    assert r.status_code == 200
    r = api.post(JOBS, json=job("j"))
    assert r.status_code == 403 and r.json()["message"].startswith("jobs.batch is forbidden")
    # a job hook takes the Job over; a script behaviour runs in its pod and makes more pods
    seen = []

    def script(sim, p):
        sim.log(NS, p["metadata"]["name"], "controller says hi")
        sim.create_pod(NS, pod("worker-1", {"role": "worker"}))
        return 0

    def hook(j):
        seen.append(j["metadata"]["name"])
        srv.sim.pod_hooks.insert(0, lambda p: {"script": script} if "job-name" in p["metadata"]["labels"] else None)
        srv.sim.create_job_pod(j)
        return True
    srv.sim.job_hooks.append(hook)
    assert api.post(JOBS, json=job("j")).status_code == 201
    assert wait_until(lambda: phase(api, "worker-1") == "Succeeded")
    assert seen == ["j"]
    assert wait_until(lambda: [c["type"] for c in api.get(f"{JOBS}/j").json()["status"].get("conditions", [])]
                      == ["SuccessCriteriaMet", "Complete"])
    reqs = api.get("/_control/requests").json()["requests"]
    assert ["POST", JOBS, 403] in reqs and ["POST", JOBS, 201] in reqs
