// Drives the live dashboard in Debian's chromium, as a user would.
//
//   node dashboard.mjs BASE_URL SCENARIO OUTPUT_DIR
//
// Scenarios:
//   run        choose 3 batches, press Run, wait for the graph, report and history; screenshots at 1280 px
//              (run.png) and 375 px (narrow.png, no horizontal scrolling); no console errors.
//   reconnect  start a run, then drop the stream from outside (a TCP proxy between browser and service
//              resets every connection and refuses new ones for a while), expect "reconnecting" then "live";
//              then take the browser offline and back; the run must end all done with the right report and
//              every log line exactly once (the replay after ?since= filled the gap). reconnect.png.
//   attach     a run started elsewhere is already active: the page follows it, Run attaches (attached:true).
//   ratelimit  against a service with a tiny rate limit: Run answers 429 and the page says so politely.
//   logscroll  a 12-batch run with slow tasks: a reader who scrolls the log up stays where they are while lines
//              arrive ("Jump to latest (N new)" appears); jumping returns to the tail, which is followed again.
//   cancel     a slow run is cancelled from the page: status Cancelled, no task left pending or running.
//   failure    against a service whose ANALYZE 2 fails: the graph shows it failed and the rest cancelled, the
//              run's message is shown, no report.
// Every scenario also checks that the page requested nothing from another host.
//
// Exit code 0 on success. On failure: the reason on stderr, failure.png in OUTPUT_DIR, exit code 1.
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

if (!process.env.NODE_TOOLS) {
  console.error("NODE_TOOLS is not set: run through tests/e2e (run_node), or point it at build/npm-tests");
  process.exit(64);
}
const require = createRequire(process.env.NODE_TOOLS + "/package.json");
const { chromium } = require("playwright-core");

const [baseArg, scenario, outDir] = process.argv.slice(2);
if (!baseArg || !scenario || !outDir) {
  console.error("usage: node dashboard.mjs BASE_URL SCENARIO OUTPUT_DIR (see the comment at the top)");
  process.exit(64);
}
const BASE = baseArg.replace(/\/+$/, "");
const SCENARIO_LIMIT_MS = 100_000; // below run_node's 120 s, so the script reports why it stopped
const STEP_MS = 30_000;
fs.mkdirSync(outDir, { recursive: true });

const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  check(res.ok, `GET ${url} answered ${res.status}`);
  return res.json();
}

async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  check(res.ok, `POST ${url} answered ${res.status}`);
  return res.json();
}

/* ---- a TCP proxy that can cut every connection (the stream drop "from outside") ------------------------ */

async function startProxy(target) {
  const url = new URL(target);
  const sockets = new Set();
  let blocked = false;
  const server = net.createServer((client) => {
    if (blocked) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(url.port || 80), url.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    block() {
      blocked = true;
    },
    unblock() {
      blocked = false;
    },
    // RST on every open connection: the browser sees the stream die (close code 1006), not a clean close.
    cutAll() {
      for (const s of sockets) if (!s.destroyed) s.resetAndDestroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/* ---- page helpers ---------------------------------------------------------------------------------------------- */

async function openDashboard(page, base) {
  await page.goto(`${base}/`, { waitUntil: "domcontentloaded", timeout: STEP_MS });
  // Record every change of the connection indicator, to explain a failure.
  await page.evaluate(() => {
    const el = document.getElementById("conn");
    window.__connLog = [el.dataset.conn];
    new MutationObserver(() => window.__connLog.push(el.dataset.conn))
      .observe(el, { attributes: true, attributeFilter: ["data-conn"] });
  });
  await waitConn(page, "live");
  log("dashboard is live");
}

async function waitConn(page, phase, timeout = STEP_MS) {
  try {
    await page.waitForSelector(`#conn[data-conn="${phase}"]`, { timeout });
  } catch {
    const seen = await page.evaluate(() => window.__connLog ?? []).catch(() => []);
    fail(`connection indicator never showed "${phase}" (seen: ${seen.join(" → ")})`);
  }
}

// Chooses the batch count with the keyboard on the slider, as a keyboard user would.
async function chooseBatches(page, n) {
  const slider = page.getByLabel("Batches", { exact: true });
  await slider.focus();
  await page.keyboard.press("Home");
  for (let i = 1; i < n; i++) await page.keyboard.press("ArrowRight");
  const value = await slider.inputValue();
  check(value === String(n), `the slider is at ${value}, wanted ${n}`);
  try { // the page renders on the next animation frame
    await page.waitForFunction((want) => document.getElementById("batch-count-value").textContent === want,
      String(n), { timeout: 5_000 });
  } catch {
    fail(`batch control shows ${await page.locator("#batch-count-value").textContent()}, wanted ${n}`);
  }
  // The preview follows (debounced): 2N + 1 pods.
  await page.waitForFunction((pods) => document.getElementById("pv-pods").textContent === String(pods),
    2 * n + 1, { timeout: STEP_MS });
  log(`chose ${n} batches; preview: ${await page.locator("#pv-pods").textContent()} pods,`,
    `${await page.locator("#pv-quota").textContent()}`);
}

async function pressRun(page) {
  await page.getByRole("button", { name: /^(Run pipeline|Follow active run)$/ }).click({ timeout: STEP_MS });
  await page.waitForFunction(() => /^r[0-9a-f]{11}$/.test(document.getElementById("meta-run-id").textContent),
    null, { timeout: STEP_MS });
  const runId = await page.locator("#meta-run-id").textContent();
  log(`run ${runId} shown`);
  return runId;
}

async function taskStates(page) {
  return page.$$eval("[data-task]", (nodes) => nodes.map((n) => ({
    task: n.getAttribute("data-task"), state: n.getAttribute("data-state"), label: n.getAttribute("aria-label"),
  })));
}

async function waitAllDone(page, batches, timeout = 60_000) {
  const want = 2 * batches + 1;
  try {
    await page.waitForFunction((count) => {
      const nodes = [...document.querySelectorAll("[data-task]")];
      return nodes.length === count && nodes.every((n) => n.getAttribute("data-state") === "succeeded");
    }, want, { timeout });
  } catch {
    fail(`the graph did not end all done: ${JSON.stringify(await taskStates(page))}`);
  }
  const tasks = await taskStates(page);
  const expected = [];
  for (const stage of ["GENERATE", "ANALYZE"]) for (let b = 1; b <= batches; b++) expected.push(`${stage}-${b}`);
  expected.push("REPORT-0");
  check(JSON.stringify(tasks.map((t) => t.task).sort()) === JSON.stringify(expected.sort()),
    `unexpected task nodes: ${tasks.map((t) => t.task).join(", ")}`);
  for (const t of tasks) {
    const name = t.task === "REPORT-0" ? "REPORT" : t.task.replace("-", " ");
    check(t.label === `${name}: done`, `task ${t.task} is labelled "${t.label}"`);
  }
  log(`all ${want} task nodes are done`);
}

// The report on the page must show what the service says about the run.
async function checkReport(page, base, runId) {
  await page.waitForSelector("#report:not([hidden])", { timeout: STEP_MS });
  const run = await getJson(`${BASE}/api/v1/demo/runs/${runId}`);
  check(run.status === "succeeded", `run ${runId} is ${run.status}`);
  const m = run.demo_metrics;
  check(m && typeof m === "object", `run ${runId} has no demo_metrics`);
  const shown = await page.$$eval("#report [data-metric]", (dds) => Object.fromEntries(
    dds.map((dd) => [dd.dataset.metric, { text: dd.textContent, value: dd.dataset.value }])));
  for (const key of ["total_records", "total_sum", "average_value", "worker_pods_spawned", "total_batches"]) {
    const got = shown[key];
    check(got && Number(got.value) === m[key], `report ${key}: page has ${JSON.stringify(got)}, service ${m[key]}`);
    const fromText = Number(got.text.replace(/[^0-9.-]/g, ""));
    check(fromText === m[key], `report ${key} reads "${got.text}", service says ${m[key]}`);
  }
  const duration = Number(shown.duration_seconds?.value);
  check(Math.abs(duration - run.duration_seconds) < 0.01,
    `report duration ${duration}, service ${run.duration_seconds}`);
  check(/\d/.test(shown.duration_seconds.text), `duration reads "${shown.duration_seconds.text}"`);
  const progress = await page.locator("#progress").getAttribute("aria-valuenow");
  check(progress === "100", `progress bar at ${progress}`);
  log(`report matches: ${m.total_records} records, sum ${m.total_sum}, average ${m.average_value}`);
}

async function checkHistoryRow(page, runId) {
  try {
    await page.waitForSelector(`#history-body tr[data-run-id="${runId}"]`, { timeout: STEP_MS });
  } catch {
    fail(`run ${runId} never appeared in the history table`);
  }
  const cells = await page.locator(`#history-body tr[data-run-id="${runId}"]`).textContent();
  check(cells.includes(runId) && /Succeeded/.test(cells), `history row reads "${cells}"`);
  log("history row present");
}

// Lets transitions (the progress bar's width) settle so that screenshots show the final state.
async function screenshot(page, name, fullPage = true) {
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(outDir, name), fullPage });
}

async function checkNoHorizontalScroll(page, width) {
  const sizes = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth,
  }));
  check(sizes.scroll <= width && sizes.body <= width,
    `at ${width} px the page scrolls sideways: scrollWidth ${sizes.scroll}, body ${sizes.body}`);
}

/* ---- scenarios ---------------------------------------------------------------------------------------------- */

async function scenarioRun({ page }) {
  await openDashboard(page, BASE);
  await chooseBatches(page, 3);
  const runId = await pressRun(page);
  // the run id may arrive through the stream before the POST's answer puts up the notice: wait for it
  await page.waitForFunction((id) => document.getElementById("notice-text").textContent.includes(id), runId,
    { timeout: STEP_MS }).catch(() => {});
  const notice = await page.locator("#notice-text").textContent();
  check(notice.includes(runId), `no notice about the new run (notice: "${notice}")`);
  await waitAllDone(page, 3);
  await checkReport(page, BASE, runId);
  await checkHistoryRow(page, runId);
  const logText = await page.locator("#log").textContent();
  check(logText.includes("Generating batch 3") && logText.includes("REPORT"), "the log pane lacks the run's lines");
  check(await page.locator("#run-status").textContent() === "Succeeded", "status badge is not Succeeded");
  await screenshot(page, "run.png");

  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(300);
  await checkNoHorizontalScroll(page, 375);
  await screenshot(page, "narrow.png");
  log("narrow layout fits 375 px");
}

async function scenarioReconnect({ page, context }) {
  const proxy = await startProxy(BASE);
  try {
    await openDashboard(page, proxy.url);
    await chooseBatches(page, 3);
    const runId = await pressRun(page);
    await page.waitForSelector('[data-task][data-state="running"]', { timeout: STEP_MS });
    await page.waitForTimeout(1_000);

    // 1. The network path dies: every connection is reset and new ones are refused for a while. The run
    //    moves on meanwhile (the service is started with slow tasks), so the page has to catch up.
    proxy.block();
    proxy.cutAll();
    log("stream cut from outside");
    await waitConn(page, "reconnecting", 5_000);
    await page.waitForTimeout(3_000);
    check(await page.locator("#conn").getAttribute("data-conn") === "reconnecting", "indicator left reconnecting");
    const shownDone = (await taskStates(page)).filter((t) => t.state === "succeeded").length;
    const service = await getJson(`${BASE}/api/v1/demo/runs/${runId}`);
    const serviceDone = (service.tasks ?? []).filter((t) => t.state === "succeeded").length;
    log(`during the cut: page shows ${shownDone} tasks done, the service has ${serviceDone}`);
    check(serviceDone > shownDone, "the run did not move during the cut: the test proves nothing (tasks too fast?)");
    proxy.unblock();
    await waitConn(page, "live", 20_000);
    log("live again after the cut");

    // 2. The browser goes offline and back.
    await context.setOffline(true);
    await waitConn(page, "offline", 5_000);
    log("offline shown");
    await page.waitForTimeout(1_000);
    await context.setOffline(false);
    await waitConn(page, "live", 20_000);
    log("live again after offline");

    await waitAllDone(page, 3);
    await checkReport(page, BASE, runId);
    await checkHistoryRow(page, runId);
    // Nothing lost, nothing twice: each task's result line is in the log exactly once.
    const lines = await page.$$eval("#log .log-message", (els) => els.map((e) => e.textContent));
    for (const needle of ["written to batch_1.csv", "written to batch_3.csv", "written to stats_batch_1.json",
      "written to stats_batch_3.json", "written to report.json"]) {
      const count = lines.filter((l) => l.includes(needle)).length;
      check(count === 1, `log line for ${needle} appears ${count} times`);
    }
    const seen = await page.evaluate(() => window.__connLog);
    log(`connection states: ${seen.join(" → ")}`);
    await screenshot(page, "reconnect.png");
  } finally {
    await proxy.close();
  }
}

async function scenarioAttach({ page }) {
  const started = await postJson(`${BASE}/api/v1/demo/run`, { batch_count: 2, triggered_by: "elsewhere" });
  check(started.attached === false, "the run started by the test was an attach");
  await openDashboard(page, BASE);
  await page.waitForFunction((id) => document.getElementById("meta-run-id").textContent === id, started.run_id,
    { timeout: STEP_MS });
  check(await page.getByRole("button", { name: "Follow active run" }).isEnabled(), "Run does not offer to follow");
  await chooseBatches(page, 4); // ignored: a run is active, so Run attaches instead of starting 4 batches
  const runId = await pressRun(page);
  check(runId === started.run_id, `page shows ${runId}, active run is ${started.run_id}`);
  await page.waitForSelector('#follow[data-attached="true"]:not([hidden])', { timeout: STEP_MS });
  const notice = await page.locator("#notice-text").textContent();
  check(/already in progress/.test(notice) && notice.includes(runId), `attach notice reads "${notice}"`);
  check(await page.locator("#meta-trigger").textContent() === "elsewhere", "triggered_by not shown");
  await waitAllDone(page, 2);
  await checkReport(page, BASE, runId);
  await screenshot(page, "attach.png");
}

async function scenarioRateLimit({ page }) {
  await openDashboard(page, BASE);
  // The page's own start-up requests use the budget; press Run until the service says 429.
  for (let i = 0; i < 10; i++) {
    const run = page.locator("#run-btn");
    if (await run.isDisabled()) break;
    await run.click();
    await page.waitForFunction(() => !document.getElementById("notice").hidden || false, null, { timeout: STEP_MS });
    if (/Too many requests/.test(await page.locator("#notice-text").textContent())) break;
  }
  const notice = page.locator("#notice");
  check(await notice.getAttribute("data-kind") === "error", "no error notice after the rate limit");
  const text = await page.locator("#notice-text").textContent();
  check(/Too many requests/.test(text) && /Try again in \d+ s/.test(text), `rate-limit notice reads "${text}"`);
  check(await page.locator("#run-btn").isDisabled(), "Run stays enabled during Retry-After");
  check(/^Wait \d+ s$/.test(await page.locator("#run-btn").textContent()), "Run does not show the wait");
  log(`rate limit shown: ${text}`);
  await screenshot(page, "ratelimit.png", false);
}

async function scenarioFailure({ page }) {
  await openDashboard(page, BASE);
  await chooseBatches(page, 3);
  const runId = await pressRun(page);
  await page.waitForSelector('#run-status[data-status="failed"]', { timeout: STEP_MS });
  await page.waitForSelector('[data-task="ANALYZE-2"][data-state="failed"]', { timeout: STEP_MS });
  // Nothing may stay pending or running once the run has failed.
  try {
    await page.waitForFunction(() => [...document.querySelectorAll("[data-task]")]
      .every((n) => ["succeeded", "failed", "cancelled"].includes(n.getAttribute("data-state"))),
    null, { timeout: STEP_MS });
  } catch {
    fail(`tasks left unfinished after the failure: ${JSON.stringify(await taskStates(page))}`);
  }
  const label = await page.locator('[data-task="ANALYZE-2"]').getAttribute("aria-label");
  check(label === "ANALYZE 2: failed", `failed node labelled "${label}"`);
  const message = await page.locator("#run-message").textContent();
  check(await page.locator("#run-message").isVisible() && message.includes("ANALYZE (2)") && message.includes("boom"),
    `run message reads "${message}"`);
  check(await page.locator("#report").isHidden(), "a report is shown for a failed run");
  await page.waitForSelector(`#history-body tr[data-run-id="${runId}"] [data-status="failed"]`, { timeout: STEP_MS });
  const stderr = await page.locator('#log .log-line[data-stream="stderr"]').allTextContents();
  check(stderr.some((l) => l.includes("boom: disk on fire")), "the task's stderr is not in the log");
  log(`failure shown: ${message}`);
  await screenshot(page, "failed.png");
}

async function logState(page) {
  return page.$eval("#log", (box) => ({
    top: box.scrollTop, height: box.scrollHeight, client: box.clientHeight,
    lines: box.querySelectorAll(".log-line").length,
    jump: document.getElementById("log-jump").hidden ? null : document.getElementById("log-jump").textContent,
  }));
}

async function scenarioLogScroll({ page }) {
  await openDashboard(page, BASE);
  await chooseBatches(page, 12);
  await pressRun(page);
  // Wait for the log to overflow its pane, then scroll up with the mouse wheel as a reader would.
  await page.waitForFunction(() => {
    const box = document.getElementById("log");
    return box.scrollHeight > box.clientHeight * 1.5;
  }, null, { timeout: STEP_MS });
  const following = await logState(page);
  check(following.top + following.client >= following.height - 2, `log not at its tail: ${JSON.stringify(following)}`);
  await page.locator("#log").hover();
  await page.mouse.wheel(0, -100_000);
  await page.waitForFunction(() => document.getElementById("log").scrollTop === 0, null, { timeout: 5_000 });
  const before = await logState(page);
  // New lines arrive (the ANALYZE results, the report); the reader's place must not move.
  await page.waitForFunction((n) => document.querySelectorAll("#log .log-line").length > n, before.lines,
    { timeout: STEP_MS });
  await page.waitForSelector("#log-jump:not([hidden])", { timeout: 5_000 });
  const during = await logState(page);
  check(during.top === 0, `the log scrolled away from the reader: ${JSON.stringify(during)}`);
  check(/Jump to latest \(\d+ new\)/.test(during.jump), `jump button reads "${during.jump}"`);
  log(`reader kept their place; button: ${during.jump}`);
  await page.click("#log-jump");
  const after = await logState(page);
  check(after.top + after.client >= after.height - 2 && after.jump === null, `jump did not reach the tail: ${
    JSON.stringify(after)}`);
  await waitAllDone(page, 12);
  const tail = await logState(page);
  check(tail.top + tail.client >= tail.height - 2, `the tail is no longer followed: ${JSON.stringify(tail)}`);
  await screenshot(page, "logscroll.png");
}

async function scenarioCancel({ page }) {
  await openDashboard(page, BASE);
  await chooseBatches(page, 3);
  const runId = await pressRun(page);
  await page.waitForSelector('[data-task][data-state="running"]', { timeout: STEP_MS });
  const cancel = page.getByRole("button", { name: "Cancel run" });
  check(await cancel.isEnabled(), "Cancel is disabled during a run");
  await cancel.click();
  await page.waitForSelector('#run-status[data-status="cancelled"]', { timeout: STEP_MS });
  try {
    await page.waitForFunction(() => [...document.querySelectorAll("[data-task]")]
      .every((n) => ["succeeded", "cancelled"].includes(n.getAttribute("data-state"))), null, { timeout: STEP_MS });
  } catch {
    fail(`tasks left unfinished after cancel: ${JSON.stringify(await taskStates(page))}`);
  }
  const notice = await page.locator("#notice-text").textContent();
  check(notice.includes(runId) && /cancelled/.test(notice), `cancel notice reads "${notice}"`);
  check(await cancel.isDisabled(), "Cancel stays enabled after the run ended");
  await page.waitForSelector(`#history-body tr[data-run-id="${runId}"] [data-status="cancelled"]`,
    { timeout: STEP_MS });
  const service = await getJson(`${BASE}/api/v1/demo/runs/${runId}`);
  check(service.status === "cancelled", `the service says ${service.status}`);
  log("run cancelled from the page");
  await screenshot(page, "cancel.png");
}

const SCENARIOS = {
  run: scenarioRun, reconnect: scenarioReconnect, attach: scenarioAttach, ratelimit: scenarioRateLimit,
  failure: scenarioFailure, logscroll: scenarioLogScroll, cancel: scenarioCancel,
};

// Console errors a scenario expects: the cut and offline phases make requests fail on purpose.
const EXPECTED_ERRORS = {
  reconnect: [/WebSocket connection to .* failed/, /Failed to load resource: net::ERR_/],
  ratelimit: [/status of 429/],
};

/* ---- main -------------------------------------------------------------------------------------------------------- */

async function main() {
  const scenarioFn = SCENARIOS[scenario];
  if (!scenarioFn) {
    console.error(`unknown scenario "${scenario}"`);
    return 64;
  }
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    timeout: STEP_MS,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(`uncaught: ${err.message}`));
  const foreign = []; // requests to any other host: the page must work without external resources
  const host = new URL(BASE).hostname;
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (url.protocol !== "data:" && url.hostname !== host) foreign.push(req.url());
  });

  let timer;
  const watchdog = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario "${scenario}" took over ${SCENARIO_LIMIT_MS / 1000} s`)),
      SCENARIO_LIMIT_MS);
  });
  try {
    await Promise.race([scenarioFn({ page, context, browser }), watchdog]);
    const allowed = EXPECTED_ERRORS[scenario] ?? [];
    const unexpected = consoleErrors.filter((e) => !allowed.some((re) => re.test(e)));
    check(unexpected.length === 0, `console errors:\n  ${unexpected.join("\n  ")}`);
    check(foreign.length === 0, `requests to other hosts: ${foreign.join(", ")}`);
    log(`scenario "${scenario}" passed`);
    return 0;
  } catch (err) {
    console.error(`FAILED (${scenario}): ${err.message}`);
    if (consoleErrors.length) console.error(`console errors:\n  ${consoleErrors.join("\n  ")}`);
    await page.screenshot({ path: path.join(outDir, "failure.png"), fullPage: true, timeout: 10_000 })
      .catch((e) => console.error(`no failure screenshot: ${e.message}`));
    return 1;
  } finally {
    clearTimeout(timer);
    await browser.close().catch(() => {});
  }
}

// Exit explicitly: after a watchdog timeout the abandoned scenario may still hold sockets or timers.
process.exit(await main());
