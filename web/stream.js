// The stream (API.md, "WebSocket"): the first message is a status snapshot; then lifecycle `status`,
// `progress`, `log`, `complete` and `error` messages, each with a `seq`. After a drop the page reconnects
// with `?since=<last seq>` (exponential backoff with jitter) and refetches the status, because a replay
// does not start with a snapshot. Each message type has a handler that changes `state`.
import { announce } from "./announce.js";
import { refreshHistory, requestStatus } from "./api.js";
import { formatDuration, isNumber, isObject } from "./format.js";
import {
  addLogLines, addLogNote, adoptRun, applyProgress, applyTaskFigures, applyStatus, isRunFinal, RUN_RANK,
  scheduleRender, seedLogFromPreview, settleTasks, state,
} from "./state.js";

const STREAM_PATH = "/api/v1/pipeline/stream";
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;
const STABLE_OPEN_MS = 3000; // a socket open this long resets the backoff (a server that accepts, then closes
// at once, e.g. 1013 "too many connections", must not make us reconnect in a tight loop)
const SILENCE_LIMIT_MS = 75000; // keep-alives come every 30 s; this much silence means a dead connection
const ETA_REFRESH_MS = 4000; // the ETA is only in /status, so it is refetched (throttled) while a run moves

const stream = { ws: null, retryTimer: null, stableTimer: null, lastMessageAt: 0, wasOpen: false };

function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq === null ? "" : `?since=${state.lastSeq}`;
  return `${scheme}//${location.host}${STREAM_PATH}${since}`;
}

export function connect() {
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
export function dropSocket() {
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

export function scheduleReconnect() {
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

export function reconnectNow() {
  state.conn.attempt = 0;
  connect();
}

// A half-open connection never reports a close; silence past the keep-alive period gives it away.
export function checkSilence() {
  if (stream.ws && stream.ws.readyState === WebSocket.OPEN && Date.now() - stream.lastMessageAt > SILENCE_LIMIT_MS) {
    dropSocket();
    scheduleReconnect();
  }
}

/* ---- messages ---------------------------------------------------------------------------------------------- */

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
  if (Array.isArray(data.tasks)) for (const t of data.tasks) applyTaskFigures(t);
  settleTasks(state.run.status);
  const after = isNumber(data.duration_seconds) ? ` after ${formatDuration(data.duration_seconds)}` : "";
  announce(`Run ${state.run.run_id} ${state.run.status}${after}.`);
  refreshHistory();
  requestStatus(0); // final task states (cancelled ones get no message of their own)
}
