// Live dashboard of the pipeline orchestrator.
//
// How it works: one `state` object holds everything the page shows. REST answers and stream messages only
// change `state` (through the apply* functions) and ask for a render; the render* functions draw the page
// from `state`. Text from the server is always set with textContent, never parsed as HTML.
//
// The stream (API.md, "WebSocket"): the first message is a status snapshot; then lifecycle `status`,
// `progress`, `log`, `complete` and `error` messages, each with a `seq`. After a drop the page reconnects
// with `?since=<last seq>` (exponential backoff with jitter) and refetches the status, because a replay
// does not start with a snapshot.
"use strict";

const API = "/api/v1/demo";
const STREAM_PATH = "/api/v1/pipeline/stream";
const MIN_BATCHES = 1;
const MAX_BATCHES = 12;
const LOG_CAP = 500; // lines kept in the log pane; older ones are dropped
const PREVIEW_DEBOUNCE_MS = 250;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;
const STABLE_OPEN_MS = 3000; // a socket open this long resets the backoff (a server that accepts, then closes
// at once, e.g. 1013 "too many connections", must not make us reconnect in a tight loop)
const SILENCE_LIMIT_MS = 75000; // keep-alives come every 30 s; this much silence means a dead connection
const ETA_REFRESH_MS = 4000; // the ETA is only in /status, so it is refetched (throttled) while a run moves
const ANNOUNCE_EVERY_MS = 1500;

// Task states only move forward (pending → running → a final state). Answers that arrive late (a /status
// fetched before a stream message but answered after it) must not move a task back, so merges keep the
// higher rank. Run statuses likewise.
const TASK_RANK = { pending: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };
const TASK_WORD = {
  pending: "pending", running: "running", succeeded: "done", failed: "failed", cancelled: "cancelled",
};
const TASK_ICON = { pending: "○", running: "●", succeeded: "✓", failed: "✕", cancelled: "⊘" };
const RUN_RANK = { queued: 0, starting: 1, running: 2, succeeded: 3, failed: 3, cancelled: 3, unknown: 3 };
const RUN_WORD = {
  none: "No run yet", queued: "Queued", starting: "Starting", running: "Running", succeeded: "Succeeded",
  failed: "Failed", cancelled: "Cancelled", unknown: "Unknown",
};
const STAGES = ["GENERATE", "ANALYZE", "REPORT"];

const state = {
  conn: { phase: "connecting", attempt: 0, retryAt: 0, clients: null },
  lastSeq: null, // seq of the last stream message applied; null until the first snapshot
  runEpoch: 0, // bumped whenever the shown run changes, to drop /status answers that describe an older run
  batchCount: 5,
  batchChosen: false, // the user moved the control: the service's default no longer applies
  preview: { data: null, error: null, loading: false },
  run: null, // RunInfo of the run shown (the active one, or the last one)
  active: false,
  following: null, // { runId, attached } once this page pressed Run
  batches: 0, // graph size of the shown run (0: unknown yet)
  tasks: new Map(), // "GENERATE-1" → state, for the shown run
  progress: null,
  etaMs: null,
  durationSeconds: null,
  metrics: null,
  runError: null, // text of an `error` message for the shown run
  log: { lines: [], nextId: 1, seeded: false },
  history: { rows: [], error: null, loaded: false },
  health: null,
  busy: { run: false, cancel: false },
  retryUntil: 0, // after a 429: no new Run/Cancel before this time
  notice: null, // { kind: "info" | "error", text }
  token: "",
};

const $ = (id) => document.getElementById(id);

/* ---- small helpers ------------------------------------------------------------------------------------ */

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isNumber(v) {
  return typeof v === "number" && Number.isFinite(v);
}

function parseTime(text) {
  if (typeof text !== "string") return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function formatClock(ms, withMillis = false) {
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

function formatDateTime(ms) {
  if (ms === null) return "–";
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? formatClock(ms) : `${d.toLocaleDateString()} ${formatClock(ms)}`;
}

function formatDuration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${s} s`;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function formatNumber(v) {
  return isNumber(v) ? numberFormat.format(v) : "–";
}

// Kubernetes quantities ("50Gi", "14") read better with a space before the unit, like the numbers beside them.
function formatQuantity(q) {
  return typeof q === "string" ? q.replace(/^([0-9.]+)\s*([A-Za-z]+)$/, "$1 $2") : "";
}

function setText(el, text) {
  // Only touch the DOM when the text changes: live regions would re-announce, and it is cheaper.
  const value = text === null || text === undefined ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

function setAttr(el, name, value) {
  const v = String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

function taskKey(name, batch) {
  return `${name}-${batch}`;
}

/* ---- rendering is batched into one animation frame ----------------------------------------------------- */

let renderQueued = false;

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  renderConnection();
  renderNotice();
  renderControls();
  renderPreview();
  renderRun();
  renderGraph();
  renderReport();
  renderLog();
  renderHistory();
  renderFooter();
}

/* ---- REST ------------------------------------------------------------------------------------------------ */

class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

function describeError(status, body, retryAfter) {
  const detail = isObject(body) ? body.detail : null;
  if (status === 422 && Array.isArray(detail)) {
    const parts = detail.map((d) => {
      const field = Array.isArray(d?.loc) ? d.loc.slice(1).join(".") : "";
      return field ? `${field}: ${d?.msg ?? "invalid"}` : String(d?.msg ?? "invalid");
    });
    return `The service did not accept the request. ${parts.join("; ")}`;
  }
  const text = typeof detail === "string" ? detail : "";
  if (status === 429) {
    const wait = retryAfter ? ` Try again in ${retryAfter} s.` : " Try again shortly.";
    return `Too many requests from this address.${wait}`;
  }
  if (status === 503) return `The service is temporarily unavailable${text ? `: ${text}` : ""}. Try again shortly.`;
  if (status === 401) {
    return "This service needs an access token to start or cancel runs. Enter it under “Access token”.";
  }
  if (status === 413) return "The request was too large.";
  return text ? `${text} (HTTP ${status})` : `The service answered HTTP ${status}.`;
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.token) headers.Authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "The service could not be reached. Check the connection and try again.", null);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // an HTML error page from a proxy, say: reported by status below
  }
  if (!res.ok) {
    const ra = Number.parseInt(res.headers.get("Retry-After") ?? "", 10);
    const retryAfter = Number.isFinite(ra) && ra >= 0 ? ra : null;
    throw new ApiError(res.status, describeError(res.status, data, retryAfter), retryAfter);
  }
  return data;
}

// A 429 on any call also holds back Run and Cancel until Retry-After has passed.
function noteRateLimit(err) {
  if (err instanceof ApiError && err.status === 429) {
    state.retryUntil = Date.now() + (err.retryAfter ?? 5) * 1000;
  }
}

// A visible message above the cards, also read out politely (through the announcer, which is always in the
// page: a live region that appears together with its text is often not announced).
function showNotice(kind, text) {
  state.notice = { kind, text };
  announce(text);
  scheduleRender();
}

/* ---- the shown run ---------------------------------------------------------------------------------------- */

function blankTasks(batches) {
  const tasks = new Map();
  for (const stage of ["GENERATE", "ANALYZE"]) {
    for (let b = 1; b <= batches; b++) tasks.set(taskKey(stage, b), "pending");
  }
  tasks.set(taskKey("REPORT", 0), "pending");
  return tasks;
}

// Grows the graph to `batches` (never shrinks it), keeping the states already known.
function ensureBatches(batches) {
  if (!Number.isInteger(batches) || batches < 1 || batches > 64 || batches <= state.batches) return;
  const grown = blankTasks(batches);
  for (const [key, s] of state.tasks) if (grown.has(key)) grown.set(key, s);
  state.tasks = grown;
  state.batches = batches;
}

function setTaskState(name, batch, next) {
  if (!STAGES.includes(name) || !(next in TASK_RANK)) return false;
  const b = name === "REPORT" ? 0 : Number(batch);
  if (name !== "REPORT") ensureBatches(b);
  const key = taskKey(name, b);
  const prev = state.tasks.get(key);
  if (prev === undefined) return false;
  if (TASK_RANK[next] < TASK_RANK[prev] || prev === next) return false;
  state.tasks.set(key, next);
  return true;
}

// Makes `info.run_id` the shown run (a fresh graph) or merges `info` into it. Returns true when it switched.
function adoptRun(info) {
  if (!isObject(info) || typeof info.run_id !== "string") return false;
  const same = state.run && state.run.run_id === info.run_id;
  if (!same) {
    if (state.run || !(RUN_RANK[info.status] >= 3)) addLogNote(`Following run ${info.run_id}.`);
    state.run = { run_id: info.run_id };
    state.runEpoch += 1;
    state.batches = 0;
    state.tasks = new Map();
    state.progress = null;
    state.etaMs = null;
    state.durationSeconds = null;
    state.metrics = null;
    state.runError = null;
  }
  for (const [key, value] of Object.entries(info)) {
    if (value === undefined) continue;
    if (key === "status") {
      const old = state.run.status;
      if (old && (RUN_RANK[value] ?? 0) < (RUN_RANK[old] ?? 0)) continue; // never back from a final status
    }
    state.run[key] = value;
  }
  if (Number.isInteger(state.run.batch_count)) ensureBatches(state.run.batch_count);
  if (isRunFinal()) state.active = false;
  return !same;
}

function isRunFinal() {
  return Boolean(state.run && (RUN_RANK[state.run.status] ?? 0) >= 3);
}

function applyProgress(p) {
  if (!isObject(p)) return;
  if (isNumber(p.total) && p.total >= 3) ensureBatches((p.total - 1) / 2);
  const before = state.progress?.completed ?? -1;
  if (!isNumber(p.completed) || p.completed >= before) state.progress = p;
  if (isObject(p.task) && setTaskState(p.task.name, p.task.batch, p.task.state)) {
    noteTaskChange(p.task.name, p.task.batch, p.task.state);
  }
}

// The status object (REST /status or the stream's snapshot). `epoch` is the runEpoch when a REST request was
// sent: if the shown run changed meanwhile and the answer names another run, the answer is older news.
function applyStatus(s, epoch) {
  if (!isObject(s)) return;
  const run = isObject(s.run) ? s.run : null;
  if (!run) return; // nothing ever ran (or a restarted memory store): keep what is shown
  if (epoch !== undefined && epoch !== state.runEpoch && state.run && state.run.run_id !== run.run_id) return;
  adoptRun(run);
  state.active = Boolean(s.active) && !isRunFinal();
  if (Array.isArray(s.tasks)) {
    for (const t of s.tasks) if (isObject(t)) setTaskState(t.name, t.batch, t.state);
  }
  applyProgress(s.progress);
  state.etaMs = state.active ? parseTime(s.estimated_completion) : null;
  if (isObject(s.demo_metrics)) state.metrics = s.demo_metrics;
}

// Once a run is final, tasks that never started will not get a progress message of their own.
function settleTasks(finalStatus) {
  if (finalStatus !== "failed" && finalStatus !== "cancelled") return;
  for (const [key, s] of state.tasks) if (TASK_RANK[s] < 2) state.tasks.set(key, "cancelled");
}

/* ---- status refetch (throttled) --------------------------------------------------------------------------- */

const statusFetch = { timer: null, dueAt: 0, inFlight: false, again: false, lastAt: 0 };

// Asks for a /status fetch no sooner than `minGapMs` after the previous one; an earlier request wins.
function requestStatus(minGapMs = 0) {
  const dueAt = Math.max(Date.now(), statusFetch.lastAt + minGapMs);
  if (statusFetch.timer) {
    if (statusFetch.dueAt <= dueAt) return;
    clearTimeout(statusFetch.timer);
  }
  statusFetch.dueAt = dueAt;
  statusFetch.timer = setTimeout(fetchStatus, dueAt - Date.now());
}

async function fetchStatus() {
  statusFetch.timer = null;
  if (statusFetch.inFlight) {
    statusFetch.again = true;
    return;
  }
  statusFetch.inFlight = true;
  statusFetch.lastAt = Date.now();
  const epoch = state.runEpoch;
  try {
    applyStatus(await api(`${API}/status`), epoch);
  } catch (err) {
    noteRateLimit(err); // a background refresh: the stream keeps the page current meanwhile
  } finally {
    statusFetch.inFlight = false;
    if (statusFetch.again) {
      statusFetch.again = false;
      requestStatus(1000);
    }
    scheduleRender();
  }
}

async function refreshHistory() {
  try {
    const rows = await api(`${API}/history?limit=10`);
    state.history = { rows: Array.isArray(rows) ? rows.filter(isObject) : [], error: null, loaded: true };
  } catch (err) {
    noteRateLimit(err);
    state.history.error = `Could not load the history. ${err.message}`;
  }
  scheduleRender();
}

async function refreshHealth() {
  try {
    state.health = await api("/health");
  } catch {
    state.health = { status: "unreachable" };
  }
  scheduleRender();
}

/* ---- preview ------------------------------------------------------------------------------------------------ */

let previewTimer = null;
let previewAbort = null;

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(fetchPreview, PREVIEW_DEBOUNCE_MS);
}

async function fetchPreview(useDefault = false) {
  previewAbort?.abort(); // only the answer for the latest choice matters
  const abort = new AbortController();
  previewAbort = abort;
  state.preview.loading = true;
  scheduleRender();
  const query = useDefault ? "" : `?batch_count=${state.batchCount}`;
  try {
    const data = await api(`${API}/preview${query}`, { signal: abort.signal });
    state.preview = { data, error: null, loading: false };
    // Without a query the service answers for its DEFAULT_BATCH_COUNT: start the control there.
    if (useDefault && !state.batchChosen && Number.isInteger(data?.batch_count)) {
      state.batchCount = clampBatches(data.batch_count);
    }
  } catch (err) {
    if (err?.name === "AbortError") return;
    noteRateLimit(err);
    state.preview = { data: null, error: err.message, loading: false };
  }
  if (previewAbort === abort) previewAbort = null;
  scheduleRender();
}

function clampBatches(n) {
  return Math.min(MAX_BATCHES, Math.max(MIN_BATCHES, Math.round(n)));
}

/* ---- Run and Cancel -------------------------------------------------------------------------------------- */

async function startRun() {
  if (state.busy.run || Date.now() < state.retryUntil) return;
  state.busy.run = true;
  state.notice = null;
  scheduleRender();
  try {
    const answer = await api(`${API}/run`, {
      method: "POST", body: { batch_count: state.batchCount, triggered_by: "dashboard" },
    });
    applyRunAnswer(answer);
  } catch (err) {
    noteRateLimit(err);
    showNotice("error", err.message);
    if (err.status === 401) $("token-box").open = true;
  } finally {
    state.busy.run = false;
    scheduleRender();
  }
}

function applyRunAnswer(answer) {
  if (!isObject(answer) || typeof answer.run_id !== "string") return;
  const attached = answer.attached === true;
  state.following = { runId: answer.run_id, attached };
  const info = { run_id: answer.run_id, status: answer.status, job_name: answer.job_name };
  // A new run has the batch count we asked for; an attached one has its own (the status refetch tells).
  if (!attached) info.batch_count = state.batchCount;
  adoptRun(info);
  if (!isRunFinal()) state.active = true;
  showNotice("info", attached
    ? `A run was already in progress, so no new run was started: this page follows run ${answer.run_id}.`
    : `Started run ${answer.run_id}.`);
  requestStatus(0);
}

async function cancelRun() {
  if (state.busy.cancel || !state.active) return;
  state.busy.cancel = true;
  scheduleRender();
  try {
    const answer = await api(`${API}/cancel`, { method: "DELETE" });
    if (answer?.cancelled === true) {
      if (state.run && answer.run_id === state.run.run_id) adoptRun({ run_id: answer.run_id, status: "cancelled" });
      showNotice("info", `Run ${answer.run_id} was cancelled; every task has stopped.`);
    } else {
      showNotice("info", typeof answer?.detail === "string" ? answer.detail : "There was no active run to cancel.");
    }
    requestStatus(0);
    refreshHistory();
  } catch (err) {
    noteRateLimit(err);
    showNotice("error", err.message);
    if (err.status === 401) $("token-box").open = true;
  } finally {
    state.busy.cancel = false;
    scheduleRender();
  }
}

/* ---- the stream --------------------------------------------------------------------------------------------- */

const stream = { ws: null, retryTimer: null, stableTimer: null, lastMessageAt: 0, wasOpen: false };

function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq === null ? "" : `?since=${state.lastSeq}`;
  return `${scheme}//${location.host}${STREAM_PATH}${since}`;
}

function connect() {
  clearTimeout(stream.retryTimer);
  stream.retryTimer = null;
  dropSocket();
  if (state.conn.phase !== "offline") {
    state.conn.phase = stream.wasOpen || state.conn.attempt > 0 ? "reconnecting" : "connecting";
  }
  state.conn.retryAt = 0;
  scheduleRender();
  let ws;
  try {
    ws = new WebSocket(streamUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  stream.ws = ws;
  ws.addEventListener("open", () => onOpen(ws));
  ws.addEventListener("message", (ev) => {
    if (stream.ws === ws) onStreamMessage(ev.data);
  });
  ws.addEventListener("close", (ev) => {
    if (stream.ws === ws) onClose(ev);
  });
}

// Forgets the current socket without waiting for its close handshake (it may be dead already).
function dropSocket() {
  const ws = stream.ws;
  stream.ws = null;
  clearTimeout(stream.stableTimer);
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
}

function onOpen(ws) {
  if (stream.ws !== ws) return;
  const reconnected = stream.wasOpen || state.conn.attempt > 0;
  stream.wasOpen = true;
  stream.lastMessageAt = Date.now();
  state.conn.phase = "live";
  state.conn.retryAt = 0;
  stream.stableTimer = setTimeout(() => { state.conn.attempt = 0; }, STABLE_OPEN_MS);
  if (reconnected) {
    // The replay after ?since= brings the missed messages but no snapshot; the status and history may
    // have moved on in ways the replay cannot tell (a restart, an expired ring).
    requestStatus(0);
    refreshHistory();
  }
  scheduleRender();
}

function onClose(ev) {
  stream.ws = null;
  clearTimeout(stream.stableTimer);
  if (ev.code === 1013) state.conn.attempt = Math.max(state.conn.attempt, 4); // server full: back off longer
  scheduleReconnect();
}

function scheduleReconnect() {
  const attempt = state.conn.attempt;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: clients that lost the same server spread out
  state.conn.attempt = attempt + 1;
  state.conn.phase = navigator.onLine === false ? "offline" : "reconnecting";
  state.conn.retryAt = Date.now() + delay;
  clearTimeout(stream.retryTimer);
  stream.retryTimer = setTimeout(connect, delay);
  scheduleRender();
}

function reconnectNow() {
  state.conn.attempt = 0;
  connect();
}

// A half-open connection never reports a close; silence past the keep-alive period gives it away.
function checkSilence() {
  if (stream.ws && stream.ws.readyState === WebSocket.OPEN && Date.now() - stream.lastMessageAt > SILENCE_LIMIT_MS) {
    dropSocket();
    scheduleReconnect();
  }
}

function onStreamMessage(raw) {
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return; // not JSON: nothing a client can do with it
  }
  if (!isObject(msg)) return;
  stream.lastMessageAt = Date.now();
  const data = isObject(msg.data) ? msg.data : {};
  const seq = Number.isInteger(msg.seq) ? msg.seq : null;

  if (msg.type === "status" && data.status === "keep-alive") {
    // A heartbeat of this replica: it repeats the last seq and is not an event.
    if (isNumber(data.connected_clients)) state.conn.clients = data.connected_clients;
    scheduleRender();
    return;
  }
  const snapshot = msg.type === "status" && "active" in data;
  if (seq !== null) {
    if (snapshot || data.status === "resync") {
      state.lastSeq = seq; // a snapshot restarts the numbering (a new connection, or the server restarted)
    } else {
      if (state.lastSeq !== null && seq <= state.lastSeq) return; // seen already
      if (state.lastSeq !== null && seq > state.lastSeq + 1) requestStatus(0); // a gap: catch up via REST
      state.lastSeq = seq;
    }
  }
  const handler = HANDLERS[msg.type];
  if (handler) handler(data, msg, snapshot);
  scheduleRender();
}

const HANDLERS = {
  status(data, msg, snapshot) {
    if (snapshot) {
      // Stream clients are counted at the time of the snapshot, this page included (a REST answer may not be).
      if (isNumber(data.connected_clients)) state.conn.clients = data.connected_clients;
      applyStatus(data);
      // The snapshot's last lines fill an empty pane; they are ordered with the messages that follow (a REST
      // answer is not, and could repeat lines the stream also brings).
      if (!state.log.seeded && Array.isArray(data.log_preview)) seedLogFromPreview(data.log_preview);
      state.log.seeded = true;
      return;
    }
    if (data.status === "resync") {
      // The server no longer holds what we missed: start over from the REST state.
      addLogNote("Some messages were missed while disconnected; the page has reloaded the current state.");
      requestStatus(0);
      refreshHistory();
      return;
    }
    onLifecycle(data, msg);
  },
  progress(data, msg) {
    followStreamRun(msg);
    applyProgress(data);
    if (state.active) requestStatus(ETA_REFRESH_MS);
  },
  log(data, msg) {
    if (Array.isArray(data.lines)) addLogLines(data.lines, msg.run_id);
  },
  complete(data, msg) {
    onComplete(data, msg);
  },
  error(data) {
    const stage = typeof data.stage === "string" ? data.stage : "";
    const text = typeof data.message === "string" ? data.message : "A task failed.";
    // The message usually names the task already ("ANALYZE (2) failed: …"); do not say it twice.
    state.runError = stage && !text.startsWith(stage) ? `${stage}: ${text}` : text;
    // Shown in the run card, not as a log line: logs are batched (up to 0.75 s), so the task's own stderr
    // lines would come after it.
    announce(`Error: ${state.runError}`);
  },
};

// Messages name their run; one we do not show yet (a run started elsewhere) becomes the shown run.
function followStreamRun(msg, extra = {}) {
  const id = msg.run_id;
  if (typeof id !== "string" || id === "none" || !id) return;
  if (state.run && state.run.run_id === id) return;
  adoptRun({ run_id: id, started_at: typeof msg.timestamp === "string" ? msg.timestamp : undefined, ...extra });
  state.active = !isRunFinal();
  requestStatus(0); // the stream does not carry the batch count, trigger or tasks: fetch them
}

function onLifecycle(data, msg) {
  const status = typeof data.status === "string" ? data.status : null;
  if (!status || !(status in RUN_RANK)) return; // unknown lifecycle words are ignored
  followStreamRun(msg, { status });
  if (!state.run || state.run.run_id !== msg.run_id) return;
  const info = { run_id: msg.run_id, status };
  if (typeof data.job_name === "string") info.job_name = data.job_name;
  if (typeof data.message === "string") info.message = data.message;
  adoptRun(info);
  state.active = !isRunFinal();
  if (status === "running") announce(`Run ${msg.run_id} is running.`);
}

function onComplete(data, msg) {
  const run = isObject(data.run) ? data.run : { run_id: msg.run_id, status: data.status };
  if (state.run && state.run.run_id !== run.run_id && state.active) {
    // The end of a run we are not showing while another is active: only the history cares.
    refreshHistory();
    return;
  }
  adoptRun({ ...run, status: typeof data.status === "string" ? data.status : run.status });
  state.active = false;
  state.etaMs = null;
  if (isNumber(data.duration_seconds)) state.durationSeconds = data.duration_seconds;
  if (isObject(data.demo_metrics)) state.metrics = data.demo_metrics;
  settleTasks(state.run.status);
  const after = isNumber(data.duration_seconds) ? ` after ${formatDuration(data.duration_seconds)}` : "";
  announce(`Run ${state.run.run_id} ${state.run.status}${after}.`);
  refreshHistory();
  requestStatus(0); // final task states (cancelled ones get no message of their own)
}

/* ---- screen reader announcements (few, and merged) ---------------------------------------------------- */

const announcer = { queue: [], timer: null };

function announce(text) {
  announcer.queue.push(text);
  if (!announcer.timer) announcer.timer = setTimeout(flushAnnouncements, 300);
}

function flushAnnouncements() {
  const text = announcer.queue.splice(0).join(" ");
  if (text) setText($("announcer"), text);
  // Hold the next one back a while, so that a burst of events is read as one sentence.
  announcer.timer = setTimeout(() => {
    announcer.timer = null;
    if (announcer.queue.length) flushAnnouncements();
  }, ANNOUNCE_EVERY_MS);
}

// Announces whole stages and failures, not every task: 25 announcements per run would drown a reader.
function noteTaskChange(name, batch, next) {
  if (next === "failed") announce(`${name}${batch ? ` ${batch}` : ""} failed.`);
  if (next !== "succeeded") return;
  const stageKeys = [...state.tasks.keys()].filter((k) => k.startsWith(`${name}-`));
  if (stageKeys.every((k) => state.tasks.get(k) === "succeeded")) {
    announce(name === "REPORT" ? "The report is written." : `All ${name} tasks are done.`);
  }
}

/* ---- log ------------------------------------------------------------------------------------------------------- */

function pushLogLine(line) {
  state.log.lines.push({ id: state.log.nextId++, ...line });
  const extra = state.log.lines.length - LOG_CAP;
  if (extra > 0) state.log.lines.splice(0, extra);
}

function addLogLines(lines, runId) {
  for (const l of lines) {
    if (!isObject(l)) continue;
    pushLogLine({
      timeMs: parseTime(l.timestamp),
      source: typeof l.source === "string" ? l.source : "",
      stream: l.stream === "stderr" ? "stderr" : "stdout",
      message: typeof l.message === "string" ? l.message : String(l.message ?? ""),
      runId,
    });
  }
  state.log.seeded = true;
}

function addLogNote(message, stream = "note") {
  pushLogLine({ timeMs: Date.now(), source: "dashboard", stream, message });
}

// /status only has the last lines as "[SOURCE] message" strings, without time: enough to fill the pane on load.
function seedLogFromPreview(lines) {
  for (const text of lines) {
    if (typeof text !== "string") continue;
    const m = /^\[([^\]]*)\] ?(.*)$/s.exec(text);
    pushLogLine({ timeMs: null, source: m ? m[1] : "", stream: "stdout", message: m ? m[2] : text });
  }
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

/* ---- render: the workflow graph (inline SVG) ---------------------------------------------------------------- */

const SVG_NS = "http://www.w3.org/2000/svg";
const GEO = { nodeW: 140, nodeH: 44, colGap: 60, rowGap: 12, headH: 30, pad: 10 };
const graph = { batches: -1, nodes: new Map(), edges: [] };

function svg(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

function columnX(col) {
  return GEO.pad + col * (GEO.nodeW + GEO.colGap);
}

function rowY(row) {
  return GEO.headH + GEO.pad + row * (GEO.nodeH + GEO.rowGap);
}

// Draws the nodes and edges for `batches`; states are applied afterwards by renderGraph().
function buildGraph(batches) {
  const root = $("graph");
  root.replaceChildren();
  graph.nodes.clear();
  graph.edges = [];
  graph.batches = batches;
  if (batches < 1) {
    root.setAttribute("width", 0);
    root.setAttribute("height", 0);
    return;
  }
  const rows = batches;
  const width = columnX(2) + GEO.nodeW + GEO.pad;
  const height = rowY(rows) - GEO.rowGap + GEO.pad;
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.setAttribute("width", width);
  root.setAttribute("height", height);

  const defs = svg("defs", {}, root);
  for (const kind of ["idle", "done"]) {
    const marker = svg("marker", {
      id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
    }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow-${kind}` }, marker);
  }

  const heads = svg("g", { "aria-hidden": "true" }, root);
  STAGES.forEach((stage, col) => {
    const label = stage === "REPORT" ? "REPORT" : `${stage} × ${batches}`;
    const x = columnX(col) + GEO.nodeW / 2;
    const t = svg("text", { x, y: 18, class: "col-head", "text-anchor": "middle" }, heads);
    t.textContent = label;
  });

  const edges = svg("g", { "aria-hidden": "true" }, root);
  const reportY = GEO.headH + GEO.pad + ((rows - 1) * (GEO.nodeH + GEO.rowGap)) / 2 + GEO.nodeH / 2;
  for (let b = 1; b <= batches; b++) {
    const y = rowY(b - 1) + GEO.nodeH / 2;
    const x1 = columnX(0) + GEO.nodeW;
    const x2 = columnX(1);
    graph.edges.push({
      from: taskKey("GENERATE", b),
      el: svg("path", { d: `M${x1},${y} L${x2 - 2},${y}`, class: "edge" }, edges),
    });
    const x3 = columnX(1) + GEO.nodeW;
    const x4 = columnX(2);
    const mid = (x3 + x4) / 2;
    graph.edges.push({
      from: taskKey("ANALYZE", b),
      el: svg("path", { d: `M${x3},${y} C${mid},${y} ${mid},${reportY} ${x4 - 2},${reportY}`, class: "edge" }, edges),
    });
  }

  const nodes = svg("g", { class: "nodes" }, root);
  for (let b = 1; b <= batches; b++) {
    addNode(nodes, "GENERATE", b, columnX(0), rowY(b - 1));
    addNode(nodes, "ANALYZE", b, columnX(1), rowY(b - 1));
  }
  addNode(nodes, "REPORT", 0, columnX(2), reportY - GEO.nodeH / 2);
}

function addNode(parent, name, batch, x, y) {
  const key = taskKey(name, batch);
  const g = svg("g", { class: "node", role: "img", "data-task": key, "data-state": "pending" }, parent);
  svg("rect", { x, y, width: GEO.nodeW, height: GEO.nodeH, rx: 8, class: "node-box" }, g);
  const title = svg("text", { x: x + 12, y: y + 18, class: "node-title" }, g);
  title.textContent = batch ? `${name} ${batch}` : name;
  const sub = svg("text", { x: x + 12, y: y + 34, class: "node-state" }, g);
  graph.nodes.set(key, { g, sub, label: batch ? `${name} ${batch}` : name });
}

function renderGraph() {
  // With no run yet, the graph previews the workflow of the chosen batch count.
  const planned = !state.run;
  const batches = planned ? state.batchCount : state.batches;
  const plural = batches === 1 ? "batch" : "batches";
  let caption = `No run yet: the workflow for ${batches} ${plural}.`;
  if (!planned) caption = batches ? `Run ${state.run.run_id}: ${batches} ${plural}.` : "Loading the run's workflow…";
  setText($("graph-caption"), caption);
  if (graph.batches !== batches) buildGraph(batches);
  for (const [key, node] of graph.nodes) {
    const s = planned ? "pending" : state.tasks.get(key) ?? "pending";
    setAttr(node.g, "data-state", s);
    setAttr(node.g, "aria-label", `${node.label}: ${TASK_WORD[s]}`);
    setText(node.sub, `${TASK_ICON[s]} ${TASK_WORD[s]}`);
  }
  for (const edge of graph.edges) {
    const done = !planned && state.tasks.get(edge.from) === "succeeded";
    setAttr(edge.el, "class", done ? "edge edge-done" : "edge");
    setAttr(edge.el, "marker-end", `url(#arrow-${done ? "done" : "idle"})`);
  }
}

/* ---- render: report, log, history, footer ------------------------------------------------------------------- */

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

const logView = { stick: true, unseen: 0, lastId: 0 };

// Brings the log pane in line with state.log.lines: drops lines that fell off the cap, appends new ones.
function renderLog() {
  const box = $("log");
  const lines = state.log.lines;
  $("log-empty").hidden = lines.length > 0;
  const firstId = lines.length ? lines[0].id : Infinity;
  const heightBefore = box.scrollHeight;
  let row = box.querySelector(".log-line");
  while (row && Number(row.dataset.id) < firstId) {
    const next = row.nextElementSibling;
    row.remove();
    row = next;
  }
  if (!logView.stick) box.scrollTop -= heightBefore - box.scrollHeight; // keep the reader's place
  const fresh = lines.filter((l) => l.id > logView.lastId);
  if (fresh.length) {
    const frag = document.createDocumentFragment();
    for (const line of fresh) frag.appendChild(logRow(line));
    box.appendChild(frag);
    logView.lastId = fresh[fresh.length - 1].id;
    if (logView.stick) box.scrollTop = box.scrollHeight;
    else logView.unseen += fresh.length;
  }
  const jump = $("log-jump");
  jump.hidden = logView.stick || logView.unseen === 0;
  setText(jump, `Jump to latest (${logView.unseen} new)`);
}

function logRow(line) {
  const row = document.createElement("div");
  row.className = "log-line";
  row.dataset.id = String(line.id);
  row.dataset.stream = line.stream;
  const time = document.createElement("time");
  time.className = "log-time";
  if (line.timeMs !== null) {
    time.dateTime = new Date(line.timeMs).toISOString();
    time.textContent = formatClock(line.timeMs, true);
  }
  const source = document.createElement("span");
  source.className = "log-source";
  source.dataset.kind = (/^[A-Za-z]+/.exec(line.source)?.[0] ?? "").toLowerCase();
  source.textContent = line.source;
  const message = document.createElement("span");
  message.className = "log-message";
  message.textContent = line.message;
  row.append(time, source, message);
  return row;
}

function onLogScroll() {
  const box = $("log");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  if (atBottom !== logView.stick) {
    logView.stick = atBottom;
    if (atBottom) logView.unseen = 0;
    scheduleRender();
  }
}

function jumpToLatest() {
  const box = $("log");
  logView.stick = true;
  logView.unseen = 0;
  box.scrollTop = box.scrollHeight;
  box.focus();
  scheduleRender();
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
  ];
  cells.forEach((c, i) => {
    const td = document.createElement(i === 0 ? "th" : "td");
    if (i === 0) td.scope = "row";
    if (c.cls) td.className = c.cls;
    if (c.badge) {
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
  $("notice-close").addEventListener("click", () => { state.notice = null; scheduleRender(); });
  $("conn-retry").addEventListener("click", reconnectNow);
  $("history-refresh").addEventListener("click", refreshHistory);
  $("log").addEventListener("scroll", onLogScroll, { passive: true });
  $("log-jump").addEventListener("click", jumpToLatest);
  // Lines rewrap when the pane changes width; a reader following the tail stays at the tail.
  new ResizeObserver(() => {
    if (logView.stick) $("log").scrollTop = $("log").scrollHeight;
  }).observe($("log"));
  $("log-announce").addEventListener("change", (ev) => {
    // Off by default: a task log read aloud line by line is more noise than help.
    $("log").setAttribute("aria-live", ev.target.checked ? "polite" : "off");
  });
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
