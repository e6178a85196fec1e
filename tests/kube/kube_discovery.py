"""API discovery documents (/api, /apis, /api/v1, /apis/batch/v1): what kubectl reads before any request."""
from kube_store import GROUP_OF, RESOURCES

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def discovery(parts):
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
    if parts == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]}
    if parts == ["apis", "batch"]:
        return {"kind": "APIGroup", "apiVersion": "v1", "name": "batch",
                "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}
    gv = {("api", "v1"): "v1", ("apis", "batch", "v1"): "batch/v1"}.get(tuple(parts))
    if gv is None:
        return None
    res = []
    for r in GROUP_OF[gv]:
        kind = RESOURCES[r][1]
        res.append({"name": r, "singularName": kind.lower(), "namespaced": True, "kind": kind, "verbs": VERBS,
                    **({"shortNames": {"pods": ["po"], "configmaps": ["cm"], "resourcequotas": ["quota"]}[r]}
                       if r in ("pods", "configmaps", "resourcequotas") else {}),
                    **({"categories": ["all"]} if r in ("pods", "jobs") else {})})
        if r == "pods":
            res.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                        "verbs": ["get"]})
    if gv == "v1":
        res.append({"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
                    "verbs": ["get", "list"], "shortNames": ["ns"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}
