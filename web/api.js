// The REST side of the page: every call to the service's HTTP API, how its errors read, and what the answers
// change in `state`.
import { $ } from "./dom.js";
import { isObject } from "./format.js";
import {
  adoptRun, applyStatus, clampBatches, isRunFinal, scheduleRender, showNotice, state,
} from "./state.js";

export const API = "/api/v1/demo";
const PREVIEW_DEBOUNCE_MS = 250;

/* ---- requests and their errors ------------------------------------------------------------------------------ */

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

/* ---- status refetch (throttled) --------------------------------------------------------------------------- */

const statusFetch = { timer: null, dueAt: 0, inFlight: false, again: false, lastAt: 0 };

// Asks for a /status fetch no sooner than `minGapMs` after the previous one; an earlier request wins.
export function requestStatus(minGapMs = 0) {
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

export async function refreshHistory() {
  try {
    const rows = await api(`${API}/history?limit=10`);
    state.history = { rows: Array.isArray(rows) ? rows.filter(isObject) : [], error: null, loaded: true };
  } catch (err) {
    noteRateLimit(err);
    state.history.error = `Could not load the history. ${err.message}`;
  }
  scheduleRender();
}

export async function refreshHealth() {
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

export function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(fetchPreview, PREVIEW_DEBOUNCE_MS);
}

export async function fetchPreview(useDefault = false) {
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

/* ---- Run and Cancel -------------------------------------------------------------------------------------- */

/* A request that changes something (run, resume, cancel): state.busy[kind] while it goes; its error is shown. */
async function mutate(kind, work) {
  state.busy[kind] = true;
  scheduleRender();
  try {
    await work();
  } catch (err) {
    noteRateLimit(err);
    showNotice("error", err.message);
    if (err.status === 401) $("token-box").open = true;
  } finally {
    state.busy[kind] = false;
    scheduleRender();
  }
}

export async function startRun() {
  if (state.busy.run || Date.now() < state.retryUntil) return;
  state.notice = null;
  await mutate("run", async () => {
    const answer = await api(`${API}/run`, {
      method: "POST", body: { batch_count: state.batchCount, triggered_by: "dashboard" },
    });
    applyRunAnswer(answer);
  });
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

/* ---- Resume: a failed or cancelled run again, its verified tasks cached ------------------------------------- */

export async function resumeRun(runId) {
  if (state.busy.run || typeof runId !== "string" || Date.now() < state.retryUntil) return;
  state.notice = null;
  await mutate("run", async () => {
    const answer = await api(`${API}/runs/${encodeURIComponent(runId)}/resume`, { method: "POST" });
    if (isObject(answer) && typeof answer.run_id === "string") {
      state.following = { runId: answer.run_id, attached: false };
      adoptRun({ run_id: answer.run_id, status: answer.status, job_name: answer.job_name, resumed_from: runId });
      if (!isRunFinal()) state.active = true;
      showNotice("info", `Resumed run ${runId} as run ${answer.run_id}: its finished tasks are reused.`);
      requestStatus(0);
    }
  });
}

export async function cancelRun() {
  if (state.busy.cancel || !state.active) return;
  await mutate("cancel", async () => {
    const answer = await api(`${API}/cancel`, { method: "DELETE" });
    if (answer?.cancelled === true) {
      if (state.run && answer.run_id === state.run.run_id) adoptRun({ run_id: answer.run_id, status: "cancelled" });
      showNotice("info", `Run ${answer.run_id} was cancelled; every task has stopped.`);
    } else {
      showNotice("info", typeof answer?.detail === "string" ? answer.detail : "There was no active run to cancel.");
    }
    requestStatus(0);
    refreshHistory();
  });
}
