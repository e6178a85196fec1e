"""ResourceQuota in the test server, as the quota admission plugin and the quota controller do it: a pod whose
requests would go past a quota's `hard` is refused with 403 "exceeded quota"; `status.hard` and `status.used`
(requests.cpu, requests.memory, limits.cpu, limits.memory, pods) follow the pods that are not finished."""
import re

from kube_store import ApiError

TRACKED = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")
UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
         "m": 1e-3}


def parse_quantity(q):
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(q).strip())
    if not m or m.group(2) not in UNITS:
        raise ValueError(f"quantities must match the regular expression: {q}")
    return float(m.group(1)) * UNITS[m.group(2)]


def format_quantity(key, v):
    if key == "pods":
        return str(int(round(v)))
    if "cpu" in key:
        milli = int(round(v * 1000))
        return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
    b = int(round(v))
    for suffix, size in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if b and b % size == 0:
            return f"{b // size}{suffix}"
    return str(b)


def pod_usage(pod):
    use = {k: 0.0 for k in TRACKED}
    use["pods"] = 1
    for c in (pod.get("spec") or {}).get("containers", []):
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                v = (res.get(kind) or {}).get(r)
                if v is not None:
                    use[f"{kind}.{r}"] += parse_quantity(v)
    return use


class QuotaController:
    def __init__(self, store):
        self.store = store
        store.admitters.setdefault("pods", []).append(self.admit)
        store.defaulters["resourcequotas"] = self._default
        store.listeners.append(self._on_change)

    def _used(self, ns):
        total = {k: 0.0 for k in TRACKED}
        for (r, n, _), o in self.store.objects.items():
            if r == "pods" and n == ns and (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed") \
                    and "deletionTimestamp" not in o["metadata"]:
                for k, v in pod_usage(o).items():
                    total[k] += v
        return total

    def _status(self, quota, used):
        hard = (quota.get("spec") or {}).get("hard") or {}
        return {"hard": dict(hard), "used": {k: format_quantity(k, used.get(k, 0)) for k in hard}}

    def _default(self, quota):
        quota["status"] = self._status(quota, self._used(quota["metadata"]["namespace"]))

    def _on_change(self, etype, resource, obj):
        if resource != "pods":
            return
        ns = obj["metadata"]["namespace"]
        used = self._used(ns)
        for (r, n, name), q in list(self.store.objects.items()):
            if r == "resourcequotas" and n == ns:
                st = self._status(q, used)
                if st != q.get("status"):
                    self.store.update("resourcequotas", ns, name, lambda o, st=st: o.__setitem__("status", st))

    def admit(self, ns, pod):
        """Raises 403 when the pod does not fit a quota of its namespace (called under the store's lock)."""
        want = pod_usage(pod)
        used = self._used(ns)
        name = pod["metadata"].get("name", "")
        for (r, n, qname), q in sorted(self.store.objects.items()):
            if r != "resourcequotas" or n != ns:
                continue
            hard = (q.get("spec") or {}).get("hard") or {}
            missing = [k for k in hard if k != "pods" and k in TRACKED and not any(
                ((c.get("resources") or {}).get(k.split(".")[0]) or {}).get(k.split(".")[1]) is not None
                for c in pod.get("spec", {}).get("containers", []))]
            if missing:
                raise ApiError(403, "Forbidden", f'pods "{name}" is forbidden: failed quota: {qname}: must specify '
                                                 f'{",".join(sorted(missing))}',
                               {"name": name, "kind": "pods"})
            over = [k for k in hard if k in TRACKED and used[k] + want[k] > parse_quantity(hard[k]) + 1e-9]
            if over:
                fmt = lambda d: ",".join(f"{k}={format_quantity(k, d(k))}" for k in sorted(over))  # noqa: E731
                raise ApiError(403, "Forbidden",
                               f'pods "{name}" is forbidden: exceeded quota: {qname}, requested: '
                               f'{fmt(lambda k: want[k])}, used: {fmt(lambda k: used[k])}, limited: '
                               f'{",".join(f"{k}={hard[k]}" for k in sorted(over))}',
                               {"name": name, "kind": "pods"})
