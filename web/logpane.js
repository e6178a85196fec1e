// The live log pane: it shows state.log.lines, follows the tail while the reader is at the bottom, and keeps
// the reader's place (with a "Jump to latest" button) once they scroll up.
import { $, setText } from "./dom.js";
import { formatClock } from "./format.js";
import { scheduleRender, state } from "./state.js";

const logView = { stick: true, unseen: 0, lastId: 0 };

// Brings the log pane in line with state.log.lines: drops lines that fell off the cap, appends new ones.
export function renderLog() {
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

// Scrolling, the jump button, width changes and the read-aloud switch of the pane.
export function bindLogPane() {
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
}
