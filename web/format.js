// Values from the server: type checks, and the words and numbers the page shows for them.

export function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function isNumber(v) {
  return typeof v === "number" && Number.isFinite(v);
}

export function parseTime(text) {
  if (typeof text !== "string") return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function formatClock(ms, withMillis = false) {
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

export function formatDateTime(ms) {
  if (ms === null) return "–";
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? formatClock(ms) : `${d.toLocaleDateString()} ${formatClock(ms)}`;
}

export function formatDuration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${s} s`;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function formatNumber(v) {
  return isNumber(v) ? numberFormat.format(v) : "–";
}

// Kubernetes quantities ("50Gi", "14") read better with a space before the unit, like the numbers beside them.
export function formatQuantity(q) {
  return typeof q === "string" ? q.replace(/^([0-9.]+)\s*([A-Za-z]+)$/, "$1 $2") : "";
}
