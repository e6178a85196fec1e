"""The OpenAPI document (/openapi.json) and its page (/docs) against the real service: the document is valid
OpenAPI 3.0 (swagger-parser), names every route the service answers with the right methods, its examples fit its
schemas, and what the service really answers (runs, the stream, errors) fits the schemas it declares.

The schema check is a small OpenAPI 3.0 schema validator written here (stdlib only). It is strict where the
document is silent: an object may not carry a field its schema does not list, unless the schema says
`additionalProperties: true` — so a field added to an answer without documenting it fails here."""
import asyncio
import html.parser
import json
import pathlib
import re
import shutil
import threading

from conftest import ROOT, NODE_TOOLS, run_node, wait_until
from wsutil import collect

DOC_FILE = ROOT / "web" / "openapi.json"
RUN_ID = re.compile(r"^r[0-9a-f]{11}$")
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # the contract's date-time
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Every route of API.md with its methods. /bench/burst (BENCH_EVENTS=1 only) is left out on purpose.
EXPECTED_ROUTES = {
    "/api/v1/demo/run": {"post"},
    "/api/v1/demo/preview": {"get"},
    "/api/v1/demo/status": {"get"},
    "/api/v1/demo/active": {"get"},
    "/api/v1/demo/cancel": {"delete"},
    "/api/v1/demo/history": {"get"},
    "/api/v1/demo/runs/{run_id}": {"get"},
    "/api/v1/demo/runs/{run_id}/report": {"get"},
    "/api/v1/demo/runs/{run_id}/trace": {"get"},
    "/api/v1/demo/runs/{run_id}/resume": {"post"},
    "/api/v1/demo/metrics": {"get"},
    "/metrics": {"get"},
    "/api/v1/pipeline/stream": {"get"},
    "/health": {"get"},
    "/healthz": {"get"},
    "/openapi.json": {"get"},
    "/docs": {"get"},
    "/": {"get"},
}
UNDOCUMENTED = {"/bench/burst"}  # a benchmark hook, off unless BENCH_EVENTS=1


# ---- a small OpenAPI 3.0 schema validator ----------------------------------------------------------------------

class SchemaChecker:
    """Validates JSON values against the schemas of one OpenAPI 3.0 document."""

    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def errors(self, value, schema, where="$"):
        """Every way `value` breaks `schema`, as "path: problem" strings (empty: it fits)."""
        out = []
        self._check(value, self.resolve(schema), where, out)
        return out

    def _check(self, v, s, where, out):
        s = self.resolve(s)
        if v is None:
            if not s.get("nullable"):
                out.append(f"{where}: null where the schema has no nullable")
            return
        for sub in s.get("allOf", []):
            self._check(v, sub, where, out)
        for key in ("anyOf", "oneOf"):
            if key in s:
                fits = [sub for sub in s[key] if not self.errors(v, sub, where)]
                if key == "anyOf" and not fits:
                    out.append(f"{where}: matches none of anyOf")
                if key == "oneOf" and len(fits) != 1:
                    out.append(f"{where}: matches {len(fits)} of oneOf (exactly one wanted)")
        if "enum" in s and not any(type(v) is type(e) and v == e for e in s["enum"]):
            out.append(f"{where}: {v!r} is not one of {s['enum']}")
        t = s.get("type")
        kind = {"object": dict, "array": list, "string": str, "boolean": bool}.get(t)
        if t == "integer" and (isinstance(v, bool) or not isinstance(v, int)):
            return out.append(f"{where}: {v!r} is not an integer")
        if t == "number" and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return out.append(f"{where}: {v!r} is not a number")
        if kind and not isinstance(v, kind):
            return out.append(f"{where}: {type(v).__name__} where {t} is due")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and v < s["minimum"]:
                out.append(f"{where}: {v} < minimum {s['minimum']}")
            if "maximum" in s and v > s["maximum"]:
                out.append(f"{where}: {v} > maximum {s['maximum']}")
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                out.append(f"{where}: shorter than {s['minLength']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                out.append(f"{where}: longer than {s['maxLength']}")
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append(f"{where}: {v!r} does not match {s['pattern']}")
            if s.get("format") == "date-time" and not RFC3339_MS.match(v):
                out.append(f"{where}: {v!r} is not an RFC 3339 UTC time with milliseconds")
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                out.append(f"{where}: fewer than {s['minItems']} items")
            if "maxItems" in s and len(v) > s["maxItems"]:
                out.append(f"{where}: more than {s['maxItems']} items")
            if "items" in s:
                for i, item in enumerate(v):
                    self._check(item, s["items"], f"{where}[{i}]", out)
        if isinstance(v, dict):
            props = s.get("properties", {})
            for name in s.get("required", []):
                if name not in v:
                    out.append(f"{where}: required field {name!r} is missing")
            extra = s.get("additionalProperties")
            for name, item in v.items():
                if name in props:
                    self._check(item, props[name], f"{where}.{name}", out)
                elif isinstance(extra, dict):
                    self._check(item, extra, f"{where}.{name}", out)
                elif extra is False or (extra is None and props and not s.get("allOf")):
                    out.append(f"{where}: field {name!r} is not in the schema")
        return out


def load_doc():
    return json.loads(DOC_FILE.read_text())


def operation(doc, method, template):
    item = doc["paths"].get(template)
    assert item is not None, f"{template} is not in the document"
    assert method in item, f"{method.upper()} {template} is not in the document"
    return item[method]


def assert_conforms(doc, method, template, r):
    """The real answer `r` to METHOD template is a status the document declares for it, with the declared
    headers, media type and (for JSON) a body that fits the declared schema. Returns the parsed body."""
    checker = SchemaChecker(doc)
    responses = operation(doc, method, template)["responses"]
    status = str(r.status_code)
    assert status in responses, (f"{method.upper()} {template} answered {status}, which the document does not "
                                 f"declare (it declares {sorted(responses)}): {r.text[:300]}")
    declared = checker.resolve(responses[status])
    for name in declared.get("headers", {}):
        assert name.lower() in {h.lower() for h in r.headers}, f"{status} without the declared {name} header"
    content = declared.get("content")
    if not content:
        return None
    ctype = r.headers.get("content-type", "")
    media = [m for m in content if ctype.split(";")[0].strip() == m.split(";")[0].strip()]
    assert media, f"{method.upper()} {template} {status}: content-type {ctype!r}, declared {list(content)}"
    if not media[0].startswith("application/json"):
        return r.text
    body = r.json()
    problems = checker.errors(body, content[media[0]]["schema"])
    assert not problems, (f"{method.upper()} {template} {status} does not fit the document:\n  "
                          + "\n  ".join(problems) + f"\nbody: {json.dumps(body)[:2000]}")
    return body


def assert_fits(doc, value, schema_name):
    problems = SchemaChecker(doc).errors(value, {"$ref": f"#/components/schemas/{schema_name}"})
    assert not problems, f"does not fit {schema_name}:\n  " + "\n  ".join(problems) + f"\n{json.dumps(value)[:2000]}"


# ---- the document ---------------------------------------------------------------------------------------------

def test_served_document_is_valid_openapi(start_service, tmp_path):
    svc = start_service()
    r = svc.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.content == DOC_FILE.read_bytes(), "the binary serves another openapi.json: run `make`"
    saved = tmp_path / "openapi.json"
    saved.write_bytes(r.content)
    p = run_node("validate_openapi.mjs", saved)
    print(p.stdout, p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("valid: Data Pipeline Orchestrator API")

    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    assert doc["servers"] == [{"url": "/"}]
    for word in ("one active run", "401", "405", "413", "422", "429", "503", "CORS", "Rate limit", "API_TOKEN"):
        assert word.lower() in doc["info"]["description"].lower(), word
    op_ids = []
    for template, item in doc["paths"].items():
        for method, op in item.items():
            assert method in HTTP_METHODS, f"{template}: {method}"
            for field in ("operationId", "summary", "description", "tags", "responses"):
                assert op.get(field), f"{method.upper()} {template} has no {field}"
            op_ids.append(op["operationId"])
    assert len(op_ids) == len(set(op_ids)), "operationIds are not unique"
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    guarded = (("post", "/api/v1/demo/run"), ("delete", "/api/v1/demo/cancel"),
               ("post", "/api/v1/demo/runs/{run_id}/resume"))
    for method, template in guarded:
        assert {"bearerAuth": []} in operation(doc, method, template)["security"]
    secured = [(m, t) for t, item in doc["paths"].items() for m, op in item.items() if "security" in op]
    assert sorted(secured) == sorted(guarded)


def test_every_example_fits_its_schema():
    doc = load_doc()
    checker = SchemaChecker(doc)
    problems, seen = [], [0]

    def check(value, schema, where):
        seen[0] += 1
        problems.extend(f"{where}: {e}" for e in checker.errors(value, schema))

    def walk_schema(schema, where):
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        if "example" in schema:
            check(schema["example"], schema, where + ".example")
        for name, sub in schema.get("properties", {}).items():
            walk_schema(sub, f"{where}.{name}")
        for key in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(schema.get(key, [])):
                walk_schema(sub, f"{where}.{key}[{i}]")
        if "items" in schema:
            walk_schema(schema["items"], where + "[]")

    def walk_media(content, where):
        for media, m in (content or {}).items():
            if "example" in m and media.startswith("application/json"):
                check(m["example"], m["schema"], f"{where} {media} example")
            for name, e in m.get("examples", {}).items():
                check(checker.resolve(e)["value"], m["schema"], f"{where} {media} examples.{name}")
            walk_schema(m.get("schema"), f"{where} {media} schema")

    for name, schema in doc["components"]["schemas"].items():
        walk_schema(schema, name)
    for name, resp in doc["components"]["responses"].items():
        walk_media(resp.get("content"), f"responses.{name}")
    for name, header in doc["components"]["headers"].items():
        if "example" in header:
            check(header["example"], header["schema"], f"headers.{name}")
    for template, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {template}"
            for p in op.get("parameters", []):
                if "example" in p:
                    check(p["example"], p["schema"], f"{where} parameter {p['name']}")
            walk_media(op.get("requestBody", {}).get("content"), where + " request")
            for status, resp in op["responses"].items():
                walk_media(resp.get("content"), f"{where} {status}")
    assert seen[0] > 80, f"only {seen[0]} examples found"
    assert not problems, "\n".join(problems)


def test_every_route_the_service_answers_is_documented(start_service):
    doc = load_doc()
    documented = {t: {m for m in item if m in HTTP_METHODS} for t, item in doc["paths"].items()}
    for template, methods in EXPECTED_ROUTES.items():
        assert documented.get(template) == methods, f"{template}: documented {documented.get(template)}"

    # The router's own table: a route added there must be added to the document too.
    router = (ROOT / "src" / "http" / "router.c").read_text()
    table = re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)",\s*"(/[^"]*)"', router)
    assert len(table) >= 10, "the route table of src/http/router.c was not found"
    for method, pattern in table:
        if pattern in UNDOCUMENTED:
            continue
        template = pattern.replace("*", "{run_id}")
        assert method.lower() in documented.get(template, set()), f"{method} {pattern} is not documented"

    # What the service says it accepts (OPTIONS answers `Allow`) is what the document says.
    svc = start_service()
    not_answered = []
    for template, methods in documented.items():
        r = svc.session.options(svc.url(template.replace("{run_id}", "r0123456789a")), timeout=10)
        if r.status_code == 404:
            not_answered.append(template)
            continue
        assert r.status_code == 204, f"OPTIONS {template}: {r.status_code}"
        allowed = {m.strip().lower() for m in r.headers["allow"].split(",")} - {"head", "options"}
        assert allowed == methods, f"{template}: the service allows {allowed}, the document {methods}"
    assert not_answered == [], f"documented but not answered: {not_answered}"


# ---- real answers against the document -------------------------------------------------------------------------

def test_real_answers_fit_the_document(start_service):
    doc = load_doc()
    svc = start_service({"GENERATE_SECONDS": "0.6", "ANALYZE_SECONDS": "0.2"})

    # nothing ran yet
    idle = assert_conforms(doc, "get", "/api/v1/demo/status", svc.get("/api/v1/demo/status"))
    assert idle["run"] is None and idle["progress_percent"] is None
    assert_conforms(doc, "get", "/api/v1/demo/active", svc.get("/api/v1/demo/active"))
    assert assert_conforms(doc, "get", "/api/v1/demo/history", svc.get("/api/v1/demo/history")) == []
    none = assert_conforms(doc, "delete", "/api/v1/demo/cancel", svc.delete("/api/v1/demo/cancel"))
    assert none == {"run_id": None, "status": "unknown", "cancelled": False, "detail": "No active run"}
    for query in ("", "?batch_count=1", "?batch_count=12"):
        assert_conforms(doc, "get", "/api/v1/demo/preview", svc.get("/api/v1/demo/preview" + query))
    for path in ("/health", "/healthz"):
        assert_conforms(doc, "get", path, svc.get(path))

    # a whole run, watched on the stream
    box = {}

    def watch():
        box["messages"] = asyncio.run(collect(f"ws://127.0.0.1:{svc.port}/api/v1/pipeline/stream", "complete", 60))

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert wait_until(lambda: svc.get("/api/v1/demo/status").json()["connected_clients"] == 1)
    body = {"batch_count": 3, "triggered_by": "openapi-test", "rows_per_batch": 50, "seed": 7, "unknown": [1]}
    started = assert_conforms(doc, "post", "/api/v1/demo/run", svc.post("/api/v1/demo/run", json=body))
    assert started["attached"] is False
    run_id = started["run_id"]
    attached = assert_conforms(doc, "post", "/api/v1/demo/run", svc.post("/api/v1/demo/run", json={}))
    assert attached["attached"] is True and attached["run_id"] == run_id
    active = assert_conforms(doc, "get", "/api/v1/demo/status", svc.get("/api/v1/demo/status"))
    assert active["active"] is True and active["run"]["run_id"] == run_id
    assert_conforms(doc, "get", "/api/v1/demo/active", svc.get("/api/v1/demo/active"))
    running = assert_conforms(doc, "get", "/api/v1/demo/runs/{run_id}", svc.get(f"/api/v1/demo/runs/{run_id}"))
    assert running["finished_at"] is None
    early = svc.get(f"/api/v1/demo/runs/{run_id}/report")
    assert early.status_code == 404
    assert_conforms(doc, "get", "/api/v1/demo/runs/{run_id}/report", early)

    svc.wait_finished(run_id)
    watcher.join(70)
    assert not watcher.is_alive(), "the stream did not deliver `complete`"
    done = assert_conforms(doc, "get", "/api/v1/demo/runs/{run_id}", svc.get(f"/api/v1/demo/runs/{run_id}"))
    assert done["status"] == "succeeded" and done["demo_metrics"]["total_records"] == 150
    report = assert_conforms(doc, "get", "/api/v1/demo/runs/{run_id}/report",
                             svc.get(f"/api/v1/demo/runs/{run_id}/report"))
    assert report["total_batches"] == 3
    finished = assert_conforms(doc, "get", "/api/v1/demo/status", svc.get("/api/v1/demo/status"))
    assert finished["active"] is False and finished["demo_metrics"] is not None
    history = assert_conforms(doc, "get", "/api/v1/demo/history", svc.get("/api/v1/demo/history?limit=1"))
    assert [h["run_id"] for h in history] == [run_id]

    # the stream: the envelope, then each type's data
    messages = box["messages"]
    data_schema = {"progress": "ProgressMessageData", "log": "LogMessageData", "complete": "CompleteMessageData",
                   "error": "ErrorMessageData"}
    for i, m in enumerate(messages):
        assert_fits(doc, m, "StreamMessage")
        name = data_schema.get(m["type"]) or ("StatusResponse" if i == 0 else "StatusMessageData")
        assert_fits(doc, m["data"], name)
    assert messages[0]["type"] == "status" and "active" in messages[0]["data"]
    assert {m["type"] for m in messages} >= {"status", "progress", "log", "complete"}

    # a run cancelled while active
    second = svc.run(batch_count=2)
    cancel = svc.delete("/api/v1/demo/cancel")
    cancelled = assert_conforms(doc, "delete", "/api/v1/demo/cancel", cancel)
    assert cancelled["run_id"] == second["run_id"] and cancelled["cancelled"] is True
    detail = assert_conforms(doc, "get", "/api/v1/demo/runs/{run_id}",
                             svc.get(f"/api/v1/demo/runs/{second['run_id']}"))
    assert detail["status"] == "cancelled" and detail["message"]
    assert_conforms(doc, "get", "/api/v1/demo/history", svc.get("/api/v1/demo/history"))

    # the aggregates and the Prometheus text, when the service has them
    for path in ("/api/v1/demo/metrics", "/metrics"):
        r = svc.get(path)
        if r.status_code != 404:
            assert_conforms(doc, "get", path, r)


def test_error_answers_fit_the_document(start_service):
    doc = load_doc()
    svc = start_service()
    for body in (b'{"batch_count": 5.0}', b'{"batch_count": "5"}', b'{"batch_count": true}', b'{"batch_count": 0}',
                 b'{"batch_count": 13}', b'{"rows_per_batch": 0}', b'{"seed": -1}', b'{"seed": 4294967296}',
                 b'{"triggered_by": 5}', b'{"triggered_by": "' + b"x" * 129 + b'"}', b"{bad", b"[1]",
                 b'{"batch_count": "x", "seed": 1.5, "triggered_by": []}'):
        r = svc.post("/api/v1/demo/run", data=body)
        assert r.status_code == 422, body
        assert_conforms(doc, "post", "/api/v1/demo/run", r)
    for query in ("?batch_count=0", "?batch_count=13", "?batch_count=abc", "?batch_count="):
        r = svc.get("/api/v1/demo/preview" + query)
        assert r.status_code == 422, query
        assert_conforms(doc, "get", "/api/v1/demo/preview", r)
    for query in ("?limit=0", "?limit=101", "?limit=x"):
        r = svc.get("/api/v1/demo/history" + query)
        assert r.status_code == 422, query
        assert_conforms(doc, "get", "/api/v1/demo/history", r)
    for run_id in ("r0123456789a", "nope", "R0123456789A"):
        for suffix, template in (("", "/api/v1/demo/runs/{run_id}"), ("/report", "/api/v1/demo/runs/{run_id}/report")):
            r = svc.get(f"/api/v1/demo/runs/{run_id}{suffix}")
            assert r.status_code == 404
            assert_conforms(doc, "get", template, r)
    r = svc.post("/api/v1/demo/run", data=b" " * (65 * 1024))
    assert r.status_code == 413
    assert_conforms(doc, "post", "/api/v1/demo/run", r)
    for method, path, template in (("put", "/api/v1/demo/run", "/api/v1/demo/run"),
                                   ("post", "/api/v1/demo/status", "/api/v1/demo/status"),
                                   ("post", "/api/v1/demo/cancel", "/api/v1/demo/cancel"),
                                   ("delete", "/health", "/health"), ("post", "/openapi.json", "/openapi.json")):
        r = svc.session.request(method.upper(), svc.url(path), timeout=10)
        assert r.status_code == 405
        documented = next(m for m in doc["paths"][template] if m in HTTP_METHODS)
        assert_conforms(doc, documented, template, r)
    stream = "/api/v1/pipeline/stream"
    assert_conforms(doc, "get", stream, svc.get(stream))  # no upgrade: 426
    handshake = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    r = svc.get(stream + "?since=x", headers=dict(handshake, **{"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}))
    assert r.status_code == 422
    assert_conforms(doc, "get", stream, r)
    r = svc.get(stream, headers=dict(handshake, **{"Sec-WebSocket-Key": "short"}))
    assert r.status_code == 400
    assert_conforms(doc, "get", stream, r)
    etag = svc.get("/docs").headers["etag"]
    assert_conforms(doc, "get", "/docs", svc.get("/docs", headers={"If-None-Match": etag}))


def test_auth_and_rate_limit_answers_fit_the_document(start_service):
    doc = load_doc()
    svc = start_service({"API_TOKEN": "s3cret", "RATE_LIMIT_PER_MINUTE": "3"})
    r = svc.post("/api/v1/demo/run", json={})
    assert r.status_code == 401
    assert_conforms(doc, "post", "/api/v1/demo/run", r)
    r = svc.delete("/api/v1/demo/cancel", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert_conforms(doc, "delete", "/api/v1/demo/cancel", r)
    r = svc.delete("/api/v1/demo/cancel", headers={"Authorization": "Bearer s3cret"})
    assert_conforms(doc, "delete", "/api/v1/demo/cancel", r)
    r = svc.get("/api/v1/demo/status")
    assert r.status_code == 429
    assert_conforms(doc, "get", "/api/v1/demo/status", r)
    assert int(r.headers["retry-after"]) >= 1
    assert_conforms(doc, "get", "/health", svc.get("/health"))  # not limited


# ---- the page ---------------------------------------------------------------------------------------------------

class Refs(html.parser.HTMLParser):
    """The URLs a page loads or links to, and the bodies of its script elements."""

    def __init__(self):
        super().__init__()
        self.loads, self.links, self.inline_scripts, self.title = [], [], [], ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self._in = "script"
            self.inline_scripts.append("")
            if "src" in a:
                self.loads.append(a["src"])
        elif tag == "link" and "href" in a:
            self.loads.append(a["href"])
        elif tag in ("img", "iframe", "source", "embed") and "src" in a:
            self.loads.append(a["src"])
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "title":
            self._in = "title"

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.inline_scripts[-1] += data.strip()
        elif self._in == "title":
            self.title += data


def test_docs_page_loads_only_what_the_service_serves(start_service):
    svc = start_service()
    r = svc.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]  # so no inline script runs
    refs = Refs()
    refs.feed(r.text)
    assert refs.title.strip()
    assert all(s == "" for s in refs.inline_scripts), "an inline script: the page's CSP blocks it"
    assert {u for u in refs.loads if not u.startswith("data:")} == \
        {"/vendor/swagger-ui.css", "/vendor/swagger-ui-bundle.js", "/docs.js"}
    assert "/" in refs.links
    assert not re.search(r"(https?:)?//[a-z0-9]", r.text, re.I), "the page names an external URL"
    js = svc.get("/docs.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for needle in ("SwaggerUIBundle", '"/openapi.json"', '"#swagger-ui"'):
        assert needle in js.text
    assert not re.search(r"https?://", js.text), "docs.js names an external URL"
    bundle = svc.get("/vendor/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    assert len(bundle.content) > 500_000 and b"SwaggerUIBundle" in bundle.content
    css = svc.get("/vendor/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_docs_page_renders_in_a_browser(start_service):
    """Swagger UI renders every operation under the page's CSP, in Debian's chromium (see docs_render.mjs)."""
    chromium = pathlib.Path("/usr/bin/chromium")
    assert chromium.exists() or shutil.which("chromium"), "chromium is missing: `make deps` installs it"
    assert (NODE_TOOLS / "node_modules" / "playwright-core").is_dir(), "run `make node-tools`"
    svc = start_service()
    p = run_node("docs_render.mjs", svc.url(""), timeout=120)
    print(p.stdout, p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    summary = json.loads(p.stdout)
    assert summary["opblocks"] == summary["operations_in_document"] == sum(
        len(m) for m in EXPECTED_ROUTES.values())
