"""Pod Security admission in the test server: a namespace set to enforce the `restricted` level
(`srv.pod_security[ns] = "restricted"`, as the label pod-security.kubernetes.io/enforce=restricted) refuses a pod
that breaks it, with the API's message. The checks of the restricted level that the service's pods touch:
allowPrivilegeEscalation, capabilities, runAsNonRoot, runAsUser 0, seccompProfile (and privileged, from
baseline)."""
from kube_store import ApiError


def _containers(pod):
    spec = pod.get("spec") or {}
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def violations(pod):
    spec = pod.get("spec") or {}
    psc = spec.get("securityContext") or {}
    out, names = [], lambda cs: ", ".join(f'"{c["name"]}"' for c in cs)
    cs = _containers(pod)
    priv = [c for c in cs if (c.get("securityContext") or {}).get("privileged")]
    if priv:
        out.append(f"privileged (container{'s' if len(priv) > 1 else ''} {names(priv)} must not set "
                   "securityContext.privileged=true)")
    bad = [c for c in cs if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False]
    if bad:
        out.append(f"allowPrivilegeEscalation != false (container{'s' if len(bad) > 1 else ''} {names(bad)} must "
                   "set securityContext.allowPrivilegeEscalation=false)")
    bad = [c for c in cs if "ALL" not in (((c.get("securityContext") or {}).get("capabilities") or {}).get("drop")
                                          or [])]
    if bad:
        out.append(f"unrestricted capabilities (container{'s' if len(bad) > 1 else ''} {names(bad)} must set "
                   'securityContext.capabilities.drop=["ALL"])')
    bad = [c for c in cs if (c.get("securityContext") or {}).get("runAsNonRoot",
                                                                  psc.get("runAsNonRoot")) is not True]
    if bad:
        out.append(f"runAsNonRoot != true (pod or container{'s' if len(bad) > 1 else ''} {names(bad)} must set "
                   "securityContext.runAsNonRoot=true)")
    if psc.get("runAsUser") == 0 or any((c.get("securityContext") or {}).get("runAsUser") == 0 for c in cs):
        out.append("runAsUser=0 (pod and containers must not set runAsUser=0)")
    seccomp = lambda sc: ((sc or {}).get("seccompProfile") or {}).get("type")  # noqa: E731
    bad = [c for c in cs if (seccomp(c.get("securityContext")) or seccomp(psc)) not in ("RuntimeDefault", "Localhost")]
    if bad:
        out.append(f"seccompProfile (pod or container{'s' if len(bad) > 1 else ''} {names(bad)} must set "
                   'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    return out


class PodSecurity:
    def __init__(self, store):
        self.levels = {}  # namespace -> "restricted"
        store.admitters.setdefault("pods", []).append(self.admit)

    def admit(self, ns, pod):
        if self.levels.get(ns) != "restricted":
            return
        v = violations(pod)
        if v:
            name = pod["metadata"].get("name", "")
            raise ApiError(403, "Forbidden", f'pods "{name}" is forbidden: violates PodSecurity "restricted:latest": '
                                             + ", ".join(v), {"name": name, "kind": "pods"})
