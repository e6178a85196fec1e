"""The live dashboard at /: served with its assets and policy, self-contained, and driven in a real browser
(tests/node/dashboard.mjs, Playwright with Debian's chromium) against the real service."""
import html.parser
import pathlib
import posixpath
import re


from conftest import ROOT, TASK_BIN, run_node, write_wrapper

OUTPUT = ROOT / "tests" / "e2e" / "output" / "dashboard"
WEB = ROOT / "web"
PAGE_POLICY = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' "
               "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
# Namespace names are identifiers, never fetched.
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")
URL = re.compile(r"https?://[^\s\"'`)<>]*")
# Static imports of an ES module: `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"`.
IMPORT = re.compile(r"""^\s*(?:(?:import|export)\b[^"';]*?\bfrom|import)\s*["']([^"']+)["']""", re.M)


class References(html.parser.HTMLParser):
    """Collects every src/href of a page, and any attribute value holding an absolute http(s) URL."""

    def __init__(self):
        super().__init__()
        self.refs = []
        self.absolute = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("src", "href"):
                self.refs.append((tag, value))
            if name != "xmlns" and URL.search(value):
                self.absolute.append(f"<{tag} {name}={value!r}>")


def parse_page(text):
    parser = References()
    parser.feed(text)
    return parser


def module_graph(entry, read):
    """The path of every module reachable from `entry` through static imports, `entry` first. `read(path)` gives
    a module's text; imports must be relative ("./x.js") and stay inside the service."""
    found = [entry]
    for path in found:
        for spec in IMPORT.findall(strip_block_comments(read(path))):
            assert spec.startswith(("./", "../")), f"{path} imports {spec!r}: only relative imports resolve here"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
            assert target.startswith("/") and not target.startswith("//"), f"{path} imports outside: {spec}"
            if target not in found:
                found.append(target)
    return found


def node(scenario, service, timeout=150):
    """Runs one scenario of dashboard.mjs; its screenshots land in tests/e2e/output/dashboard/<scenario>/."""
    outdir = OUTPUT / scenario
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.png"):
        old.unlink()
    result = run_node("dashboard.mjs", service.url(""), scenario, outdir, timeout=timeout)
    print(f"----- dashboard.mjs {scenario} stdout -----\n{result.stdout}")
    print(f"----- dashboard.mjs {scenario} stderr -----\n{result.stderr}")
    assert result.returncode == 0, (
        f"dashboard.mjs {scenario} exited {result.returncode} (screenshots in {outdir}):\n"
        f"{result.stdout}\n{result.stderr}")
    return outdir


def assert_png(path):
    assert path.is_file(), f"missing screenshot {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


# ---- plain HTTP ---------------------------------------------------------------------------------------------


def test_page_is_served_with_its_policy(service):
    r = service.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == PAGE_POLICY
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert '<script type="module" src="/app.js"></script>' in r.text
    modules = module_graph("/app.js", lambda path: (WEB / path.lstrip("/")).read_text())
    assert len(modules) > 1, "app.js imports no modules"
    assets = [(m, "text/javascript") for m in modules] + [("/style.css", "text/css"), ("/favicon.svg", "image/svg+xml")]
    for path, kind in assets:
        asset = service.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["Content-Type"].startswith(kind), (path, asset.headers["Content-Type"])
        assert asset.content == (WEB / path.lstrip("/")).read_bytes(), f"{path} differs from web/ (run make)"


def test_every_reference_of_the_page_exists(service):
    page = parse_page(service.get("/").text)
    local = [(tag, ref) for tag, ref in page.refs if not ref.startswith("#")]
    assert {ref for _, ref in local} >= {"/app.js", "/style.css", "/favicon.svg", "/docs"}
    for tag, ref in local:
        assert ref.startswith("/") and not ref.startswith("//"), f"<{tag}> refers outside the service: {ref}"
        r = service.get(ref)
        assert r.status_code == 200, f"<{tag}> {ref} answers {r.status_code}"
    # The modules app.js imports, and theirs, as the browser would load them.
    def served(path):
        r = service.get(path)
        assert r.status_code == 200, f"module {path} answers {r.status_code}"
        assert r.headers["Content-Type"].startswith("text/javascript"), (path, r.headers["Content-Type"])
        return r.text

    for tag, ref in local:
        if tag == "script":
            module_graph(ref, served)


def test_no_inline_script_or_handler_attributes(service):
    """The policy forbids them: they would silently not run."""
    text = service.get("/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
    assert re.findall(r"\son[a-z]+\s*=", text) == []


def strip_block_comments(text):
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def external_urls_in_js(text):
    """http(s) URLs in JavaScript outside comments (whole-line // comments and /* */ blocks)."""
    found = []
    for line in strip_block_comments(text).splitlines():
        if line.strip().startswith("//"):
            continue
        code = re.sub(r"\s//\s.*$", "", line)  # a trailing comment
        found += URL.findall(code)
    return found


def test_the_page_needs_no_external_url():
    html_text = (WEB / "index.html").read_text()
    page = parse_page(html_text)
    assert page.absolute == [], f"absolute URLs in index.html attributes: {page.absolute}"
    names = {ref.lstrip("/") for _, ref in page.refs if ref.startswith("/") and "." in ref}
    for tag, ref in page.refs:
        if tag == "script":
            names |= {m.lstrip("/") for m in module_graph(ref, lambda path: (WEB / path.lstrip("/")).read_text())}
    for name in sorted(names | {"favicon.svg"}):
        text = (WEB / name).read_text()
        if name.endswith(".js"):
            urls = external_urls_in_js(text)
        elif name.endswith(".css"):
            urls = URL.findall(strip_block_comments(text))
            assert "@import" not in strip_block_comments(text), f"{name} imports another stylesheet"
        elif name.endswith(".svg"):
            urls = URL.findall(re.sub(r"<!--.*?-->", "", text, flags=re.S))
        else:
            urls = []
        urls = [u for u in urls if u not in NAMESPACES]
        assert urls == [], f"{name} refers to external URLs: {urls}"


# ---- in a browser -------------------------------------------------------------------------------------------


def test_dashboard_runs_a_pipeline(start_service):
    svc = start_service({"GENERATE_SECONDS": "1", "ANALYZE_SECONDS": "0.5"})
    out = node("run", svc)
    assert_png(out / "run.png")
    assert_png(out / "narrow.png")


def test_dashboard_survives_a_dropped_stream(start_service):
    # Slow tasks, so that the run moves on while the page is cut off and has to catch up.
    svc = start_service({"GENERATE_SECONDS": "3", "ANALYZE_SECONDS": "2"})
    out = node("reconnect", svc)
    assert_png(out / "reconnect.png")


def test_dashboard_attaches_to_the_active_run(start_service):
    svc = start_service({"GENERATE_SECONDS": "3", "ANALYZE_SECONDS": "2"})
    out = node("attach", svc)
    assert_png(out / "attach.png")
    history = svc.get("/api/v1/demo/history").json()
    assert len(history) == 1, f"pressing Run during a run started another one: {history}"


def test_dashboard_shows_a_rate_limit(start_service):
    svc = start_service({"RATE_LIMIT_PER_MINUTE": "3", "GENERATE_SECONDS": "1"})
    out = node("ratelimit", svc)
    assert_png(out / "ratelimit.png")


def test_dashboard_log_keeps_the_readers_place(start_service):
    svc = start_service({"GENERATE_SECONDS": "2", "ANALYZE_SECONDS": "2"})
    out = node("logscroll", svc)
    assert_png(out / "logscroll.png")


def test_dashboard_cancels_a_run(start_service):
    svc = start_service({"GENERATE_SECONDS": "5", "ANALYZE_SECONDS": "5"})
    out = node("cancel", svc)
    assert_png(out / "cancel.png")
    assert [r["status"] for r in svc.get("/api/v1/demo/history").json()] == ["cancelled"]


def test_dashboard_shows_a_failed_task(start_service, tmp_path):
    wrapper = write_wrapper(tmp_path / "failing-task.sh",
                            'if [ "$1" = analyze ] && echo "$*" | grep -q -- "--batch=2"; then\n'
                            "  echo 'boom: disk on fire' >&2; exit 3\n"
                            "fi\n"
                            f'exec "{TASK_BIN}" "$@"\n')
    svc = start_service({"GENERATE_SECONDS": "0.5", "ANALYZE_SECONDS": "0.5", "TASK_PROGRAM": str(wrapper)})
    out = node("failure", svc)
    assert_png(out / "failed.png")
