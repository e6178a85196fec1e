"""A Kubernetes API test server: the endpoints the service uses, with the real API's JSON and streaming.

    srv = KubeApiServer(tls=True, token="secret").start()   # a free port on 127.0.0.1, a CA made with openssl
    srv.url, srv.ca_file, srv.client_cert, srv.client_key  # what a client needs
    srv.write_kubeconfig(path, ...)                         # a kubeconfig pointing at it
    srv.store / srv.sim                                     # objects (kube_store.py), pods and Jobs (kube_sim.py)
    srv.inject("POST", "pods", 403, message=...)            # the next create of a pod answers 403
    srv.drop_watches(); srv.expire()                        # break watch streams; make resourceVersions too old
    srv.stop()

Served: GET /version and discovery (/api, /api/v1, /apis, /apis/batch/v1: enough for kubectl); for pods,
configmaps, resourcequotas (v1; status.used follows the pods, a pod over a quota is refused with 403 "exceeded
quota") and jobs (batch/v1) in a namespace: create (POST), get, list (labelSelector,
fieldSelector, limit/continue), watch (watch=1&resourceVersion=, chunked JSON lines; 200 + one ERROR event with a
410 Status when the resourceVersion is gone), delete (propagationPolicy from DeleteOptions or the query; a Job
orphans its pods by default), merge patch; pods/<name>/log (follow, timestamps, sinceTime, container; a pod not on
a node answers 200 with an empty body). Errors are Status objects. Bearer token and client certificates (TLS).
A control API (/_control/...) does what the Python methods do, for a server run as a program (see main()).
"""
import argparse
import json
import pathlib
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from kube_certs import make_certs  # noqa: E402
from kube_discovery import discovery  # noqa: E402
from kube_quota import QuotaController  # noqa: E402
from kube_sim import ClusterSim  # noqa: E402
from kube_podsecurity import PodSecurity  # noqa: E402
from kube_store import GROUP_OF, RESOURCES, ApiError, Store  # noqa: E402

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-test-apiserver"

    def log_message(self, fmt, *args):  # quiet; the request log is kept in srv.requests
        pass

    def setup(self):
        super().setup()
        # headers and body go out as two writes: without this, Nagle waits for the client's delayed ACK (40 ms)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def kube(self):
        return self.server.kube

    # ---- answers ----
    def send_json(self, code, obj, headers=None):
        if getattr(self, "lose_answer", False):  # carried out, but the answer never reaches the client
            self.kube.note(self.command, self.path, code)
            self.drop()
            raise ConnectionResetError("answer lost by injection")
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.kube.note(self.command, self.path, code)  # before the answer: whoever sees the answer sees the note
        self.wfile.write(body)

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), e.headers)

    def start_chunked(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.kube.note(self.command, self.path, 200)
        self.end_headers()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        """Breaks the connection without ending the chunked body (a dropped stream)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        raw = self.raw_body
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")

    # ---- dispatch ----
    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def do_PUT(self):
        self.handle_api("PUT")

    def do_PATCH(self):
        self.handle_api("PATCH")

    def do_DELETE(self):
        self.handle_api("DELETE")

    def authorised(self):
        srv = self.kube
        if srv.token is None:
            return True
        if self.headers.get("Authorization", "") == "Bearer " + srv.current_token():
            return True
        if srv.tls and isinstance(self.connection, ssl.SSLSocket):
            try:
                if self.connection.getpeercert():
                    return True  # a client certificate signed by our CA (verified by the handshake)
            except (ValueError, ssl.SSLError):
                pass
        return False

    def handle_api(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        self.lose_answer = False
        self.raw_body = self.rfile.read(n) if n else b""  # read first: an error answer leaves the connection clean
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        try:
            if parts[:1] == ["_control"]:
                return self.control(method, parts[1:])
            if not self.authorised():
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.kube.check_injected(method, parts, q, self)
            return self.route(method, parts, q)
        except ApiError as e:
            try:
                self.send_error_status(e)
            except OSError:
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def route(self, method, parts, q):
        if parts == ["version"] and method == "GET":
            return self.send_json(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0",
                                        "gitCommit": "0" * 40, "gitTreeState": "clean",
                                        "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5",
                                        "compiler": "gc", "platform": "linux/amd64"})
        disc = self.kube.discovery(parts)
        if disc is not None and method == "GET":
            return self.send_json(200, disc)
        # /api/v1/... or /apis/batch/v1/...
        if parts[:2] == ["api", "v1"]:
            gv, rest = "v1", parts[2:]
        elif parts[:3] == ["apis", "batch", "v1"]:
            gv, rest = "batch/v1", parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if gv == "v1" and rest[:1] == ["namespaces"] and len(rest) <= 2 and method == "GET":
            return self.namespace(rest[1] if len(rest) == 2 else None)
        ns = None
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in GROUP_OF[gv]:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        if len(rest) > 3 or (sub and (resource, sub) != ("pods", "log")):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        store = self.kube.store
        if name is None:
            if method == "GET":
                if q.get("watch") in ("1", "true"):
                    return self.watch(resource, ns, q)
                return self.list(resource, ns, q)
            if method == "POST" and ns is not None:
                obj = self.read_body()
                return self.send_json(201, store.create(resource, ns, obj))
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "log":
            return self.pod_log(ns, name, q)
        if method == "GET":
            return self.send_json(200, store.get(resource, ns, name))
        if method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                raise ApiError(415, "UnsupportedMediaType",
                               'the body of the request was in an unknown format - accepted media types include: '
                               'application/merge-patch+json, application/strategic-merge-patch+json')
            return self.send_json(200, store.patch(resource, ns, name, self.read_body()))
        if method == "DELETE":
            body = self.read_body() or {}
            policy = body.get("propagationPolicy") or q.get("propagationPolicy")
            if body.get("orphanDependents") is True:
                policy = "Orphan"
            return self.send_json(200, store.delete(resource, ns, name, policy))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def namespace(self, name):
        def obj(n):
            return {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": n, "uid": "00000000-0000-0000-0000-%012d" % (sum(map(ord, n)) % 10**12),
                                 "resourceVersion": "1", "creationTimestamp": "2024-01-01T00:00:00Z",
                                 "labels": {"kubernetes.io/metadata.name": n}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        store = self.kube.store
        if name is None:
            items = [obj(n) for n in sorted(store.namespaces)]
            for it in items:
                del it["apiVersion"], it["kind"]
            return self.send_json(200, {"kind": "NamespaceList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(store.rv)}, "items": items})
        store.check_namespace(name)
        return self.send_json(200, obj(name))

    # ---- list and watch ----
    def list(self, resource, ns, q):
        store = self.kube.store
        if ns is not None:
            store.check_namespace(ns)
        items, rv = store.list(resource, ns, q.get("labelSelector"), q.get("fieldSelector"))
        meta = {"resourceVersion": rv}
        limit = int(q.get("limit") or 0)
        start = int(q.get("continue") or 0) if (q.get("continue") or "0").isdigit() else 0
        if limit > 0:
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        for it in items:  # list items carry no kind/apiVersion, as the real API writes them
            it.pop("kind", None)
            it.pop("apiVersion", None)
        api_version, kind = RESOURCES[resource]
        self.send_json(200, {"kind": kind + "List", "apiVersion": api_version, "metadata": meta, "items": items})

    def watch(self, resource, ns, q):
        from kube_store import parse_field_selector, parse_label_selector
        srv, store = self.kube, self.kube.store
        if ns is not None:
            store.check_namespace(ns)
        lsel = parse_label_selector(q.get("labelSelector"))
        fsel = parse_field_selector(q.get("fieldSelector"))
        deadline = time.monotonic() + min(float(q.get("timeoutSeconds") or 1800), 3600, srv.watch_seconds_max)
        rv = q.get("resourceVersion") or ""
        gen = srv.drop_gen

        def matches(r, n, obj):
            return r == resource and (ns is None or n == ns) and lsel(obj["metadata"].get("labels")) and fsel(obj)

        initial = []
        with store.lock:
            if rv in ("", "0"):
                initial = [o for (r, n, _), o in sorted(store.objects.items()) if matches(r, n, o)]
                pos = store.rv
            elif not rv.isdigit() or int(rv) < store.compacted:
                pos = None
            else:
                pos = int(rv)
            initial = [json.dumps({"type": "ADDED", "object": o}) for o in initial]
            now_rv = store.rv
        self.start_chunked("application/json")
        srv.watches_started += 1
        if pos is None:
            self.chunk(json.dumps({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"too old resource version: {rv} ({now_rv})", "reason": "Expired", "code": 410}}) + "\n")
            return self.end_chunked()
        for line in initial:
            self.chunk(line + "\n")
        while True:
            with store.lock:
                while True:
                    if srv.drop_gen != gen:
                        return self.drop()
                    if srv.stopping or time.monotonic() >= deadline:
                        return self.end_chunked()
                    if pos < store.compacted:
                        # the history this stream stands on is gone: tell the client as the API does
                        out = [json.dumps({"type": "ERROR", "object": {
                            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": f"too old resource version: {pos} ({store.rv})", "reason": "Expired",
                            "code": 410}})]
                        pos = store.rv
                        break
                    out = [json.dumps({"type": t, "object": o}) for (erv, r, n, t, o) in store.events
                           if erv > pos and matches(r, n, o)]
                    if store.events:
                        pos = max(pos, store.events[-1][0])
                    if out:
                        break
                    store.changed.wait(min(0.5, max(0.01, deadline - time.monotonic())))
            for line in out:
                self.chunk(line + "\n")
            if out and '"type": "ERROR"' in out[0]:
                return self.end_chunked()

    # ---- logs ----
    def pod_log(self, ns, name, q):
        srv, store = self.kube, self.kube.store
        store.check_namespace(ns)
        pod = store.get("pods", ns, name)
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
        container = q.get("container")
        if container is None and len(containers) > 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: "
                                              f"[{' '.join(containers)}]")
        container = container or (containers[0] if containers else "main")
        if containers and container not in containers + inits:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        phase = pod.get("status", {}).get("phase")
        if phase == "Pending":
            if not pod["spec"].get("nodeName"):
                return self.send_json_raw(200, b"")  # not on a node yet: an empty answer
            waiting = next((cs["state"].get("waiting", {}).get("reason") for cs in
                            pod["status"].get("containerStatuses", []) if cs["name"] == container),
                           None) or "ContainerCreating"
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: '
                                              f'{waiting}')
        follow = q.get("follow") in ("true", "1")
        stamps = q.get("timestamps") in ("true", "1")
        # the API server hands sinceTime to the kubelet as RFC 3339 without a fraction (LogLocation(): Format(
        # time.RFC3339)), and the kubelet skips only the lines before it: every line of that second comes again
        since = (q.get("sinceTime") or "")[:19]
        log = srv.sim.logs.get((ns, name)) if container == (containers[0] if containers else "main") \
            else srv.sim.logs.get((ns, name, container))  # another container's lines (a real runtime's)
        gen = srv.drop_gen

        def fmt(ts, text):
            return (ts + " " if stamps else "") + text + "\n"
        sent = 0
        if not follow:
            with store.lock:
                lines = [fmt(ts, t) for ts, t in (log.lines if log else []) if ts[:19] >= since]
            return self.send_json_raw(200, "".join(lines).encode(), "text/plain")
        self.start_chunked("text/plain")
        while True:
            with store.lock:
                while True:
                    if srv.drop_gen != gen:
                        return self.drop()
                    lines = log.lines[sent:] if log else []
                    if lines or srv.stopping or log is None or log.done:
                        break
                    store.changed.wait(0.5)
                sent += len(lines)
                done = srv.stopping or log is None or (log.done and sent >= len(log.lines))
            out = "".join(fmt(ts, t) for ts, t in lines if ts[:19] >= since)
            if out:
                self.chunk(out)
            if done:
                return self.end_chunked()

    def send_json_raw(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.kube.note(self.command, self.path, code)  # before the answer: whoever sees the answer sees the note
        self.wfile.write(body)

    # ---- control ----
    def control(self, method, parts):
        srv = self.kube
        body = self.read_body() if method == "POST" else None
        body = body or {}
        if parts == ["inject"] and method == "POST":
            srv.inject(body["method"], body["resource"], int(body["status"]), count=int(body.get("count", 1)),
                       message=body.get("message"), reason=body.get("reason"), retry_after=body.get("retry_after"),
                       drop=bool(body.get("drop")), watch=body.get("watch"), hang=bool(body.get("hang")),
                       lose=bool(body.get("lose")))
        elif parts == ["drop"] and method == "POST":
            srv.drop_watches()
        elif parts == ["expire"] and method == "POST":
            srv.store.expire()
        elif parts == ["behaviour"] and method == "POST":
            srv.add_behaviour(body.get("match", {}), body.get("behaviour", {}))
        elif parts == ["finish"] and method == "POST":
            srv.sim.finish_pod(body["namespace"], body["name"], int(body.get("exit_code", 0)), body.get("reason"))
        elif parts == ["requests"] and method == "GET":
            return self.send_json(200, {"requests": srv.requests})
        else:
            raise ApiError(404, "NotFound", "no such control")
        self.send_json(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connections (a pod per task at once) is not dropped by a short backlog

    def process_request(self, request, client_address):
        self.kube.connections += 1  # connections accepted: a client that reuses its connections opens few
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that goes away mid-answer is normal here


class KubeApiServer:
    def __init__(self, tls=False, token=None, namespaces=("nextflow", "default"), certs_dir=None, port=0):
        self.tls = tls
        self.token = token
        self.token_file = None  # when set, the token is read from this file (rotation)
        self.store = Store(namespaces)
        self.sim = ClusterSim(self.store)
        self.quota = QuotaController(self.store)
        self.pod_security = PodSecurity(self.store).levels  # namespace -> "restricted"
        self.requests = []  # (method, path, status)
        self.injected = []
        self.drop_gen = 0
        self.watches_started = 0
        self.connections = 0
        self.watch_seconds_max = 3600  # a watch stream ends (cleanly) after this long at most
        self.stopping = False
        self._certs_dir = certs_dir
        self._tmp = None
        self._port = port
        self.certs = {}

    # ---- life ----
    def start(self):
        self.httpd = _Server(("127.0.0.1", self._port), Handler)
        self.httpd.kube = self
        if self.tls:
            if self._certs_dir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="kube-certs-")
                self._certs_dir = self._tmp.name
            self.certs = make_certs(self._certs_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certs["server.crt"], self.certs["server.key"])
            ctx.load_verify_locations(self.certs["ca.crt"])
            ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate authenticates; a token does too
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.sim.stopping = True
        with self.store.lock:
            self.store.changed.notify_all()
        for ev in list(self.sim.held.values()):
            ev.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_file(self):
        return self.certs.get("ca.crt")

    @property
    def client_cert(self):
        return self.certs.get("client.crt")

    @property
    def client_key(self):
        return self.certs.get("client.key")

    def current_token(self):
        if self.token_file:
            return pathlib.Path(self.token_file).read_text().strip()
        return self.token

    # ---- scripting ----
    def note(self, method, path, status):
        self.requests.append((method, path, status))

    def inject(self, method, resource, status, count=1, message=None, reason=None, retry_after=None, drop=False,
               watch=None, hang=False, lose=False, release=None):
        """The next `count` requests `method` on `resource` ("pods", "jobs", "version", "log", ...) answer `status`
        with a Status (with drop=True the connection is closed without an answer; with hang=True nothing is
        answered until the client gives up or the server stops; with lose=True the request is carried out and
        the connection closed before its answer, as when a proxy or the network loses it; `status` unused; with
        release=threading.Event() the request waits until the test sets it, then is served as usual: a late
        answer). watch=True/False: only watches, only non-watches; None: both."""
        self.injected.append({"method": method, "resource": resource, "status": status, "count": count,
                              "message": message, "reason": reason, "retry_after": retry_after, "drop": drop,
                              "watch": watch, "hang": hang, "lose": lose, "release": release})

    def check_injected(self, method, parts, q, handler):
        resource = next((p for p in parts if p in RESOURCES), parts[0] if parts else "")
        if "log" in parts[-1:]:
            resource = "log"
        is_watch = q.get("watch") in ("1", "true")
        for rule in self.injected:
            if rule["count"] <= 0 or rule["method"] != method or rule["resource"] != resource:
                continue
            if rule["watch"] is not None and bool(rule["watch"]) != is_watch:
                continue
            rule["count"] -= 1
            if rule.get("release") is not None:
                self.note(method, handler.path, 0)  # arrived, not answered yet
                while not self.stopping and not rule["release"].wait(0.2):
                    pass
                return
            if rule.get("hang"):
                self.note(method, handler.path, 0)
                deadline = time.monotonic() + 60
                while not self.stopping and time.monotonic() < deadline:
                    try:  # until the client closes its end
                        handler.connection.settimeout(0.2)
                        if handler.connection.recv(1, socket.MSG_PEEK) == b"":
                            break
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    except OSError:
                        break
                handler.drop()
                raise ConnectionResetError("hung by injection")
            if rule.get("lose"):
                handler.lose_answer = True
                return
            if rule["drop"]:
                self.note(method, handler.path, 0)
                handler.drop()
                raise ConnectionResetError("dropped by injection")
            code = rule["status"]
            headers = {}
            if code == 429:
                headers["Retry-After"] = rule["retry_after"] or 1
            raise ApiError(code, rule["reason"] or REASONS.get(code, "Unknown"),
                           rule["message"] or f"injected {code} for {method} {resource}", headers=headers)

    def drop_watches(self):
        """Breaks every open watch and followed log stream mid-way (no end of the chunked body)."""
        with self.store.lock:
            self.drop_gen += 1
            self.store.changed.notify_all()

    def expire(self):
        self.store.expire()

    def add_behaviour(self, match, behaviour):
        """Pods whose labels include `match["labels"]` and whose name starts with `match.get("name_prefix", "")`
        get `behaviour` (see kube_sim.py). Later rules win."""
        labels = match.get("labels", {})
        prefix = match.get("name_prefix", "")

        def hook(pod):
            meta = pod["metadata"]
            have = meta.get("labels") or {}
            if meta["name"].startswith(prefix) and all(have.get(k) == v for k, v in labels.items()):
                return behaviour
            return None
        self.sim.pod_hooks.insert(0, hook)

    def discovery(self, parts):
        return discovery(parts)

    def write_kubeconfig(self, path, context="test", namespace=None, user="token", data=True):
        """A kubeconfig for this server: user "token" (the bearer token), "cert" (the client certificate) or
        "exec" (a credential plugin); data=True embeds the PEM files as *-data, else names the files."""
        import base64

        def b64(p):
            return base64.b64encode(pathlib.Path(p).read_bytes()).decode()
        cluster = {"server": self.url}
        if self.tls:
            if data:
                cluster["certificate-authority-data"] = b64(self.ca_file)
            else:
                cluster["certificate-authority"] = self.ca_file
        if user == "token":
            u = {"token": self.token or ""}
        elif user == "cert":
            u = ({"client-certificate-data": b64(self.client_cert), "client-key-data": b64(self.client_key)} if data
                 else {"client-certificate": self.client_cert, "client-key": self.client_key})
        elif user == "exec":
            u = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                          "args": ["eks", "get-token", "--cluster-name", "x"]}}
        else:
            u = {}
        ctx = {"cluster": "test-cluster", "user": "test-user"}
        if namespace:
            ctx["namespace"] = namespace
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
               "clusters": [{"name": "test-cluster", "cluster": cluster}],
               "contexts": [{"name": context, "context": ctx}],
               "users": [{"name": "test-user", "user": u}]}
        import yaml
        pathlib.Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--token")
    ap.add_argument("--certs-dir")
    ap.add_argument("--namespace", action="append", default=None)
    a = ap.parse_args()
    srv = KubeApiServer(tls=a.tls, token=a.token, certs_dir=a.certs_dir, port=a.port,
                        namespaces=a.namespace or ("nextflow", "default")).start()
    print(json.dumps({"url": srv.url, "ca_file": srv.ca_file, "client_cert": srv.client_cert,
                      "client_key": srv.client_key}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
