"""Running what a pod's container runs, on this machine, where the container runtime of the test server is not
there: the container's process as Kubernetes resolves it against the image (command replaces the ENTRYPOINT,
args replace the CMD; the image's ENTRYPOINT, CMD, USER and WORKDIR read from deploy/Dockerfile), as the user the
pod's securityContext or the image names, in a private mount namespace where the work volume (a folder here) is
mounted where the pod mounts its claim. The kernel, not this file, decides what that user may read and write.

An image's ENTRYPOINT that is this service itself (pipeline-orchestrator) is not started here: the process stays
up, as the HTTP service would, until the pod is deleted. A container runtime (podman) does all of this for real."""
import json
import os
import re
import shlex
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "pipeline-orchestrator"


def app_image():
    """ENTRYPOINT, CMD, USER, WORKDIR of the last stage of deploy/Dockerfile."""
    text = open(os.path.join(ROOT, "deploy", "Dockerfile")).read()
    last = text[text.rindex("\nFROM "):]
    out = {"entrypoint": [], "cmd": [], "user": "0", "workdir": "/"}
    for key, field in (("ENTRYPOINT", "entrypoint"), ("CMD", "cmd")):
        m = re.findall(rf"^{key}\s+(.+)$", last, re.M)
        if m:
            v = m[-1].strip()
            out[field] = json.loads(v) if v.startswith("[") else ["/bin/sh", "-c", v]
    for key, field in (("USER", "user"), ("WORKDIR", "workdir")):
        m = re.findall(rf"^{key}\s+(\S+)", last, re.M)
        if m:
            out[field] = m[-1]
    return out


def identity(pod, container, image_user="0"):
    """(uid, gid) the container runs as: container securityContext, then the pod's, then the image's USER."""
    sc_c, sc_p = container.get("securityContext") or {}, pod["spec"].get("securityContext") or {}
    user, _, group = str(image_user).partition(":")
    uid = sc_c.get("runAsUser", sc_p.get("runAsUser", int(user)))
    gid = sc_c.get("runAsGroup", sc_p.get("runAsGroup", int(group) if group else 0))
    return int(uid), int(gid)


def argv_of(container, image):
    """The process Kubernetes starts: command (else ENTRYPOINT) followed by args (else CMD, unless command)."""
    if container.get("command"):
        return list(container["command"]) + list(container.get("args") or [])
    return list(image["entrypoint"]) + list(container.get("args") or image["cmd"])


def is_service(argv):
    return any(os.path.basename(a) == SERVICE for a in argv[:3])


def in_pod_argv(volume, mount_path, uid, gid, argv, path_dirs=()):
    """argv run as uid:gid with `volume` mounted at `mount_path` in a mount namespace of its own."""
    env = {"PATH": ":".join(list(path_dirs) + ["/usr/local/bin", "/usr/bin", "/bin"]), "HOME": "/",
           "LANG": "C.UTF-8"}
    inner = ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + list(argv)
    script = (f"mkdir -p {shlex.quote(mount_path)} && mount --bind {shlex.quote(volume)} {shlex.quote(mount_path)}"
              f" && cd / && exec setpriv --reuid={uid} --regid={gid} --clear-groups " + shlex.join(inner))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def run_in_pod(volume, mount_path, uid, gid, argv, stdin=None):
    """Runs to its end; returns (exit code, output)."""
    p = subprocess.run(in_pod_argv(volume, mount_path, uid, gid, argv), input=stdin, capture_output=True,
                       text=True)
    return p.returncode, p.stdout + p.stderr


def start_container(pod, volume, path_dirs=()):
    """Popen of the pod's first container (stdout and stderr merged), or None when it is this service."""
    container = pod["spec"]["containers"][0]
    image = app_image()
    argv = argv_of(container, image)
    if is_service(argv):
        return None
    uid, gid = identity(pod, container, image["user"])
    mounts = container.get("volumeMounts") or []
    mount_path = mounts[0]["mountPath"] if mounts else "/workspace"
    return subprocess.Popen(in_pod_argv(volume, mount_path, uid, gid, argv, path_dirs), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
