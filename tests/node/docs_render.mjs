// Opens /docs in a real browser (Debian's chromium driven by playwright-core) under the page's real CSP and
// checks that Swagger UI renders the document: one operation block per operation of /openapi.json, the header
// link back to the dashboard, an operation that expands, "Try it out" on GET /health, no page error, no console
// error, no CSP violation, no failed request, no request that leaves the service.
// Usage: NODE_TOOLS=build/npm-tests node tests/node/docs_render.mjs http://127.0.0.1:PORT
// Prints a JSON summary on stdout; exits 1 when a check fails (2: bad usage or no browser).
import { createRequire } from "node:module";
import process from "node:process";

const base = process.argv[2];
if (!process.env.NODE_TOOLS || !base) {
    console.error("usage: NODE_TOOLS=<folder of `make node-tools`> node docs_render.mjs <base url>");
    process.exit(2);
}
const require = createRequire(process.env.NODE_TOOLS + "/package.json");
const { chromium } = require("playwright-core");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const origin = new URL(base).origin;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const problems = [];
const summary = { url: base + "/docs" };
let browser;
try {
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
} catch (err) {
    console.error(`cannot start ${executablePath}: ${err.message}`);
    process.exit(2);
}
try {
    const page = await browser.newPage();
    const pageErrors = [], consoleErrors = [], foreign = [], failed = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("request", (r) => {
        const u = r.url();
        if (!u.startsWith(origin) && !u.startsWith("data:")) foreign.push(u);
    });
    page.on("response", (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    // Injected by the browser itself, so the page's CSP does not apply to this listener.
    await page.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) => {
            window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "(inline)"}` +
                (e.sourceFile ? ` at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` : "") +
                (e.sample ? ` sample=${JSON.stringify(e.sample)}` : ""));
        });
    });

    const response = await page.goto(base + "/docs", { waitUntil: "load" });
    summary.status = response.status();
    summary.csp = response.headers()["content-security-policy"] || null;
    if (summary.status !== 200) problems.push(`/docs answered ${summary.status}`);
    if (!summary.csp) problems.push("/docs has no Content-Security-Policy header");

    const doc = await (await page.request.get(base + "/openapi.json")).json();
    let operations = 0;
    for (const item of Object.values(doc.paths))
        operations += Object.keys(item).filter((k) => METHODS.includes(k)).length;
    summary.operations_in_document = operations;

    try {
        await page.waitForFunction((n) => document.querySelectorAll(".opblock").length >= n, operations,
                                   { timeout: 20000 });
    } catch {
        problems.push("Swagger UI did not render every operation within 20 s");
    }
    summary.opblocks = await page.locator(".opblock").count();
    summary.title = await page.title();
    summary.info_title = (await page.locator(".info .title").first().textContent().catch(() => null) || "").trim();
    summary.dashboard_link = await page.locator("header a[href='/']").count();
    if (summary.dashboard_link < 1) problems.push("no link back to the dashboard (/) in the header");
    if (!summary.title) problems.push("the page has no title");

    // An operation expands and shows its responses.
    const first = page.locator(".opblock .opblock-summary").first();
    if (await first.count()) {
        await first.click();
        try {
            await page.locator(".opblock.is-open .responses-table").first().waitFor({ timeout: 10000 });
            summary.expanded = true;
        } catch {
            problems.push("an operation did not expand to show its responses");
        }
    }
    // "Try it out" on GET /health: Swagger UI's own request goes through the CSP's connect-src.
    try {
        const health = page.locator("#operations-observability-getHealth");
        await health.locator(".opblock-summary").click();
        await health.locator("button.try-out__btn").click();
        await health.locator("button.execute").click();
        const status = health.locator(".live-responses-table .response .response-col_status").first();
        await status.waitFor({ timeout: 10000 });
        summary.try_it_out_health = (await status.textContent()).trim();
        if (summary.try_it_out_health !== "200") problems.push(`Try it out on /health gave ${summary.try_it_out_health}`);
    } catch (err) {
        problems.push(`Try it out on /health failed: ${err.message.split("\n")[0]}`);
    }
    await page.waitForTimeout(300);
    summary.csp_violations = await page.evaluate(() => window.__cspViolations);
    summary.page_errors = pageErrors;
    summary.console_errors = consoleErrors;
    summary.foreign_requests = foreign;
    summary.failed_requests = failed;
    if (summary.csp_violations.length) problems.push(`CSP violations: ${summary.csp_violations.join("; ")}`);
    if (pageErrors.length) problems.push(`page errors: ${pageErrors.join("; ")}`);
    if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join("; ")}`);
    if (failed.length) problems.push(`failed requests: ${failed.join(", ")}`);
    if (foreign.length) problems.push(`requests outside the service: ${foreign.join(", ")}`);
} finally {
    await browser.close();
}
summary.problems = problems;
console.log(JSON.stringify(summary, null, 2));
process.exit(problems.length ? 1 : 0);
