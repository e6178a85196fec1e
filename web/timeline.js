// The run's timeline, as Nextflow's timeline report draws it: one bar per task on a shared time axis, its queued
// part (submitted → started) apart from its running part (started → finished, or now while it runs), coloured by
// stage and marked by state. Hovering or focusing a bar shows its figures; the table below holds the same figures
// for keyboard and screen-reader users. A run picked in the history is shown instead of the current one until
// "Back to the current run".
import { $, setText } from "./dom.js";
import { formatDuration, isNumber, isObject, parseTime } from "./format.js";
import { scheduleRender, state, taskKey } from "./state.js";

const SVG = "http://www.w3.org/2000/svg";
const LABEL_W = 120;
const WIDTH = 960;
const ROW_H = 20;
const AXIS_H = 24;
const STATE_WORD = {
  pending: "pending", starting: "starting", running: "running", succeeded: "done", failed: "failed",
  cancelled: "cancelled", cached: "cached",
};

function taskName(t) {
  return t.name === "REPORT" ? "REPORT" : `${t.name} (${t.batch})`;
}

export function formatBytes(n) {
  if (!isNumber(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function seconds(v) {
  return isNumber(v) ? (v < 10 ? `${v.toFixed(2)} s` : formatDuration(v)) : "–";
}

function where(t) {
  const w = t.where;
  if (!isObject(w)) return "–";
  if (typeof w.pod === "string") return `pod ${w.pod}${typeof w.node === "string" ? ` on ${w.node}` : ""}`;
  return isNumber(w.pid) ? `pid ${w.pid}` : "–";
}

// The figures of a task, as label/value pairs (the tooltip and the bar's accessible name).
function figures(t) {
  return [
    ["State", STATE_WORD[t.state] ?? String(t.state ?? "–")],
    ["Attempt", isNumber(t.attempt) ? String(t.attempt) : "–"],
    ["Queued", seconds(t.queued_seconds)],
    ["Ran", seconds(t.duration_seconds)],
    ["CPU", seconds(t.cpu_seconds)],
    ["Peak memory", formatBytes(t.peak_rss_bytes)],
    ["Read", formatBytes(t.read_bytes)],
    ["Written", formatBytes(t.written_bytes)],
    ["Exit code", isNumber(t.exit_code) ? String(t.exit_code) : "–"],
    ["Where", where(t)],
  ];
}

/* ---- what is shown ---------------------------------------------------------------------------------------------- */

// A finished run of the history, opened with its timeline.
export async function openRunTimeline(runId) {
  try {
    const res = await fetch(`/api/v1/demo/runs/${encodeURIComponent(runId)}`, { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const run = await res.json();
    state.timelineView = { runId: run.run_id, status: run.status, tasks: Array.isArray(run.tasks) ? run.tasks : [] };
  } catch (err) {
    state.timelineView = { runId, status: "unknown", tasks: [], error: `Could not load run ${runId}: ${err.message}` };
  }
  drawnKey = null;
  scheduleRender();
  const card = $("timeline-card");
  card.scrollIntoView({ block: "start" });
  $("timeline-title").focus();
}

function shown() {
  if (state.timelineView) return { ...state.timelineView, live: false, history: true };
  const tasks = [...state.taskFigures.values()];
  return { runId: state.run?.run_id ?? null, status: state.run?.status, tasks, live: state.active, history: false };
}

/* ---- drawing ------------------------------------------------------------------------------------------------------ */

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function bars(view, now) {
  const rows = view.tasks.filter(isObject).map((t) => ({
    t, sub: parseTime(t.submitted_at), start: parseTime(t.started_at), end: parseTime(t.finished_at),
  })).filter((r) => r.sub !== null || r.start !== null);
  rows.sort((a, b) => (a.sub ?? a.start) - (b.sub ?? b.start) || taskName(a.t).localeCompare(taskName(b.t)));
  return rows.map((r) => ({ ...r, stop: r.end ?? (r.start !== null && view.live ? now : r.start ?? r.sub) }));
}

let drawnKey = null;

function tipShow(bar, t) {
  const tip = $("timeline-tip");
  tip.replaceChildren();
  const head = document.createElement("strong");
  head.textContent = taskName(t);
  const list = document.createElement("dl");
  for (const [k, v] of figures(t)) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    list.append(dt, dd);
  }
  tip.append(head, list);
  tip.hidden = false;
  const box = bar.getBoundingClientRect();
  const host = $("timeline-wrap").getBoundingClientRect();
  tip.style.left = `${Math.max(0, Math.min(box.left - host.left, host.width - 260))}px`;
  tip.style.top = `${box.bottom - host.top + 6}px`;
}

function tipHide() {
  $("timeline-tip").hidden = true;
}

function drawChart(view, rows, now) {
  const svg = $("timeline");
  const focused = document.activeElement?.closest?.("[data-bar]")?.getAttribute("data-bar");
  const t0 = Math.min(...rows.map((r) => r.sub ?? r.start));
  const t1 = Math.max(t0 + 1000, ...rows.map((r) => r.stop));
  const span = t1 - t0;
  const plotW = WIDTH - LABEL_W - 16;
  const x = (ms) => LABEL_W + ((ms - t0) / span) * plotW;
  const height = AXIS_H + rows.length * ROW_H + 4;
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${height}`);
  svg.setAttribute("height", String(height));
  const nodes = [];
  for (let i = 0; i <= 4; i++) { // the shared axis: seconds from the first submission
    const ms = t0 + (span * i) / 4;
    nodes.push(el("line", { class: "tl-grid", x1: x(ms), x2: x(ms), y1: AXIS_H - 6, y2: height }));
    nodes.push(el("text", { class: "tl-tick", x: x(ms), y: AXIS_H - 10, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" },
      `+${((ms - t0) / 1000).toFixed(1)} s`));
  }
  rows.forEach((r, i) => {
    const t = r.t;
    const key = taskKey(t.name, t.name === "REPORT" ? 0 : t.batch);
    const y = AXIS_H + i * ROW_H;
    const label = `${taskName(t)}: ${figures(t).map(([k, v]) => `${k.toLowerCase()} ${v}`).join(", ")}`;
    const g = el("g", { class: "tl-bar", "data-bar": key, "data-stage": t.name, "data-state": t.state ?? "pending",
      tabindex: 0, role: "img", "aria-label": label });
    g.appendChild(el("title", {}, label));
    g.appendChild(el("text", { class: "tl-label", x: LABEL_W - 8, y: y + ROW_H / 2 + 4, "text-anchor": "end" },
      taskName(t)));
    const start = r.start ?? r.stop;
    if (r.sub !== null && start > r.sub) {
      g.appendChild(el("rect", { class: "tl-queued", x: x(r.sub), y: y + 5, width: Math.max(1, x(start) - x(r.sub)),
        height: ROW_H - 10, rx: 2 }));
    }
    if (r.start !== null) {
      g.appendChild(el("rect", { class: "tl-run", x: x(r.start), y: y + 2, width: Math.max(2, x(r.stop) - x(r.start)),
        height: ROW_H - 4, rx: 3 }));
    }
    g.addEventListener("mouseenter", () => tipShow(g, t));
    g.addEventListener("focus", () => tipShow(g, t));
    g.addEventListener("mouseleave", tipHide);
    g.addEventListener("blur", tipHide);
    nodes.push(g);
  });
  svg.replaceChildren(...nodes);
  if (focused) svg.querySelector(`[data-bar="${focused}"]`)?.focus();
}

function drawTable(view, rows) {
  setText($("timeline-caption"), view.runId ? `Each task of run ${view.runId}, in the order it was submitted` : "");
  const body = $("timeline-body");
  body.replaceChildren(...rows.map(({ t }) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = taskName(t);
    tr.appendChild(th);
    for (const [k, v] of figures(t)) {
      const td = document.createElement("td");
      if (k !== "State" && k !== "Where") td.className = "num";
      td.textContent = v;
      tr.appendChild(td);
    }
    return tr;
  }));
}

export function renderTimeline() {
  const view = shown();
  const now = Date.now();
  const rows = bars(view, now);
  const key = JSON.stringify([view.runId, view.status, view.tasks, view.live ? Math.floor(now / 500) : 0]);
  $("timeline-back").hidden = !view.history;
  setText($("timeline-run"), view.runId ? `${view.history ? "From the history: " : ""}run ${view.runId}` +
    (view.status ? ` (${view.status})` : "") : "");
  $("timeline-error").hidden = !view.error;
  setText($("timeline-error"), view.error ?? "");
  $("timeline-empty").hidden = rows.length > 0;
  $("timeline-wrap").hidden = rows.length === 0;
  if (key === drawnKey) return;
  drawnKey = key;
  if (rows.length === 0) return;
  drawChart(view, rows, now);
  drawTable(view, rows);
}

export function bindTimeline() {
  $("timeline-back").addEventListener("click", () => {
    state.timelineView = null;
    drawnKey = null;
    scheduleRender();
  });
}

