"""ResourceQuota in the test server, as the quota admission plugin and the quota controller do it: a pod whose
requests would go past a quota's `hard` is refused with 403 "exceeded quota"; `status.hard` and `status.used`
(requests.cpu or cpu, requests.memory or memory, limits.cpu, limits.memory, pods or count/pods) follow the pods
that are not finished. A quota counts only the pods its `scopes` and `scopeSelector` select (Terminating,
NotTerminating, BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity), as the pod evaluator does."""
import re

from kube_store import ApiError

TRACKED = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods", "cpu", "memory", "count/pods")
ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory", "count/pods": "pods"}
UNITS = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
         "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6}


def parse_quantity(q):
    m = re.fullmatch(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))", str(q))
    if not m or (m.group(3) or "") not in UNITS:
        raise ValueError(f"quantities must match the regular expression: {q}")
    if m.group(2):
        return float(m.group(1) + m.group(2))
    return float(m.group(1)) * UNITS[m.group(3) or ""]


def _best_effort(spec):
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                v = (res.get(kind) or {}).get(r)
                if v is not None and parse_quantity(v) > 0:
                    return False
    return True


def _cross_namespace(spec):
    aff = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        a = aff.get(kind) or {}
        terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or []) + [
            t.get("podAffinityTerm") or {} for t in a.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def _scope_matches(spec, scope, op, values):
    deadline = spec.get("activeDeadlineSeconds")
    pc = spec.get("priorityClassName") or ""
    if scope in ("Terminating", "NotTerminating"):
        return (deadline is not None and deadline >= 0) == (scope == "Terminating")
    if scope in ("BestEffort", "NotBestEffort"):
        return _best_effort(spec) == (scope == "BestEffort")
    if scope == "PriorityClass":
        return {"Exists": bool(pc), "DoesNotExist": not pc, "In": bool(pc) and pc in (values or []),
                "NotIn": not pc or pc not in (values or [])}.get(op, False)
    if scope == "CrossNamespacePodAffinity":
        return _cross_namespace(spec)
    return False


def quota_selects(quota, pod):
    qspec = quota.get("spec") or {}
    spec = pod.get("spec") or {}
    exprs = [{"scopeName": s, "operator": "Exists"} for s in qspec.get("scopes") or []]
    exprs += (qspec.get("scopeSelector") or {}).get("matchExpressions") or []
    return all(_scope_matches(spec, e.get("scopeName"), e.get("operator"), e.get("values")) for e in exprs)


def format_quantity(key, v):
    if key in ("pods", "count/pods"):
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
    use["pods"] = use["count/pods"] = 1
    for c in (pod.get("spec") or {}).get("containers", []):
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                v = (res.get(kind) or {}).get(r)
                if v is not None:
                    use[f"{kind}.{r}"] += parse_quantity(v)
    use["cpu"], use["memory"] = use["requests.cpu"], use["requests.memory"]
    return use


def _specified(pod, key):
    kind, res = ALIASES.get(key, key).split(".")
    return any(((c.get("resources") or {}).get(kind) or {}).get(res) is not None
               for c in pod.get("spec", {}).get("containers", []))


class QuotaController:
    def __init__(self, store):
        self.store = store
        store.admitters.setdefault("pods", []).append(self.admit)
        store.defaulters["resourcequotas"] = self._default
        store.listeners.append(self._on_change)

    def _used(self, ns, quota):
        total = {k: 0.0 for k in TRACKED}
        for (r, n, _), o in self.store.objects.items():
            if r == "pods" and n == ns and (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed") \
                    and "deletionTimestamp" not in o["metadata"] and quota_selects(quota, o):
                for k, v in pod_usage(o).items():
                    total[k] += v
        return total

    def _status(self, quota, used):
        hard = (quota.get("spec") or {}).get("hard") or {}
        return {"hard": dict(hard), "used": {k: format_quantity(k, used.get(k, 0)) for k in hard}}

    def _default(self, quota):
        quota["status"] = self._status(quota, self._used(quota["metadata"]["namespace"], quota))

    def _on_change(self, etype, resource, obj):
        if resource != "pods":
            return
        ns = obj["metadata"]["namespace"]
        for (r, n, name), q in list(self.store.objects.items()):
            if r == "resourcequotas" and n == ns:
                st = self._status(q, self._used(ns, q))
                if st != q.get("status"):
                    self.store.update("resourcequotas", ns, name, lambda o, st=st: o.__setitem__("status", st))

    def admit(self, ns, pod):
        """Raises 403 when the pod does not fit a quota of its namespace (called under the store's lock)."""
        want = pod_usage(pod)
        name = pod["metadata"].get("name", "")
        for (r, n, qname), q in sorted(self.store.objects.items()):
            if r != "resourcequotas" or n != ns or not quota_selects(q, pod):
                continue
            used = self._used(ns, q)
            hard = (q.get("spec") or {}).get("hard") or {}
            missing = [k for k in hard if k not in ("pods", "count/pods") and k in TRACKED and not _specified(pod, k)]
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
