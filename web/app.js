// Live dashboard of the pipeline orchestrator: start-up, the page's events, and the rendering of the cards
// that have no module of their own (connection, notice, controls, preview, run, report, history, footer).
//
// The modules: state.js holds the one `state` object and the functions that change it; api.js makes the
// REST calls, stream.js keeps the WebSocket; graph.js and logpane.js draw the workflow graph and the live
// log. Changes ask for a render (state.js batches them into one animation frame), and render() below draws
// the page from `state`. Text from the server is always set with textContent, never parsed as HTML.
import {
  API, cancelRun, resumeRun, fetchPreview, refreshHealth, refreshHistory, requestStatus, schedulePreview, startRun,
} from "./api.js";
import { $, setAttr, setText } from "./dom.js";
import {
  formatClock, formatDateTime, formatDuration, formatNumber, formatQuantity, isNumber, isObject, parseTime,
} from "./format.js";
import { renderGraph } from "./graph.js";
import { bindLogPane, renderLog } from "./logpane.js";
import { clampBatches, scheduleRender, setRenderer, state } from "./state.js";
import { checkSilence, connect, dropSocket, reconnectNow, scheduleReconnect } from "./stream.js";
import { bindTimeline, openRunTimeline, renderTimeline } from "./timeline.js";

const RUN_WORD = {
  none: "No run yet", queued: "Queued", starting: "Starting", running: "Running", succeeded: "Succeeded",
  failed: "Failed", cancelled: "Cancelled", unknown: "Unknown",
};

function render() {
  renderConnection();
  renderNotice();
  renderControls();
  renderPreview();
  renderRun();
  renderGraph();
  renderTimeline();
  renderReport();
  renderLog();
  renderHistory();
  renderFooter();
}

/* ---- render: connection, notice, controls ------------------------------------------------------------------- */

function renderConnection() {
  const c = state.conn;
  const phase = navigator.onLine === false && c.phase !== "live" ? "offline" : c.phase;
  setAttr($("conn"), "data-conn", phase);
  const words = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
  setText($("conn-text"), words[phase]);
  let detail = "";
  if (phase === "live" && isNumber(c.clients)) detail = `${c.clients} connected`;
  if ((phase === "reconnecting" || phase === "offline") && c.retryAt > Date.now()) {
    detail = `retry in ${Math.ceil((c.retryAt - Date.now()) / 1000)} s`;
  }
  setText($("conn-detail"), detail);
  $("conn-retry").hidden = !(phase === "reconnecting" || phase === "offline");
}

function renderNotice() {
  const box = $("notice");
  box.hidden = !state.notice;
  if (!state.notice) return;
  setAttr(box, "data-kind", state.notice.kind);
  setText($("notice-text"), state.notice.text);
}

function renderControls() {
  const slider = $("batch-count");
  if (Number(slider.value) !== state.batchCount) slider.value = String(state.batchCount);
  setText($("batch-count-value"), state.batchCount);
  setAttr(slider, "aria-valuetext", `${state.batchCount} batch${state.batchCount === 1 ? "" : "es"}`);

  const waitMs = state.retryUntil - Date.now();
  const runBtn = $("run-btn");
  runBtn.disabled = state.busy.run || waitMs > 0;
  let label = state.active ? "Follow active run" : "Run pipeline";
  if (state.busy.run) label = "Starting…";
  else if (waitMs > 0) label = `Wait ${Math.ceil(waitMs / 1000)} s`;
  setText(runBtn, label);

  const cancelBtn = $("cancel-btn");
  cancelBtn.disabled = !state.active || state.busy.cancel || waitMs > 0;
  setText(cancelBtn, state.busy.cancel ? "Cancelling…" : "Cancel run");

  setText($("run-hint"), state.active
    ? "A run is in progress. Only one runs at a time: pressing Run follows it instead of starting another."
    : "");
}

function renderPreview() {
  const { data, error, loading } = state.preview;
  setAttr($("preview"), "aria-busy", loading);
  const usage = isObject(data?.resource_usage) ? data.resource_usage : {};
  const quota = isObject(data?.homelab_quota) ? data.homelab_quota : {};
  setText($("pv-pods"), isNumber(data?.expected_pods) ? String(data.expected_pods) : "–");
  const of = (quantity) => (quantity ? ` of ${formatQuantity(quantity)}` : "");
  setText($("pv-cpu"), isNumber(usage.peak_cpu) ? `${formatNumber(usage.peak_cpu)}${of(quota.available_cpu)}` : "–");
  setText($("pv-mem"), isNumber(usage.peak_memory_gi)
    ? `${formatNumber(usage.peak_memory_gi)} Gi${of(quota.available_memory)}` : "–");
  const runtime = data?.estimated_runtime_seconds;
  setText($("pv-time"), isNumber(runtime) ? `≈ ${formatDuration(runtime)}` : "–");

  const q = $("pv-quota");
  if (error) {
    setAttr(q, "data-fits", "error");
    setText(q, `Preview unavailable. ${error}`);
  } else if (typeof quota.fits_quota === "boolean") {
    setAttr(q, "data-fits", quota.fits_quota ? "yes" : "no");
    setText(q, quota.fits_quota
      ? "✓ Fits the homelab quota"
      : `✕ Exceeds the homelab quota${quota.limiting_resource ? ` (${quota.limiting_resource})` : ""}`);
  } else {
    setAttr(q, "data-fits", "unknown");
    setText(q, "Checking the quota…");
  }
}

/* ---- render: run, progress ---------------------------------------------------------------------------------- */

function renderRun() {
  const run = state.run;
  const status = run?.status ?? "none";
  const badge = $("run-status");
  setAttr(badge, "data-status", status);
  setText(badge, RUN_WORD[status] ?? status);

  renderFollow(run);

  setText($("meta-run-id"), run?.run_id ?? "–");
  setText($("meta-job"), run?.job_name ?? "–");
  setText($("meta-trigger"), run ? (run.triggered_by ?? "–") : "–");
  setText($("meta-batches"), state.batches ? String(state.batches) : "–");
  setText($("meta-started"), formatDateTime(parseTime(run?.started_at)));
  setText($("meta-finished"), formatDateTime(parseTime(run?.finished_at)));

  renderProgress();

  const ended = status === "failed" || status === "cancelled";
  const resumeBtn = $("resume-btn");
  resumeBtn.hidden = !ended || state.active;
  resumeBtn.disabled = state.busy.run;
  const message = (ended && run?.message) || state.runError;
  const box = $("run-message");
  box.hidden = !message;
  setAttr(box, "data-kind", status === "failed" || state.runError ? "error" : "info");
  setText(box, message ?? "");
}

// Says whose run this is: one this page started, one it attached to, or one it found running.
function renderFollow(run) {
  const f = state.following && run && state.following.runId === run.run_id ? state.following : null;
  let text = "";
  if (f?.attached) {
    text = state.active
      ? "Following the run that was already active: Run attached to it instead of starting another."
      : "This page attached to a run that was already active.";
  } else if (f) {
    text = state.active ? "Following the run started from this page." : "";
  } else if (state.active) {
    text = "Following the active run.";
  }
  const el = $("follow");
  el.hidden = !text;
  setAttr(el, "data-attached", Boolean(f?.attached));
  setText(el, text);
}

function renderProgress() {
  const p = state.progress;
  const total = isNumber(p?.total) ? p.total : state.tasks.size;
  const done = isNumber(p?.completed) ? p.completed : countTasks("succeeded");
  const percent = isNumber(p?.percent) ? p.percent : total ? (done / total) * 100 : 0;
  const shown = state.run ? Math.max(0, Math.min(100, percent)) : 0;
  const bar = $("progress");
  setAttr(bar, "aria-valuenow", Math.round(shown));
  setAttr(bar, "aria-valuetext", state.run ? `${Math.round(shown)}%, ${done} of ${total} tasks done` : "No run yet");
  setAttr(bar, "data-status", state.run?.status ?? "none");
  $("progress-fill").style.width = `${shown}%`;
  setText($("progress-pct"), `${Math.round(shown)}%`);
  setText($("pr-tasks"), state.run && total ? `${done} of ${total}` : "–");

  const started = parseTime(state.run?.started_at);
  const finished = parseTime(state.run?.finished_at);
  let elapsed = null;
  if (state.active && started !== null) elapsed = (Date.now() - started) / 1000;
  else if (isNumber(state.durationSeconds)) elapsed = state.durationSeconds;
  else if (started !== null && finished !== null) elapsed = (finished - started) / 1000;
  setText($("pr-elapsed"), elapsed === null ? "–" : formatDuration(Math.max(0, elapsed)));

  let eta = "–";
  if (state.active && state.etaMs !== null) {
    const left = Math.max(0, (state.etaMs - Date.now()) / 1000);
    const at = formatClock(state.etaMs);
    eta = left < 0.5 ? `finishing (≈ ${at})` : `≈ ${formatDuration(left)} (done ≈ ${at})`;
  } else if (state.run && !state.active) {
    eta = "ended";
  }
  setText($("pr-eta"), eta);
}

function countTasks(s) {
  let n = 0;
  for (const v of state.tasks.values()) if (v === s) n += 1;
  return n;
}

/* ---- render: report, history, footer ------------------------------------------------------------------------- */

function renderReport() {
  const m = state.metrics;
  const show = Boolean(m && state.run?.status === "succeeded");
  $("report").hidden = !show;
  $("report-empty").hidden = show;
  const link = $("report-link");
  link.hidden = !show;
  if (!show) return;
  link.href = `${API}/runs/${encodeURIComponent(state.run.run_id)}/report`;
  const duration = isNumber(state.durationSeconds) ? state.durationSeconds : m.execution_time_seconds;
  const values = {
    total_records: formatNumber(m.total_records),
    total_sum: formatNumber(m.total_sum),
    average_value: formatNumber(m.average_value),
    duration_seconds: formatDuration(duration),
    worker_pods_spawned: formatNumber(m.worker_pods_spawned),
    total_batches: formatNumber(m.total_batches),
  };
  for (const dd of $("report").querySelectorAll("[data-metric]")) {
    const key = dd.dataset.metric;
    setText(dd, values[key] ?? "–");
    setAttr(dd, "data-value", key === "duration_seconds" ? duration ?? "" : m[key] ?? "");
  }
  setText($("report-workers-label"), state.health?.executor === "kubernetes" ? "Worker pods" : "Worker processes");
}

let historyDrawn = null;

function renderHistory() {
  setText($("history-error"), state.history.error ?? "");
  $("history-error").hidden = !state.history.error;
  const rows = state.history.rows;
  $("history-empty").hidden = !state.history.loaded || rows.length > 0;
  if (historyDrawn === rows) return; // redraw only when a new answer came in
  historyDrawn = rows;
  const body = $("history-body");
  body.replaceChildren(...rows.map(historyRow));
}

function historyRow(r) {
  const tr = document.createElement("tr");
  tr.dataset.runId = String(r.run_id ?? "");
  const m = isObject(r.demo_metrics) ? r.demo_metrics : null;
  const cells = [
    { text: r.run_id ?? "–", cls: "mono" },
    { badge: typeof r.status === "string" ? r.status : "unknown" },
    { text: isNumber(r.batch_count) ? String(r.batch_count) : "–", cls: "num" },
    { text: formatDateTime(parseTime(r.started_at)) },
    { text: formatDuration(r.duration_seconds), cls: "num" },
    { text: m ? formatNumber(m.total_records) : "–", cls: "num" },
    { text: m ? formatNumber(m.average_value) : "–", cls: "num" },
    { text: typeof r.triggered_by === "string" ? r.triggered_by : "–" },
    { resume: r.status === "failed" || r.status === "cancelled" },
  ];
  cells.forEach((c, i) => {
    const td = document.createElement(i === 0 ? "th" : "td");
    if (i === 0) td.scope = "row";
    if (c.cls) td.className = c.cls;
    if (i === 0 && typeof r.resumed_from === "string") {
      td.append(String(r.run_id ?? "–"), document.createElement("br"));
      const from = document.createElement("a"); // the run it resumed, its detail in the API
      from.href = `${API}/runs/${encodeURIComponent(r.resumed_from)}`;
      from.textContent = `↺ from ${r.resumed_from}`;
      from.className = "hint";
      td.appendChild(from);
    } else if (c.resume !== undefined) {
      const open = document.createElement("button"); // the run's timeline and figures
      open.type = "button";
      open.className = "btn history-timeline";
      open.textContent = "Timeline";
      open.setAttribute("aria-label", `Timeline of run ${r.run_id}`);
      open.addEventListener("click", () => openRunTimeline(String(r.run_id)));
      td.appendChild(open);
      if (c.resume) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.className = "btn history-resume";
        btn.textContent = "Resume";
        btn.disabled = state.active || state.busy.run;
        btn.setAttribute("aria-label", `Resume run ${r.run_id}`);
        btn.addEventListener("click", () => resumeRun(String(r.run_id)));
        td.appendChild(btn);
      }
    } else if (c.badge) {
      const span = document.createElement("span");
      span.className = "badge";
      span.dataset.status = c.badge;
      span.textContent = RUN_WORD[c.badge] ?? c.badge;
      td.appendChild(span);
    } else {
      td.textContent = c.text;
    }
    tr.appendChild(td);
  });
  return tr;
}

function renderFooter() {
  const h = state.health;
  let text = "Checking the service…";
  if (h?.status === "unreachable") text = "Service health unknown";
  else if (isObject(h)) {
    text = `Service ${h.status ?? "?"} · executor ${h.executor ?? "?"} · store ${h.store ?? "?"}`;
  }
  setText($("footer-health"), text);
}

/* ---- wiring ----------------------------------------------------------------------------------------------------- */

function onBatchInput() {
  state.batchCount = clampBatches(Number($("batch-count").value));
  state.batchChosen = true;
  scheduleRender();
  schedulePreview();
}

function bindEvents() {
  $("batch-count").addEventListener("input", onBatchInput);
  $("run-btn").addEventListener("click", startRun);
  $("cancel-btn").addEventListener("click", cancelRun);
  $("resume-btn").addEventListener("click", () => { if (state.run) resumeRun(state.run.run_id); });
  $("notice-close").addEventListener("click", () => { state.notice = null; scheduleRender(); });
  $("conn-retry").addEventListener("click", reconnectNow);
  $("history-refresh").addEventListener("click", refreshHistory);
  bindLogPane();
  bindTimeline();
  $("token").addEventListener("input", (ev) => { state.token = ev.target.value.trim(); });
  window.addEventListener("offline", () => {
    // The browser knows the network is gone; an open socket would only sit silent. Drop it now.
    dropSocket();
    state.conn.phase = "offline";
    scheduleReconnect();
  });
  window.addEventListener("online", reconnectNow);
}

function tick() {
  checkSilence();
  // Elapsed time, ETA and countdowns move every second even when no message arrives.
  if (state.active || state.retryUntil > Date.now() || state.conn.retryAt > Date.now()) scheduleRender();
}

function start() {
  setRenderer(render);
  bindEvents();
  render();
  fetchPreview(true);
  requestStatus(0);
  refreshHistory();
  refreshHealth();
  connect();
  setInterval(tick, 1000);
}

start();
