// The state of the page. One `state` object holds everything the page shows. REST answers and stream
// messages only change `state` (through the functions here, the apply* ones above all) and ask for a
// render; the render* functions draw the page from `state`.
import { announce } from "./announce.js";
import { isNumber, isObject, parseTime } from "./format.js";

const MIN_BATCHES = 1;
const MAX_BATCHES = 12;
const LOG_CAP = 500; // lines kept in the log pane; older ones are dropped

// Task states only move forward (pending → running → a final state). Answers that arrive late (a /status
// fetched before a stream message but answered after it) must not move a task back, so merges keep the
// higher rank. Run statuses likewise.
const TASK_RANK = { pending: 0, starting: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2, cached: 2 };
export const RUN_RANK = { queued: 0, starting: 1, running: 2, succeeded: 3, failed: 3, cancelled: 3, unknown: 3 };
export const STAGES = ["GENERATE", "ANALYZE", "REPORT"];

export const state = {
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
  taskFigures: new Map(), // "GENERATE-1" → the task object of the API (times, resources), for the shown run
  timelineView: null, // a run picked in the history: { runId, status, tasks } shown in the timeline instead
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

export function taskKey(name, batch) {
  return `${name}-${batch}`;
}

export function clampBatches(n) {
  return Math.min(MAX_BATCHES, Math.max(MIN_BATCHES, Math.round(n)));
}

/* ---- rendering is batched into one animation frame ----------------------------------------------------- */

let renderer = () => {};
let renderQueued = false;

// Names the function that draws the whole page from `state` (app.js does, at start-up).
export function setRenderer(fn) {
  renderer = fn;
}

export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderer();
  });
}

// A visible message above the cards, also read out politely (through the announcer, which is always in the
// page: a live region that appears together with its text is often not announced).
export function showNotice(kind, text) {
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
export function adoptRun(info) {
  if (!isObject(info) || typeof info.run_id !== "string") return false;
  const same = state.run && state.run.run_id === info.run_id;
  if (!same) {
    if (state.run || !(RUN_RANK[info.status] >= 3)) addLogNote(`Following run ${info.run_id}.`);
    state.run = { run_id: info.run_id };
    state.runEpoch += 1;
    state.batches = 0;
    state.tasks = new Map();
    state.taskFigures = new Map();
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

// A task object of the API (status, progress, complete, runs/{id}) into the figures of the shown run.
export function applyTaskFigures(t) {
  if (!isObject(t) || typeof t.name !== "string" || !STAGES.includes(t.name)) return;
  const key = taskKey(t.name, t.name === "REPORT" ? 0 : Number(t.batch));
  const old = state.taskFigures.get(key);
  // a late answer must not take back what a newer message said: an attempt's end, once known, stays
  if (old && old.finished_at && !t.finished_at && t.attempt === old.attempt) return;
  state.taskFigures.set(key, { ...(old ?? {}), ...t });
}

export function isRunFinal() {
  return Boolean(state.run && (RUN_RANK[state.run.status] ?? 0) >= 3);
}

export function applyProgress(p) {
  if (!isObject(p)) return;
  if (isNumber(p.total) && p.total >= 3) ensureBatches((p.total - 1) / 2);
  const before = state.progress?.completed ?? -1;
  if (!isNumber(p.completed) || p.completed >= before) state.progress = p;
  if (isObject(p.task)) applyTaskFigures(p.task);
  if (isObject(p.task) && setTaskState(p.task.name, p.task.batch, p.task.state)) {
    noteTaskChange(p.task.name, p.task.batch, p.task.state);
  }
}

// The status object (REST /status or the stream's snapshot). `epoch` is the runEpoch when a REST request was
// sent: if the shown run changed meanwhile and the answer names another run, the answer is older news.
export function applyStatus(s, epoch) {
  if (!isObject(s)) return;
  const run = isObject(s.run) ? s.run : null;
  if (!run) return; // nothing ever ran (or a restarted memory store): keep what is shown
  if (epoch !== undefined && epoch !== state.runEpoch && state.run && state.run.run_id !== run.run_id) return;
  adoptRun(run);
  state.active = Boolean(s.active) && !isRunFinal();
  if (Array.isArray(s.tasks)) {
    for (const t of s.tasks) if (isObject(t)) setTaskState(t.name, t.batch, t.state);
    for (const t of s.tasks) applyTaskFigures(t);
  }
  applyProgress(s.progress);
  state.etaMs = state.active ? parseTime(s.estimated_completion) : null;
  if (isObject(s.demo_metrics)) state.metrics = s.demo_metrics;
}

// Once a run is final, tasks that never started will not get a progress message of their own.
export function settleTasks(finalStatus) {
  if (finalStatus !== "failed" && finalStatus !== "cancelled") return;
  for (const [key, s] of state.tasks) if (TASK_RANK[s] < 2) state.tasks.set(key, "cancelled");
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

export function addLogLines(lines, runId) {
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

export function addLogNote(message, stream = "note") {
  pushLogLine({ timeMs: Date.now(), source: "dashboard", stream, message });
}

// /status only has the last lines as "[SOURCE] message" strings, without time: enough to fill the pane on load.
export function seedLogFromPreview(lines) {
  for (const text of lines) {
    if (typeof text !== "string") continue;
    const m = /^\[([^\]]*)\] ?(.*)$/s.exec(text);
    pushLogLine({ timeMs: null, source: m ? m[1] : "", stream: "stdout", message: m ? m[2] : text });
  }
}
