// Drives the dashboard's timeline in Debian's chromium (issue 19).
//
//   node timeline.mjs BASE_URL SCENARIO OUTPUT_DIR
//
// Scenarios:
//   live     press Run (3 batches, slow tasks): bars appear while the run goes on (drawn live, a running bar),
//            then every task has a bar with a queued and a running part on one axis; focusing a bar shows its
//            figures in the tooltip; the table holds the same figures; timeline.png.
//   history  a finished run (started by the test through the API) opened from the history: its timeline and
//            table are shown and say so; "Back to the current run" returns; history.png.
// Exit code 0 on success; on failure the reason on stderr, failure.png in OUTPUT_DIR, exit code 1.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(process.env.NODE_TOOLS + "/package.json");
const { chromium } = require("playwright-core");

const [baseArg, scenario, outDir] = process.argv.slice(2);
const BASE = baseArg.replace(/\/+$/, "");
const STEP_MS = 30_000;
fs.mkdirSync(outDir, { recursive: true });
const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function api(method, url, body) {
  const res = await fetch(`${BASE}${url}`, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  check(res.ok, `${method} ${url} answered ${res.status}`);
  return res.json();
}

async function waitFinished(runId) {
  for (let i = 0; i < 600; i++) {
    const run = await api("GET", `/api/v1/demo/runs/${runId}`);
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not finish`);
}

async function bars(page) {
  return page.$$eval("#timeline [data-bar]", (nodes) => nodes.map((n) => ({
    key: n.getAttribute("data-bar"), stage: n.getAttribute("data-stage"), state: n.getAttribute("data-state"),
    label: n.getAttribute("aria-label"), queued: n.querySelector(".tl-queued") !== null,
    run: n.querySelector(".tl-run") !== null,
    x: Number(n.querySelector(".tl-run")?.getAttribute("x") ?? -1),
    w: Number(n.querySelector(".tl-run")?.getAttribute("width") ?? -1),
  })));
}

async function tableRows(page) {
  return page.$$eval("#timeline-body tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
}

async function checkFigures(page, run) {
  const rows = await tableRows(page);
  check(rows.length === run.tasks.length, `the table has ${rows.length} rows, the run ${run.tasks.length} tasks`);
  const head = await page.$$eval("#timeline-table thead th", (ths) => ths.map((t) => [t.textContent, t.scope]));
  check(head.every(([, scope]) => scope === "col") && head[0][0] === "Task", `table head: ${JSON.stringify(head)}`);
  const caption = await page.textContent("#timeline-caption");
  check(caption.includes(run.run_id), `the caption "${caption}" does not name ${run.run_id}`);
  for (const t of run.tasks) {
    const name = t.name === "REPORT" ? "REPORT" : `${t.name} (${t.batch})`;
    const row = rows.find((r) => r[0] === name);
    check(row, `no table row for ${name}`);
    check(row[1] === "done", `${name} state "${row[1]}"`);
    check(row[10] === `pid ${t.where.pid}`, `${name} where "${row[10]}", the API says pid ${t.where.pid}`);
    check(row[9] === String(t.exit_code), `${name} exit "${row[9]}"`);
    check(/^\d+\.\d{2} s$/.test(row[4]), `${name} ran "${row[4]}"`);
    check(/ (B|KB|MB)$/.test(row[6]), `${name} peak memory "${row[6]}"`);
  }
  const th = await page.$$eval("#timeline-body th", (ths) => ths.every((t) => t.scope === "row"));
  check(th, "row headers are not scope=row");
}

const SCENARIOS = {
  async live(page) {
    await page.goto(`${BASE}/`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector('#conn[data-conn="live"]', { timeout: STEP_MS });
    const slider = page.getByLabel("Batches", { exact: true });
    await slider.focus();
    await page.keyboard.press("Home");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.getByRole("button", { name: "Run pipeline" }).click();
    // drawn live: a running bar while the run goes on
    await page.waitForSelector('#timeline [data-bar][data-state="running"] .tl-run', { timeout: STEP_MS });
    const early = await bars(page);
    log(`live: ${early.length} bars, ${early.filter((b) => b.state === "running").length} running`);
    await page.waitForFunction(() => {
      const b = [...document.querySelectorAll("#timeline [data-bar]")];
      return b.length === 7 && b.every((n) => n.getAttribute("data-state") === "succeeded");
    }, null, { timeout: 60_000 });
    const runId = await page.textContent("#meta-run-id");
    const run = await waitFinished(runId);
    await page.waitForTimeout(300);
    const all = await bars(page);
    check(all.length === 7 && all.every((b) => b.run), `bars: ${JSON.stringify(all)}`);
    check(new Set(all.map((b) => b.stage)).size === 3, "not every stage has a bar");
    // one shared axis: REPORT starts after every ANALYZE ended
    const report = all.find((b) => b.stage === "REPORT");
    const analyzeEnds = all.filter((b) => b.stage === "ANALYZE").map((b) => b.x + b.w);
    check(report.x >= Math.max(...analyzeEnds) - 2, `REPORT at ${report.x}, ANALYZE ends ${analyzeEnds}`);
    check(all.some((b) => b.queued), "no bar has a queued part (tasks wait for a free slot)");
    // focus shows the figures
    await page.focus('#timeline [data-bar="ANALYZE-2"]');
    await page.waitForSelector("#timeline-tip:not([hidden])", { timeout: 5_000 });
    const tip = await page.textContent("#timeline-tip");
    const a2 = run.tasks.find((t) => t.name === "ANALYZE" && t.batch === 2);
    check(tip.includes("ANALYZE (2)") && tip.includes("CPU") && tip.includes(`pid ${a2.where.pid}`), `tip: ${tip}`);
    const label = all.find((b) => b.key === "ANALYZE-2").label;
    check(label.startsWith("ANALYZE (2): state done") && label.includes("peak memory"), `label: ${label}`);
    await checkFigures(page, run);
    await page.locator("#timeline-card").screenshot({ path: path.join(outDir, "timeline.png") });
    await page.keyboard.press("Tab"); // blur: the tooltip goes
    log("live timeline checked");
  },

  async history(page) {
    const started = await api("POST", "/api/v1/demo/run", { batch_count: 2 });
    const run = await waitFinished(started.run_id);
    const second = await api("POST", "/api/v1/demo/run", { batch_count: 1 });
    await waitFinished(second.run_id);
    await page.goto(`${BASE}/`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector('#conn[data-conn="live"]', { timeout: STEP_MS });
    await page.getByRole("button", { name: `Timeline of run ${run.run_id}` }).click();
    await page.waitForFunction((id) => document.getElementById("timeline-run").textContent.includes(id),
      run.run_id, { timeout: STEP_MS });
    const shown = await bars(page);
    check(shown.length === 5, `the history run shows ${shown.length} bars`);
    const focused = await page.evaluate(() => document.activeElement?.id);
    check(focused === "timeline-title", `focus went to ${focused}`);
    await checkFigures(page, run);
    await page.locator("#timeline-card").screenshot({ path: path.join(outDir, "history.png") });
    await page.getByRole("button", { name: "Back to the current run" }).click();
    await page.waitForFunction((id) => document.getElementById("timeline-run").textContent.includes(id),
      second.run_id, { timeout: STEP_MS });
    check((await bars(page)).length === 3, "back: the current (last) run has 3 bars");
    log("history timeline checked");
  },
};

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" })).newPage();
  page.setDefaultTimeout(STEP_MS);
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  try {
    await SCENARIOS[scenario](page);
    check(errors.length === 0, `console errors:\n  ${errors.join("\n  ")}`);
    log(`scenario "${scenario}" passed`);
    return 0;
  } catch (err) {
    console.error(`FAILED (${scenario}): ${err.message}`);
    await page.screenshot({ path: path.join(outDir, "failure.png"), fullPage: true }).catch(() => {});
    return 1;
  } finally {
    await browser.close().catch(() => {});
  }
}

process.exit(await main());
