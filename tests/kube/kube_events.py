"""Events in the test server (core/v1 Event), as controllers record them: one object per (object, reason,
message), its `count` and `lastTimestamp` raised when it happens again (the event recorder's aggregation). The Job
controller records FailedCreate when the API refuses the pod of a Job (quota, Pod Security admission, ...) and
keeps trying with a growing delay; the Job meanwhile has no pod and no condition."""
import threading
import time
import uuid

from kube_store import ApiError, now_rfc3339


def record(store, obj, etype, reason, message, component):
    meta = obj["metadata"]
    ns = meta["namespace"]
    involved = {"kind": obj["kind"], "namespace": ns, "name": meta["name"], "uid": meta["uid"],
                "apiVersion": obj["apiVersion"], "resourceVersion": meta.get("resourceVersion", "")}
    with store.lock:
        for (r, n, name), ev in list(store.objects.items()):
            if r == "events" and n == ns and ev["involvedObject"]["uid"] == meta["uid"] \
                    and ev["reason"] == reason and ev["message"] == message:
                def again(o):
                    o["count"] = o.get("count", 1) + 1
                    o["lastTimestamp"] = now_rfc3339()
                return store.update("events", ns, name, again)
        t = now_rfc3339()
        return store.create("events", ns, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message, "type": etype, "count": 1,
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": "",
            "firstTimestamp": t, "lastTimestamp": t, "eventTime": None})


def create_job_pod_retrying(sim, job, create, first_delay=0.2, max_delay=2.0):
    """The Job controller's create of `job`'s pod: each refusal is a FailedCreate event, then a later try."""
    def loop():
        delay = first_delay
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        while not sim.stopping:
            current = sim.store.find("jobs", ns, name)
            if current is None or current["metadata"]["uid"] != job["metadata"]["uid"]:
                return
            try:
                create(job)
                return
            except ApiError as e:
                record(sim.store, current, "Warning", "FailedCreate", f"Error creating: {e.message}",
                       "job-controller")
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
    threading.Thread(target=loop, daemon=True).start()
