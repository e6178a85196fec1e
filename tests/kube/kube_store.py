"""The object store of the Kubernetes API test server: namespaced objects with resourceVersions, the event
history that watches read from, label and field selectors, Status errors as the real API writes them, and the
owner-reference garbage collection of deletes. Thread-safe: one lock, one condition that wakes watches."""
import copy
import datetime
import re
import threading
import uuid

# resource -> (apiVersion, kind, list kind)
RESOURCES = {
    "pods": ("v1", "Pod"),
    "configmaps": ("v1", "ConfigMap"),
    "resourcequotas": ("v1", "ResourceQuota"),
    "events": ("v1", "Event"),
    "jobs": ("batch/v1", "Job"),
}
GROUP_OF = {"v1": ["pods", "configmaps", "resourcequotas", "events"], "batch/v1": ["jobs"]}

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An answer with a Status body."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.headers = headers or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
             "reason": self.reason, "code": self.code}
        if self.details is not None:
            s["details"] = self.details
        return s


def status_success(name, resource, uid):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "kind": resource, "uid": uid}}


def not_found(resource, name):
    group = RESOURCES[resource][0].split("/")[0] if "/" in RESOURCES[resource][0] else ""
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
        what = f"{resource}.{group}"
    else:
        what = resource
    return ApiError(404, "NotFound", f'{what} "{name}" not found', details)


# ---- selectors ----------------------------------------------------------------------------------------------------

def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    """'a=b,c!=d,e in (x,y),f notin (z),g,!h' -> a predicate on a labels dict. ApiError 400 when malformed."""
    preds = []
    for term in _split_top(s or ""):
        m = re.fullmatch(r"([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                preds.append(lambda l, k=key, v=vals: l.get(k) in v)
            else:
                preds.append(lambda l, k=key, v=vals: l.get(k) not in v)
            continue
        m = re.fullmatch(r"([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)", term)
        if m:
            key, op, val = m.groups()
            if op == "!=":
                preds.append(lambda l, k=key, v=val: l.get(k) != v)
            else:
                preds.append(lambda l, k=key, v=val: l.get(k) == v)
            continue
        m = re.fullmatch(r"(!?)([A-Za-z0-9_./-]+)", term)
        if m:
            neg, key = m.groups()
            preds.append((lambda l, k=key: k not in l) if neg else (lambda l, k=key: k in l))
            continue
        raise ApiError(400, "BadRequest", f'unable to parse requirement: found \'{term}\', expected: valid label selector')
    return lambda labels: all(p(labels or {}) for p in preds)


def _field(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def parse_field_selector(s):
    preds = []
    for term in _split_top(s or ""):
        m = re.fullmatch(r"([A-Za-z.]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise ApiError(400, "BadRequest", f'invalid field selector: \'{term}\'')
        path, op, val = m.groups()
        if op == "!=":
            preds.append(lambda o, p=path, v=val: str(_field(o, p) or "") != v)
        else:
            preds.append(lambda o, p=path, v=val: str(_field(o, p) or "") == v)
    return lambda obj: all(p(obj) for p in preds)


# ---- merge patch (RFC 7386) -------------------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(target.get(k), v)
    return out


class Store:
    def __init__(self, namespaces=("nextflow", "default")):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.namespaces = set(namespaces)
        self.objects = {}  # (resource, ns, name) -> object
        self.rv = 1000
        self.events = []  # (rv, resource, ns, type, object) in order
        self.compacted = 0  # events at or before this resourceVersion are gone (410 for a watch from before it)
        self.history_max = 10000
        self.listeners = []  # fn(type, resource, obj) called (under the lock) after each change
        self.gc_delay = 0.0  # seconds before a Background delete removes the dependents
        self.defaulters = {}  # resource -> fn(obj) filling the defaults the API server fills on create
        self.admitters = {}  # resource -> [fn(ns, obj)] that may refuse a create with an ApiError

    # ---- resourceVersions and events ----
    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _emit(self, etype, resource, obj):
        rv = int(obj["metadata"]["resourceVersion"])
        self.events.append((rv, resource, obj["metadata"].get("namespace", ""), etype, copy.deepcopy(obj)))
        if len(self.events) > self.history_max:
            drop = len(self.events) - self.history_max
            self.compacted = max(self.compacted, self.events[drop - 1][0])
            del self.events[:drop]
        self.changed.notify_all()
        for fn in list(self.listeners):
            fn(etype, resource, obj)

    def expire(self):
        """Forgets the whole history: a watch from any earlier resourceVersion gets 410 Expired."""
        with self.lock:
            self.compacted = self.rv
            self.events.clear()
            self.changed.notify_all()

    # ---- reads ----
    def check_namespace(self, ns):
        if ns not in self.namespaces:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})

    def get(self, resource, ns, name):
        with self.lock:
            obj = self.objects.get((resource, ns, name))
            if obj is None:
                raise not_found(resource, name)
            return copy.deepcopy(obj)

    def find(self, resource, ns, name):
        with self.lock:
            obj = self.objects.get((resource, ns, name))
            return copy.deepcopy(obj) if obj else None

    def list(self, resource, ns, label_selector=None, field_selector=None):
        lsel = parse_label_selector(label_selector)
        fsel = parse_field_selector(field_selector)
        with self.lock:
            items = [copy.deepcopy(o) for (r, n, _), o in sorted(self.objects.items())
                     if r == resource and (ns is None or n == ns)
                     and lsel(o["metadata"].get("labels")) and fsel(o)]
            return items, str(self.rv)

    # ---- writes ----
    def create(self, resource, ns, obj):
        api_version, kind = RESOURCES[resource]
        with self.lock:
            self.check_namespace(ns)
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if obj.get("kind") not in (None, kind):
                raise ApiError(400, "BadRequest", f'the kind "{obj.get("kind")}" does not match the resource '
                                                  f'"{resource}"')
            if meta.get("namespace") not in (None, ns):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                                  "sent on the request")
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta.get("name", "")
            problem = None
            if not name:
                problem = ("metadata.name", "Required value", "name or generateName is required")
            elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
                problem = ("metadata.name", f'Invalid value: "{name}"',
                           "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                           "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                           "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                           "[a-z0-9])?)*')")
            else:
                for k, v in (meta.get("labels") or {}).items():
                    if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                        problem = (f"metadata.labels.{k}", f'Invalid value: "{v}"',
                                   "a valid label must be an empty string or consist of alphanumeric characters, "
                                   "'-', '_' or '.', and must start and end with an alphanumeric character")
                        break
            if problem is None and resource == "jobs":
                rp = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("restartPolicy")
                if rp not in ("Never", "OnFailure"):
                    problem = ("spec.template.spec.restartPolicy", f'Unsupported value: "{rp or "Always"}"',
                               'supported values: "OnFailure", "Never"')
            if problem:
                field, what, detail = problem
                raise ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {field}: {what}: {detail}',
                               {"name": name, "group": api_version.split("/")[0] if "/" in api_version else "",
                                "kind": kind,
                                "causes": [{"reason": "FieldValueInvalid", "message": f"{what}: {detail}",
                                            "field": field}]})
            if (resource, ns, name) in self.objects:
                group = api_version.split("/")[0] if "/" in api_version else ""
                what = f"{resource}.{group}" if group else resource
                raise ApiError(409, "AlreadyExists", f'{what} "{name}" already exists',
                               {"name": name, "group": group, "kind": resource} if group else
                               {"name": name, "kind": resource})
            for admit in self.admitters.get(resource, []):
                admit(ns, obj)
            obj["apiVersion"], obj["kind"] = api_version, kind
            meta["namespace"] = ns
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["resourceVersion"] = self._next_rv()
            if resource == "jobs":
                meta["generation"] = 1
            if resource in self.defaulters:
                self.defaulters[resource](obj)
            self.objects[(resource, ns, name)] = obj
            self._emit("ADDED", resource, obj)
            return copy.deepcopy(obj)

    def update(self, resource, ns, name, fn):
        """Changes an object in place with fn(obj) (under the lock); a MODIFIED event. Returns the new object or
        None when it is gone."""
        with self.lock:
            obj = self.objects.get((resource, ns, name))
            if obj is None:
                return None
            fn(obj)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._emit("MODIFIED", resource, obj)
            return copy.deepcopy(obj)

    def patch(self, resource, ns, name, patch):
        with self.lock:
            obj = self.objects.get((resource, ns, name))
            if obj is None:
                raise not_found(resource, name)
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            new = merge_patch(obj, patch)
            for k in ("uid", "namespace", "name", "creationTimestamp"):
                new["metadata"][k] = obj["metadata"][k]
            new["apiVersion"], new["kind"] = obj["apiVersion"], obj["kind"]
            new["metadata"]["resourceVersion"] = self._next_rv()
            self.objects[(resource, ns, name)] = new
            self._emit("MODIFIED", resource, new)
            return copy.deepcopy(new)

    def _remove(self, resource, ns, name):
        obj = self.objects.pop((resource, ns, name), None)
        if obj is None:
            return None
        obj["metadata"].setdefault("deletionTimestamp", now_rfc3339())
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", resource, obj)
        return obj

    def dependents(self, uid):
        with self.lock:
            return [(r, n, name) for (r, n, name), o in self.objects.items()
                    if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]

    def delete(self, resource, ns, name, propagation=None):
        """Deletes an object. Propagation: Orphan (the batch/v1 Job default) strips the owner reference from its
        dependents; Background deletes it, then its dependents; Foreground its dependents first."""
        with self.lock:
            obj = self.objects.get((resource, ns, name))
            if obj is None:
                raise not_found(resource, name)
            if propagation is None:
                propagation = "Orphan" if resource == "jobs" else "Background"
            if propagation not in ("Orphan", "Background", "Foreground"):
                raise ApiError(400, "BadRequest", f'propagationPolicy "{propagation}" is not supported')
            uid = obj["metadata"]["uid"]
            deps = self.dependents(uid)
            if propagation == "Orphan":
                for r, n, dn in deps:
                    self.update(r, n, dn, lambda o: o["metadata"].__setitem__(
                        "ownerReferences", [x for x in o["metadata"]["ownerReferences"] if x.get("uid") != uid]))
            if propagation == "Foreground":
                for r, n, dn in deps:
                    self.delete(r, n, dn, "Foreground")
            gone = self._remove(resource, ns, name)
            if propagation == "Background" and deps:
                # the garbage collector works after the answer, as in a cluster
                def collect():
                    for r, n, dn in deps:
                        try:
                            self.delete(r, n, dn, "Background")
                        except ApiError:
                            pass
                if self.gc_delay > 0:
                    t = threading.Timer(self.gc_delay, collect)
                    t.daemon = True
                    t.start()
                else:
                    collect()
            return copy.deepcopy(gone)
